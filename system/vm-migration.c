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
 * Thread context: the migration_vm_ops run on the migration thread with
 * the VM lock held; everything else on the main thread with the lock held.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "system/vm.h"
#include "util/error.h"

/* ---- outgoing ---- */

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
     * before any device is saved (accel/kvm-notify.h). */
    kvm_notify_flush(&vm->notify);
    return true;
}

static void vm_mig_resume(void *opaque)
{
    struct vm *vm = opaque;
    enum runstate to = vm->mig_prev_runstate;

    /* The guest may have asked to stop meanwhile (a reset or an exit is
     * pending): its request still wins. */
    if (!runstate_set(&vm->runstate, to, NULL))
        return;
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
    vm_incoming_finish(vm, NULL);
}

static const struct incoming_vm_ops vm_incoming_ops = {
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
    migration_destroy(&vm->migration);
    incoming_destroy(&vm->incoming);
    g_clear_pointer(&vm->named_fds, g_hash_table_unref);
    g_clear_pointer(&vm->incoming_uri, g_free);
}
