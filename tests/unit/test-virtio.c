/*
 * hw/virtio/: split virtqueues, the virtio device model and the MMIO
 * transport, driven the way a guest driver would: a fake guest RAM buffer,
 * rings laid out in it by a driver-side helper, registers written through
 * virtio_mmio_write().  No /dev/kvm.
 */
#include <glib.h>
#include <string.h>

#include "hw/virtio/virtio-mmio.h"
#include "migration/qemu-file.h"
#include "tests/unit/fake-ram.h"
#include "tests/unit/virtio-driver.h"
#include "util/le.h"

#define RAM_SIZE 0x100000ULL
#define QNUM 16
#define DESC_GPA 0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA 0x3000ULL
#define DATA_GPA 0x10000ULL
#define TEST_DEVICE_ID 42

struct fixture {
    struct fake_ram r;
    uint8_t *ram; /* r.ram */
    struct virtio_mmio t;
    int irq_level;
    unsigned notifies;
    unsigned resets;
    uint8_t config[8];
    uint16_t avail_idx; /* driver side */
};

static void fx_irq(void *opaque, unsigned gsi, int level)
{
    struct fixture *fx = opaque;

    g_assert_cmpuint(gsi, ==, 16);
    fx->irq_level = level;
}

static uint64_t dev_config_read(void *opaque, uint32_t offset, unsigned size)
{
    struct fixture *fx = opaque;
    uint64_t v = 0;

    memcpy(&v, fx->config + offset, size);
    return v;
}

static void dev_config_write(void *opaque, uint32_t offset, uint64_t value, unsigned size)
{
    struct fixture *fx = opaque;

    memcpy(fx->config + offset, &value, size);
}

static void dev_queue_notify(void *opaque, struct virtio_dev *vdev, unsigned index)
{
    struct fixture *fx = opaque;

    (void)vdev;
    g_assert_cmpuint(index, ==, 0);
    fx->notifies++;
}

static void dev_reset(void *opaque)
{
    struct fixture *fx = opaque;

    fx->resets++;
}

static const struct virtio_device_ops test_dev_ops = {
    .name = "virtio-test",
    .device_id = TEST_DEVICE_ID,
    .features = 1ULL << 5,
    .num_queues = 2,
    .queue_max = 256,
    .config_size = 8,
    .config_read = dev_config_read,
    .config_write = dev_config_write,
    .queue_notify = dev_queue_notify,
    .reset = dev_reset,
};

static struct fixture *fx_new(void)
{
    struct fixture *fx = g_new0(struct fixture, 1);

    fake_ram_init(&fx->r, RAM_SIZE);
    fx->ram = fx->r.ram;
    virtio_mmio_init(&fx->t, &test_dev_ops, fx, &fx->r.vram, 0xd0000000,
                     (struct irq_line){fx_irq, fx, 16});
    return fx;
}

static void fx_free(struct fixture *fx)
{
    fake_ram_clear(&fx->r);
    g_free(fx);
}

static uint32_t rd(struct fixture *fx, uint64_t off)
{
    return (uint32_t)virtio_mmio_read(&fx->t, off, 4);
}

static void wr(struct fixture *fx, uint64_t off, uint32_t v)
{
    virtio_mmio_write(&fx->t, off, v, 4);
}

static void clear_dirty(struct fixture *fx) { fake_ram_clear_dirty(&fx->r); }

/* ---- driver side ---- */

static void drv_negotiate(struct fixture *fx, uint64_t features)
{
    virtio_driver_negotiate(&fx->t, features);
}

static void drv_setup_queue(struct fixture *fx, gpa_t desc, gpa_t avail, gpa_t used)
{
    virtio_driver_setup_queue(&fx->t, 0, QNUM, desc, avail, used);
}

/* Negotiate, set up queue 0 at the default addresses, DRIVER_OK. */
static void drv_start(struct fixture *fx, uint64_t features)
{
    memset(fx->ram, 0, RAM_SIZE);
    fx->avail_idx = 0;
    drv_negotiate(fx, features);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, !=, 0);
    drv_setup_queue(fx, DESC_GPA, AVAIL_GPA, USED_GPA);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 1);
    wr(fx, VIRTIO_MMIO_STATUS, rd(fx, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

static void drv_desc_at(struct fixture *fx, gpa_t table, unsigned i, uint64_t addr, uint32_t len,
                        uint16_t flags, uint16_t next)
{
    uint8_t *p = fx->ram + table + 16 * i;

    le64_put(p, addr);
    le32_put(p + 8, len);
    le16_put(p + 12, flags);
    le16_put(p + 14, next);
}

static void drv_desc(struct fixture *fx, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    drv_desc_at(fx, DESC_GPA, i, addr, len, flags, next);
}

static void drv_post(struct fixture *fx, uint16_t head)
{
    le16_put(fx->ram + AVAIL_GPA + 4 + 2 * (fx->avail_idx % QNUM), head);
    fx->avail_idx++;
    le16_put(fx->ram + AVAIL_GPA + 2, fx->avail_idx);
}

static uint16_t drv_used_idx(struct fixture *fx) { return le16_get(fx->ram + USED_GPA + 2); }

static void drv_used_elem(struct fixture *fx, unsigned slot, uint32_t *id, uint32_t *len)
{
    *id = le32_get(fx->ram + USED_GPA + 4 + 8 * slot);
    *len = le32_get(fx->ram + USED_GPA + 4 + 8 * slot + 4);
}

static void drv_set_used_event(struct fixture *fx, uint16_t v)
{
    le16_put(fx->ram + AVAIL_GPA + 4 + 2 * QNUM, v);
}

static uint16_t drv_avail_event(struct fixture *fx)
{
    return le16_get(fx->ram + USED_GPA + 4 + 8 * QNUM);
}

static struct virtqueue *vq0(struct fixture *fx) { return virtio_queue(&fx->t.vdev, 0); }

#define F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define F_EVENT_IDX (1ULL << VIRTIO_F_RING_EVENT_IDX)

/* ---- tests ---- */

static void test_mmio_identity(void)
{
    struct fixture *fx = fx_new();
    g_autofree char *cmdline = NULL;

    g_assert_cmphex(rd(fx, VIRTIO_MMIO_MAGIC_VALUE), ==, 0x74726976);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_VERSION_REG), ==, 2);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_DEVICE_ID), ==, TEST_DEVICE_ID);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_VENDOR_ID), ==, VIRTIO_MMIO_VENDOR);
    g_assert_cmpuint(virtio_mmio_read(&fx->t, VIRTIO_MMIO_MAGIC_VALUE, 2), ==, 0); /* width */
    wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES), ==,
                    (1u << 5) | (1u << VIRTIO_F_RING_EVENT_IDX) |
                        (1u << VIRTIO_F_RING_INDIRECT_DESC));
    wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES), ==, 1); /* VERSION_1 */
    wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES), ==, 0);

    wr(fx, VIRTIO_MMIO_QUEUE_SEL, 1);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 256);
    wr(fx, VIRTIO_MMIO_QUEUE_SEL, 2); /* no such queue */
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 0);
    wr(fx, VIRTIO_MMIO_QUEUE_READY, 1); /* ignored */
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_SHM_LEN_LOW), ==, 0xffffffff);

    memcpy(fx->config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_CONFIG), ==, 0x44332211);
    g_assert_cmphex(virtio_mmio_read(&fx->t, VIRTIO_MMIO_CONFIG + 5, 1), ==, 0x66);
    g_assert_cmphex(virtio_mmio_read(&fx->t, VIRTIO_MMIO_CONFIG + 6, 4), ==, 0); /* past end */
    g_assert_cmphex(virtio_mmio_read(&fx->t, VIRTIO_MMIO_CONFIG + 0xe00, 4), ==, 0);
    virtio_mmio_write(&fx->t, VIRTIO_MMIO_CONFIG + 2, 0xabcd, 2);
    g_assert_cmphex(le16_get(fx->config + 2), ==, 0xabcd);
    cmdline = virtio_mmio_cmdline(fx->t.base, fx->t.irq.gsi);
    g_assert_cmpstr(cmdline, ==, "virtio_mmio.device=4K@0xd0000000:16");
    fx_free(fx);
}

static void test_mmio_feature_negotiation(void)
{
    struct fixture *fx = fx_new();
    uint32_t ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

    /* No VERSION_1: legacy drivers are refused. */
    drv_negotiate(fx, 1ULL << 5);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS), ==, ok & ~VIRTIO_STATUS_FEATURES_OK);
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    /* A feature the device did not offer. */
    drv_negotiate(fx, F_V1 | (1ULL << 6));
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS), ==, ok & ~VIRTIO_STATUS_FEATURES_OK);
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(fx->t.vdev.s.driver_features, ==, 0);

    drv_negotiate(fx, F_V1 | F_EVENT_IDX | (1ULL << 5));
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS), ==, ok);
    g_assert_true(virtio_has_feature(&fx->t.vdev, 5));
    g_assert_true(vq0(fx)->event_idx);
    /* Frozen after FEATURES_OK. */
    wr(fx, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(fx, VIRTIO_MMIO_DRIVER_FEATURES, 0);
    g_assert_true(virtio_has_feature(&fx->t.vdev, 5));
    /* The driver cannot set NEEDS_RESET. */
    wr(fx, VIRTIO_MMIO_STATUS, ok | VIRTIO_STATUS_NEEDS_RESET);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS), ==, ok);
    fx_free(fx);
}

static void test_mmio_reset(void)
{
    struct fixture *fx = fx_new();
    unsigned resets = fx->resets;

    drv_start(fx, F_V1);
    g_assert_true(vq0(fx)->s->ready);
    /* Queue registers are frozen while ready. */
    wr(fx, VIRTIO_MMIO_QUEUE_NUM, 4);
    g_assert_cmpuint(vq0(fx)->s->num, ==, QNUM);
    fx->t.vdev.s.isr = VIRTIO_ISR_QUEUE;
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    g_assert_cmpint(fx->irq_level, ==, 0);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    g_assert_cmpuint(vq0(fx)->s->num, ==, 0);
    g_assert_cmpuint(vq0(fx)->s->desc, ==, 0);
    g_assert_cmpuint(fx->t.vdev.s.driver_features, ==, 0);
    g_assert_cmpuint(fx->resets, ==, resets + 1);

    /* The config generation moves with device config changes. */
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_CONFIG_GENERATION), ==, 0);
    drv_start(fx, F_V1);
    virtio_config_changed(&fx->t.vdev);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_CONFIG_GENERATION), ==, 1);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_ISR_CONFIG);
    g_assert_cmpint(fx->irq_level, ==, 1);
    wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
    g_assert_cmpint(fx->irq_level, ==, 0);
    fx_free(fx);
}

static void test_pop_direct(void)
{
    struct fixture *fx = fx_new();
    struct virtqueue_elem *e;
    uint8_t hdr[4];
    uint32_t id, len;

    drv_start(fx, F_V1);
    g_assert_null(virtqueue_pop(vq0(fx)));
    /* out 16 bytes, out 512 bytes, in 1 byte + in 4096 bytes spanning two pages */
    memcpy(fx->ram + DATA_GPA, "\x01\x02\x03\x04", 4);
    drv_desc(fx, 3, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 7);
    drv_desc(fx, 7, DATA_GPA + 0x100, 512, VIRTQ_DESC_F_NEXT, 1);
    drv_desc(fx, 1, DATA_GPA + 0x2800, 4096, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    drv_desc(fx, 2, DATA_GPA + 0x5000, 1, VIRTQ_DESC_F_WRITE, 0);
    drv_post(fx, 3);
    wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_cmpuint(fx->notifies, ==, 1);
    wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 5); /* no such queue: ignored */
    g_assert_cmpuint(fx->notifies, ==, 1);

    g_assert_false(virtqueue_empty(vq0(fx)));
    e = virtqueue_pop(vq0(fx));
    g_assert_nonnull(e);
    g_assert_true(virtqueue_empty(vq0(fx)));
    g_assert_cmpuint(e->head, ==, 3);
    g_assert_cmpuint(e->out_num, ==, 2);
    g_assert_cmpuint(e->in_num, ==, 2);
    g_assert_true(e->iov[0].iov_base == fx->ram + DATA_GPA);
    g_assert_cmpuint(e->iov[1].iov_len, ==, 512);
    g_assert_cmpuint(e->gpa[2], ==, DATA_GPA + 0x2800);
    g_assert_cmpuint(virtqueue_elem_from_out(e, 0, hdr, 4), ==, 4);
    g_assert_cmpmem(hdr, 4, "\x01\x02\x03\x04", 4);

    clear_dirty(fx);
    g_assert_cmpuint(virtqueue_elem_to_in(e, 4000, "xyz!", 4), ==, 4);
    virtqueue_push(vq0(fx), e, 4097);
    g_free(e);
    /* Written in-bytes 0..4096 of the chain: pages 0x12, 0x13 and 0x15. */
    g_assert_true(fake_ram_dirty(&fx->r, DATA_GPA + 0x2800));
    g_assert_true(fake_ram_dirty(&fx->r, DATA_GPA + 0x37ff));
    g_assert_true(fake_ram_dirty(&fx->r, DATA_GPA + 0x5000));
    g_assert_false(fake_ram_dirty(&fx->r, DATA_GPA)); /* out-buffers are only read */
    g_assert_true(fake_ram_dirty(&fx->r, USED_GPA));
    g_assert_cmpuint(drv_used_idx(fx), ==, 1);
    drv_used_elem(fx, 0, &id, &len);
    g_assert_cmpuint(id, ==, 3);
    g_assert_cmpuint(len, ==, 4097);

    virtio_notify(&fx->t.vdev, vq0(fx));
    g_assert_cmpint(fx->irq_level, ==, 1);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_ISR_QUEUE);
    wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_QUEUE);
    g_assert_cmpint(fx->irq_level, ==, 0);

    /* NO_INTERRUPT (no event idx) suppresses the next one. */
    le16_put(fx->ram + AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
    drv_desc(fx, 0, DATA_GPA, 8, 0, 0);
    drv_post(fx, 0);
    e = virtqueue_pop(vq0(fx));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->out_num + e->in_num, ==, 1);
    virtqueue_push(vq0(fx), e, 0);
    g_free(e);
    virtio_notify(&fx->t.vdev, vq0(fx));
    g_assert_cmpint(fx->irq_level, ==, 0);
    /* ... and used flags NO_NOTIFY asks the driver not to kick. */
    virtqueue_set_notification(vq0(fx), false);
    g_assert_cmpuint(le16_get(fx->ram + USED_GPA), ==, VIRTQ_USED_F_NO_NOTIFY);
    virtqueue_set_notification(vq0(fx), true);
    g_assert_cmpuint(le16_get(fx->ram + USED_GPA), ==, 0);
    fx_free(fx);
}

static void test_pop_indirect(void)
{
    struct fixture *fx = fx_new();
    const gpa_t table = 0x8000;
    struct virtqueue_elem *e;

    drv_start(fx, F_V1 | (1ULL << VIRTIO_F_RING_INDIRECT_DESC));
    drv_desc_at(fx, table, 0, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
    drv_desc_at(fx, table, 2, DATA_GPA + 0x1000, 100, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    drv_desc_at(fx, table, 1, DATA_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
    drv_desc(fx, 5, table, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    drv_post(fx, 5);
    e = virtqueue_pop(vq0(fx));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->head, ==, 5);
    g_assert_cmpuint(e->out_num, ==, 1);
    g_assert_cmpuint(e->in_num, ==, 2);
    g_assert_cmpuint(e->gpa[1], ==, DATA_GPA + 0x1000);
    g_assert_cmpuint(e->gpa[2], ==, DATA_GPA + 0x2000);
    clear_dirty(fx);
    virtqueue_push(vq0(fx), e, 101);
    g_free(e);
    g_assert_true(fake_ram_dirty(&fx->r, DATA_GPA + 0x1000));
    g_assert_true(fake_ram_dirty(&fx->r, DATA_GPA + 0x2000));
    g_assert_cmpuint(drv_used_idx(fx), ==, 1);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    fx_free(fx);
}

static void post_one(struct fixture *fx, uint16_t head)
{
    drv_desc(fx, head, DATA_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
    drv_post(fx, head);
}

static void pop_push(struct fixture *fx)
{
    struct virtqueue_elem *e = virtqueue_pop(vq0(fx));

    g_assert_nonnull(e);
    virtqueue_push(vq0(fx), e, 8);
    g_free(e);
}

static bool notify_and_ack(struct fixture *fx)
{
    bool raised;

    virtio_notify(&fx->t.vdev, vq0(fx));
    raised = fx->irq_level;
    wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_QUEUE);
    return raised;
}

static void test_event_idx(void)
{
    struct fixture *fx = fx_new();

    drv_start(fx, F_V1 | F_EVENT_IDX);
    g_assert_true(vq0(fx)->event_idx);
    for (uint16_t i = 0; i < 4; i++)
        post_one(fx, i);
    clear_dirty(fx);
    pop_push(fx);
    /* The device tells the driver where it has read up to. */
    g_assert_cmpuint(drv_avail_event(fx), ==, 1);
    g_assert_true(fake_ram_dirty(&fx->r, USED_GPA));
    /* First interrupt always goes out. */
    drv_set_used_event(fx, 0);
    g_assert_true(notify_and_ack(fx));
    /* The driver wants an interrupt only when used idx passes 2. */
    drv_set_used_event(fx, 2);
    pop_push(fx); /* used idx 2: event 2 not crossed (needs new > 2) */
    g_assert_false(notify_and_ack(fx));
    pop_push(fx); /* used idx 3: crosses used_event 2 */
    g_assert_true(notify_and_ack(fx));
    pop_push(fx); /* used idx 4, used_event still 2: already signalled */
    g_assert_false(notify_and_ack(fx));
    g_assert_cmpuint(drv_avail_event(fx), ==, 4);
    /* Re-enabling notification publishes the current avail idx. */
    post_one(fx, 4);
    virtqueue_set_notification(vq0(fx), true);
    g_assert_cmpuint(drv_avail_event(fx), ==, 5);
    fx_free(fx);
}

static void expect_broken(struct fixture *fx)
{
    g_assert_null(virtqueue_pop(vq0(fx)));
    g_assert_true(vq0(fx)->s->broken);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, ==,
                    VIRTIO_STATUS_NEEDS_RESET);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG, ==,
                    VIRTIO_ISR_CONFIG);
    g_assert_cmpint(fx->irq_level, ==, 1);
    /* Nothing more comes out of a broken queue, and kicks are dropped. */
    g_assert_null(virtqueue_pop(vq0(fx)));
    fx->notifies = 0;
    wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_cmpuint(fx->notifies, ==, 0);
    /* A reset repairs it. */
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    g_assert_false(vq0(fx)->s->broken);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS), ==, 0);
    drv_start(fx, F_V1);
    post_one(fx, 0);
    pop_push(fx);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    wr(fx, VIRTIO_MMIO_STATUS, 0);
}

static void test_malformed(void)
{
    struct fixture *fx = fx_new();
    const gpa_t table = 0x8000;

    /* A loop: 0 -> 1 -> 0. */
    drv_start(fx, F_V1);
    drv_desc(fx, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
    drv_desc(fx, 1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
    drv_post(fx, 0);
    expect_broken(fx);

    /* Head index out of range. */
    drv_start(fx, F_V1);
    drv_post(fx, QNUM);
    expect_broken(fx);

    /* Next index out of range. */
    drv_start(fx, F_V1);
    drv_desc(fx, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0xffff);
    drv_post(fx, 0);
    expect_broken(fx);

    /* A buffer past the end of RAM, and one wrapping around 2^64. */
    drv_start(fx, F_V1);
    drv_desc(fx, 0, RAM_SIZE - 4, 8, 0, 0);
    drv_post(fx, 0);
    expect_broken(fx);
    drv_start(fx, F_V1);
    drv_desc(fx, 0, UINT64_MAX - 2, 8, 0, 0);
    drv_post(fx, 0);
    expect_broken(fx);

    /* Readable after writable. */
    drv_start(fx, F_V1);
    drv_desc(fx, 0, DATA_GPA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    drv_desc(fx, 1, DATA_GPA, 8, 0, 0);
    drv_post(fx, 0);
    expect_broken(fx);

    /* Nested indirect, indirect of bad size, indirect loop, table beyond RAM. */
    drv_start(fx, F_V1);
    drv_desc_at(fx, table, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
    drv_desc(fx, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
    drv_post(fx, 0);
    expect_broken(fx);
    drv_start(fx, F_V1);
    drv_desc(fx, 0, table, 20, VIRTQ_DESC_F_INDIRECT, 0);
    drv_post(fx, 0);
    expect_broken(fx);
    drv_start(fx, F_V1);
    drv_desc_at(fx, table, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
    drv_desc_at(fx, table, 1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
    drv_desc(fx, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
    drv_post(fx, 0);
    expect_broken(fx);
    drv_start(fx, F_V1);
    drv_desc(fx, 0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    drv_post(fx, 0);
    expect_broken(fx);

    /* The driver claims more available buffers than the ring holds. */
    drv_start(fx, F_V1);
    le16_put(fx->ram + AVAIL_GPA + 2, QNUM + 1);
    expect_broken(fx);
    fx_free(fx);
}

static void test_bad_queue_setup(void)
{
    struct fixture *fx = fx_new();

    /* Used ring beyond RAM: QueueReady breaks the device at once. */
    memset(fx->ram, 0, RAM_SIZE);
    drv_negotiate(fx, F_V1);
    drv_setup_queue(fx, DESC_GPA, AVAIL_GPA, RAM_SIZE - 8);
    g_assert_true(vq0(fx)->s->broken);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, ==,
                    VIRTIO_STATUS_NEEDS_RESET);
    g_assert_null(virtqueue_pop(vq0(fx)));
    wr(fx, VIRTIO_MMIO_STATUS, 0);

    /* Size not a power of 2; size above QueueNumMax. */
    drv_negotiate(fx, F_V1);
    wr(fx, VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(fx, VIRTIO_MMIO_QUEUE_NUM, 12);
    wr(fx, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_true(vq0(fx)->s->broken);
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    drv_negotiate(fx, F_V1);
    wr(fx, VIRTIO_MMIO_QUEUE_NUM, 512);
    wr(fx, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_true(vq0(fx)->s->broken);
    fx_free(fx);
}

static GByteArray *save(struct fixture *fx)
{
    g_autoptr(GError) err = NULL;
    QEMUFile *f = qemu_file_new_mem_output();
    GByteArray *out = g_byte_array_new();

    g_assert_true(vmstate_save(f, &virtio_mmio_vmstate, &fx->t.vdev.s, NULL, &err));
    qemu_file_flush(f);
    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    g_assert_true(qemu_file_close(f, &err));
    return out;
}

static bool load(struct fixture *fx, const GByteArray *in, GError **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(in->data, in->len);
    bool ok = vmstate_load(f, &virtio_mmio_vmstate, &fx->t.vdev.s, 1, errp);

    qemu_file_close(f, NULL);
    return ok;
}

static void test_vmstate_roundtrip(void)
{
    struct fixture *src = fx_new(), *dst = fx_new();
    g_autoptr(GByteArray) bytes = NULL;
    g_autoptr(GError) err = NULL;
    struct virtqueue_elem *e;

    drv_start(src, F_V1 | F_EVENT_IDX);
    for (uint16_t i = 0; i < 3; i++)
        post_one(src, i);
    pop_push(src);
    drv_set_used_event(src, 0);
    virtio_notify(&src->t.vdev, vq0(src)); /* interrupt pending across migration */
    g_assert_cmpint(src->irq_level, ==, 1);
    bytes = save(src);

    /* The destination's RAM arrives first (the "ram" section). */
    memcpy(dst->ram, src->ram, RAM_SIZE);
    g_assert_true(load(dst, bytes, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(&dst->t.vdev.s, sizeof(dst->t.vdev.s), &src->t.vdev.s, sizeof(src->t.vdev.s));
    g_assert_cmpint(dst->irq_level, ==, 1);
    g_assert_true(vq0(dst)->event_idx);
    g_assert_cmpuint(rd(dst, VIRTIO_MMIO_QUEUE_READY), ==, 1);
    /* The destination carries on where the source stopped. */
    e = virtqueue_pop(vq0(dst));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->head, ==, 1);
    virtqueue_push(vq0(dst), e, 8);
    g_free(e);
    g_assert_cmpuint(drv_used_idx(dst), ==, 2);
    g_assert_cmpuint(drv_avail_event(dst), ==, 2);
    fx_free(dst);
    fx_free(src);
}

static void test_vmstate_hostile(void)
{
    struct fixture *src = fx_new(), *dst = fx_new();
    g_autoptr(GByteArray) bytes = NULL;
    GError *err = NULL;

    /* Queue size not a power of two. */
    drv_start(src, F_V1);
    vq0(src)->s->num = 12;
    bytes = save(src);
    g_assert_false(load(dst, bytes, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_byte_array_unref(bytes);

    /* Ring outside the destination's RAM. */
    vq0(src)->s->num = QNUM;
    vq0(src)->s->used = RAM_SIZE;
    bytes = save(src);
    g_assert_false(load(dst, bytes, &err));
    g_clear_error(&err);
    g_byte_array_unref(bytes);

    /* Features the destination does not offer. */
    vq0(src)->s->used = USED_GPA;
    src->t.vdev.s.driver_features |= 1ULL << 40;
    bytes = save(src);
    g_assert_false(load(dst, bytes, &err));
    g_clear_error(&err);

    /* Truncated input. */
    g_byte_array_unref(bytes);
    src->t.vdev.s.driver_features &= ~(1ULL << 40);
    bytes = save(src);
    g_assert_true(load(dst, bytes, NULL));
    g_byte_array_set_size(bytes, bytes->len - 3);
    g_assert_false(load(dst, bytes, &err));
    g_clear_error(&err);
    g_byte_array_unref(bytes);
    bytes = NULL;
    fx_free(dst);
    fx_free(src);
}

/* ---- host notifiers (hw/host-notifier.h) through a fake provider ---- */

#define FAKE_HN_MAX 8

/* A doorbell the fake provider "caught": what KVM_IOEVENTFD would hold. */
struct fake_hn_slot {
    bool live;
    uint64_t addr;
    unsigned len;
    uint64_t data;
    void (*fn)(void *fn_opaque);
    void *fn_opaque;
};

struct fake_hn {
    struct fake_hn_slot slot[FAKE_HN_MAX];
    unsigned adds, dels;
    bool refuse; /* as a KVM without KVM_CAP_IOEVENTFD */
};

static struct host_notifier *fake_hn_add(void *opaque, uint64_t addr, unsigned len, uint64_t data,
                                         void (*fn)(void *fn_opaque), void *fn_opaque)
{
    struct fake_hn *hn = opaque;

    hn->adds++;
    if (hn->refuse)
        return NULL;
    for (unsigned i = 0; i < FAKE_HN_MAX; i++) {
        struct fake_hn_slot *s = &hn->slot[i];

        if (!s->live) {
            *s = (struct fake_hn_slot){true, addr, len, data, fn, fn_opaque};
            return (struct host_notifier *)s;
        }
    }
    g_assert_not_reached();
}

static void fake_hn_del(void *opaque, struct host_notifier *n)
{
    struct fake_hn *hn = opaque;
    struct fake_hn_slot *s = (struct fake_hn_slot *)n;

    g_assert_nonnull(n);
    g_assert_true(s->live);
    s->live = false;
    hn->dels++;
}

static const struct host_notifier_ops fake_hn_ops = {fake_hn_add, fake_hn_del};

static struct host_notifiers fake_hn_bind(struct fake_hn *hn)
{
    return (struct host_notifiers){&fake_hn_ops, hn};
}

static unsigned fake_hn_live(const struct fake_hn *hn)
{
    unsigned n = 0;

    for (unsigned i = 0; i < FAKE_HN_MAX; i++)
        n += hn->slot[i].live;
    return n;
}

/* The live notifier for a QueueNotify write of @data, or NULL. */
static struct fake_hn_slot *fake_hn_find(struct fake_hn *hn, uint64_t data)
{
    for (unsigned i = 0; i < FAKE_HN_MAX; i++) {
        struct fake_hn_slot *s = &hn->slot[i];

        if (s->live && s->data == data)
            return s;
    }
    return NULL;
}

/* The guest's doorbell as KVM would catch it, delivered by the main loop. */
static void fake_hn_fire(struct fake_hn *hn, uint64_t data)
{
    struct fake_hn_slot *s = fake_hn_find(hn, data);

    g_assert_nonnull(s);
    s->fn(s->fn_opaque);
}

/* Notifiers follow QueueReady through every path that changes it. */
static void test_host_notifier_lifecycle(void)
{
    struct fixture *fx = fx_new();
    struct fake_hn hn = {0};
    struct fake_hn_slot *s;

    virtio_mmio_set_host_notifiers(&fx->t, fake_hn_bind(&hn));
    g_assert_cmpuint(hn.adds, ==, 0); /* nothing ready yet */
    drv_start(fx, F_V1);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 1);
    s = fake_hn_find(&hn, 0);
    g_assert_nonnull(s);
    g_assert_cmpuint(s->addr, ==, 0xd0000000 + VIRTIO_MMIO_QUEUE_NOTIFY);
    g_assert_cmpuint(s->len, ==, 4);

    /* The caught doorbell reaches the device; the exit path still works. */
    fake_hn_fire(&hn, 0);
    g_assert_cmpuint(fx->notifies, ==, 1);
    wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_cmpuint(fx->notifies, ==, 2);

    /* Queue reset, then ready again. */
    wr(fx, VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(fx, VIRTIO_MMIO_QUEUE_READY, 0);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 0);
    wr(fx, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 1);
    /* QueueReady = 1 on a ready queue adds nothing twice. */
    wr(fx, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 1);

    /* Driver reset (Status 0). */
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 0);
    /* System reset. */
    drv_start(fx, F_V1);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 1);
    virtio_mmio_reset(&fx->t);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 0);
    /* Teardown. */
    drv_start(fx, F_V1);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 1);
    virtio_mmio_destroy(&fx->t);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 0);
    g_assert_cmpuint(hn.adds, ==, hn.dels);
    fx_free(fx);
}

/* Opting in late registers the queues already ready. */
static void test_host_notifier_late(void)
{
    struct fixture *fx = fx_new();
    struct fake_hn hn = {0};

    drv_start(fx, F_V1);
    virtio_mmio_set_host_notifiers(&fx->t, fake_hn_bind(&hn));
    g_assert_cmpuint(fake_hn_live(&hn), ==, 1);
    virtio_mmio_destroy(&fx->t);
    g_assert_cmpuint(fake_hn_live(&hn), ==, 0);
    fx_free(fx);
}

/* A provider that cannot catch the write: QueueNotify keeps exiting. */
static void test_host_notifier_refused(void)
{
    struct fixture *fx = fx_new();
    struct fake_hn hn = {.refuse = true};

    virtio_mmio_set_host_notifiers(&fx->t, fake_hn_bind(&hn));
    drv_start(fx, F_V1);
    g_assert_cmpuint(hn.adds, ==, 1); /* DRIVER_OK did not ask again */
    wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    g_assert_cmpuint(fx->notifies, ==, 1);
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    drv_start(fx, F_V1); /* asked again after a reset */
    g_assert_cmpuint(hn.adds, ==, 2);
    virtio_mmio_destroy(&fx->t);
    g_assert_cmpuint(hn.dels, ==, 0); /* nothing to delete */
    fx_free(fx);
}

/*
 * A doorbell caught on the source but never delivered before the save:
 * the destination registers notifiers for the ready queues in post_load,
 * and starting it with virtio_queue_notify_all() looks at every ready
 * ring once, so the chain the guest posted is still seen.
 */
static void test_host_notifier_pending_migration(void)
{
    struct fixture *src = fx_new(), *dst = fx_new();
    struct fake_hn src_hn = {0}, dst_hn = {0};
    g_autoptr(GByteArray) bytes = NULL;
    g_autoptr(GError) err = NULL;

    virtio_mmio_set_host_notifiers(&src->t, fake_hn_bind(&src_hn));
    virtio_mmio_set_host_notifiers(&dst->t, fake_hn_bind(&dst_hn));
    drv_start(src, F_V1);
    post_one(src, 0); /* the guest's kick sits in the eventfd: never fired */
    g_assert_cmpuint(src->notifies, ==, 0);
    bytes = save(src);

    memcpy(dst->ram, src->ram, RAM_SIZE);
    g_assert_true(load(dst, bytes, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(fake_hn_live(&dst_hn), ==, 1);
    g_assert_nonnull(fake_hn_find(&dst_hn, 0));
    g_assert_cmpuint(dst->notifies, ==, 0); /* nothing runs during the load */
    virtio_queue_notify_all(&dst->t.vdev);
    g_assert_cmpuint(dst->notifies, ==, 1);
    g_assert_false(virtqueue_empty(vq0(dst)));
    /* Not ready, not notified (dev_queue_notify insists on queue 0). */
    g_assert_false(virtio_queue(&dst->t.vdev, 1)->s->ready);

    /* A load over a device with notifiers does not add them twice. */
    g_assert_true(load(dst, bytes, &err));
    g_assert_cmpuint(fake_hn_live(&dst_hn), ==, 1);
    virtio_mmio_destroy(&dst->t);
    virtio_mmio_destroy(&src->t);
    fx_free(dst);
    fx_free(src);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio/mmio/identity", test_mmio_identity);
    g_test_add_func("/virtio/mmio/feature-negotiation", test_mmio_feature_negotiation);
    g_test_add_func("/virtio/mmio/reset", test_mmio_reset);
    g_test_add_func("/virtio/queue/direct", test_pop_direct);
    g_test_add_func("/virtio/queue/indirect", test_pop_indirect);
    g_test_add_func("/virtio/queue/event-idx", test_event_idx);
    g_test_add_func("/virtio/queue/malformed", test_malformed);
    g_test_add_func("/virtio/queue/bad-setup", test_bad_queue_setup);
    g_test_add_func("/virtio/vmstate/roundtrip", test_vmstate_roundtrip);
    g_test_add_func("/virtio/vmstate/hostile", test_vmstate_hostile);
    g_test_add_func("/virtio/host-notifier/lifecycle", test_host_notifier_lifecycle);
    g_test_add_func("/virtio/host-notifier/late", test_host_notifier_late);
    g_test_add_func("/virtio/host-notifier/refused", test_host_notifier_refused);
    g_test_add_func("/virtio/host-notifier/pending-migration",
                    test_host_notifier_pending_migration);
    return g_test_run();
}
