/*
 * Host notifiers: how a transport asks the VM to catch a guest's doorbell
 * write (virtio-mmio QueueNotify) without an exit to the vCPU thread.
 *
 * The VM provides struct host_notifiers (with KVM: accel/kvm-notify.h, one
 * eventfd per doorbell registered with KVM_IOEVENTFD + DATAMATCH and
 * watched by the main loop).  A transport calls host_notifier_add() when a
 * queue becomes ready and host_notifier_del() when it stops being ready;
 * in between, a guest write of exactly @len bytes of value @data at
 * guest-physical @addr calls fn(fn_opaque) later, on the main thread with
 * the VM lock held.  Several writes before the main loop looks may
 * coalesce into one call (a doorbell means "look at the ring", so one
 * look is enough).  Other values or widths at @addr still exit to the
 * vCPU thread's MMIO handler as before.
 *
 * Fallback: host_notifier_add() returns NULL when there is no provider
 * (unit tests, ops NULL) or the provider cannot catch that write (KVM
 * without KVM_CAP_IOEVENTFD, the ioctl failing).  The transport keeps the
 * NULL and changes nothing else: the write takes the MMIO exit path, which
 * must therefore always stay implemented.
 *
 * host_notifier_del() drops a write caught but not yet delivered: it is
 * called only when the queue is reset or torn down, where a pending
 * doorbell has nothing left to say.  Pause and migration do not delete
 * notifiers; see accel/kvm-notify.h for how pending writes survive them.
 *
 * Thread context: add/del with the VM lock held, from any thread (vCPU
 * threads for register writes, the loader thread for post_load).
 */
#ifndef HW_HOST_NOTIFIER_H
#define HW_HOST_NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

struct host_notifier; /* one caught doorbell, owned by the provider */

struct host_notifier_ops {
    struct host_notifier *(*add)(void *opaque, uint64_t addr, unsigned len, uint64_t data,
                                 void (*fn)(void *fn_opaque), void *fn_opaque);
    void (*del)(void *opaque, struct host_notifier *n);
};

/* A provider bound to its state; all zero: no provider. */
struct host_notifiers {
    const struct host_notifier_ops *ops;
    void *opaque;
};

static inline struct host_notifier *host_notifier_add(const struct host_notifiers *hn,
                                                      uint64_t addr, unsigned len, uint64_t data,
                                                      void (*fn)(void *fn_opaque), void *fn_opaque)
{
    return hn->ops ? hn->ops->add(hn->opaque, addr, len, data, fn, fn_opaque) : NULL;
}

/* @n may be NULL (nothing was caught). */
static inline void host_notifier_del(const struct host_notifiers *hn, struct host_notifier *n)
{
    if (n)
        hn->ops->del(hn->opaque, n);
}

#endif
