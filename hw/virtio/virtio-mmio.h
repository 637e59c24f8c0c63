/*
 * virtio over MMIO, register layout version 2 (virtio 1.x spec 4.2.2).
 * One 4 KiB window per device; all registers are 32 bits wide and
 * little-endian; other widths below 0x100 read 0 and are ignored.
 *
 *   0x000 R  MagicValue 0x74726976 ("virt")   0x004 R  Version 2
 *   0x008 R  DeviceID                         0x00c R  VendorID
 *   0x010 R  DeviceFeatures (32 bits at sel)  0x014 W  DeviceFeaturesSel
 *   0x020 W  DriverFeatures (32 bits at sel)  0x024 W  DriverFeaturesSel
 *   0x030 W  QueueSel                         0x034 R  QueueNumMax (0: none)
 *   0x038 W  QueueNum                         0x044 RW QueueReady
 *   0x050 W  QueueNotify (queue index)        0x060 R  InterruptStatus
 *   0x064 W  InterruptACK                     0x070 RW Status
 *   0x080/0x084 W QueueDescLow/High           0x090/0x094 W QueueDriverLow/High
 *   0x0a0/0x0a4 W QueueDeviceLow/High         0x0ac W  SHMSel
 *   0x0b0/0x0b4 R SHMLen (~0: no region)      0x0b8/0x0bc R SHMBase (~0)
 *   0x0fc R  ConfigGeneration                 0x100+ RW device config space
 *
 * The interrupt is one level-triggered line: high while InterruptStatus
 * is non-zero.  Linux finds the device through the kernel command line
 * (virtio_mmio_cmdline(): "virtio_mmio.device=4K@0xd0000000:16").
 *
 * Migration: the section carries virtio_vmstate (device status, features,
 * selectors, interrupt status, config generation, every queue);
 * post_load checks it against this device and re-derives the line.  The
 * device-specific state goes in the device's own section.
 *
 * Queue notifications (opt-in, hw/host-notifier.h): after
 * virtio_mmio_set_host_notifiers(), every ready queue has a host notifier
 * on QueueNotify (base + 0x050, 4 bytes, value = queue index), so KVM
 * catches the guest's doorbell and the main loop calls
 * virtio_queue_notify() (VM lock held) instead of the vCPU thread.  The
 * set of notifiers follows QueueReady: added when the driver sets
 * QueueReady = 1 and after a load (post_load) for queues that are ready;
 * deleted on QueueReady = 0, device reset (Status 0), system reset and
 * virtio_mmio_destroy().  Without notifiers (none given, or the provider
 * refused) the write exits to virtio_mmio_write() as always.
 *
 * Interrupt: the line is whatever struct irq_line the machine passes; with
 * KVM it can be a resampling irqfd (accel/kvm-notify.h), which keeps the
 * level semantics this file relies on.
 *
 * Thread context: register accesses on vCPU threads, VM lock held; the
 * host notifier callback on the main thread (or the thread flushing the
 * notifiers at a stop), VM lock held.
 */
#ifndef HW_VIRTIO_VIRTIO_MMIO_H
#define HW_VIRTIO_VIRTIO_MMIO_H

#include "hw/host-notifier.h"
#include "hw/irq.h"
#include "hw/virtio/virtio.h"
#include "system/iomap.h"

#define VIRTIO_MMIO_SIZE 0x1000
#define VIRTIO_MMIO_MAGIC 0x74726976
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_MMIO_VENDOR 0x4e524554 /* "TERN" */

enum {
    VIRTIO_MMIO_MAGIC_VALUE = 0x000,
    VIRTIO_MMIO_VERSION_REG = 0x004,
    VIRTIO_MMIO_DEVICE_ID = 0x008,
    VIRTIO_MMIO_VENDOR_ID = 0x00c,
    VIRTIO_MMIO_DEVICE_FEATURES = 0x010,
    VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014,
    VIRTIO_MMIO_DRIVER_FEATURES = 0x020,
    VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024,
    VIRTIO_MMIO_QUEUE_SEL = 0x030,
    VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034,
    VIRTIO_MMIO_QUEUE_NUM = 0x038,
    VIRTIO_MMIO_QUEUE_READY = 0x044,
    VIRTIO_MMIO_QUEUE_NOTIFY = 0x050,
    VIRTIO_MMIO_INTERRUPT_STATUS = 0x060,
    VIRTIO_MMIO_INTERRUPT_ACK = 0x064,
    VIRTIO_MMIO_STATUS = 0x070,
    VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080,
    VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084,
    VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090,
    VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094,
    VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0,
    VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4,
    VIRTIO_MMIO_SHM_SEL = 0x0ac,
    VIRTIO_MMIO_SHM_LEN_LOW = 0x0b0,
    VIRTIO_MMIO_SHM_LEN_HIGH = 0x0b4,
    VIRTIO_MMIO_SHM_BASE_LOW = 0x0b8,
    VIRTIO_MMIO_SHM_BASE_HIGH = 0x0bc,
    VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc,
    VIRTIO_MMIO_CONFIG = 0x100,
};

/* What a queue's host notifier calls back with. */
struct virtio_mmio_kick {
    struct virtio_mmio *t;
    unsigned index;
};

struct virtio_mmio {
    struct virtio_dev vdev; /* vdev.s is the migrated state */
    struct irq_line irq;
    uint64_t base;
    int level; /* last level driven on irq */
    /* Host resources, not migrated: */
    struct host_notifiers notifiers; /* zero: every QueueNotify exits */
    struct host_notifier *queue_notifier[VIRTIO_QUEUES_MAX]; /* NULL: none */
    uint32_t notifier_refused; /* bit i: the provider refused queue i */
    struct virtio_mmio_kick kick[VIRTIO_QUEUES_MAX];
};

/* Registered over [base, base + VIRTIO_MMIO_SIZE). */
extern const struct iomap_ops virtio_mmio_ops;
/* The opaque is &t->vdev.s (struct virtio_state): virtio_vmstate nested
 * whole, and a post_load that re-derives the line. */
extern const struct vmstate_description virtio_mmio_vmstate;

/*
 * Bind @ops/@opaque (the device) to a transport at @base with line @irq.
 * Leaves the device reset.  Register with iomap_add(mmio, base,
 * VIRTIO_MMIO_SIZE, &virtio_mmio_ops, t, ...).
 */
void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *opaque,
                      const struct virtqueue_ram *ram, uint64_t base, struct irq_line irq);
/* System reset. */
void virtio_mmio_reset(struct virtio_mmio *t);
/*
 * Opt in to host notifiers for QueueNotify: from now on every ready queue
 * has one (added at once for queues already ready).  Call once, after
 * virtio_mmio_init(), VM lock held, before or while the guest runs.
 */
void virtio_mmio_set_host_notifiers(struct virtio_mmio *t, struct host_notifiers hn);
/* Delete every host notifier (teardown).  VM lock held. */
void virtio_mmio_destroy(struct virtio_mmio *t);
/* "virtio_mmio.device=4K@0x...:IRQ" for the kernel command line (g_free):
 * how Linux finds a transport at @base on line @gsi. */
char *virtio_mmio_cmdline(uint64_t base, unsigned gsi);

uint64_t virtio_mmio_read(void *opaque, uint64_t offset, unsigned size);
void virtio_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size);

#endif
