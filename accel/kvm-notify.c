#include "accel/kvm-notify.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* One doorbell: the eventfd KVM signals and the GSource watching it. */
struct host_notifier {
    struct kvm_notify *kn;
    int fd;
    GSource *source;
    uint64_t addr;
    unsigned len;
    uint64_t data;
    bool pending; /* read by a flush, callback not yet run */
    void (*fn)(void *fn_opaque);
    void *fn_opaque;
};

/* A resampling irqfd line. */
struct kvm_notify_irq {
    struct kvm_notify *kn;
    unsigned gsi;
    int irqfd;
    int resamplefd;
    GSource *source; /* watches resamplefd */
    int level;       /* what the device drives */
};

static int kvm_notify_check(struct kvm_notify *kn, int cap)
{
    return ioctl(kn->kvm->vm_fd, KVM_CHECK_EXTENSION, cap);
}

void kvm_notify_init(struct kvm_notify *kn, struct kvm *kvm, GMainContext *ctx)
{
    memset(kn, 0, sizeof(*kn));
    kn->kvm = kvm;
    kn->ctx = ctx;
    kn->has_ioeventfd = kvm_notify_check(kn, KVM_CAP_IOEVENTFD) > 0;
    kn->has_irqfd_resample =
        kvm_notify_check(kn, KVM_CAP_IRQFD) > 0 && kvm_notify_check(kn, KVM_CAP_IRQFD_RESAMPLE) > 0;
    kn->doorbells = g_ptr_array_new();
    kn->irqs = g_ptr_array_new();
}

/* Read and reset an eventfd; true when it had been signalled. */
static bool kvm_notify_consume(int fd)
{
    eventfd_t v;

    return eventfd_read(fd, &v) == 0 && v;
}

static GSource *kvm_notify_watch(struct kvm_notify *kn, int fd, GUnixFDSourceFunc fn, void *opaque)
{
    GSource *s = g_unix_fd_source_new(fd, G_IO_IN);

    g_source_set_callback(s, (GSourceFunc)(void (*)(void))fn, opaque, NULL);
    g_source_attach(s, kn->ctx);
    return s;
}

static void kvm_notify_unwatch(GSource **s)
{
    if (*s) {
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = NULL;
    }
}

/* ---- ioeventfd ---- */

static bool kvm_notify_ioeventfd(struct host_notifier *n, bool assign)
{
    struct kvm_ioeventfd io = {
        .datamatch = n->data,
        .addr = n->addr,
        .len = n->len,
        .fd = n->fd,
        .flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };

    if (ioctl(n->kn->kvm->vm_fd, KVM_IOEVENTFD, &io) == 0)
        return true;
    fprintf(stderr, "tern: KVM_IOEVENTFD %s 0x%" G_GINT64_MODIFIER "x: %s\n",
            assign ? "assign" : "deassign", n->addr, g_strerror(errno));
    return false;
}

/* Main loop, lock held.  The callback comes last: it may delete @n. */
static gboolean kvm_notify_doorbell_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    struct host_notifier *n = opaque;

    (void)cond;
    if (!kvm_notify_consume(fd))
        return G_SOURCE_CONTINUE;
    n->kn->delivered++;
    n->fn(n->fn_opaque);
    return G_SOURCE_CONTINUE;
}

static void kvm_notify_free_doorbell(struct host_notifier *n)
{
    kvm_notify_unwatch(&n->source);
    if (n->fd >= 0)
        close(n->fd);
    g_free(n);
}

static struct host_notifier *kvm_notify_add(void *opaque, uint64_t addr, unsigned len,
                                            uint64_t data, void (*fn)(void *fn_opaque),
                                            void *fn_opaque)
{
    struct kvm_notify *kn = opaque;
    struct host_notifier *n;

    if (!kn->has_ioeventfd)
        return NULL;
    n = g_new0(struct host_notifier, 1);
    *n = (struct host_notifier){kn, -1, NULL, addr, len, data, false, fn, fn_opaque};
    n->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (n->fd < 0 || !kvm_notify_ioeventfd(n, true)) {
        kvm_notify_free_doorbell(n);
        return NULL; /* the write keeps exiting to the MMIO handler */
    }
    n->source = kvm_notify_watch(kn, n->fd, kvm_notify_doorbell_ready, n);
    g_ptr_array_add(kn->doorbells, n);
    return n;
}

static void kvm_notify_del(void *opaque, struct host_notifier *n)
{
    struct kvm_notify *kn = opaque;

    g_ptr_array_remove_fast(kn->doorbells, n);
    kvm_notify_ioeventfd(n, false);
    kvm_notify_free_doorbell(n);
}

static const struct host_notifier_ops kvm_notify_ops = {
    .add = kvm_notify_add,
    .del = kvm_notify_del,
};

struct host_notifiers kvm_notify_host_notifiers(struct kvm_notify *kn)
{
    return (struct host_notifiers){&kvm_notify_ops, kn};
}

/* The next doorbell a flush read but has not delivered. */
static struct host_notifier *kvm_notify_next_pending(struct kvm_notify *kn)
{
    for (unsigned i = 0; i < kn->doorbells->len; i++) {
        struct host_notifier *n = g_ptr_array_index(kn->doorbells, i);

        if (n->pending)
            return n;
    }
    return NULL;
}

void kvm_notify_flush(struct kvm_notify *kn)
{
    struct host_notifier *n;

    if (!kn->doorbells)
        return; /* a VM without KVM (never initialised) */
    for (unsigned i = 0; i < kn->doorbells->len; i++) {
        n = g_ptr_array_index(kn->doorbells, i);
        n->pending = kvm_notify_consume(n->fd);
    }
    /* Rescan after each callback: it may delete doorbells. */
    while ((n = kvm_notify_next_pending(kn))) {
        n->pending = false;
        kn->delivered++;
        n->fn(n->fn_opaque);
    }
}

void kvm_notify_kick_all(struct kvm_notify *kn)
{
    if (!kn->doorbells)
        return;
    for (unsigned i = 0; i < kn->doorbells->len; i++) {
        struct host_notifier *n = g_ptr_array_index(kn->doorbells, i);

        eventfd_write(n->fd, 1);
    }
}

/* ---- irqfd ---- */

static bool kvm_notify_irqfd(struct kvm_notify_irq *irq, bool assign)
{
    struct kvm_irqfd r = {
        .fd = (uint32_t)irq->irqfd,
        .gsi = irq->gsi,
        .flags = assign ? KVM_IRQFD_FLAG_RESAMPLE : KVM_IRQFD_FLAG_DEASSIGN,
        .resamplefd = assign ? (uint32_t)irq->resamplefd : 0,
    };

    if (ioctl(irq->kn->kvm->vm_fd, KVM_IRQFD, &r) == 0)
        return true;
    fprintf(stderr, "tern: KVM_IRQFD %s gsi %u: %s\n", assign ? "assign" : "deassign", irq->gsi,
            g_strerror(errno));
    return false;
}

/* irq_line.set: VM lock held, any thread.  Only a rising level writes:
 * a high level that KVM de-asserted at an EOI is re-asserted by the
 * resample callback. */
static void kvm_notify_irq_set(void *opaque, unsigned gsi, int level)
{
    struct kvm_notify_irq *irq = opaque;

    (void)gsi;
    level = level != 0;
    if (level && !irq->level)
        eventfd_write(irq->irqfd, 1);
    irq->level = level;
}

/* The guest EOIed the interrupt and KVM de-asserted the pin: main loop,
 * lock held. */
static gboolean kvm_notify_resample(gint fd, GIOCondition cond, gpointer opaque)
{
    struct kvm_notify_irq *irq = opaque;

    (void)cond;
    if (kvm_notify_consume(fd) && irq->level) {
        irq->kn->reasserted++;
        eventfd_write(irq->irqfd, 1);
    }
    return G_SOURCE_CONTINUE;
}

static void kvm_notify_free_irq(struct kvm_notify_irq *irq)
{
    kvm_notify_unwatch(&irq->source);
    if (irq->irqfd >= 0)
        close(irq->irqfd);
    if (irq->resamplefd >= 0)
        close(irq->resamplefd);
    g_free(irq);
}

static struct kvm_notify_irq *kvm_notify_irq_new(struct kvm_notify *kn, unsigned gsi)
{
    struct kvm_notify_irq *irq = g_new0(struct kvm_notify_irq, 1);

    irq->kn = kn;
    irq->gsi = gsi;
    irq->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    irq->resamplefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (irq->irqfd < 0 || irq->resamplefd < 0 || !kvm_notify_irqfd(irq, true)) {
        kvm_notify_free_irq(irq);
        return NULL;
    }
    irq->source = kvm_notify_watch(kn, irq->resamplefd, kvm_notify_resample, irq);
    g_ptr_array_add(kn->irqs, irq);
    return irq;
}

struct irq_line kvm_notify_irq_line(struct kvm_notify *kn, unsigned gsi)
{
    struct kvm_notify_irq *irq = kn->has_irqfd_resample ? kvm_notify_irq_new(kn, gsi) : NULL;

    if (!irq)
        return (struct irq_line){kvm_irq_set, kn->kvm, gsi};
    return (struct irq_line){kvm_notify_irq_set, irq, gsi};
}

bool kvm_notify_irq_is_irqfd(const struct irq_line *line)
{
    return line->set == kvm_notify_irq_set;
}

void kvm_notify_destroy(struct kvm_notify *kn)
{
    if (!kn->doorbells)
        return; /* never initialised */
    for (unsigned i = 0; i < kn->doorbells->len; i++) {
        struct host_notifier *n = g_ptr_array_index(kn->doorbells, i);

        kvm_notify_ioeventfd(n, false);
        kvm_notify_free_doorbell(n);
    }
    for (unsigned i = 0; i < kn->irqs->len; i++) {
        struct kvm_notify_irq *irq = g_ptr_array_index(kn->irqs, i);

        kvm_notify_irqfd(irq, false);
        kvm_notify_free_irq(irq);
    }
    g_ptr_array_free(kn->doorbells, true);
    g_ptr_array_free(kn->irqs, true);
    memset(kn, 0, sizeof(*kn));
}
