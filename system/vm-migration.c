/*
 * The VM's side of migration: what the migration thread and the incoming
 * loader ask of the VM (stop, resume, run states, events), -incoming at
 * start-up, and the descriptors "getfd" keeps for "migrate fd:NAME".
 *
 * Run states (runstate.h):
 *   source:  running|paused|prelaunch --switch-over--> finish-migrate
 *            finish-migrate --completed--> postmigrate
 *            finish-migrate --failed/cancelled--> the state before
 *   destination: prelaunch --vm_start--> inmigrate --loaded--> running
 *            (paused with -S, unless "cont" came meanwhile); a failed load
 *            exits with status 1 (one line on stderr)
 *
 * Disks (shared storage unless block migration copies them): at the stop
 * the source completes every request in flight, flushes each image and
 * releases its write lock; a failed migration takes the locks back.  The
 * destination opened its images without the lock and takes it once the
 * whole stream loaded, before it acknowledges (so a destination that
 * cannot get it fails the migration and the source resumes); then it
 * processes the requests the guest had queued.
 *
 * Thread context: the migration_vm_ops run on the migration thread with
 * the VM lock held; everything else on the main thread with the lock held.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "system/vm.h"
#include "util/error.h"

/* ---- disks ---- */

static void vm_flush_done(void *opaque, int ret)
{
    *(int *)opaque = ret;
}

/* Every request done, every image flushed and its write lock released
 * (vCPUs stopped, lock held). */
static bool vm_disks_release(struct vm *vm, GError **errp)
{
    machine_drain_disks(&vm->machine);
    for (unsigned i = 0; i < vm->ndisks; i++) {
        int ret = 0;

        if (block_is_readonly(vm->disks[i]))
            continue;
        block_flush(vm->disks[i], vm_flush_done, &ret);
        block_drain(vm->disks[i]);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "disk '%s': flush failed", vm->disk_ids[i]);
            return false;
        }
    }
    for (unsigned i = 0; i < vm->ndisks; i++)
        block_unlock_write(vm->disks[i]);
    return true;
}

/* Take the write lock of every writable image (lock held). */
bool vm_disks_lock(struct vm *vm, GError **errp)
{
    for (unsigned i = 0; i < vm->ndisks; i++) {
        if (block_is_readonly(vm->disks[i]) || block_has_write_lock(vm->disks[i]))
            continue;
        if (!block_lock_write(vm->disks[i], errp)) {
            g_prefix_error(errp, "disk '%s': ", vm->disk_ids[i]);
            return false;
        }
    }
    return true;
}

/* ---- outgoing ---- */

static void vm_mig_resume(void *opaque);

static bool vm_mig_stop(void *opaque, GError **errp)
{
    struct vm *vm = opaque;
    bool was_running = runstate_is_running(vm->runstate);

    vm->mig_prev_runstate = vm->runstate;
    if (!runstate_set(&vm->runstate, RUNSTATE_FINISH_MIGRATE, errp))
        return false;
    if (was_running) {
        cpus_pause(&vm->cpus);
        vm_emit_event(vm, "STOP", NULL);
    }
    /* Doorbells the guest rang before it stopped reach their devices
     * before the disks drain and any device is saved
     * (accel/kvm-notify.h). */
    kvm_notify_flush(&vm->notify);
    /* From here RAM and rings must stay still: the NICs stop moving frames. */
    machine_set_running(&vm->machine, false);
    if (!vm_disks_release(vm, errp)) {
        vm_mig_resume(vm); /* the core resumes only after a stop() that worked */
        return false;
    }
    return true;
}

static void vm_mig_resume(void *opaque)
{
    struct vm *vm = opaque;
    enum runstate to = vm->mig_prev_runstate;
    g_autoptr(GError) err = NULL;

    /* Nobody else may have taken them: the destination only does so
     * once it loaded everything, and then the migration completes. */
    if (!vm_disks_lock(vm, &err))
        fprintf(stderr, "tern: warning: %s\n", err->message);

    /* The guest may have asked to stop meanwhile (a reset or an exit is
     * pending): its request still wins. */
    if (!runstate_set(&vm->runstate, to, NULL))
        return;
    /* The NICs run with the run state, even while a pending request
     * keeps the vCPUs parked a moment longer (a reset does not restart
     * them). */
    machine_set_running(&vm->machine, runstate_is_running(to));
    if (runstate_is_running(to) && !vm->request_posted) {
        cpus_resume(&vm->cpus);
        vm_emit_event(vm, "RESUME", NULL);
    }
    /* A reset held back during the switch-over happens now. */
    if (vm->reset_requested)
        vm_post_requests(vm);
}

static void vm_mig_completed(void *opaque)
{
    struct vm *vm = opaque;

    runstate_set(&vm->runstate, RUNSTATE_POSTMIGRATE, NULL);
    /* A reset the guest asked for during the switch-over: the guest now
     * lives on the destination, which got the state from before it. */
    vm->reset_requested = vm->reset_by_host = false;
}

static void vm_mig_event(void *opaque, const char *name, JsonObject *data)
{
    vm_emit_event(opaque, name, data);
}

static gboolean vm_mig_reap(gpointer opaque)
{
    struct vm *vm = opaque;

    migration_reap(&vm->migration);
    return G_SOURCE_REMOVE;
}

static void vm_mig_finished(void *opaque)
{
    struct vm *vm = opaque;

    main_loop_post(&vm->loop, vm_mig_reap, vm);
}

static const struct migration_vm_ops vm_mig_ops = {
    .stop = vm_mig_stop,
    .resume = vm_mig_resume,
    .completed = vm_mig_completed,
    .event = vm_mig_event,
    .finished = vm_mig_finished,
};

/* ---- named descriptors (getfd / closefd) ---- */

/* fd:NAME takes the descriptor out of the table, as QEMU's monitor_get_fd
 * does: the migration owns it from then on.  Main thread, lock held. */
static int vm_lookup_named_fd(void *opaque, const char *name, GError **errp)
{
    struct vm *vm = opaque;
    gpointer key, fd;

    if (!vm->named_fds || !g_hash_table_steal_extended(vm->named_fds, name, &key, &fd)) {
        error_setg(errp, "File descriptor named '%s' has not been found", name);
        return -1;
    }
    g_free(key);
    return GPOINTER_TO_INT(fd);
}

static void vm_close_fd(gpointer fd)
{
    close(GPOINTER_TO_INT(fd));
}

void vm_add_named_fd(struct vm *vm, const char *name, int fd)
{
    if (!vm->named_fds)
        vm->named_fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, vm_close_fd);
    g_hash_table_replace(vm->named_fds, g_strdup(name), GINT_TO_POINTER(fd));
}

bool vm_close_named_fd(struct vm *vm, const char *name, GError **errp)
{
    if (!vm->named_fds || !g_hash_table_remove(vm->named_fds, name)) {
        error_setg(errp, "File descriptor named '%s' not found", name);
        return false;
    }
    return true;
}

/* ---- incoming ---- */

static void vm_incoming_done(void *opaque, bool ok, const GError *err)
{
    struct vm *vm = opaque;

    if (!ok) {
        if (!vm->incoming.exit_on_error)
            return; /* stays in inmigrate; query-migrate says why */
        fprintf(stderr, "tern: incoming migration failed: %s\n", err->message);
        vm->exit_status = 1;
        vm->exit_requested = true;
        main_loop_quit(&vm->loop);
        return;
    }
    machine_kick_disks(&vm->machine);
    vm_incoming_finish(vm, NULL); /* NICs: running, so they kick themselves */
    /* The network learns where the NICs are now: RARP frames, and the
     * guests' own announcements, in rounds timed by the announce-*
     * parameters (as QEMU does after an incoming migration). */
    vm_announce_self(vm, NULL);
}

/* One round for the NICs the running announcement selected. */
static void vm_announce_round(void *opaque)
{
    struct vm *vm = opaque;

    for (unsigned i = 0; i < vm->machine.nnet; i++) {
        if (announce_selects(&vm->announce.p, i)) {
            virtio_net_send_rarp(&vm->machine.net[i]);
            virtio_net_announce(&vm->machine.net[i]);
        }
    }
}

void vm_announce_self(struct vm *vm, const struct announce_params *p)
{
    const struct migration_params *mp = &vm->migration.params;
    struct announce_params params = { mp->announce_initial, mp->announce_max,
                                      mp->announce_rounds, mp->announce_step };

    announce_timer_start(&vm->announce, vm->loop.ctx, p ? p : &params, vm_announce_round, vm);
}

static bool vm_incoming_activate(void *opaque, GError **errp)
{
    return vm_disks_lock(opaque, errp);
}

static const struct incoming_vm_ops vm_incoming_ops = {
    .activate = vm_incoming_activate,
    .done = vm_incoming_done,
    .event = vm_mig_event,
};

bool vm_start_incoming(struct vm *vm, GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (!vm_prepare_incoming(vm, errp))
        return false;
    if (!incoming_start(&vm->incoming, vm->incoming_uri, &err)) {
        error_setg(errp, "-incoming %s: %s", vm->incoming_uri, err->message);
        return false;
    }
    return true;
}

void vm_migration_init(struct vm *vm, const struct options *opts)
{
    migration_init(&vm->migration, &vm->loop.lock, &vm->savevm, &vm->ram, &vm_mig_ops, vm);
    vm->migration.fd_lookup = vm_lookup_named_fd;
    vm->migration.fd_lookup_opaque = vm;
    incoming_init(&vm->incoming, &vm->loop.lock, vm->loop.ctx, &vm->savevm, &vm_incoming_ops, vm,
                  &vm->migration.caps[MIGRATION_CAP_EVENTS]);
    vm->incoming.fd_lookup = vm_lookup_named_fd;
    vm->incoming.fd_lookup_opaque = vm;
    vm->incoming_uri = g_strdup(opts->incoming);
    vm->savevm.device_lock = &vm->loop.lock;
}

void vm_migration_destroy(struct vm *vm)
{
    announce_timer_stop(&vm->announce);
    migration_destroy(&vm->migration);
    incoming_destroy(&vm->incoming);
    g_clear_pointer(&vm->named_fds, g_hash_table_unref);
    g_clear_pointer(&vm->incoming_uri, g_free);
}
