/*
 * hw/virtio/virtio-blk.c driven through the MMIO registers like a guest
 * driver, over fake guest RAM and a real image file (block/block.h), with
 * the completions dispatched by this test's GMainContext.  No /dev/kvm.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "hw/virtio/virtio-blk.h"
#include "migration/qemu-file.h"
#include "tests/unit/fake-ram.h"
#include "tests/unit/virtio-driver.h"
#include "util/le.h"

#define RAM_SIZE 0x400000ULL
#define QNUM 64
#define DESC_GPA 0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA 0x3000ULL
#define HDR_GPA 0x4000ULL    /* 16 bytes per slot */
#define STATUS_GPA 0x5000ULL /* 1 byte per slot */
#define DATA_GPA 0x100000ULL /* 64 KiB per slot */
#define SLOT_DATA 0x10000ULL
#define DISK_SIZE (4ULL << 20)
#define F_V1 (1ULL << VIRTIO_F_VERSION_1)

struct fixture {
    GMainContext *ctx;
    char *path;
    struct block_backend *bb;
    struct fake_ram r;
    uint8_t *ram; /* r.ram */
    struct virtio_blk b;
    int irq_level;
    uint16_t avail_idx;
};

static void fx_irq(void *opaque, unsigned gsi, int level)
{
    struct fixture *fx = opaque;

    g_assert_cmpuint(gsi, ==, 5);
    fx->irq_level = level;
}

/* An image of @size bytes, each 512-byte sector filled with its number. */
static struct fixture *fx_new_opts(uint64_t size, bool readonly, const char *serial)
{
    struct fixture *fx = g_new0(struct fixture, 1);
    struct block_options o = { 0 };
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *img = g_malloc(size);
    int fd;

    for (uint64_t s = 0; s < size / 512; s++)
        memset(img + s * 512, (int)(s & 0xff), 512);
    fx->path = g_strdup("test-virtio-blk-XXXXXX");
    fd = g_mkstemp(fx->path);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, img, size), ==, (ssize_t)size);
    close(fd);
    fx->ctx = g_main_context_new();
    o.file = fx->path;
    o.readonly = readonly;
    fx->bb = block_open(fx->ctx, &o, &err);
    g_assert_no_error(err);
    fake_ram_init(&fx->r, RAM_SIZE);
    fx->ram = fx->r.ram;
    virtio_blk_init(&fx->b, fx->bb, serial, &fx->r.vram, 0xd0000000,
                    (struct irq_line){ fx_irq, fx, 5 });
    return fx;
}

static struct fixture *fx_new(void)
{
    return fx_new_opts(DISK_SIZE, false, "tern-disk-serial");
}

static void fx_free(struct fixture *fx)
{
    block_close(fx->bb);
    g_main_context_unref(fx->ctx);
    g_unlink(fx->path);
    g_free(fx->path);
    fake_ram_clear(&fx->r);
    g_free(fx);
}

static uint32_t rd(struct fixture *fx, uint64_t off)
{
    return (uint32_t)virtio_mmio_read(&fx->b.mmio, off, 4);
}

static void wr(struct fixture *fx, uint64_t off, uint32_t v)
{
    virtio_mmio_write(&fx->b.mmio, off, v, 4);
}

static uint64_t cfg(struct fixture *fx, unsigned off, unsigned size)
{
    return virtio_mmio_read(&fx->b.mmio, VIRTIO_MMIO_CONFIG + off, size);
}

/* ---- driver side ---- */

static void drv_start(struct fixture *fx, uint64_t features)
{
    virtio_driver_negotiate(&fx->b.mmio, features);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, !=, 0);
    virtio_driver_setup_queue(&fx->b.mmio, 0, QNUM, DESC_GPA, AVAIL_GPA, USED_GPA);
    wr(fx, VIRTIO_MMIO_STATUS, rd(fx, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
    fx->avail_idx = 0;
}

static void drv_desc(struct fixture *fx, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint8_t *p = fx->ram + DESC_GPA + 16 * i;

    le64_put(p, addr);
    le32_put(p + 8, len);
    le16_put(p + 12, flags);
    le16_put(p + 14, next);
}

static uint8_t *slot_data(struct fixture *fx, unsigned slot)
{
    return fx->ram + DATA_GPA + slot * SLOT_DATA;
}

static uint8_t slot_status(struct fixture *fx, unsigned slot)
{
    return fx->ram[STATUS_GPA + slot];
}

/* Request @slot (descriptors 3 * slot ...): header, @len bytes of data at
 * the slot's buffer (device-writable for IN and GET_ID), status. */
static void drv_req(struct fixture *fx, unsigned slot, uint32_t type, uint64_t sector,
                    uint32_t len)
{
    unsigned d = 3 * slot;
    bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    uint8_t *hdr = fx->ram + HDR_GPA + 16 * slot;

    g_assert_cmpuint(slot, <, QNUM / 3);
    le32_put(hdr, type);
    le32_put(hdr + 4, 0);
    le64_put(hdr + 8, sector);
    fx->ram[STATUS_GPA + slot] = 0xee;
    drv_desc(fx, d, HDR_GPA + 16 * slot, 16, VIRTQ_DESC_F_NEXT, d + (len ? 1 : 2));
    if (len)
        drv_desc(fx, d + 1, DATA_GPA + slot * SLOT_DATA, len,
                 VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0), d + 2);
    drv_desc(fx, d + 2, STATUS_GPA + slot, 1, VIRTQ_DESC_F_WRITE, 0);
    le16_put(fx->ram + AVAIL_GPA + 4 + 2 * (fx->avail_idx % QNUM), d);
    fx->avail_idx++;
    le16_put(fx->ram + AVAIL_GPA + 2, fx->avail_idx);
}

static uint16_t drv_used_idx(struct fixture *fx)
{
    return le16_get(fx->ram + USED_GPA + 2);
}

static void kick(struct fixture *fx)
{
    wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Dispatch completions until the device used @n requests in all. */
static void wait_used(struct fixture *fx, uint16_t n)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (drv_used_idx(fx) != n) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_main_context_iteration(fx->ctx, TRUE);
    }
}

/* One request, kicked and completed; its status. */
static uint8_t do_req(struct fixture *fx, unsigned slot, uint32_t type, uint64_t sector,
                      uint32_t len)
{
    uint16_t want = drv_used_idx(fx) + 1;

    drv_req(fx, slot, type, sector, len);
    kick(fx);
    wait_used(fx, want);
    return slot_status(fx, slot);
}

static void read_file(struct fixture *fx, uint64_t off, void *buf, size_t len)
{
    g_autofree char *data = NULL;
    gsize n;

    g_assert_true(g_file_get_contents(fx->path, &data, &n, NULL));
    g_assert_cmpuint(off + len, <=, n);
    memcpy(buf, data + off, len);
}

/* ---- tests ---- */

static void test_identity(void)
{
    struct fixture *fx = fx_new();
    struct fixture *ro = fx_new_opts(DISK_SIZE, true, NULL);
    uint64_t features;

    g_assert_cmphex(rd(fx, VIRTIO_MMIO_DEVICE_ID), ==, VIRTIO_ID_BLOCK);
    g_assert_cmpuint(cfg(fx, 0, 8), ==, DISK_SIZE / 512);
    g_assert_cmpuint(cfg(fx, 0x0c, 4), ==, VIRTIO_BLK_QUEUE_SIZE - 2);
    g_assert_cmpuint(cfg(fx, 0x14, 4), ==, 512);
    g_assert_cmpuint(cfg(fx, 0x22, 2), ==, 1);
    g_assert_cmpuint(cfg(fx, 0x28, 4), ==, 1);
    g_assert_cmpuint(cfg(fx, 0x4, 4), ==, (DISK_SIZE / 512) >> 32);
    g_assert_cmpuint(cfg(fx, VIRTIO_BLK_CONFIG_SIZE, 4), ==, 0); /* past the end */
    wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    features = rd(fx, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    features |= (uint64_t)rd(fx, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    g_assert_cmphex(features & (1ULL << VIRTIO_BLK_F_FLUSH), !=, 0);
    g_assert_cmphex(features & (1ULL << VIRTIO_BLK_F_DISCARD), !=, 0);
    g_assert_cmphex(features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES), !=, 0);
    g_assert_cmphex(features & (1ULL << VIRTIO_BLK_F_RO), ==, 0);
    g_assert_cmphex(features & F_V1, !=, 0);
    g_assert_cmphex(ro->b.mmio.vdev.host_features & (1ULL << VIRTIO_BLK_F_RO), !=, 0);
    fx_free(ro);
    fx_free(fx);
}

static void test_read_write(void)
{
    struct fixture *fx = fx_new();
    uint8_t buf[8192];

    drv_start(fx, F_V1);
    /* Read sectors 8..23: each holds its number. */
    g_assert_cmpuint(do_req(fx, 0, VIRTIO_BLK_T_IN, 8, 8192), ==, VIRTIO_BLK_S_OK);
    for (unsigned s = 0; s < 16; s++)
        g_assert_cmpuint(slot_data(fx, 0)[s * 512 + 7], ==, 8 + s);
    g_assert_true(fake_ram_dirty(&fx->r, DATA_GPA) && fake_ram_dirty(&fx->r, DATA_GPA + 4096));
    g_assert_true(fake_ram_dirty(&fx->r, STATUS_GPA));
    g_assert_cmpint(fx->irq_level, ==, 1);
    /* The used element reports the bytes written: data and status. */
    g_assert_cmpuint(le32_get(fx->ram + USED_GPA + 4 + 4), ==, 8192 + 1);

    memset(slot_data(fx, 1), 0xa5, 4096);
    g_assert_cmpuint(do_req(fx, 1, VIRTIO_BLK_T_OUT, 100, 4096), ==, VIRTIO_BLK_S_OK);
    read_file(fx, 100 * 512, buf, 4096);
    for (unsigned i = 0; i < 4096; i++)
        g_assert_cmpuint(buf[i], ==, 0xa5);
    g_assert_cmpuint(do_req(fx, 2, VIRTIO_BLK_T_FLUSH, 0, 0), ==, VIRTIO_BLK_S_OK);
    fx_free(fx);
}

/* Many requests at once, one kick: all complete, each with its data. */
static void test_many_in_flight(void)
{
    struct fixture *fx = fx_new();
    unsigned n = QNUM / 3;

    drv_start(fx, F_V1);
    for (unsigned i = 0; i < n; i++) {
        memset(slot_data(fx, i), 0x40 + i, SLOT_DATA);
        drv_req(fx, i, VIRTIO_BLK_T_OUT, i * (SLOT_DATA / 512), SLOT_DATA);
    }
    kick(fx);
    g_assert_cmpuint(fx->b.in_flight, >, 1);
    wait_used(fx, n);
    g_assert_cmpuint(fx->b.in_flight, ==, 0);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmpuint(slot_status(fx, i), ==, VIRTIO_BLK_S_OK);
        memset(slot_data(fx, i), 0, SLOT_DATA);
        drv_req(fx, i, VIRTIO_BLK_T_IN, i * (SLOT_DATA / 512), SLOT_DATA);
    }
    kick(fx);
    wait_used(fx, 2 * n);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmpuint(slot_status(fx, i), ==, VIRTIO_BLK_S_OK);
        g_assert_cmpuint(slot_data(fx, i)[0], ==, 0x40 + i);
        g_assert_cmpuint(slot_data(fx, i)[SLOT_DATA - 1], ==, 0x40 + i);
    }
    fx_free(fx);
}

static void test_get_id(void)
{
    struct fixture *fx = fx_new();

    drv_start(fx, F_V1);
    memset(slot_data(fx, 0), 0xff, 64);
    g_assert_cmpuint(do_req(fx, 0, VIRTIO_BLK_T_GET_ID, 0, 20), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpmem(slot_data(fx, 0), 16, "tern-disk-serial", 16);
    g_assert_cmpuint(slot_data(fx, 0)[16], ==, 0); /* NUL-padded to 20 */
    g_assert_cmpuint(slot_data(fx, 0)[20], ==, 0xff);
    fx_free(fx);
}

static void put_segment(struct fixture *fx, unsigned slot, uint64_t sector, uint32_t num,
                        uint32_t flags)
{
    le64_put(slot_data(fx, slot), sector);
    le32_put(slot_data(fx, slot) + 8, num);
    le32_put(slot_data(fx, slot) + 12, flags);
}

static void test_discard_write_zeroes(void)
{
    struct fixture *fx = fx_new();
    uint8_t buf[4096], zero[4096] = { 0 };

    drv_start(fx, F_V1);
    put_segment(fx, 0, 64, 8, 0);
    g_assert_cmpuint(do_req(fx, 0, VIRTIO_BLK_T_DISCARD, 0, 16), ==, VIRTIO_BLK_S_OK);
    read_file(fx, 64 * 512, buf, 4096);
    g_assert_cmpmem(buf, 4096, zero, 4096);
    put_segment(fx, 1, 200, 8, 1); /* unmap allowed */
    g_assert_cmpuint(do_req(fx, 1, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16), ==, VIRTIO_BLK_S_OK);
    read_file(fx, 200 * 512, buf, 4096);
    g_assert_cmpmem(buf, 4096, zero, 4096);
    read_file(fx, 208 * 512, buf, 1);
    g_assert_cmpuint(buf[0], ==, 208); /* the next sector untouched */
    /* Discard has no flags; two segments are more than max_discard_seg. */
    put_segment(fx, 2, 0, 8, 1);
    g_assert_cmpuint(do_req(fx, 2, VIRTIO_BLK_T_DISCARD, 0, 16), ==, VIRTIO_BLK_S_UNSUPP);
    put_segment(fx, 3, 0, 8, 0);
    g_assert_cmpuint(do_req(fx, 3, VIRTIO_BLK_T_DISCARD, 0, 32), ==, VIRTIO_BLK_S_IOERR);
    put_segment(fx, 4, DISK_SIZE / 512 - 4, 8, 0);
    g_assert_cmpuint(do_req(fx, 4, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16), ==, VIRTIO_BLK_S_IOERR);
    fx_free(fx);
}

/* Bad requests get a status; the device keeps working. */
static void test_errors(void)
{
    struct fixture *fx = fx_new();
    struct fixture *ro = fx_new_opts(DISK_SIZE, true, NULL);
    uint64_t last = DISK_SIZE / 512;

    drv_start(fx, F_V1);
    g_assert_cmpuint(do_req(fx, 0, VIRTIO_BLK_T_IN, last - 1, 1024), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(do_req(fx, 1, VIRTIO_BLK_T_IN, last, 512), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(do_req(fx, 2, VIRTIO_BLK_T_IN, UINT64_MAX, 512), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(do_req(fx, 3, VIRTIO_BLK_T_OUT, 0, 100), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(do_req(fx, 4, 77, 0, 512), ==, VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(do_req(fx, 5, VIRTIO_BLK_T_IN, last - 1, 512), ==, VIRTIO_BLK_S_OK);
    /* A host I/O error reaches the guest as IOERR, then clears. */
    block_inject_error(fx->bb, BLOCK_OP_WRITE, 0, 4096, 5 /* EIO */);
    g_assert_cmpuint(do_req(fx, 6, VIRTIO_BLK_T_OUT, 0, 512), ==, VIRTIO_BLK_S_IOERR);
    block_inject_error(fx->bb, BLOCK_OP_WRITE, 0, 4096, 0);
    g_assert_cmpuint(do_req(fx, 7, VIRTIO_BLK_T_OUT, 0, 512), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);

    drv_start(ro, F_V1 | (1ULL << VIRTIO_BLK_F_RO));
    g_assert_cmpuint(do_req(ro, 0, VIRTIO_BLK_T_OUT, 0, 512), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(do_req(ro, 1, VIRTIO_BLK_T_IN, 0, 512), ==, VIRTIO_BLK_S_OK);
    fx_free(ro);
    fx_free(fx);
}

/* No room for a status byte: nothing can be reported, the device breaks. */
static void test_malformed(void)
{
    struct fixture *fx = fx_new();

    drv_start(fx, F_V1);
    le32_put(fx->ram + HDR_GPA, VIRTIO_BLK_T_IN);
    drv_desc(fx, 0, HDR_GPA, 16, 0, 0); /* header only */
    le16_put(fx->ram + AVAIL_GPA + 4, 0);
    le16_put(fx->ram + AVAIL_GPA + 2, 1);
    kick(fx);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, !=, 0);
    fx_free(fx);
}

/* A driver reset with requests in flight: they finish, but nothing is
 * pushed to the reset queue. */
static void test_reset_in_flight(void)
{
    struct fixture *fx = fx_new();

    drv_start(fx, F_V1);
    for (unsigned i = 0; i < 8; i++)
        drv_req(fx, i, VIRTIO_BLK_T_IN, i * 128, SLOT_DATA);
    kick(fx);
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(fx->b.in_flight, ==, 0);
    g_assert_cmpuint(drv_used_idx(fx), ==, 0);
    g_assert_cmpuint(slot_status(fx, 0), ==, 0xee);
    /* And it works again after a new setup. */
    drv_start(fx, F_V1);
    memset(fx->ram + USED_GPA, 0, 4);
    g_assert_cmpuint(do_req(fx, 0, VIRTIO_BLK_T_IN, 0, 512), ==, VIRTIO_BLK_S_OK);
    fx_free(fx);
}

static GByteArray *save(struct fixture *fx)
{
    g_autoptr(GError) err = NULL;
    QEMUFile *f = qemu_file_new_mem_output();
    GByteArray *out = g_byte_array_new();

    g_assert_true(vmstate_save(f, &virtio_blk_vmstate, &fx->b, NULL, &err));
    qemu_file_flush(f);
    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    g_assert_true(qemu_file_close(f, &err));
    return out;
}

static bool load(struct fixture *fx, const GByteArray *in, GError **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(in->data, in->len);
    bool ok = vmstate_load(f, &virtio_blk_vmstate, &fx->b, 1, errp);

    qemu_file_close(f, NULL);
    return ok;
}

/* Drain at the stop, save, load elsewhere; a request the driver queued
 * before the stop without the device seeing the kick is done by the
 * destination's kick. */
static void test_migrate(void)
{
    struct fixture *src = fx_new(), *dst = fx_new(), *small = fx_new_opts(DISK_SIZE / 2, false, NULL);
    g_autoptr(GByteArray) bytes = NULL;
    g_autoptr(GError) err = NULL;

    drv_start(src, F_V1);
    for (unsigned i = 0; i < 4; i++)
        drv_req(src, i, VIRTIO_BLK_T_IN, i, 512);
    kick(src);
    virtio_blk_drain(&src->b);
    g_assert_cmpuint(drv_used_idx(src), ==, 4);
    drv_req(src, 4, VIRTIO_BLK_T_IN, 9, 512); /* queued, not kicked */
    bytes = save(src);

    memcpy(dst->ram, src->ram, RAM_SIZE);
    g_assert_true(load(dst, bytes, &err));
    g_assert_no_error(err);
    g_assert_cmpint(dst->irq_level, ==, 1);
    dst->avail_idx = src->avail_idx;
    virtio_blk_kick(&dst->b);
    wait_used(dst, 5);
    g_assert_cmpuint(slot_status(dst, 4), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(slot_data(dst, 4)[0], ==, 9);

    /* A destination disk of another size refuses the state. */
    g_assert_false(load(small, bytes, &err));
    g_assert_nonnull(strstr(err->message, "capacity"));
    fx_free(small);
    fx_free(dst);
    fx_free(src);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-blk/identity", test_identity);
    g_test_add_func("/virtio-blk/read-write", test_read_write);
    g_test_add_func("/virtio-blk/many-in-flight", test_many_in_flight);
    g_test_add_func("/virtio-blk/get-id", test_get_id);
    g_test_add_func("/virtio-blk/discard-write-zeroes", test_discard_write_zeroes);
    g_test_add_func("/virtio-blk/errors", test_errors);
    g_test_add_func("/virtio-blk/malformed", test_malformed);
    g_test_add_func("/virtio-blk/reset-in-flight", test_reset_in_flight);
    g_test_add_func("/virtio-blk/migrate", test_migrate);
    return g_test_run();
}
