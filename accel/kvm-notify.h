/*
 * Eventfd shortcuts between the guest and device emulation, owned by the
 * VM (struct vm.notify):
 *
 * ioeventfd (doorbells) -- the provider behind hw/host-notifier.h.  Each
 * doorbell is an eventfd registered with KVM_IOEVENTFD on the MMIO bus
 * with KVM_IOEVENTFD_FLAG_DATAMATCH: a guest write of exactly that length
 * and value at that address signals the eventfd inside KVM and the vCPU
 * carries on without exiting.  A GSource on the VM's main loop watches the
 * eventfd and calls the transport's callback there, VM lock held (main
 * loop callbacks always run with it, system/main-loop.h).  Writes that
 * do not match (another value or width) still exit to the MMIO handler.
 *
 * irqfd (interrupt lines) -- kvm_notify_irq_line() gives a struct irq_line
 * (hw/irq.h) whose level reaches the in-kernel irqchip through KVM_IRQFD
 * with KVM_IRQFD_FLAG_RESAMPLE instead of a KVM_IRQ_LINE ioctl, so a
 * device raising its line from any thread costs one eventfd write.  The
 * level is emulated the way KVM defines resampling: a write to the irqfd
 * asserts the GSI; when the guest EOIs it, KVM de-asserts it and signals
 * the resample eventfd; the main loop (lock held) then re-asserts if the
 * device's level is still high.  Lowering the line therefore takes effect
 * at the next EOI, not at once: between the driver's acknowledgement and
 * its EOI the pin stays asserted, which the irqchip's remote IRR already
 * masks (the same as VFIO's INTx).  Irqfds stay assigned across a system
 * reset and a migration load: KVM_SET_IRQCHIP resets the pin's IRR, the
 * device's reset or post_load re-drives its level, and an assertion left
 * over from before is dropped at the pin's next EOI.
 *
 * Fallback: without KVM_CAP_IOEVENTFD (or when KVM_IOEVENTFD fails, e.g.
 * the bus is full) the host notifier add returns NULL and the transport
 * keeps the MMIO exit path.  Without KVM_CAP_IRQFD_RESAMPLE (or when
 * KVM_IRQFD fails) kvm_notify_irq_line() returns a plain kvm_irq_set()
 * line.  Nothing above this file sees the difference.
 *
 * Pending doorbells across pause and migration.  KVM signals the eventfd
 * synchronously with the guest's write, so once the vCPUs are paused every
 * doorbell the guest rang is in some eventfd.  While paused, the main loop
 * keeps delivering them (device emulation continues while paused, as
 * block completions do).  To make the paused state exact, the VM calls
 * kvm_notify_flush() right after pausing the vCPUs (vm_pause(), and the
 * migration switch-over before any device is saved): every caught doorbell
 * is delivered before the devices are saved, so the saved device state
 * already reflects it.  On the destination, post_load re-registers the
 * doorbells of ready queues, and vm_incoming_finish() calls
 * kvm_notify_kick_all(): every registered doorbell is rung once, so a
 * doorbell a source failed to deliver (an older source, or one without
 * the flush) is still seen -- a spurious look at a ring pops nothing.
 * Device teardown deletes doorbells (pending writes dropped: the queue is
 * gone).
 *
 * Thread context: kvm_notify_init/destroy on the main thread; the host
 * notifier add/del and the irq line's set with the VM lock held from any
 * thread; flush and kick_all with the VM lock held (flush runs the
 * callbacks on the calling thread: the main thread for vm_pause(), the
 * migration thread at switch-over).
 */
#ifndef ACCEL_KVM_NOTIFY_H
#define ACCEL_KVM_NOTIFY_H

#include <glib.h>
#include <stdbool.h>

#include "accel/kvm.h"
#include "hw/host-notifier.h"
#include "hw/irq.h"

struct kvm_notify_irq;

struct kvm_notify {
    struct kvm *kvm;
    GMainContext *ctx;       /* where the eventfds are watched */
    bool has_ioeventfd;      /* KVM_CAP_IOEVENTFD; tests may clear it */
    bool has_irqfd_resample; /* KVM_CAP_IRQFD_RESAMPLE; tests may clear it */
    GPtrArray *doorbells;    /* struct host_notifier *, registered */
    GPtrArray *irqs;         /* struct kvm_notify_irq *, for destroy */
    uint64_t delivered;      /* doorbell callbacks run, for tests */
    uint64_t reasserted;     /* irqfd lines re-asserted after an EOI */
};

/* Probe the capabilities; watch eventfds on @ctx (the VM's main loop). */
void kvm_notify_init(struct kvm_notify *kn, struct kvm *kvm, GMainContext *ctx);
/* Deassign and close everything (the devices must not use their handles
 * or lines after this).  Before kvm_destroy(). */
void kvm_notify_destroy(struct kvm_notify *kn);

/* The provider to hand to transports (virtio_mmio_set_host_notifiers). */
struct host_notifiers kvm_notify_host_notifiers(struct kvm_notify *kn);

/*
 * An interrupt line for level-triggered @gsi: a resampling irqfd, or the
 * KVM_IRQ_LINE fallback.  Lives until kvm_notify_destroy().  Main thread,
 * while the machine is built.
 */
struct irq_line kvm_notify_irq_line(struct kvm_notify *kn, unsigned gsi);
/* Is @line an irqfd (not the fallback)?  For tests and logs. */
bool kvm_notify_irq_is_irqfd(const struct irq_line *line);

/* Deliver every doorbell caught but not yet delivered, now, on this
 * thread.  VM lock held; call with the vCPUs paused. */
void kvm_notify_flush(struct kvm_notify *kn);
/* Ring every registered doorbell once (the main loop delivers them).
 * VM lock held. */
void kvm_notify_kick_all(struct kvm_notify *kn);

#endif
