/*
 * ioeventfd doorbells and irqfd lines with a real KVM VM (needs /dev/kvm):
 * the doorbell guest drives a virtio-mmio transport with a do-nothing test
 * device, placed away from the machine's own slots.
 *
 * With the eventfds (the default): every QueueNotify write of a ready
 * queue reaches the device through KVM_IOEVENTFD and the main loop, and
 * only the unmatched write (queue 1) exits to the vCPU's MMIO handler; a
 * doorbell rung while the main loop never ran is delivered by vm_pause()'s
 * flush; the line raised through the resampling irqfd reaches the guest,
 * comes back after each EOI while the device holds it high, and stops once
 * the guest acknowledges.  With both disabled (a KVM without the
 * capabilities) the guest sees exactly the same through MMIO exits and
 * KVM_IRQ_LINE.
 */
#include <glib.h>
#include <string.h>

#include "hw/virtio/virtio-mmio.h"
#include "tests/kvm/vmtest.h"

#define TEST_BASE 0xd0100000ULL /* past the machine's virtio-mmio slots */
#define TEST_GSI 16
#define KICKS 8
#define RINGS 3
#define MAILBOX 0x4000ULL
enum { MB_MAGIC, MB_PHASE, MB_SENT, MB_ACKED, MB_IRQS, MB_ISR, MB_ACK_AT };

struct notify_test {
    struct vm *vm;
    struct virtio_mmio t;
    unsigned notifies;     /* the device's queue_notify, queue 0 */
    unsigned notify_exits; /* QueueNotify writes that exited to the vCPU */
};

static volatile uint32_t *mailbox(struct vm *vm)
{
    return memory_gpa_to_hva(&vm->mem, MAILBOX, 32);
}

/* The guest waits for each doorbell to be counted before the next. */
static void dev_queue_notify(void *opaque, struct virtio_dev *vdev, unsigned index)
{
    struct notify_test *nt = opaque;

    (void)vdev;
    g_assert_cmpuint(index, ==, 0);
    nt->notifies++;
    mailbox(nt->vm)[MB_ACKED] = nt->notifies;
}

static const struct virtio_device_ops test_dev_ops = {
    .name = "virtio-doorbell-test",
    .device_id = 42,
    .num_queues = 2,
    .queue_max = 16,
    .queue_notify = dev_queue_notify,
};

/* virtio_mmio_ops with a count of the QueueNotify writes that exit. */
static void count_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct notify_test *nt = opaque;

    if (offset == VIRTIO_MMIO_QUEUE_NOTIFY)
        nt->notify_exits++;
    virtio_mmio_write(&nt->t, offset, value, size);
}

static uint64_t count_read(void *opaque, uint64_t offset, unsigned size)
{
    struct notify_test *nt = opaque;

    return virtio_mmio_read(&nt->t, offset, size);
}

static const struct iomap_ops count_ops = {count_read, count_write};

static void notify_test_init(struct notify_test *nt, bool eventfds)
{
    g_autofree char *append =
        g_strdup_printf("base=0x%llx irq=%u kicks=%u rings=%u", TEST_BASE, TEST_GSI, KICKS, RINGS);
    g_autoptr(GError) err = NULL;
    struct virtqueue_ram ram;
    struct irq_line irq;

    memset(nt, 0, sizeof(*nt));
    nt->vm = vmtest_new("doorbell", append, "64M", 1);
    vm_lock(nt->vm);
    if (!eventfds)
        nt->vm->notify.has_ioeventfd = nt->vm->notify.has_irqfd_resample = false;
    ram = (struct virtqueue_ram){&nt->vm->mem, NULL, NULL};
    irq = kvm_notify_irq_line(&nt->vm->notify, TEST_GSI);
    g_assert_cmpint(kvm_notify_irq_is_irqfd(&irq), ==, eventfds);
    virtio_mmio_init(&nt->t, &test_dev_ops, nt, &ram, TEST_BASE, irq);
    virtio_mmio_set_host_notifiers(&nt->t, kvm_notify_host_notifiers(&nt->vm->notify));
    g_assert_true(iomap_add(&nt->vm->mmio, TEST_BASE, VIRTIO_MMIO_SIZE, &count_ops, nt,
                            "virtio-doorbell-test", &err));
    g_assert_true(vm_start(nt->vm, &err));
    vm_unlock(nt->vm);
}

static void notify_test_free(struct notify_test *nt)
{
    vm_lock(nt->vm);
    cpus_pause(&nt->vm->cpus);
    virtio_mmio_destroy(&nt->t);
    vm_unlock(nt->vm);
    vm_free(nt->vm);
}

/*
 * The first doorbell with the main loop never iterated and the lock not
 * held: the guest writes `sent` only after its QueueNotify write, so once
 * it reads 1 the doorbell is in the eventfd (or, without one, was handled
 * on the vCPU thread).  vm_pause() must deliver it before returning.
 */
static void check_pause_flush(struct notify_test *nt, bool eventfds)
{
    gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
    g_autoptr(GError) err = NULL;

    while (mailbox(nt->vm)[MB_SENT] < 1) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    vm_lock(nt->vm);
    g_assert_true(vm_pause(nt->vm, &err));
    if (eventfds) /* the guest waits for each doorbell to be counted */
        g_assert_cmpuint(nt->notifies, ==, 1);
    else /* counted on the vCPU thread: the guest went on */
        g_assert_cmpuint(nt->notifies, >=, 1);
    g_assert_true(vm_resume(nt->vm, &err));
}

static bool mailbox_at(struct vm *vm, void *arg)
{
    unsigned *want = arg; /* word, value */

    return mailbox(vm)[want[0]] >= want[1];
}

static void wait_mailbox(struct notify_test *nt, unsigned word, unsigned value)
{
    unsigned want[2] = {word, value};

    g_assert_true(vmtest_wait(nt->vm, mailbox_at, want, 60));
}

static void run_doorbell_guest(bool eventfds)
{
    struct notify_test nt;
    uint64_t delivered;

    notify_test_init(&nt, eventfds);
    check_pause_flush(&nt, eventfds);
    /* Doorbells: all of them reach the device; only queue 1's exits. */
    wait_mailbox(&nt, MB_PHASE, 2);
    g_assert_cmpuint(mailbox(nt.vm)[MB_MAGIC], ==, 0x6c6c6264);
    g_assert_cmpuint(nt.notifies, ==, KICKS);
    delivered = nt.vm->notify.delivered;
    if (eventfds) {
        g_assert_cmpuint(nt.notify_exits, ==, 1);
        g_assert_cmpuint(delivered, ==, KICKS);
    } else {
        g_assert_cmpuint(nt.notify_exits, ==, KICKS + 1);
        g_assert_cmpuint(delivered, ==, 0);
    }

    /* Interrupts: raise the line and hold it until the guest acks. */
    virtio_config_changed(&nt.t.vdev);
    g_assert_cmpint(nt.t.level, ==, 1);
    wait_mailbox(&nt, MB_PHASE, 3);
    /* The guest acknowledged only at its RINGS-th interrupt: the line
     * came back after each EOI while high (through the resample eventfd
     * with irqfd, by the IOAPIC's remote IRR logic with KVM_IRQ_LINE). */
    g_assert_cmpuint(mailbox(nt.vm)[MB_ACK_AT], ==, RINGS);
    g_assert_cmpuint(mailbox(nt.vm)[MB_ISR], ==, VIRTIO_ISR_CONFIG);
    g_assert_cmpint(nt.t.level, ==, 0);
    if (eventfds)
        g_assert_cmpuint(nt.vm->notify.reasserted, >=, RINGS - 1);
    /*
     * And it stopped.  On this test host (nested KVM) the guest's first
     * interrupt is left pending once more in the LAPIC and arrives after
     * the acknowledgement, with either mechanism alike, so one late
     * interrupt is tolerated; a line that stayed asserted would keep
     * interrupting for the whole quiet period.
     */
    g_assert_cmpuint(mailbox(nt.vm)[MB_IRQS], <=, RINGS + 1);
    g_assert_cmpuint(nt.vm->notify.reasserted, <=, RINGS);

    /* A destination's start rings every registered doorbell once. */
    kvm_notify_kick_all(&nt.vm->notify);
    if (eventfds)
        wait_mailbox(&nt, MB_ACKED, KICKS + 1);
    for (unsigned i = 0; i < 5; i++)
        main_loop_iterate(&nt.vm->loop, 2);
    g_assert_cmpuint(nt.notifies, ==, eventfds ? KICKS + 1 : KICKS);
    vm_unlock(nt.vm);
    notify_test_free(&nt);
}

static void test_eventfds(void) { run_doorbell_guest(true); }

static void test_fallback(void) { run_doorbell_guest(false); }

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/notify/eventfds", test_eventfds);
    g_test_add_func("/notify/fallback", test_fallback);
    return g_test_run();
}
