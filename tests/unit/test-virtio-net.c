/*
 * hw/virtio/virtio-net.c driven through the MMIO registers like a guest
 * driver, over fake guest RAM, with a real backend on the other end: the
 * device sits on one end of a -netdev stream pair over a UNIX socket, the
 * test's "wire" peer on the other, and this test's GMainContext plays the
 * main loop (single thread, so no VM lock).  Every wait is on a condition
 * with a deadline.  No /dev/kvm.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "hw/virtio/virtio-net.h"
#include "migration/qemu-file.h"
#include "tests/unit/fake-ram.h"
#include "tests/unit/virtio-driver.h"
#include "util/le.h"

#define DEADLINE_US (10 * G_USEC_PER_SEC)
#define RAM_SIZE (16ULL << 20)
#define QNUM 64
#define Q_GPA(q) (0x10000ULL + (q) * 0x4000ULL) /* desc; avail +0x1000; used +0x2000 */
#define RX_GPA 0x100000ULL  /* rx buffer i at RX_GPA + i * RX_STRIDE */
#define RX_STRIDE 0x10000ULL
#define TX_GPA 0x800000ULL  /* tx chain i: header + frame at TX_GPA + i * TX_STRIDE */
#define TX_STRIDE 0x11000ULL
#define CTRL_GPA 0x400000ULL
#define F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define F_MRG (1ULL << VIRTIO_NET_F_MRG_RXBUF)
#define F_ANN ((1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE) | (1ULL << VIRTIO_NET_F_CTRL_VQ))
#define F_RX ((1ULL << VIRTIO_NET_F_CTRL_RX) | (1ULL << VIRTIO_NET_F_CTRL_VQ))
#define F_RX_ALL                                                                               \
    (F_RX | (1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA) | (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR))

static const uint8_t mac_a[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };

/* The far end of the wire: records frames; can refuse to read. */
struct wire {
    GPtrArray *frames; /* GBytes * */
    bool can;
    bool link;
};

static bool wire_can_receive(void *opaque)
{
    return ((struct wire *)opaque)->can;
}

static bool wire_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
    struct wire *w = opaque;
    GByteArray *a = g_byte_array_new();

    for (int i = 0; i < iovcnt; i++)
        g_byte_array_append(a, iov[i].iov_base, iov[i].iov_len);
    g_ptr_array_add(w->frames, g_byte_array_free_to_bytes(a));
    return true;
}

static void wire_tx_ready(void *opaque)
{
    (void)opaque;
}

static void wire_link_changed(void *opaque, bool up)
{
    ((struct wire *)opaque)->link = up;
}

static const struct net_peer_ops wire_ops = {
    .can_receive = wire_can_receive,
    .receive = wire_receive,
    .tx_ready = wire_tx_ready,
    .link_changed = wire_link_changed,
};

struct queue_drv {
    uint16_t avail_idx, next_desc, used_seen;
};

struct fixture {
    GMainContext *ctx;
    GSource *tick;
    char *dir;
    struct net_options so, co;
    struct net_backend *dev_nb, *wire_nb;
    struct wire w;
    struct fake_ram r;
    uint8_t *ram;
    struct virtio_net n;
    int irq_level;
    struct queue_drv q[3];
};

#define WAIT_UNTIL(fx, cond)                                                                   \
    do {                                                                                       \
        gint64 deadline_ = g_get_monotonic_time() + DEADLINE_US;                               \
        while (!(cond)) {                                                                      \
            g_assert_cmpint(g_get_monotonic_time(), <, deadline_);                             \
            g_main_context_iteration((fx)->ctx, TRUE);                                         \
        }                                                                                      \
    } while (0)

static void drain(struct fixture *fx, unsigned rounds)
{
    for (unsigned i = 0; i < rounds; i++)
        g_main_context_iteration(fx->ctx, FALSE);
}

static gboolean tick(gpointer opaque)
{
    (void)opaque;
    return G_SOURCE_CONTINUE;
}

static void fx_irq(void *opaque, unsigned gsi, int level)
{
    (void)gsi;
    ((struct fixture *)opaque)->irq_level = level;
}

static struct net_backend *open_nb(struct fixture *fx, struct net_options *o)
{
    g_autoptr(GError) err = NULL;
    struct net_backend *nb = net_backend_open(fx->ctx, o, &err);

    g_assert_no_error(err);
    return nb;
}

static void fx_connect(struct fixture *fx)
{
    fx->wire_nb = open_nb(fx, &fx->co);
    net_backend_set_peer(fx->wire_nb, &wire_ops, &fx->w);
    WAIT_UNTIL(fx, fx->n.status & VIRTIO_NET_S_LINK_UP);
}

/* A device on the listening end; @connect: with the wire attached. */
static struct fixture *fx_new_mac(const uint8_t mac[6], bool connect)
{
    struct fixture *fx = g_new0(struct fixture, 1);
    g_autoptr(GError) err = NULL;

    fx->ctx = g_main_context_new();
    fx->tick = g_timeout_source_new(20);
    g_source_set_callback(fx->tick, tick, NULL, NULL);
    g_source_attach(fx->tick, fx->ctx);
    fx->w.frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    fx->w.can = true;
    fx->dir = g_dir_make_tmp("test-virtio-net-XXXXXX", NULL);
    net_options_init(&fx->so);
    net_options_init(&fx->co);
    fx->so.type = fx->co.type = NET_TYPE_STREAM;
    fx->so.id = g_strdup("dev");
    fx->co.id = g_strdup("wire");
    fx->so.server = true;
    fx->so.addr = (struct sock_addr){ .kind = SOCK_UNIX,
                                      .path = g_build_filename(fx->dir, "sock", NULL) };
    sock_addr_copy(&fx->co.addr, &fx->so.addr);
    fx->dev_nb = open_nb(fx, &fx->so);
    fake_ram_init(&fx->r, RAM_SIZE);
    fx->ram = fx->r.ram;
    g_assert_true(virtio_net_init(&fx->n, fx->dev_nb, mac, &fx->r.vram, 0xd0001000,
                                  (struct irq_line){ fx_irq, fx, 9 }, &err));
    g_assert_no_error(err);
    g_assert_false(fx->n.backend_hdr); /* a stream carries bare frames */
    virtio_net_set_running(&fx->n, true);
    if (connect)
        fx_connect(fx);
    return fx;
}

static struct fixture *fx_new(void)
{
    return fx_new_mac(mac_a, true);
}

static void fx_free(struct fixture *fx)
{
    g_autofree char *sock = g_build_filename(fx->dir, "sock", NULL);

    virtio_net_destroy(&fx->n);
    net_backend_free(fx->wire_nb);
    net_backend_free(fx->dev_nb);
    g_source_destroy(fx->tick);
    g_source_unref(fx->tick);
    drain(fx, 10);
    g_main_context_unref(fx->ctx);
    net_options_clear(&fx->so);
    net_options_clear(&fx->co);
    g_ptr_array_unref(fx->w.frames);
    g_unlink(sock);
    g_rmdir(fx->dir);
    g_free(fx->dir);
    fake_ram_clear(&fx->r);
    g_free(fx);
}

static uint32_t rd(struct fixture *fx, uint64_t off)
{
    return (uint32_t)virtio_mmio_read(&fx->n.mmio, off, 4);
}

static void wr(struct fixture *fx, uint64_t off, uint32_t v)
{
    virtio_mmio_write(&fx->n.mmio, off, v, 4);
}

static uint64_t cfg(struct fixture *fx, unsigned off, unsigned size)
{
    return virtio_mmio_read(&fx->n.mmio, VIRTIO_MMIO_CONFIG + off, size);
}

/* ---- driver side ---- */

static void drv_start(struct fixture *fx, uint64_t features)
{
    virtio_driver_negotiate(&fx->n.mmio, features);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, !=, 0);
    for (unsigned q = 0; q < 3; q++) {
        memset(fx->ram + Q_GPA(q), 0, 0x3000);
        wr(fx, VIRTIO_MMIO_QUEUE_SEL, q);
        g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, VIRTIO_NET_QUEUE_SIZE);
        virtio_driver_setup_queue(&fx->n.mmio, q, QNUM, Q_GPA(q), Q_GPA(q) + 0x1000,
                                  Q_GPA(q) + 0x2000);
        fx->q[q] = (struct queue_drv){ 0 };
    }
    wr(fx, VIRTIO_MMIO_STATUS, rd(fx, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

struct buf {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

/* Make one chain available on queue @q (no notify). */
static void drv_add(struct fixture *fx, unsigned q, const struct buf *b, unsigned nb)
{
    struct queue_drv *d = &fx->q[q];
    uint16_t head = d->next_desc % QNUM;

    for (unsigned i = 0; i < nb; i++) {
        uint16_t idx = (d->next_desc + i) % QNUM;
        uint8_t *p = fx->ram + Q_GPA(q) + 16 * idx;

        le64_put(p, b[i].gpa);
        le32_put(p + 8, b[i].len);
        le16_put(p + 12, (b[i].write ? VIRTQ_DESC_F_WRITE : 0) |
                             (i + 1 < nb ? VIRTQ_DESC_F_NEXT : 0));
        le16_put(p + 14, (idx + 1) % QNUM);
    }
    d->next_desc += nb;
    le16_put(fx->ram + Q_GPA(q) + 0x1000 + 4 + 2 * (d->avail_idx % QNUM), head);
    d->avail_idx++;
    le16_put(fx->ram + Q_GPA(q) + 0x1000 + 2, d->avail_idx);
}

static void drv_notify(struct fixture *fx, unsigned q)
{
    wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static uint16_t used_idx(struct fixture *fx, unsigned q)
{
    return le16_get(fx->ram + Q_GPA(q) + 0x2000 + 2);
}

static void used_elem(struct fixture *fx, unsigned q, uint16_t i, uint32_t *id, uint32_t *len)
{
    const uint8_t *p = fx->ram + Q_GPA(q) + 0x2000 + 4 + 8 * (i % QNUM);

    *id = le32_get(p);
    *len = le32_get(p + 4);
}

static void rx_post(struct fixture *fx, unsigned first, unsigned count, uint32_t len)
{
    for (unsigned i = first; i < first + count; i++) {
        struct buf b = { RX_GPA + i * RX_STRIDE, len, true };

        memset(fx->ram + b.gpa, 0xee, len);
        drv_add(fx, 0, &b, 1);
    }
}

static GBytes *make_frame(unsigned seq, size_t len)
{
    uint8_t *b = g_malloc(len);

    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(seq * 31 + i * 7 + (i >> 8));
    return g_bytes_new_take(b, len);
}

/* The wire sends @f to the device. */
static void wire_send(struct fixture *fx, GBytes *f)
{
    gsize len;
    struct iovec iov = { (void *)g_bytes_get_data(f, &len), 0 };

    iov.iov_len = len;
    g_assert_cmpint(net_backend_send(fx->wire_nb, &iov, 1), ==, (ssize_t)len);
}

/* Queue @f for tx as chain @slot: a 12-byte header buffer, then the frame
 * in two buffers (a split the device must not care about). */
static void tx_add(struct fixture *fx, unsigned slot, GBytes *f)
{
    gsize len;
    const uint8_t *d = g_bytes_get_data(f, &len);
    uint64_t gpa = TX_GPA + slot * TX_STRIDE;
    size_t a = len / 2;
    struct buf b[3] = { { gpa, VIRTIO_NET_HDR_LEN, false },
                        { gpa + 0x100, (uint32_t)a, false },
                        { gpa + 0x100 + a, (uint32_t)(len - a), false } };

    memset(fx->ram + gpa, 0, VIRTIO_NET_HDR_LEN);
    memcpy(fx->ram + gpa + 0x100, d, len);
    g_assert_cmpuint(a, >, 0);
    drv_add(fx, 1, b, 3);
}

static void assert_wire_frame(struct fixture *fx, unsigned i, GBytes *want)
{
    g_assert_cmpuint(i, <, fx->w.frames->len);
    g_assert_true(g_bytes_equal(fx->w.frames->pdata[i], want));
}

/* ---- tests ---- */

static void test_config(void)
{
    struct fixture *fx = fx_new();

    g_assert_cmphex(rd(fx, VIRTIO_MMIO_DEVICE_ID), ==, VIRTIO_ID_NET);
    for (unsigned i = 0; i < 6; i++)
        g_assert_cmphex(cfg(fx, i, 1), ==, mac_a[i]);
    g_assert_cmphex(cfg(fx, 6, 2), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmphex(cfg(fx, 8, 2), ==, 1);
    wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES) & (F_MRG | F_ANN), ==, F_MRG | F_ANN);
    fx_free(fx);
}

/* Frames of several sizes arrive whole, in order, at the other end. */
static void test_tx(void)
{
    static const size_t sizes[] = { 14, 60, 1514, 9000, 65535, NET_FRAME_MAX };
    struct fixture *fx = fx_new();
    g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    uint32_t id, len;

    drv_start(fx, F_V1);
    for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_ptr_array_add(sent, make_frame(i, sizes[i]));
        tx_add(fx, i, sent->pdata[i]);
    }
    drv_notify(fx, 1);
    g_assert_cmpuint(used_idx(fx, 1), ==, G_N_ELEMENTS(sizes));
    used_elem(fx, 1, 0, &id, &len);
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_QUEUE, !=, 0);
    g_assert_cmpint(fx->irq_level, ==, 1);
    WAIT_UNTIL(fx, fx->w.frames->len == sent->len);
    for (unsigned i = 0; i < sent->len; i++)
        assert_wire_frame(fx, i, sent->pdata[i]);
    g_assert_cmpuint(fx->n.stats.tx_frames, ==, sent->len);
    fx_free(fx);
}

/* One buffer per frame: zero header with num_buffers 1, the frame, dirty
 * pages; a frame bigger than the buffer is dropped and counted, and the
 * buffer serves the next frame. */
static void test_rx_single(void)
{
    struct fixture *fx = fx_new();
    g_autoptr(GBytes) f0 = make_frame(1, 60);
    g_autoptr(GBytes) f1 = make_frame(2, 1514);
    g_autoptr(GBytes) big = make_frame(3, 3000);
    uint8_t zero[10] = { 0 };
    uint32_t id, len;

    drv_start(fx, F_V1);
    rx_post(fx, 0, 2, 2048);
    drv_notify(fx, 0);
    fake_ram_clear_dirty(&fx->r);
    wire_send(fx, f0);
    WAIT_UNTIL(fx, used_idx(fx, 0) == 1);
    used_elem(fx, 0, 0, &id, &len);
    g_assert_cmpuint(id, ==, 0);
    g_assert_cmpuint(len, ==, VIRTIO_NET_HDR_LEN + 60);
    g_assert_cmpmem(fx->ram + RX_GPA, 10, zero, 10);
    g_assert_cmpuint(le16_get(fx->ram + RX_GPA + 10), ==, 1);
    g_assert_cmpmem(fx->ram + RX_GPA + 12, 60, g_bytes_get_data(f0, NULL), 60);
    g_assert_true(fake_ram_dirty(&fx->r, RX_GPA));
    g_assert_true(fake_ram_dirty(&fx->r, Q_GPA(0) + 0x2000));
    g_assert_false(fake_ram_dirty(&fx->r, RX_GPA + RX_STRIDE));
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_QUEUE, !=, 0);

    wire_send(fx, big);
    wire_send(fx, f1);
    WAIT_UNTIL(fx, used_idx(fx, 0) == 2);
    g_assert_cmpuint(fx->n.stats.rx_too_big, ==, 1);
    used_elem(fx, 0, 1, &id, &len);
    g_assert_cmpuint(id, ==, 1);
    g_assert_cmpuint(len, ==, VIRTIO_NET_HDR_LEN + 1514);
    g_assert_cmpmem(fx->ram + RX_GPA + RX_STRIDE + 12, 1514, g_bytes_get_data(f1, NULL), 1514);
    fx_free(fx);
}

/* MRG_RXBUF: a frame over several buffers, num_buffers in the first,
 * published at once; too few buffers = wait, not drop. */
static void test_rx_mergeable(void)
{
    struct fixture *fx = fx_new();
    g_autoptr(GBytes) f = make_frame(7, 3000);
    g_autoptr(GBytes) f2 = make_frame(8, 100);
    g_autofree uint8_t *got = g_malloc(3012);
    uint32_t id, len, total = 0;

    drv_start(fx, F_V1 | F_MRG);
    rx_post(fx, 0, 2, 1024);
    drv_notify(fx, 0);
    wire_send(fx, f);
    drain(fx, 20);
    g_assert_cmpuint(used_idx(fx, 0), ==, 0); /* 2 KiB < 3012: waits */
    rx_post(fx, 2, 2, 1024);
    drv_notify(fx, 0);
    WAIT_UNTIL(fx, used_idx(fx, 0) == 3);
    g_assert_cmpuint(le16_get(fx->ram + RX_GPA + 10), ==, 3);
    for (uint16_t i = 0; i < 3; i++) {
        used_elem(fx, 0, i, &id, &len);
        g_assert_cmpuint(id, ==, i);
        g_assert_cmpuint(len, ==, i < 2 ? 1024 : 3012 - 2048);
        memcpy(got + total, fx->ram + RX_GPA + i * RX_STRIDE, len);
        total += len;
    }
    g_assert_cmpmem(got + 12, 3000, g_bytes_get_data(f, NULL), 3000);
    wire_send(fx, f2);
    WAIT_UNTIL(fx, used_idx(fx, 0) == 4);
    used_elem(fx, 0, 3, &id, &len);
    g_assert_cmpuint(id, ==, 3);
    g_assert_cmpuint(len, ==, 112);
    g_assert_cmpuint(le16_get(fx->ram + RX_GPA + 3 * RX_STRIDE + 10), ==, 1);
    fx_free(fx);
}

/* A frame bigger than the whole ring of mergeable buffers is dropped. */
static void test_rx_mergeable_too_big(void)
{
    struct fixture *fx = fx_new();
    g_autoptr(GBytes) big = make_frame(1, NET_FRAME_MAX);
    g_autoptr(GBytes) small = make_frame(2, 100);
    uint32_t id, len;

    drv_start(fx, F_V1 | F_MRG);
    rx_post(fx, 0, QNUM, 1024); /* 64 KiB < 65536 + 12 */
    drv_notify(fx, 0);
    wire_send(fx, big);
    wire_send(fx, small);
    WAIT_UNTIL(fx, used_idx(fx, 0) == 1);
    g_assert_cmpuint(fx->n.stats.rx_too_big, ==, 1);
    used_elem(fx, 0, 0, &id, &len);
    g_assert_cmpuint(id, ==, 0);
    g_assert_cmpuint(len, ==, 112);
    fx_free(fx);
}

/* No rx buffers: the frames stay in the backend; buffers + a notify of
 * queue 0 deliver them, in order. */
static void test_rx_backpressure(void)
{
    struct fixture *fx = fx_new();
    g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

    drv_start(fx, F_V1);
    for (unsigned i = 0; i < 3; i++) {
        g_ptr_array_add(sent, make_frame(i, 200 + i));
        wire_send(fx, sent->pdata[i]);
    }
    drain(fx, 30);
    g_assert_cmpuint(used_idx(fx, 0), ==, 0);
    g_assert_cmpuint(net_backend_stats(fx->dev_nb).rx_dropped, ==, 0);
    rx_post(fx, 0, 4, 2048);
    drv_notify(fx, 0);
    WAIT_UNTIL(fx, used_idx(fx, 0) == 3);
    for (unsigned i = 0; i < 3; i++)
        g_assert_cmpmem(fx->ram + RX_GPA + i * RX_STRIDE + 12, 200 + i,
                        g_bytes_get_data(sent->pdata[i], NULL), 200 + i);
    fx_free(fx);
}

/* The link follows the backend: status bit and config interrupt. */
static void test_link(void)
{
    struct fixture *fx = fx_new_mac(mac_a, false);
    uint32_t gen;

    g_assert_cmphex(cfg(fx, 6, 2), ==, 0);
    drv_start(fx, F_V1);
    gen = rd(fx, VIRTIO_MMIO_CONFIG_GENERATION);
    g_assert_cmpint(fx->irq_level, ==, 0);
    fx_connect(fx);
    g_assert_cmphex(cfg(fx, 6, 2), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_ISR_CONFIG);
    g_assert_cmpint(fx->irq_level, ==, 1);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_CONFIG_GENERATION), !=, gen);
    wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
    g_assert_cmpint(fx->irq_level, ==, 0);
    /* A back-pressured stream does not watch its socket, so it would see
     * the hangup only once buffers come: post some. */
    rx_post(fx, 0, 1, 2048);
    drv_notify(fx, 0);
    net_backend_free(fx->wire_nb);
    fx->wire_nb = NULL;
    WAIT_UNTIL(fx, !(fx->n.status & VIRTIO_NET_S_LINK_UP));
    g_assert_cmphex(cfg(fx, 6, 2), ==, 0);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_ISR_CONFIG);
    fx_free(fx);
}

/* A control command with @len bytes of data, split over two buffers
 * (the device must not care); the ack. */
static uint8_t ctrl_cmd_data(struct fixture *fx, uint8_t class, uint8_t cmd, const void *data,
                             uint32_t len)
{
    uint32_t a = len / 2;
    struct buf b[4] = { { CTRL_GPA, 2, false },
                        { CTRL_GPA + 0x100, a, false },
                        { CTRL_GPA + 0x100 + a, len - a, false },
                        { CTRL_GPA + 0x10, 1, true } };
    uint16_t before = used_idx(fx, 2);

    fx->ram[CTRL_GPA] = class;
    fx->ram[CTRL_GPA + 1] = cmd;
    fx->ram[CTRL_GPA + 0x10] = 0xaa;
    if (len)
        memcpy(fx->ram + CTRL_GPA + 0x100, data, len);
    if (!a && !len) {
        b[1] = b[3];
        drv_add(fx, 2, b, 2);
    } else if (!a) {
        b[1] = b[2], b[2] = b[3];
        drv_add(fx, 2, b, 3);
    } else {
        drv_add(fx, 2, b, 4);
    }
    drv_notify(fx, 2);
    g_assert_cmpuint(used_idx(fx, 2), ==, (uint16_t)(before + 1));
    return fx->ram[CTRL_GPA + 0x10];
}

static uint8_t ctrl_cmd(struct fixture *fx, uint8_t class, uint8_t cmd)
{
    return ctrl_cmd_data(fx, class, cmd, NULL, 0);
}

static uint8_t ctrl_rx(struct fixture *fx, uint8_t cmd, uint8_t on)
{
    return ctrl_cmd_data(fx, VIRTIO_NET_CTRL_RX, cmd, &on, 1);
}

/* MAC_TABLE_SET with @nu unicast entries then @nm multicast ones from
 * @macs (6 bytes each); @extra bytes of junk after them. */
static uint8_t ctrl_table(struct fixture *fx, const uint8_t *macs, uint32_t nu, uint32_t nm,
                          uint32_t extra)
{
    g_autofree uint8_t *d = g_malloc0(8 + (nu + nm) * 6 + extra);

    le32_put(d, nu);
    memcpy(d + 4, macs, nu * 6);
    le32_put(d + 4 + nu * 6, nm);
    memcpy(d + 8 + nu * 6, macs + nu * 6, nm * 6);
    return ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, d,
                         8 + (nu + nm) * 6 + extra);
}

/* Announce: status bit + config interrupt; the driver's ack clears it. */
static void test_announce(void)
{
    struct fixture *fx = fx_new();

    drv_start(fx, F_V1);
    g_assert_false(virtio_net_announce(&fx->n)); /* not negotiated */
    g_assert_cmphex(cfg(fx, 6, 2), ==, VIRTIO_NET_S_LINK_UP);
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    drv_start(fx, F_V1 | F_ANN);
    g_assert_true(virtio_net_announce(&fx->n));
    g_assert_cmphex(cfg(fx, 6, 2), ==, VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_ISR_CONFIG);
    g_assert_cmpuint(ctrl_cmd(fx, 0, 0), ==, VIRTIO_NET_ERR); /* CTRL_RX: not offered */
    g_assert_cmphex(cfg(fx, 6, 2), ==, VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    g_assert_cmpuint(ctrl_cmd(fx, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK), ==,
                     VIRTIO_NET_OK);
    g_assert_cmphex(cfg(fx, 6, 2), ==, VIRTIO_NET_S_LINK_UP);
    /* A reset forgets a pending request. */
    g_assert_true(virtio_net_announce(&fx->n));
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmphex(cfg(fx, 6, 2), ==, VIRTIO_NET_S_LINK_UP);
    fx_free(fx);
}

/* Fill the wire until the device's backend says -EAGAIN; returns the
 * number of chains queued (the last ones still in the ring). */
static unsigned tx_until_blocked(struct fixture *fx, GPtrArray *sent)
{
    unsigned i;

    fx->w.can = false;
    drain(fx, 5);
    for (i = 0; i < QNUM / 3 && !fx->n.tx_waiting; i++) {
        g_ptr_array_add(sent, make_frame(i, 60000));
        tx_add(fx, i, sent->pdata[i]);
        drv_notify(fx, 1);
    }
    g_assert_true(fx->n.tx_waiting);
    return i;
}

/* -EAGAIN: the chain stays in the ring; tx_ready sends it and the rest. */
static void test_tx_backpressure(void)
{
    struct fixture *fx = fx_new();
    g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    unsigned n;

    drv_start(fx, F_V1);
    n = tx_until_blocked(fx, sent);
    g_assert_cmpuint(used_idx(fx, 1), <, n);
    g_assert_cmpuint(fx->n.mmio.vdev.s.vq[1].last_avail_idx, ==, used_idx(fx, 1));
    fx->w.can = true;
    net_backend_rx_ready(fx->wire_nb);
    WAIT_UNTIL(fx, used_idx(fx, 1) == n && fx->w.frames->len == n);
    for (unsigned i = 0; i < n; i++)
        assert_wire_frame(fx, i, sent->pdata[i]);
    g_assert_false(fx->n.tx_waiting);
    fx_free(fx);
}

/* A driver reset while tx waits on the backend: nothing is held, the
 * late tx_ready is harmless, and the new driver's frames go out. */
static void test_reset_pending(void)
{
    struct fixture *fx = fx_new();
    g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    g_autoptr(GBytes) f = make_frame(99, 80);
    unsigned sent_before;

    drv_start(fx, F_V1 | F_MRG);
    rx_post(fx, 0, 1, 1024);
    drv_notify(fx, 0);
    tx_until_blocked(fx, sent);
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    g_assert_false(fx->n.tx_waiting);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS), ==, 0);
    fx->w.can = true;
    net_backend_rx_ready(fx->wire_nb);
    drain(fx, 50);
    sent_before = fx->w.frames->len;
    /* A frame for a device without a driver waits in the backend. */
    wire_send(fx, f);
    drain(fx, 20);
    drv_start(fx, F_V1);
    memset(fx->ram + TX_GPA, 0, TX_STRIDE);
    tx_add(fx, 0, f);
    drv_notify(fx, 1);
    WAIT_UNTIL(fx, fx->w.frames->len > sent_before &&
                       g_bytes_equal(fx->w.frames->pdata[fx->w.frames->len - 1], f));
    rx_post(fx, 0, 1, 2048);
    drv_notify(fx, 0);
    WAIT_UNTIL(fx, used_idx(fx, 0) == 1);
    g_assert_cmpmem(fx->ram + RX_GPA + 12, 80, g_bytes_get_data(f, NULL), 80);
    fx_free(fx);
}

/* Malformed chains: DEVICE_NEEDS_RESET and a config interrupt; the
 * device moves nothing until a reset, then works. */
static void test_malformed(void)
{
    struct fixture *fx = fx_new();
    g_autoptr(GBytes) f = make_frame(5, 64);
    struct buf shorthdr = { TX_GPA, 4, false };
    struct buf readable = { RX_GPA, 2048, false };

    drv_start(fx, F_V1);
    drv_add(fx, 1, &shorthdr, 1);
    drv_notify(fx, 1);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, !=, 0);
    g_assert_cmphex(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG, !=, 0);
    wr(fx, VIRTIO_MMIO_STATUS, 0);

    drv_start(fx, F_V1);
    drv_add(fx, 0, &readable, 1);
    drv_notify(fx, 0);
    wire_send(fx, f);
    WAIT_UNTIL(fx, rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    g_assert_cmpuint(used_idx(fx, 0), ==, 0);
    wr(fx, VIRTIO_MMIO_STATUS, 0);

    drv_start(fx, F_V1);
    rx_post(fx, 0, 1, 2048);
    drv_notify(fx, 0);
    wire_send(fx, f);
    WAIT_UNTIL(fx, used_idx(fx, 0) == 1);
    g_assert_cmpmem(fx->ram + RX_GPA + 12, 64, g_bytes_get_data(f, NULL), 64);
    fx_free(fx);
}

static GByteArray *save(struct fixture *fx)
{
    g_autoptr(GError) err = NULL;
    QEMUFile *f = qemu_file_new_mem_output();
    GByteArray *out = g_byte_array_new();

    g_assert_true(vmstate_save(f, &virtio_net_vmstate, &fx->n, NULL, &err));
    qemu_file_flush(f);
    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    g_assert_true(qemu_file_close(f, &err));
    return out;
}

static bool load_version(struct fixture *fx, const GByteArray *in, int version, GError **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(in->data, in->len);
    bool ok = vmstate_load(f, &virtio_net_vmstate, &fx->n, version, errp);

    qemu_file_close(f, NULL);
    return ok;
}

static bool load(struct fixture *fx, const GByteArray *in, GError **errp)
{
    return load_version(fx, in, virtio_net_vmstate.version_id, errp);
}

/* Save with a tx chain queued but not seen and an announce pending; the
 * destination (same MAC, RAM copied) sends the frame after its kick; a
 * destination with another MAC refuses the section by the field's name. */
static void test_vmstate(void)
{
    struct fixture *src = fx_new(), *dst, *other;
    g_autoptr(GBytes) f = make_frame(42, 1000);
    g_autoptr(GByteArray) bytes = NULL;
    g_autoptr(GError) err = NULL;

    drv_start(src, F_V1 | F_MRG | F_ANN);
    g_assert_true(virtio_net_announce(&src->n));
    rx_post(src, 0, 2, 2048);
    drv_notify(src, 0);
    tx_add(src, 0, f); /* no notify: the stop came first */
    virtio_net_set_running(&src->n, false);
    bytes = save(src);

    dst = fx_new_mac(mac_a, true);
    virtio_net_set_running(&dst->n, false);
    memcpy(dst->ram, src->ram, RAM_SIZE);
    g_assert_true(load(dst, bytes, &err));
    g_assert_no_error(err);
    g_assert_cmphex(cfg(dst, 6, 2), ==, VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    g_assert_true(virtio_has_feature(&dst->n.mmio.vdev, VIRTIO_NET_F_MRG_RXBUF));
    wire_send(dst, f);
    drain(dst, 20);
    /* Stopped: nothing moves, in either direction. */
    g_assert_cmpuint(dst->w.frames->len, ==, 0);
    g_assert_cmpuint(used_idx(dst, 0), ==, 0);
    virtio_net_set_running(&dst->n, true);
    virtio_net_kick(&dst->n);
    WAIT_UNTIL(dst, dst->w.frames->len == 1 && used_idx(dst, 0) == 1);
    g_assert_cmpmem(dst->ram + RX_GPA + 12, 1000, g_bytes_get_data(f, NULL), 1000);
    assert_wire_frame(dst, 0, f);
    g_assert_cmpuint(used_idx(dst, 1), ==, 1);
    g_assert_cmpuint(src->w.frames->len, ==, 0);

    other = fx_new_mac(mac_b, true);
    g_assert_false(load(other, bytes, &err));
    g_assert_nonnull(strstr(err->message, "mac"));
    fx_free(other);
    fx_free(dst);
    fx_free(src);
}

static const uint8_t mc_1[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t uc_t[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x07 };

/* A driver that turned promisc off, allmulti on, set a table of one
 * unicast and one multicast address and moved the NIC to mac_b. */
static void set_filter_state(struct fixture *fx)
{
    uint8_t macs[12];

    memcpy(macs, uc_t, 6);
    memcpy(macs + 6, mc_1, 6);
    drv_start(fx, F_V1 | F_ANN | F_RX_ALL);
    g_assert_cmpuint(ctrl_rx(fx, VIRTIO_NET_CTRL_RX_PROMISC, 0), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(ctrl_rx(fx, VIRTIO_NET_CTRL_RX_ALLMULTI, 1), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(ctrl_table(fx, macs, 1, 1, 0), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac_b,
                                   6),
                     ==, VIRTIO_NET_OK);
}

/* The device's own fields, big-endian, after the transport: mac[6]
 * (configured), be16 status, current_mac[6], eight u8 flags, be32
 * in_use, be32 first_multi, the table; every truncation is refused. */
static const uint8_t vmstate_tail[] = {
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x03,             /* mac, status */
    0x52, 0x54, 0x00, 0x12, 0x34, 0x57,                         /* current_mac */
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* promisc..multi_overflow */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,             /* in_use, first_multi */
    0x02, 0x00, 0x00, 0x00, 0x00, 0x07, 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, /* macs */
};
#define TAIL_STATUS 7          /* low byte of status in vmstate_tail */
#define TAIL_FLAGS 14          /* promisc */
#define TAIL_IN_USE 22
#define TAIL_FIRST_MULTI 26

static void test_vmstate_bytes(void)
{
    struct fixture *fx = fx_new();
    g_autoptr(GByteArray) bytes = NULL;
    g_autoptr(GError) err = NULL;

    set_filter_state(fx);
    g_assert_true(virtio_net_announce(&fx->n));
    bytes = save(fx);
    g_assert_cmpuint(bytes->len, >, sizeof(vmstate_tail));
    g_assert_cmpmem(bytes->data + bytes->len - sizeof(vmstate_tail), sizeof(vmstate_tail),
                    vmstate_tail, sizeof(vmstate_tail));
    for (guint len = 0; len < bytes->len; len++) {
        g_autoptr(GByteArray) cut = g_byte_array_new();
        g_autoptr(GError) err = NULL;

        g_byte_array_append(cut, bytes->data, len);
        g_assert_false(load(fx, cut, &err));
        g_assert_nonnull(err);
    }
    bytes->data[bytes->len - sizeof(vmstate_tail) + TAIL_STATUS] = 0x83; /* undefined bit */
    g_assert_false(load(fx, bytes, &err));
    g_assert_nonnull(strstr(err->message, "unknown bits"));
    fx_free(fx);
}

/* Hostile values in the filter part of the section are refused. */
static void test_vmstate_hostile(void)
{
    static const struct {
        unsigned off;
        uint8_t val;
    } bad[] = {
        { TAIL_FLAGS, 2 },            /* a bool that is not 0 or 1 */
        { TAIL_FLAGS + 7, 0xff },     /* multi_overflow */
        { TAIL_IN_USE + 3, 65 },      /* more entries than the table */
        { TAIL_IN_USE, 0x80 },        /* and far more */
        { TAIL_FIRST_MULTI + 3, 3 },  /* multicast part past the entries */
        { TAIL_FIRST_MULTI, 0xff },
    };
    struct fixture *src = fx_new(), *dst = fx_new();
    g_autoptr(GByteArray) bytes = NULL;

    set_filter_state(src);
    bytes = save(src);
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        g_autoptr(GError) err = NULL;

        g_byte_array_append(b, bytes->data, bytes->len);
        b->data[b->len - sizeof(vmstate_tail) + bad[i].off] = bad[i].val;
        g_assert_false(load(dst, b, &err));
        g_assert_nonnull(err);
    }
    fx_free(dst);
    fx_free(src);
}

/* The filter and the guest's MAC arrive (the config space shows the
 * MAC); a version 1 stream (no filter) loads as the reset state. */
static void test_vmstate_filter(void)
{
    struct fixture *src = fx_new(), *dst = fx_new();
    g_autoptr(GByteArray) bytes = NULL;
    g_autoptr(GByteArray) v1 = g_byte_array_new();
    g_autoptr(GError) err = NULL;

    set_filter_state(src);
    bytes = save(src);
    g_assert_true(load(dst, bytes, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(&dst->n.rx, sizeof(dst->n.rx), &src->n.rx, sizeof(src->n.rx));
    g_assert_false(dst->n.rx.promisc);
    g_assert_cmpuint(dst->n.rx.in_use, ==, 2);
    for (unsigned i = 0; i < 6; i++)
        g_assert_cmphex(cfg(dst, i, 1), ==, mac_b[i]);
    g_assert_cmpmem(dst->n.conf_mac, 6, mac_a, 6);

    g_byte_array_append(v1, bytes->data, bytes->len - sizeof(vmstate_tail) + 8);
    g_assert_true(load_version(dst, v1, 1, &err));
    g_assert_no_error(err);
    g_assert_true(dst->n.rx.promisc);
    g_assert_cmpuint(dst->n.rx.in_use, ==, 0);
    g_assert_cmpmem(dst->n.mac, 6, mac_a, 6);
    fx_free(dst);
    fx_free(src);
}

/* ---- receive filter ---- */

/* A frame to @dst whose payload starts with @seq. */
static GBytes *frame_to(const uint8_t dst[6], uint8_t seq)
{
    uint8_t *b = g_malloc0(64);

    memcpy(b, dst, 6);
    memcpy(b + 6, mac_b, 6);
    b[12] = 0x08;
    b[14] = seq;
    return g_bytes_new_take(b, 64);
}

/* Send one frame per destination; the seqs that reached the guest, as a
 * string of 'a' + index ("" when none).  Needs rx buffers posted. */
static char *deliver(struct fixture *fx, const uint8_t (*dsts)[6], unsigned n)
{
    GString *got = g_string_new("");
    uint16_t used0 = used_idx(fx, 0);
    uint64_t seen0 = fx->n.stats.rx_frames + fx->n.stats.rx_filtered;

    rx_post(fx, 0, n, 2048);
    drv_notify(fx, 0);
    for (unsigned i = 0; i < n; i++) {
        g_autoptr(GBytes) f = frame_to(dsts[i], (uint8_t)('a' + i));

        wire_send(fx, f);
    }
    WAIT_UNTIL(fx, fx->n.stats.rx_frames + fx->n.stats.rx_filtered == seen0 + n);
    for (uint16_t u = used0; u != used_idx(fx, 0); u++) {
        uint32_t id, len;

        used_elem(fx, 0, u, &id, &len);
        g_string_append_c(got, (char)fx->ram[RX_GPA + id * RX_STRIDE + 12 + 14]);
    }
    /* Unused buffers stay posted: reset the ring's driver side. */
    wr(fx, VIRTIO_MMIO_STATUS, 0);
    return g_string_free(got, false);
}


/* The destinations deliver() sends, in this order: a mac_a, b bcast,
 * c mc_1 (in the table), d mc_2 (not), e uc_t (in the table), f
 * uc_other (not), g mac_b. */
static const uint8_t dsts[7][6] = {
    { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
    { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, { 0x33, 0x33, 0x00, 0x00, 0x00, 0x02 },
    { 0x02, 0x00, 0x00, 0x00, 0x00, 0x07 }, { 0x02, 0x00, 0x00, 0x00, 0x00, 0x09 },
    { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 },
};

/* Apply @cmds (rx command, on) after a fresh start with the table
 * { uc_t | mc_1 }; which of dsts get through. */
static char *filter_case(struct fixture *fx, const uint8_t (*cmds)[2], unsigned ncmds)
{
    uint8_t macs[12];

    memcpy(macs, uc_t, 6);
    memcpy(macs + 6, mc_1, 6);
    drv_start(fx, F_V1 | F_RX_ALL);
    g_assert_cmpuint(ctrl_table(fx, macs, 1, 1, 0), ==, VIRTIO_NET_OK);
    for (unsigned i = 0; i < ncmds; i++)
        g_assert_cmpuint(ctrl_rx(fx, cmds[i][0], cmds[i][1]), ==, VIRTIO_NET_OK);
    return deliver(fx, dsts, G_N_ELEMENTS(dsts));
}

#define FILTER_CASE(fx, want, ...)                                                             \
    do {                                                                                       \
        static const uint8_t c_[][2] = { __VA_ARGS__ };                                        \
        g_autofree char *got_ = filter_case(fx, c_, G_N_ELEMENTS(c_));                         \
        g_assert_cmpstr(got_, ==, want);                                                       \
    } while (0)

#define PROMISC_OFF { VIRTIO_NET_CTRL_RX_PROMISC, 0 }

static void test_filter_rules(void)
{
    struct fixture *fx = fx_new();
    uint64_t filtered;

    /* Reset state: promiscuous, the table does not matter. */
    FILTER_CASE(fx, "abcdefg", { VIRTIO_NET_CTRL_RX_NOBCAST, 1 });
    FILTER_CASE(fx, "abce", PROMISC_OFF);
    filtered = fx->n.stats.rx_filtered;
    g_assert_cmpuint(filtered, ==, 3);
    FILTER_CASE(fx, "abcde", PROMISC_OFF, { VIRTIO_NET_CTRL_RX_ALLMULTI, 1 });
    FILTER_CASE(fx, "abcefg", PROMISC_OFF, { VIRTIO_NET_CTRL_RX_ALLUNI, 1 });
    FILTER_CASE(fx, "ace", PROMISC_OFF, { VIRTIO_NET_CTRL_RX_NOBCAST, 1 });
    FILTER_CASE(fx, "abe", PROMISC_OFF, { VIRTIO_NET_CTRL_RX_NOMULTI, 1 },
                { VIRTIO_NET_CTRL_RX_ALLMULTI, 1 });
    FILTER_CASE(fx, "bc", PROMISC_OFF, { VIRTIO_NET_CTRL_RX_NOUNI, 1 },
                { VIRTIO_NET_CTRL_RX_ALLUNI, 1 });
    /* On, then off again. */
    FILTER_CASE(fx, "abce", PROMISC_OFF, { VIRTIO_NET_CTRL_RX_ALLMULTI, 1 },
                { VIRTIO_NET_CTRL_RX_ALLMULTI, 0 });
    fx_free(fx);
}

/* MAC_ADDR_SET: the config space and the filter follow the new MAC. */
static void test_filter_mac_addr(void)
{
    struct fixture *fx = fx_new();
    g_autofree char *got = NULL;

    drv_start(fx, F_V1 | F_RX_ALL);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac_b,
                                   6),
                     ==, VIRTIO_NET_OK);
    for (unsigned i = 0; i < 6; i++)
        g_assert_cmphex(cfg(fx, i, 1), ==, mac_b[i]);
    g_assert_cmpuint(ctrl_rx(fx, VIRTIO_NET_CTRL_RX_PROMISC, 0), ==, VIRTIO_NET_OK);
    got = deliver(fx, dsts, G_N_ELEMENTS(dsts));
    g_assert_cmpstr(got, ==, "bg"); /* empty table: broadcast and the new MAC */
    fx_free(fx);
}

/* A table longer than what is left: not stored, that kind all accepted. */
static void test_filter_overflow(void)
{
    struct fixture *fx = fx_new();
    g_autofree uint8_t *macs = g_malloc0(66 * 6);
    g_autofree char *uni = NULL, *multi = NULL;

    for (unsigned i = 0; i < 66; i++) {
        macs[i * 6] = i < 65 ? 0x02 : 0x01;
        macs[i * 6 + 5] = (uint8_t)(0x40 + i);
    }
    drv_start(fx, F_V1 | F_RX_ALL);
    g_assert_cmpuint(ctrl_table(fx, macs, 65, 1, 0), ==, VIRTIO_NET_OK);
    g_assert_true(fx->n.rx.uni_overflow);
    g_assert_false(fx->n.rx.multi_overflow);
    g_assert_cmpuint(fx->n.rx.in_use, ==, 1);
    g_assert_cmpuint(fx->n.rx.first_multi, ==, 0);
    g_assert_cmpmem(fx->n.rx.macs[0].a, 6, macs + 65 * 6, 6);
    g_assert_cmpuint(ctrl_rx(fx, VIRTIO_NET_CTRL_RX_PROMISC, 0), ==, VIRTIO_NET_OK);
    uni = deliver(fx, dsts, G_N_ELEMENTS(dsts));
    g_assert_cmpstr(uni, ==, "abefg");

    /* 64 unicast fill the table: one multicast overflows. */
    drv_start(fx, F_V1 | F_RX_ALL);
    g_assert_cmpuint(ctrl_table(fx, macs + 6, 64, 1, 0), ==, VIRTIO_NET_OK);
    g_assert_false(fx->n.rx.uni_overflow);
    g_assert_true(fx->n.rx.multi_overflow);
    g_assert_cmpuint(fx->n.rx.in_use, ==, 64);
    g_assert_cmpuint(fx->n.rx.first_multi, ==, 64);
    g_assert_cmpuint(ctrl_rx(fx, VIRTIO_NET_CTRL_RX_PROMISC, 0), ==, VIRTIO_NET_OK);
    multi = deliver(fx, dsts, G_N_ELEMENTS(dsts));
    g_assert_cmpstr(multi, ==, "abcd");
    fx_free(fx);
}

/* Malformed or unnegotiated commands: ERR, nothing changes, the queue
 * goes on working. */
static void test_filter_malformed(void)
{
    struct fixture *fx = fx_new();
    struct virtio_net_rx_filter before;
    uint8_t two[2] = { 1, 1 }, macs[12] = { 0x02 }, big[16] = { 0 };
    uint8_t huge[8] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
    uint8_t lie[14] = { 2, 0, 0, 0 }; /* says 2 entries, holds 1, no multicast count */

    drv_start(fx, F_V1 | F_ANN);
    g_assert_cmpuint(ctrl_rx(fx, VIRTIO_NET_CTRL_RX_PROMISC, 0), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_table(fx, macs, 1, 0, 0), ==, VIRTIO_NET_ERR);
    g_assert_true(fx->n.rx.promisc);

    wr(fx, VIRTIO_MMIO_STATUS, 0);
    drv_start(fx, F_V1 | F_RX);
    memcpy(&before, &fx->n.rx, sizeof(before));
    g_assert_cmpuint(ctrl_rx(fx, VIRTIO_NET_CTRL_RX_ALLUNI, 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac_b,
                                   6),
                     ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd(fx, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 2),
                     ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_rx(fx, 6, 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_rx(fx, 0xff, 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd_data(fx, 9, 0, two, 1), ==, VIRTIO_NET_ERR);
    /* Tables: junk after them, a count past the buffer, a short count. */
    g_assert_cmpuint(ctrl_table(fx, macs, 1, 1, 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, huge,
                                   8),
                     ==, VIRTIO_NET_ERR);
    memcpy(huge, "\0\0\0\0\xff\xff\xff\xff", 8);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, huge,
                                   8),
                     ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, lie,
                                   sizeof(lie)),
                     ==, VIRTIO_NET_ERR);
    for (uint32_t len = 0; len < 8; len++)
        g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
                                       big, len),
                         ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, 2, big, 8), ==, VIRTIO_NET_ERR);
    g_assert_cmpmem(&fx->n.rx, sizeof(before), &before, sizeof(before));

    wr(fx, VIRTIO_MMIO_STATUS, 0);
    drv_start(fx, F_V1 | F_RX_ALL);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac_b,
                                   5),
                     ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd_data(fx, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, macs,
                                   7),
                     ==, VIRTIO_NET_ERR);
    g_assert_cmpmem(fx->n.mac, 6, mac_a, 6);
    g_assert_cmpuint(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    g_assert_cmpuint(ctrl_table(fx, macs, 1, 0, 0), ==, VIRTIO_NET_OK); /* still works */
    g_assert_cmpuint(fx->n.rx.in_use, ==, 1);
    fx_free(fx);
}

/* A driver reset and a system reset give back QEMU's defaults. */
static void test_filter_reset(void)
{
    struct fixture *fx = fx_new();

    for (unsigned pass = 0; pass < 2; pass++) {
        set_filter_state(fx);
        g_assert_cmpmem(fx->n.mac, 6, mac_b, 6);
        if (pass)
            virtio_net_reset(&fx->n);
        else
            wr(fx, VIRTIO_MMIO_STATUS, 0);
        g_assert_true(fx->n.rx.promisc);
        g_assert_false(fx->n.rx.allmulti);
        g_assert_cmpuint(fx->n.rx.in_use, ==, 0);
        g_assert_cmpuint(fx->n.rx.first_multi, ==, 0);
        for (unsigned i = 0; i < 6; i++)
            g_assert_cmphex(cfg(fx, i, 1), ==, mac_a[i]);
    }
    fx_free(fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-net/config", test_config);
    g_test_add_func("/virtio-net/tx", test_tx);
    g_test_add_func("/virtio-net/tx-backpressure", test_tx_backpressure);
    g_test_add_func("/virtio-net/rx-single", test_rx_single);
    g_test_add_func("/virtio-net/rx-mergeable", test_rx_mergeable);
    g_test_add_func("/virtio-net/rx-mergeable-too-big", test_rx_mergeable_too_big);
    g_test_add_func("/virtio-net/rx-backpressure", test_rx_backpressure);
    g_test_add_func("/virtio-net/link", test_link);
    g_test_add_func("/virtio-net/announce", test_announce);
    g_test_add_func("/virtio-net/reset-pending", test_reset_pending);
    g_test_add_func("/virtio-net/malformed", test_malformed);
    g_test_add_func("/virtio-net/vmstate", test_vmstate);
    g_test_add_func("/virtio-net/vmstate-bytes", test_vmstate_bytes);
    g_test_add_func("/virtio-net/vmstate-hostile", test_vmstate_hostile);
    g_test_add_func("/virtio-net/vmstate-filter", test_vmstate_filter);
    g_test_add_func("/virtio-net/filter-rules", test_filter_rules);
    g_test_add_func("/virtio-net/filter-mac-addr", test_filter_mac_addr);
    g_test_add_func("/virtio-net/filter-overflow", test_filter_overflow);
    g_test_add_func("/virtio-net/filter-malformed", test_filter_malformed);
    g_test_add_func("/virtio-net/filter-reset", test_filter_reset);
    return g_test_run();
}
