/*
 * struct vm owns one virtual machine: its main loop and VM lock, run state,
 * KVM VM, guest RAM, I/O maps, vCPUs, devices and boot image.  There are no
 * mutable globals, so tests can create several VMs in one process.
 *
 * Life cycle (main thread):
 *   vm_new(options)   -> everything created, vCPU threads parked, prelaunch
 *   vm_start()        -> running (or stays prelaunch with -S)
 *   vm_run()          -> main loop until a guest exit, reset with -no-reboot,
 *                        fatal error or signal; returns the exit status
 *   vm_free()
 *
 * Incoming migration (the destination), instead of vm_start():
 *   vm_new(options)            same options as the source (-m, -smp, ...)
 *   vm_prepare_incoming()      prelaunch -> inmigrate; vCPUs stay parked
 *   savevm_load(&vm->savevm)   VM lock NOT held: the loader takes it for
 *                              each device section (savevm.device_lock)
 *   vm_incoming_finish()       -> running, or paused with -S
 *
 * Outgoing: vm->savevm holds, in load order, "ram" (iterative, RAM with
 * KVM dirty logging as its sync), one "cpu" per vCPU, "kvmclock", "i8259"
 * 0 and 1, "ioapic", "i8254", then the machine's devices.  Device sections
 * are read from KVM in their pre_save, so savevm_save_complete() (and
 * savevm_save_all()) need the vCPUs paused; savevm_save_cleanup() must
 * follow every savevm_save_setup(), whatever the outcome.
 *
 * Requests from vCPU threads (reset, exit, internal error) are posted to the
 * main loop; the main thread pauses every vCPU before acting on them.
 */
#ifndef SYSTEM_VM_H
#define SYSTEM_VM_H

#include <glib.h>
#include <stdbool.h>

#include "accel/kvm-notify.h"
#include "accel/kvm-vcpu.h"
#include "accel/kvm-vm-state.h"
#include "accel/kvm.h"
#include "chardev/chardev.h"
#include "hw/x86/boot.h"
#include "hw/x86/machine.h"
#include "migration/block.h"
#include "net/announce.h"
#include "migration/incoming.h"
#include "migration/migration.h"
#include "migration/ram.h"
#include "migration/savevm.h"
#include "system/iomap.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/options.h"
#include "system/runstate.h"

struct vm {
    char *name;
    bool no_reboot;
    bool start_paused;
    struct main_loop loop;
    enum runstate runstate;
    struct kvm kvm;
    struct kvm_notify notify; /* ioeventfd doorbells and irqfd lines */
    struct guest_memory mem;
    struct iomap pio;
    struct iomap mmio;
    struct cpus cpus;
    struct chardev *serial;
    struct machine machine;
    /* Disk images, in slot order (options.drives.disks); opened inactive
     * (no write lock) on a migration destination until it starts. */
    struct block_backend *disks[DRIVES_MAX];
    char *disk_ids[DRIVES_MAX];
    char *nic_ids[LAYOUT_VIRTIO_MMIO_SLOTS]; /* -device id= of machine.net[i], or NULL */
    unsigned ndisks;
    struct block_mig blockmig; /* the "block" section: writable disks for migrate -b */
    struct announce_timer announce; /* self-announce rounds (net/announce.h) */
    /* -netdev backends (struct net_backend *), command-line order; a NIC
     * finds its own with vm_find_netdev() and attaches as the peer. */
    GPtrArray *netdevs;
    struct boot_image boot;
    struct boot_entry entry;
    struct savevm savevm; /* every section a migration carries */
    struct ram_state ram; /* block "pc.ram" = the whole memfd */
    struct kvm_vm_state kvm_state; /* kvmclock, PICs, IOAPIC, PIT sections */

    /* Requests from vCPU threads, handled on the main thread (VM lock). */
    bool reset_requested;
    bool reset_by_host; /* the pending reset came from the monitor */
    bool exit_requested;
    bool request_posted;
    const char *shutdown_reason; /* SHUTDOWN event still to send (static string) */
    bool shutdown_guest;
    int exit_status;
    unsigned resets; /* completed system resets, for tests and logs */

    /* Where run-state events go (the monitors); NULL: nowhere.  Called on
     * the main thread with the VM lock held; @data may be NULL, is taken.
     * Events raised on other threads wait in events_pending for the main
     * loop, in order. */
    void (*event)(void *opaque, const char *name, JsonObject *data);
    void *event_opaque;
    GQueue events_pending;
    bool events_posted;

    /* Migration (system/vm-migration.c). */
    struct migration migration;
    struct incoming incoming;
    char *incoming_uri;               /* -incoming: started by vm_start() */
    enum runstate mig_prev_runstate;  /* before the switch-over stop */
    GHashTable *named_fds;            /* getfd NAME -> descriptor */
    GSource *signal_sources[3];
};

/* Build the VM described by @opts.  Errors are one line for the user. */
struct vm *vm_new(const struct options *opts, GError **errp);
void vm_free(struct vm *vm);

/* prelaunch -> running, unless -S.  Main thread, lock held. */
bool vm_start(struct vm *vm, GError **errp);
/* Pause / resume all vCPUs with a run-state change (stop / cont).  A
 * pause also delivers every doorbell the guest rang before it stopped
 * (kvm_notify_flush), so device state is final once it returns. */
bool vm_pause(struct vm *vm, GError **errp);
bool vm_resume(struct vm *vm, GError **errp);
/* A fresh VM (vm_new, not started) becomes a migration destination:
 * prelaunch -> inmigrate.  Lock held. */
bool vm_prepare_incoming(struct vm *vm, GError **errp);
/* After a successful savevm_load: inmigrate -> running (RESUME event), or
 * paused with -S.  Rings every registered doorbell once first
 * (kvm_notify_kick_all): a doorbell the source never delivered is not
 * lost.  Lock held. */
bool vm_incoming_finish(struct vm *vm, GError **errp);
/* Device emulation wrote guest RAM [gpa, gpa + len): a running migration
 * must send those pages again.  Any thread, VM lock held. */
void vm_mark_ram_dirty(struct vm *vm, gpa_t gpa, uint64_t len);
/* Run the main loop until the VM ends; returns the process exit status. */
int vm_run(struct vm *vm);

/* The -dump-vmstate JSON for @machine_type: every device type's
 * description, without creating a VM (no /dev/kvm needed). */
char *vm_dump_vmstate(const char *machine_type, GError **errp);

/* System reset: devices, vCPUs, boot data.  vCPUs paused, lock held.
 * @guest: the guest asked for it (RESET event data). */
bool vm_system_reset(struct vm *vm, bool guest, GError **errp);
/* Monitor "system_reset": done from the main loop after the reply, as in
 * QEMU (RESET event, or SHUTDOWN with -no-reboot).  Lock held. */
void vm_request_reset(struct vm *vm);
/* Monitor "system_powerdown": the POWERDOWN event, after the reply.  No ACPI,
 * so the guest is not told. */
void vm_request_powerdown(struct vm *vm);
/* Monitor "quit": end the main loop with status 0; the SHUTDOWN event
 * follows from the main loop.  @reason: a static string. */
void vm_quit(struct vm *vm, const char *reason);
/* Post a QMP-style event (name, optional data, taken). */
void vm_emit_event(struct vm *vm, const char *name, JsonObject *data);
/* JSON object {"guest": guest, "reason": reason} for SHUTDOWN/RESET. */
JsonObject *vm_event_reason(bool guest, const char *reason);

/* ---- migration glue, system/vm-migration.c (lock held, main thread) ---- */
void vm_migration_init(struct vm *vm, const struct options *opts);
void vm_migration_destroy(struct vm *vm);
/* The -netdev backend with this id, or NULL. */
struct net_backend *vm_find_netdev(struct vm *vm, const char *id);

/* Start (or restart) the self-announce rounds of the NICs @p selects
 * (announce_params.nics), or of every NIC with the announce-* migration
 * parameters when @p is NULL (after an incoming migration).  Lock held, main
 * thread. */
void vm_announce_self(struct vm *vm, const struct announce_params *p);
/* Take the write lock of every writable disk image the VM does not hold
 * (after a switch-over released them).  Lock held. */
bool vm_disks_lock(struct vm *vm, GError **errp);
/* vm_start() with -incoming: inmigrate, then listen or load. */
bool vm_start_incoming(struct vm *vm, GError **errp);
/* getfd: keep @fd (taken) under @name, replacing an older one. */
void vm_add_named_fd(struct vm *vm, const char *name, int fd);
bool vm_close_named_fd(struct vm *vm, const char *name, GError **errp);

/* (Re)post the requests pending in the flags above to the main loop; any
 * thread, lock held. */
void vm_post_requests(struct vm *vm);

void vm_lock(struct vm *vm);
void vm_unlock(struct vm *vm);

#endif
