#include "system/vm.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "hw/x86/e820.h"
#include "util/error.h"

void vm_lock(struct vm *vm)
{
    main_loop_lock(&vm->loop);
}

void vm_unlock(struct vm *vm)
{
    main_loop_unlock(&vm->loop);
}

struct vm_pending_event {
    char *name;
    JsonObject *data;
};

static void vm_deliver_event(struct vm *vm, const char *name, JsonObject *data)
{
    if (vm->event)
        vm->event(vm->event_opaque, name, data);
    else if (data)
        json_object_unref(data);
}

/* Main thread, lock held: events raised elsewhere, oldest first. */
static void vm_flush_events(struct vm *vm)
{
    struct vm_pending_event *e;

    while ((e = g_queue_pop_head(&vm->events_pending))) {
        vm_deliver_event(vm, e->name, e->data);
        g_free(e->name);
        g_free(e);
    }
}

static gboolean vm_flush_events_cb(gpointer opaque)
{
    struct vm *vm = opaque;

    vm->events_posted = false;
    vm_flush_events(vm);
    return G_SOURCE_REMOVE;
}

/* Monitors live on the main thread: other threads (migration) queue. */
void vm_emit_event(struct vm *vm, const char *name, JsonObject *data)
{
    struct vm_pending_event *e;

    if (main_loop_is_main_thread(&vm->loop)) {
        vm_flush_events(vm);
        vm_deliver_event(vm, name, data);
        return;
    }
    e = g_new(struct vm_pending_event, 1);
    e->name = g_strdup(name);
    e->data = data;
    g_queue_push_tail(&vm->events_pending, e);
    if (!vm->events_posted) {
        vm->events_posted = true;
        main_loop_post(&vm->loop, vm_flush_events_cb, vm);
    }
}

JsonObject *vm_event_reason(bool guest, const char *reason)
{
    JsonObject *o = json_object_new();

    json_object_set_boolean_member(o, "guest", guest);
    json_object_set_string_member(o, "reason", reason);
    return o;
}

/* Main thread, lock held: act on what vCPU threads asked for. */
static gboolean vm_handle_requests(gpointer opaque)
{
    struct vm *vm = opaque;
    g_autoptr(GError) err = NULL;

    vm->request_posted = false;
    if (vm->shutdown_reason) {
        vm_emit_event(vm, "SHUTDOWN", vm_event_reason(vm->shutdown_guest, vm->shutdown_reason));
        vm->shutdown_reason = NULL;
    }
    if (vm->exit_requested) {
        cpus_pause(&vm->cpus);
        main_loop_quit(&vm->loop);
        return G_SOURCE_REMOVE;
    }
    /* Not in the middle of a migration's switch-over or load: the reset
     * would write guest RAM and state that are being sent or loaded.  The
     * migration's end re-posts it (vm_mig_resume) or drops it. */
    if (vm->reset_requested && (vm->runstate == RUNSTATE_FINISH_MIGRATE ||
                                vm->runstate == RUNSTATE_INMIGRATE))
        return G_SOURCE_REMOVE;
    if (vm->reset_requested) {
        bool guest = !vm->reset_by_host;
        const char *reason = guest ? "guest-reset" : "host-qmp-system-reset";

        vm->reset_requested = vm->reset_by_host = false;
        cpus_pause(&vm->cpus);
        if (vm->no_reboot) {
            /* QEMU: with -no-reboot every reset request becomes a shutdown. */
            runstate_set(&vm->runstate, RUNSTATE_SHUTDOWN, NULL);
            vm_emit_event(vm, "SHUTDOWN", vm_event_reason(guest, reason));
            vm->exit_requested = true;
            vm->exit_status = 0;
            main_loop_quit(&vm->loop);
            return G_SOURCE_REMOVE;
        }
        if (!vm_system_reset(vm, guest, &err)) {
            fprintf(stderr, "tern: system reset failed: %s\n", err->message);
            vm->exit_requested = true;
            vm->exit_status = 1;
            main_loop_quit(&vm->loop);
        }
    }
    return G_SOURCE_REMOVE;
}

/* Any thread, lock held. */
void vm_post_requests(struct vm *vm)
{
    cpus_request_pause(&vm->cpus);
    if (!vm->request_posted) {
        vm->request_posted = true;
        main_loop_post(&vm->loop, vm_handle_requests, vm);
    }
}

static void vm_ctl_reset(void *opaque)
{
    struct vm *vm = opaque;

    vm->reset_requested = true;
    vm_post_requests(vm);
}

static void vm_ctl_exit(void *opaque, int status)
{
    struct vm *vm = opaque;

    if (!vm->exit_requested) {
        vm->exit_requested = true;
        vm->exit_status = status;
    }
    vm_post_requests(vm);
}

/* As QEMU's shutdown requests: the SHUTDOWN event goes out from the main
 * loop, after the reply to a "quit" that asked for it.  Any thread. */
static void vm_request_shutdown(struct vm *vm, bool guest, const char *reason)
{
    runstate_set(&vm->runstate, RUNSTATE_SHUTDOWN, NULL);
    if (!vm->exit_requested) {
        vm->shutdown_guest = guest;
        vm->shutdown_reason = reason;
    }
    vm_ctl_exit(vm, 0);
}

static void vm_ctl_shutdown(void *opaque)
{
    vm_request_shutdown(opaque, true, "guest-shutdown");
}

static void vm_ctl_internal_error(void *opaque, unsigned index, const char *msg)
{
    struct vm *vm = opaque;

    fprintf(stderr, "tern: vCPU %u: %s\n", index, msg);
    runstate_set(&vm->runstate, RUNSTATE_INTERNAL_ERROR, NULL);
    /* Without a monitor nobody could inspect or resume the paused guest. */
    vm_ctl_exit(vm, 1);
}

static gboolean vm_on_signal(gpointer opaque)
{
    struct vm *vm = opaque;

    fprintf(stderr, "tern: terminating on signal\n");
    vm_request_shutdown(vm, false, "host-signal");
    return G_SOURCE_CONTINUE;
}

static void vm_watch_signals(struct vm *vm)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

    for (unsigned i = 0; i < G_N_ELEMENTS(sigs); i++) {
        GSource *s = g_unix_signal_source_new(sigs[i]);

        g_source_set_callback(s, vm_on_signal, vm, NULL);
        g_source_attach(s, vm->loop.ctx);
        vm->signal_sources[i] = s;
    }
}

static bool vm_init_memory(struct vm *vm, const struct options *opts, GError **errp)
{
    struct ram_range layout[MEMORY_MAX_RANGES];
    unsigned n = e820_ram_layout(opts->ram_size, layout);
    g_autoptr(GError) err = NULL;

    if (!memory_init(&vm->mem, opts->ram_size, layout, n, opts->mem_path, &err)) {
        if (opts->mem_path)
            error_setg(errp, "-mem-path %s: %s", opts->mem_path, err->message);
        else
            error_setg(errp, "-m %s: %s", opts->ram_size_arg, err->message);
        return false;
    }
    return kvm_map_memory(&vm->kvm, &vm->mem, errp);
}

/* virtqueue_ram.mark_dirty: devices' DMA writes (VM lock held). */
static void vm_device_mark_dirty(void *opaque, gpa_t gpa, uint64_t len)
{
    vm_mark_ram_dirty(opaque, gpa, len);
}

/* machine_config.level_irq: irqfd when KVM can, else KVM_IRQ_LINE. */
static struct irq_line vm_level_irq(void *opaque, unsigned gsi)
{
    struct vm *vm = opaque;

    return kvm_notify_irq_line(&vm->notify, gsi);
}

/* Open every disk image; errors name the option that gave it. */
static bool vm_open_disks(struct vm *vm, const struct options *opts, GError **errp)
{
    for (unsigned i = 0; i < opts->drives.disks->len; i++) {
        const struct disk_config *disk = opts->drives.disks->pdata[i];
        struct block_options bo = disk->drive->bo;
        g_autoptr(GError) err = NULL;

        /* A destination writes nothing before the source let go of the
         * image (block_lock_write() when it starts the guest). */
        bo.inactive = vm->incoming_uri != NULL && !bo.readonly;
        vm->disks[i] = block_open(vm->loop.ctx, &bo, &err);
        if (!vm->disks[i]) {
            error_setg(errp, "%s: %s", disk->drive->spec, err->message);
            return false;
        }
        vm->disk_ids[i] = g_strdup(disk->drive->id);
        vm->ndisks = i + 1;
    }
    return true;
}

static void vm_close_disks(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ndisks; i++) {
        block_close(vm->disks[i]);
        g_free(vm->disk_ids[i]);
    }
    vm->ndisks = 0;
}

/* Open every -netdev now, so a missing permission or a refused connection
 * is a startup error even before a NIC uses it (as QEMU does). */
static bool vm_open_netdevs(struct vm *vm, const struct options *opts, GError **errp)
{
    vm->netdevs = g_ptr_array_new_with_free_func((GDestroyNotify)net_backend_free);
    for (unsigned i = 0; i < opts->netdevs.defs->len; i++) {
        const struct netdev_def *def = opts->netdevs.defs->pdata[i];
        g_autoptr(GError) err = NULL;
        struct net_backend *nb = net_backend_open(vm->loop.ctx, &def->opts, &err);

        if (!nb) {
            error_setg(errp, "%s: %s", def->spec, err->message);
            return false;
        }
        g_ptr_array_add(vm->netdevs, nb);
    }
    return true;
}

struct net_backend *vm_find_netdev(struct vm *vm, const char *id)
{
    for (unsigned i = 0; vm->netdevs && i < vm->netdevs->len; i++) {
        if (!strcmp(net_backend_id(vm->netdevs->pdata[i]), id))
            return vm->netdevs->pdata[i];
    }
    return NULL;
}

static bool vm_init_devices(struct vm *vm, const struct options *opts, GError **errp)
{
    struct machine_config cfg = {
        .pio = &vm->pio,
        .mmio = &vm->mmio,
        .ram = { &vm->mem, vm_device_mark_dirty, vm },
        .irq_set = kvm_irq_set,
        .irq_opaque = &vm->kvm,
        .level_irq = vm_level_irq,
        .level_irq_opaque = vm,
        .notifiers = kvm_notify_host_notifiers(&vm->notify),
        .ctl = { vm_ctl_reset, vm_ctl_exit, vm },
        .debug_exit = opts->debug_exit.present,
        .debug_exit_base = opts->debug_exit.iobase,
        .debug_exit_size = opts->debug_exit.iosize,
    };
    g_autoptr(GError) err = NULL;

    if (strcmp(opts->serial, "none")) {
        vm->serial = chardev_new(opts->serial, vm->loop.ctx, &err);
        if (!vm->serial) {
            error_setg(errp, "-serial %s", err->message);
            return false;
        }
    }
    cfg.serial = vm->serial;
    for (unsigned i = 0; i < vm->ndisks; i++) {
        const struct disk_config *disk = opts->drives.disks->pdata[i];

        cfg.disks[i] = (struct machine_disk){ vm->disks[i], disk->serial };
    }
    cfg.ndisks = vm->ndisks;
    for (unsigned i = 0; i < opts->netdevs.nics->len; i++) {
        const struct nic_config *nic = opts->netdevs.nics->pdata[i];

        cfg.nics[i].nb = vm_find_netdev(vm, nic->netdev->opts.id);
        vm->nic_ids[i] = g_strdup(nic->id);
        memcpy(cfg.nics[i].mac, nic->mac, VIRTIO_NET_MAC_LEN);
    }
    cfg.nnics = opts->netdevs.nics->len;
    return machine_init(&vm->machine, &cfg, errp);
}

static bool vm_init_cpus(struct vm *vm, unsigned n, GError **errp)
{
    struct cpus_env env = {
        .pio = &vm->pio,
        .mmio = &vm->mmio,
        .reset = vm_ctl_reset,
        .shutdown = vm_ctl_shutdown,
        .internal_error = vm_ctl_internal_error,
        .opaque = vm,
    };

    return cpus_init(&vm->cpus, &vm->kvm, n, &vm->loop.lock, &env, errp) &&
           kvm_x86_set_boot_entry(vm->cpus.vcpu[0].fd, &vm->entry, errp) &&
           cpus_start(&vm->cpus, errp);
}

/* The "ram" section's dirty log: KVM's, for the one block (memfd offsets). */
static bool vm_ram_sync(void *opaque, struct ram_state *rs, GError **errp)
{
    struct vm *vm = opaque;

    return kvm_dirty_log_sync(&vm->kvm, rs, 0, errp);
}

static void vm_ram_sync_stop(void *opaque)
{
    struct vm *vm = opaque;

    kvm_dirty_log_stop(&vm->kvm);
}

/* Every migration section, in load order: RAM, vCPUs (with their LAPICs,
 * before the IOAPIC and PICs that may deliver to them), the VM's in-kernel
 * devices, then the machine's; the disks' "block" section first (only sent
 * when the migration asks for block migration). */
static bool vm_register_sections(struct vm *vm, GError **errp)
{
    for (unsigned i = 0; i < vm->ndisks; i++) {
        if (!block_is_readonly(vm->disks[i]) &&
            !block_mig_add_disk(&vm->blockmig, vm->disk_ids[i], vm->disks[i], errp))
            return false;
    }
    /* "block" before "ram", QEMU's order: both share each rate-limit
     * window, and the disks are the larger part to send. */
    if (!block_mig_register(&vm->blockmig, &vm->savevm, errp))
        return false;
    vm->migration.bm = &vm->blockmig;
    if (!ram_add_block(&vm->ram, "pc.ram", vm->mem.base, vm->mem.size, errp))
        return false;
    if (vm->mem.shared) /* untouched RAM is a hole: zero without a read */
        ram_block_set_fd(&vm->ram, 0, vm->mem.fd, 0);
    return ram_register(&vm->ram, &vm->savevm, errp) &&
           cpus_register_vmstate(&vm->cpus, &vm->savevm, errp) &&
           kvm_vm_state_register(&vm->kvm_state, &vm->kvm, &vm->savevm, errp) &&
           machine_register_vmstate(&vm->machine, &vm->savevm, false, errp);
}

void vm_mark_ram_dirty(struct vm *vm, gpa_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < vm->mem.nranges; i++) {
        const struct ram_range *r = &vm->mem.ranges[i];
        gpa_t last = len > UINT64_MAX - gpa ? UINT64_MAX : gpa + len;
        gpa_t start = MAX(gpa, r->gpa), end = MIN(last, r->gpa + r->size);

        if (start < end)
            ram_mark_dirty(&vm->ram, 0, r->offset + (start - r->gpa), end - start);
    }
}

struct vm *vm_new(const struct options *opts, GError **errp)
{
    struct vm *vm = g_new0(struct vm, 1);
    g_autofree char *cmdline = machine_kernel_cmdline(
        opts->append, opts->drives.disks->len + opts->netdevs.nics->len);
    bool ok;

    vm->name = g_strdup(opts->name);
    vm->no_reboot = opts->no_reboot;
    vm->start_paused = opts->start_paused;
    vm->runstate = RUNSTATE_PRELAUNCH;
    vm->kvm.fd = vm->kvm.vm_fd = -1;
    vm->mem.fd = -1;
    savevm_init(&vm->savevm, opts->machine);
    ram_state_init(&vm->ram, vm_ram_sync, vm);
    ram_state_set_sync_stop(&vm->ram, vm_ram_sync_stop);
    main_loop_init(&vm->loop);
    g_queue_init(&vm->events_pending);
    vm_migration_init(vm, opts);
    block_mig_init(&vm->blockmig, &vm->loop.lock);
    iomap_init(&vm->pio, "port I/O");
    iomap_init(&vm->mmio, "MMIO");

    vm_lock(vm);
    /* Files first: a typo in -kernel should not wait for KVM or RAM. */
    ok = opts->kernel || (error_setg(errp, "no -kernel given (Tern boots a PVH ELF or a Linux "
                                           "bzImage directly)"),
                          false);
    ok = ok && boot_image_load(&vm->boot, opts->kernel, opts->initrd, cmdline, opts->smp, errp);
    ok = ok && vm_open_disks(vm, opts, errp);
    ok = ok && vm_open_netdevs(vm, opts, errp);
    ok = ok && kvm_init(&vm->kvm, NULL, opts->smp, errp);
    if (ok)
        kvm_notify_init(&vm->notify, &vm->kvm, vm->loop.ctx);
    ok = ok && vm_init_memory(vm, opts, errp);
    ok = ok && boot_install(&vm->boot, &vm->mem, &vm->entry, errp);
    ok = ok && vm_init_devices(vm, opts, errp);
    /* After the devices: a -serial ...,server waiting for its client can
     * still be interrupted (default SIGINT/SIGTERM); before the vCPU threads,
     * so a process that has them also handles signals. */
    if (ok)
        vm_watch_signals(vm);
    ok = ok && vm_init_cpus(vm, opts->smp, errp);
    ok = ok && vm_register_sections(vm, errp);
    vm_unlock(vm);
    if (!ok) {
        vm_free(vm);
        return NULL;
    }
    return vm;
}

void vm_free(struct vm *vm)
{
    if (!vm)
        return;
    vm_lock(vm);
    vm_migration_destroy(vm);
    cpus_destroy(&vm->cpus);
    vm->event = NULL;
    vm_flush_events(vm);
    vm_unlock(vm);
    for (unsigned i = 0; i < G_N_ELEMENTS(vm->signal_sources); i++) {
        if (vm->signal_sources[i]) {
            g_source_destroy(vm->signal_sources[i]);
            g_source_unref(vm->signal_sources[i]);
        }
    }
    chardev_free(vm->serial);
    block_mig_destroy(&vm->blockmig);
    vm_close_disks(vm);
    vm_lock(vm);
    machine_destroy(&vm->machine);
    for (unsigned i = 0; i < G_N_ELEMENTS(vm->nic_ids); i++)
        g_free(vm->nic_ids[i]);
    if (vm->netdevs) /* after the NICs that were their peers */
        g_ptr_array_unref(vm->netdevs);
    vm_unlock(vm);
    iomap_destroy(&vm->pio);
    iomap_destroy(&vm->mmio);
    memory_destroy(&vm->mem);
    kvm_notify_destroy(&vm->notify);
    kvm_destroy(&vm->kvm);
    boot_image_clear(&vm->boot);
    savevm_destroy(&vm->savevm);
    ram_state_destroy(&vm->ram);
    main_loop_destroy(&vm->loop);
    g_free(vm->name);
    g_free(vm);
}

bool vm_resume(struct vm *vm, GError **errp)
{
    if (runstate_is_running(vm->runstate))
        return true;
    /* After a completed migration the images were handed over: the guest
     * runs here again only if nobody took them (QEMU's "cont" does the
     * same: a destination running on shared storage makes it fail). */
    if (vm->runstate == RUNSTATE_POSTMIGRATE && !vm_disks_lock(vm, errp))
        return false;
    if (!runstate_set(&vm->runstate, RUNSTATE_RUNNING, errp))
        return false;
    cpus_resume(&vm->cpus);
    machine_set_running(&vm->machine, true);
    vm_emit_event(vm, "RESUME", NULL);
    return true;
}

bool vm_pause(struct vm *vm, GError **errp)
{
    if (!runstate_is_running(vm->runstate))
        return true; /* QEMU: stop while stopped is a no-op */
    if (!runstate_set(&vm->runstate, RUNSTATE_PAUSED, errp))
        return false;
    cpus_pause(&vm->cpus);
    kvm_notify_flush(&vm->notify);
    machine_set_running(&vm->machine, false);
    vm_emit_event(vm, "STOP", NULL);
    return true;
}

void vm_request_reset(struct vm *vm)
{
    vm->reset_requested = true;
    vm->reset_by_host = true;
    vm_post_requests(vm);
}

static gboolean vm_emit_powerdown(gpointer opaque)
{
    vm_emit_event(opaque, "POWERDOWN", NULL);
    return G_SOURCE_REMOVE;
}

void vm_request_powerdown(struct vm *vm)
{
    main_loop_post(&vm->loop, vm_emit_powerdown, vm);
}

void vm_quit(struct vm *vm, const char *reason)
{
    vm_request_shutdown(vm, false, reason);
}

bool vm_prepare_incoming(struct vm *vm, GError **errp)
{
    if (vm->runstate != RUNSTATE_PRELAUNCH) {
        error_setg(errp, "a VM in state '%s' cannot receive a migration",
                   runstate_name(vm->runstate));
        return false;
    }
    return runstate_set(&vm->runstate, RUNSTATE_INMIGRATE, errp);
}

bool vm_incoming_finish(struct vm *vm, GError **errp)
{
    if (vm->runstate != RUNSTATE_INMIGRATE) {
        error_setg(errp, "no incoming migration (state '%s')", runstate_name(vm->runstate));
        return false;
    }
    kvm_notify_kick_all(&vm->notify);
    if (vm->start_paused)
        return runstate_set(&vm->runstate, RUNSTATE_PAUSED, errp);
    return vm_resume(vm, errp);
}

bool vm_start(struct vm *vm, GError **errp)
{
    if (vm->incoming_uri)
        return vm_start_incoming(vm, errp);
    if (vm->start_paused)
        return true; /* stays in prelaunch until "cont" */
    return vm_resume(vm, errp);
}

bool vm_system_reset(struct vm *vm, bool guest, GError **errp)
{
    bool was_running = runstate_is_running(vm->runstate);

    machine_reset(&vm->machine);
    if (!kvm_reset_irqchip(&vm->kvm, errp) ||
        !boot_install(&vm->boot, &vm->mem, &vm->entry, errp) ||
        !cpus_reset(&vm->cpus, &vm->entry, errp))
        return false;
    /* boot_install() wrote the kernel, initrd and tables all over RAM, and
     * KVM's dirty log does not see host writes: resend everything (a reset
     * during a migration is rare; outside one this costs nothing). */
    vm_mark_ram_dirty(vm, 0, UINT64_MAX);
    vm->resets++;
    vm_emit_event(vm, "RESET", vm_event_reason(guest, guest ? "guest-reset"
                                                            : "host-qmp-system-reset"));
    if (was_running)
        cpus_resume(&vm->cpus);
    return true;
}

char *vm_dump_vmstate(const char *machine_type, GError **errp)
{
    struct savevm sv;
    struct machine m = { 0 };
    struct kvm_vm_state vs = { 0 };
    char *json = NULL;

    /* The same order as vm_register_sections(); one "cpu" stands for all
     * (dumps list each section name once). */
    savevm_init(&sv, machine_type);
    if (savevm_register_vmsd(&sv, "cpu", 0, &kvm_cpu_state_vmstate, NULL, errp) &&
        kvm_vm_state_register(&vs, NULL, &sv, errp) &&
        machine_register_vmstate(&m, &sv, true, errp))
        json = savevm_dump_vmstate(&sv);
    savevm_destroy(&sv);
    return json;
}

int vm_run(struct vm *vm)
{
    main_loop_run(&vm->loop);
    return vm->exit_status;
}
