/*
 * The tern-1.0 machine's devices, in ONE ordered list (machine.c:
 * machine_devices[]): creation, I/O registration and reset all walk it in
 * that order, so adding a device is one table row.
 *
 *   device           ports / irq        notes
 *   serial0 (COM1)   0x3f8-0x3ff, IRQ 4 16550A; absent with -serial none
 *   i8042            0x60, 0x64         reset line only
 *   isa-debug-exit   -device iobase/iosize   only when requested
 *   virtio-blk N     virtio-mmio slot N one per -drive if=virtio / -device virtio-blk,
 *                    (0xd0000000 + N * 4 KiB, IRQ 5, 9, 10, 11: hw/x86/layout.h)
 *   virtio-net N     virtio-mmio slot   one per -device virtio-net, in the slots
 *                    ndisks + N         after the disks (4 slots in all)
 * (PIC, IOAPIC, PIT and the local APICs are KVM's in-kernel devices.)
 */
#ifndef HW_X86_MACHINE_H
#define HW_X86_MACHINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "chardev/chardev.h"
#include "hw/debug-exit.h"
#include "hw/host-notifier.h"
#include "hw/i8042.h"
#include "hw/irq.h"
#include "hw/machine-ctl.h"
#include "hw/uart16550.h"
#include "hw/virtio/virtio-blk.h"
#include "hw/virtio/virtio-net.h"
#include "hw/x86/layout.h"
#include "migration/savevm.h"
#include "system/iomap.h"

#define MACHINE_COM1_BASE 0x3f8
#define MACHINE_COM1_IRQ 4

struct machine_config {
    struct iomap *pio;
    struct iomap *mmio;
    /* Guest RAM for devices that DMA (virtio): translation plus the dirty
     * reporting a running migration needs for device writes. */
    struct virtqueue_ram ram;
    void (*irq_set)(void *opaque, unsigned gsi, int level);
    void *irq_opaque;
    /* A level-triggered line for @gsi that may bypass irq_set (with KVM: a
     * resampling irqfd, accel/kvm-notify.h), for virtio-mmio slots.  Main
     * thread, while building.  NULL: use irq_set/irq_opaque. */
    struct irq_line (*level_irq)(void *opaque, unsigned gsi);
    void *level_irq_opaque;
    /* Doorbells KVM catches (ioeventfd), for virtio_mmio_set_host_notifiers();
     * all zero: none, QueueNotify always exits. */
    struct host_notifiers notifiers;
    struct machine_ctl ctl;
    struct chardev *serial; /* NULL: no COM1 */
    bool debug_exit;
    uint16_t debug_exit_base;
    uint16_t debug_exit_size;
    /* virtio-blk disks, one per virtio-mmio slot in this order; the
     * backends stay the caller's. */
    struct machine_disk {
        struct block_backend *bb;
        const char *serial; /* GET_ID; NULL: none */
    } disks[LAYOUT_VIRTIO_MMIO_SLOTS];
    unsigned ndisks;
    /* virtio-net NICs, in the slots after the disks; the backends stay
     * the caller's (free them after machine_destroy()). */
    struct machine_nic {
        struct net_backend *nb;
        uint8_t mac[VIRTIO_NET_MAC_LEN];
    } nics[LAYOUT_VIRTIO_MMIO_SLOTS];
    unsigned nnics;
};

struct machine {
    bool has_uart;
    struct uart16550 uart;
    struct i8042 i8042;
    bool has_debug_exit;
    struct debug_exit debug_exit;
    unsigned nblk;
    struct virtio_blk blk[LAYOUT_VIRTIO_MMIO_SLOTS];
    unsigned nnet;
    struct virtio_net net[LAYOUT_VIRTIO_MMIO_SLOTS];
};

bool machine_init(struct machine *m, const struct machine_config *cfg, GError **errp);
/* Release what devices registered with the VM (host notifiers) and
 * detach the NICs from their backends; lock held, before the VM's
 * notifier provider goes.  After the disks were closed (their last
 * completions may still raise a line), before the netdevs are freed. */
void machine_destroy(struct machine *m);
/* Reset every device to its power-on state (VM lock held, vCPUs paused). */
void machine_reset(struct machine *m);
/* Register every present device's state with @sv, in list order (the
 * order a destination loads them).  @all: every device type, present or
 * not (for -dump-vmstate). */
bool machine_register_vmstate(struct machine *m, struct savevm *sv, bool all, GError **errp);

/* The kernel command line: @append (may be NULL) followed by a
 * "virtio_mmio.device=" word for each of the first @nvirtio slots, so
 * Linux (and the test guests) find the devices.  g_free() it. */
char *machine_kernel_cmdline(const char *append, unsigned nvirtio);
/* Complete every disk request in flight (vCPUs stopped, lock held):
 * nothing is left half-done in a saved state. */
void machine_drain_disks(struct machine *m);
/* Process disk requests the guest queued before a migration's stop
 * (destination, after the load; lock held). */
void machine_kick_disks(struct machine *m);
/* The VM started running (true) or stopped (false): devices that move
 * data on their own (the NICs, from the main loop) do so only while it
 * runs.  Starting also sends what the guest queued on its NICs before a
 * stop (a migration destination starting after the load).  Lock held. */
void machine_set_running(struct machine *m, bool running);
#endif
