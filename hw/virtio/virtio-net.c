#include "hw/virtio/virtio-net.h"

#include <errno.h>
#include <string.h>

#include "net/announce.h"
#include "util/error.h"
#include "util/le.h"

#define HDR_NUM_BUFFERS 10 /* le16 num_buffers in virtio_net_hdr_v1 */

/* MAC_TABLE_SET copies entries back to back into macs[]. */
G_STATIC_ASSERT(sizeof(struct virtio_net_mac_entry) == VIRTIO_NET_MAC_LEN);

static struct virtio_dev *vnet_vdev(struct virtio_net *n)
{
    return &n->mmio.vdev;
}

static struct virtqueue *vnet_vq(struct virtio_net *n, unsigned index)
{
    return virtio_queue(vnet_vdev(n), index);
}

/* May frames move?  The driver is up, nothing is broken, the VM runs. */
static bool vnet_active(struct virtio_net *n)
{
    uint8_t st = vnet_vdev(n)->s.status;

    return n->running && (st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_NEEDS_RESET);
}

static size_t vnet_iov_size(const struct iovec *iov, unsigned cnt)
{
    size_t n = 0;

    for (unsigned i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return n;
}

static size_t vnet_in_size(const struct virtqueue_elem *e)
{
    return vnet_iov_size(e->iov + e->out_num, e->in_num);
}

/* dst <- src without its first @skip bytes; the number of entries. */
static int vnet_iov_skip(const struct iovec *src, unsigned cnt, size_t skip, struct iovec *dst)
{
    int n = 0;

    for (unsigned i = 0; i < cnt; i++) {
        if (skip >= src[i].iov_len) {
            skip -= src[i].iov_len;
            continue;
        }
        dst[n].iov_base = (uint8_t *)src[i].iov_base + skip;
        dst[n++].iov_len = src[i].iov_len - skip;
        skip = 0;
    }
    return n;
}

/* ---- transmit ---- */

/* Send one chain.  False: the backend is full, the chain went back into
 * the ring and tx_ready will follow. */
static bool vnet_tx_one(struct virtio_net *n, struct virtqueue *vq, struct virtqueue_elem *e)
{
    size_t skip = n->backend_hdr ? 0 : VIRTIO_NET_HDR_LEN;
    int cnt;
    ssize_t ret;

    if (e->in_num || vnet_iov_size(e->iov, e->out_num) < VIRTIO_NET_HDR_LEN) {
        g_free(e);
        virtio_set_needs_reset(vnet_vdev(n), "virtio-net: tx chain without a header "
                                             "or with writable buffers");
        return true;
    }
    cnt = vnet_iov_skip(e->iov, e->out_num, skip, n->tx_iov);
    ret = net_backend_send(n->nb, n->tx_iov, cnt);
    if (ret == -EAGAIN) {
        virtqueue_unpop(vq, 1);
        g_free(e);
        n->tx_waiting = true;
        return false;
    }
    virtqueue_push(vq, e, 0);
    g_free(e);
    n->stats.tx_frames++;
    return true;
}

/* Send every chain the driver made available, until the backend is full. */
static void vnet_tx_flush(struct virtio_net *n)
{
    struct virtqueue *vq = vnet_vq(n, VIRTIO_NET_TXQ);
    struct virtqueue_elem *e;
    uint16_t before = vq->s->used_idx;

    if (!vnet_active(n) || n->tx_waiting)
        return;
    do {
        virtqueue_set_notification(vq, false);
        while (vnet_active(n) && (e = virtqueue_pop(vq))) {
            if (!vnet_tx_one(n, vq, e))
                goto out; /* kicks stay off: tx_ready restarts us */
        }
        virtqueue_set_notification(vq, true);
    } while (vnet_active(n) && !virtqueue_empty(vq));
out:
    if (vq->s->used_idx != before)
        virtio_notify(vnet_vdev(n), vq);
}

/* net_peer_ops.tx_ready: main loop, lock held. */
static void vnet_tx_ready(void *opaque)
{
    struct virtio_net *n = opaque;

    n->tx_waiting = false;
    vnet_tx_flush(n); /* a no-op while stopped: set_running(true) flushes */
}

/* ---- receive ---- */

/* net_peer_ops.can_receive: main loop, lock held. */
static bool vnet_can_receive(void *opaque)
{
    struct virtio_net *n = opaque;

    return vnet_active(n) && !virtqueue_empty(vnet_vq(n, VIRTIO_NET_RXQ));
}

/* Where the next byte of a frame goes: chain @i at @off. */
struct vnet_rx_cursor {
    struct virtqueue_elem **elems;
    uint32_t *lens;
    unsigned i, n;
    size_t off;
};

static void vnet_rx_put(struct vnet_rx_cursor *c, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len && c->i < c->n) {
        size_t got = virtqueue_elem_to_in(c->elems[c->i], c->off, p, len);

        c->off += got;
        c->lens[c->i] = (uint32_t)c->off;
        p += got;
        len -= got;
        if (len) {
            c->i++;
            c->off = 0;
        }
    }
}

/* Pop chains until @need bytes fit.  Returns the count, 0 when the ring
 * has too few (everything unpopped), or -1 when it can never fit / the
 * driver broke the device (everything given back or dropped). */
static int vnet_rx_pop(struct virtio_net *n, struct virtqueue_elem **elems, size_t need)
{
    struct virtqueue *vq = vnet_vq(n, VIRTIO_NET_RXQ);
    unsigned max = virtio_has_feature(vnet_vdev(n), VIRTIO_NET_F_MRG_RXBUF) ? vq->s->num : 1;
    unsigned count = 0;
    size_t cap = 0;

    while (cap < need) {
        struct virtqueue_elem *e;

        if (count == max) {
            n->stats.rx_too_big++;
            goto give_back;
        }
        e = virtqueue_pop(vq);
        if (!e)
            goto give_back; /* too few for now, or broken (then it stays so) */
        elems[count++] = e;
        if (e->out_num || !vnet_in_size(e) ||
            (count == 1 && vnet_in_size(e) < VIRTIO_NET_HDR_LEN)) {
            virtio_set_needs_reset(vnet_vdev(n), "virtio-net: rx chain with readable buffers "
                                                 "or no room for the header");
            goto give_back;
        }
        cap += vnet_in_size(e);
    }
    return (int)count;
give_back:
    virtqueue_unpop(vq, count);
    for (unsigned i = 0; i < count; i++)
        g_free(elems[i]);
    return cap < need && count < max && !vq->s->broken && vnet_active(n) ? 0 : -1;
}

/* The virtio header for the guest: the backend's, or zero; num_buffers. */
static size_t vnet_rx_header(struct virtio_net *n, const struct iovec *iov, int iovcnt,
                             uint8_t hdr[VIRTIO_NET_HDR_LEN], unsigned num_buffers)
{
    size_t got = 0;

    memset(hdr, 0, VIRTIO_NET_HDR_LEN);
    for (int i = 0; n->backend_hdr && i < iovcnt && got < VIRTIO_NET_HDR_LEN; i++) {
        size_t l = MIN(iov[i].iov_len, VIRTIO_NET_HDR_LEN - got);

        memcpy(hdr + got, iov[i].iov_base, l);
        got += l;
    }
    /* tap leaves num_buffers as it found it: ours, always. */
    le16_put(hdr + HDR_NUM_BUFFERS, (uint16_t)num_buffers);
    return got;
}

/* ---- receive filter ---- */

static bool vnet_table_has(const struct virtio_net_rx_filter *f, uint32_t from, uint32_t to,
                           const uint8_t *dst)
{
    for (uint32_t i = from; i < to; i++) {
        if (!memcmp(f->macs[i].a, dst, VIRTIO_NET_MAC_LEN))
            return true;
    }
    return false;
}

/* QEMU's receive_filter() without VLANs: may a frame to @dst go to the
 * guest? */
static bool vnet_filter_accepts(const struct virtio_net *n, const uint8_t *dst)
{
    static const uint8_t bcast[VIRTIO_NET_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    const struct virtio_net_rx_filter *f = &n->rx;

    if (dst[0] & 1) {
        if (!memcmp(dst, bcast, sizeof(bcast)))
            return !f->nobcast;
        if (f->nomulti)
            return false;
        return f->allmulti || f->multi_overflow ||
               vnet_table_has(f, f->first_multi, f->in_use, dst);
    }
    if (f->nouni)
        return false;
    return f->alluni || f->uni_overflow || !memcmp(dst, n->mac, VIRTIO_NET_MAC_LEN) ||
           vnet_table_has(f, 0, f->first_multi, dst);
}

/* The frame in @iov (after the backend's header) passes the filter.  A
 * frame too short for a destination passes only in promiscuous mode. */
static bool vnet_rx_wanted(const struct virtio_net *n, const struct iovec *iov, int iovcnt)
{
    size_t skip = n->backend_hdr ? VIRTIO_NET_HDR_LEN : 0, got = 0;
    uint8_t dst[VIRTIO_NET_MAC_LEN];

    if (n->rx.promisc)
        return true;
    for (int i = 0; i < iovcnt && got < sizeof(dst); i++) {
        size_t s = MIN(skip, iov[i].iov_len), l = MIN(iov[i].iov_len - s, sizeof(dst) - got);

        memcpy(dst + got, (const uint8_t *)iov[i].iov_base + s, l);
        skip -= s;
        got += l;
    }
    return got == sizeof(dst) && vnet_filter_accepts(n, dst);
}

/* net_peer_ops.receive: main loop, lock held.  One whole frame. */
static bool vnet_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
    struct virtio_net *n = opaque;
    struct virtqueue *vq = vnet_vq(n, VIRTIO_NET_RXQ);
    size_t in_len = vnet_iov_size(iov, iovcnt);
    size_t frame = n->backend_hdr ? in_len - MIN(in_len, VIRTIO_NET_HDR_LEN) : in_len;
    g_autofree struct virtqueue_elem **elems = NULL;
    g_autofree uint32_t *lens = NULL;
    uint8_t hdr[VIRTIO_NET_HDR_LEN];
    struct vnet_rx_cursor c;
    size_t skip;
    int count;

    if (!vnet_active(n))
        return false;
    if (!vnet_rx_wanted(n, iov, iovcnt)) {
        n->stats.rx_filtered++;
        return true; /* dropped */
    }
    elems = g_new0(struct virtqueue_elem *, vq->s->num);
    count = vnet_rx_pop(n, elems, VIRTIO_NET_HDR_LEN + frame);
    if (count <= 0)
        return count < 0; /* -1: dropped; 0: wait for rx_ready */
    lens = g_new0(uint32_t, count);
    c = (struct vnet_rx_cursor){ elems, lens, 0, (unsigned)count, 0 };
    skip = vnet_rx_header(n, iov, iovcnt, hdr, (unsigned)count);
    vnet_rx_put(&c, hdr, sizeof(hdr));
    for (int i = 0; i < iovcnt; i++) {
        size_t l = iov[i].iov_len;
        size_t s = MIN(skip, l);

        skip -= s;
        vnet_rx_put(&c, (const uint8_t *)iov[i].iov_base + s, l - s);
    }
    virtqueue_push_many(vq, elems, lens, (unsigned)count);
    for (int i = 0; i < count; i++)
        g_free(elems[i]);
    virtio_notify(vnet_vdev(n), vq);
    n->stats.rx_frames++;
    return true;
}

/* ---- control queue ---- */

/* A command's data: the out buffers after class and command. */
struct vnet_ctrl_data {
    const struct virtqueue_elem *e;
    size_t len;
};

static bool vnet_ctrl_read(const struct vnet_ctrl_data *d, size_t off, void *buf, size_t len)
{
    return off + len <= d->len && virtqueue_elem_from_out(d->e, 2 + off, buf, len) == len;
}

static uint8_t vnet_ctrl_rx(struct virtio_net *n, uint8_t cmd, const struct vnet_ctrl_data *d)
{
    struct virtio_net_rx_filter *f = &n->rx;
    bool *const modes[] = {
        [VIRTIO_NET_CTRL_RX_PROMISC] = &f->promisc, [VIRTIO_NET_CTRL_RX_ALLMULTI] = &f->allmulti,
        [VIRTIO_NET_CTRL_RX_ALLUNI] = &f->alluni,   [VIRTIO_NET_CTRL_RX_NOMULTI] = &f->nomulti,
        [VIRTIO_NET_CTRL_RX_NOUNI] = &f->nouni,     [VIRTIO_NET_CTRL_RX_NOBCAST] = &f->nobcast,
    };
    uint8_t on;

    if (cmd >= G_N_ELEMENTS(modes) || d->len != 1 || !vnet_ctrl_read(d, 0, &on, 1))
        return VIRTIO_NET_ERR;
    if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI &&
        !virtio_has_feature(vnet_vdev(n), VIRTIO_NET_F_CTRL_RX_EXTRA))
        return VIRTIO_NET_ERR;
    *modes[cmd] = on != 0;
    return VIRTIO_NET_OK;
}

/* One table of MAC_TABLE_SET at @*off: le32 entries, entries * 6 bytes.
 * It joins @t unless it would overflow it (then *overflow); false when
 * the buffer is too short for what it announces. */
static bool vnet_mac_table_read(const struct vnet_ctrl_data *d, size_t *off,
                                struct virtio_net_rx_filter *t, bool *overflow)
{
    uint8_t le[4];
    uint64_t entries, bytes;

    if (!vnet_ctrl_read(d, *off, le, sizeof(le)))
        return false;
    entries = le32_get(le);
    bytes = entries * VIRTIO_NET_MAC_LEN; /* 64-bit: no wrap */
    *off += sizeof(le);
    if (bytes > d->len - *off)
        return false;
    if (entries <= VIRTIO_NET_MAC_TABLE_ENTRIES - t->in_use) {
        if (!vnet_ctrl_read(d, *off, (uint8_t *)t->macs + t->in_use * VIRTIO_NET_MAC_LEN,
                            (size_t)bytes))
            return false;
        t->in_use += (uint32_t)entries;
    } else {
        *overflow = true;
    }
    *off += (size_t)bytes;
    return true;
}

/* MAC_TABLE_SET: the unicast table, then the multicast one, filling the
 * whole buffer (QEMU's checks); nothing changes unless both are fine. */
static uint8_t vnet_ctrl_mac_table(struct virtio_net *n, const struct vnet_ctrl_data *d)
{
    g_autofree struct virtio_net_rx_filter *t = g_new0(struct virtio_net_rx_filter, 1);
    size_t off = 0;

    if (!vnet_mac_table_read(d, &off, t, &t->uni_overflow))
        return VIRTIO_NET_ERR;
    t->first_multi = t->in_use;
    if (!vnet_mac_table_read(d, &off, t, &t->multi_overflow) || off != d->len)
        return VIRTIO_NET_ERR;
    n->rx.uni_overflow = t->uni_overflow;
    n->rx.multi_overflow = t->multi_overflow;
    n->rx.in_use = t->in_use;
    n->rx.first_multi = t->first_multi;
    memcpy(n->rx.macs, t->macs, sizeof(t->macs));
    return VIRTIO_NET_OK;
}

static uint8_t vnet_ctrl_mac(struct virtio_net *n, uint8_t cmd, const struct vnet_ctrl_data *d)
{
    uint8_t mac[VIRTIO_NET_MAC_LEN];

    if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET)
        return vnet_ctrl_mac_table(n, d);
    if (cmd != VIRTIO_NET_CTRL_MAC_ADDR_SET ||
        !virtio_has_feature(vnet_vdev(n), VIRTIO_NET_F_CTRL_MAC_ADDR) ||
        d->len != sizeof(mac) || !vnet_ctrl_read(d, 0, mac, sizeof(mac)))
        return VIRTIO_NET_ERR;
    memcpy(n->mac, mac, sizeof(mac));
    return VIRTIO_NET_OK;
}

static uint8_t vnet_ctrl_command(struct virtio_net *n, uint8_t class, uint8_t cmd,
                                 const struct vnet_ctrl_data *d)
{
    struct virtio_dev *vdev = vnet_vdev(n);

    switch (class) {
    case VIRTIO_NET_CTRL_RX:
        return virtio_has_feature(vdev, VIRTIO_NET_F_CTRL_RX) ? vnet_ctrl_rx(n, cmd, d)
                                                              : VIRTIO_NET_ERR;
    case VIRTIO_NET_CTRL_MAC:
        return virtio_has_feature(vdev, VIRTIO_NET_F_CTRL_RX) ? vnet_ctrl_mac(n, cmd, d)
                                                              : VIRTIO_NET_ERR;
    case VIRTIO_NET_CTRL_ANNOUNCE:
        if (cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK ||
            !virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_ANNOUNCE))
            return VIRTIO_NET_ERR;
        n->status &= ~VIRTIO_NET_S_ANNOUNCE;
        return VIRTIO_NET_OK;
    }
    return VIRTIO_NET_ERR;
}

static void vnet_ctrl(struct virtio_net *n, struct virtqueue *vq)
{
    struct virtqueue_elem *e;
    struct vnet_ctrl_data data;
    uint8_t cmd[2], ack;

    while ((e = virtqueue_pop(vq))) {
        if (virtqueue_elem_from_out(e, 0, cmd, 2) != 2 || vnet_in_size(e) < 1) {
            g_free(e);
            virtio_set_needs_reset(vnet_vdev(n), "virtio-net: control command without "
                                                 "class, command or ack");
            return;
        }
        data = (struct vnet_ctrl_data){ e, vnet_iov_size(e->iov, e->out_num) - 2 };
        ack = vnet_ctrl_command(n, cmd[0], cmd[1], &data);
        virtqueue_elem_to_in(e, 0, &ack, 1);
        virtqueue_push(vq, e, 1);
        g_free(e);
    }
    virtio_notify(vnet_vdev(n), vq);
}

/* ---- virtio_device_ops ---- */

static void vnet_queue_notify(void *opaque, struct virtio_dev *vdev, unsigned index)
{
    struct virtio_net *n = opaque;

    switch (index) {
    case VIRTIO_NET_RXQ:
        net_backend_rx_ready(n->nb); /* new buffers: the backend may go on */
        break;
    case VIRTIO_NET_TXQ: vnet_tx_flush(n); break;
    case VIRTIO_NET_CTRLQ:
        if (!(vdev->s.status & VIRTIO_STATUS_NEEDS_RESET))
            vnet_ctrl(n, virtio_queue(vdev, index));
        break;
    }
}

static void vnet_config(const struct virtio_net *n, uint8_t c[VIRTIO_NET_CONFIG_SIZE])
{
    memcpy(c, n->mac, VIRTIO_NET_MAC_LEN);
    le16_put(c + 6, n->status);
    le16_put(c + 8, 1); /* max_virtqueue_pairs */
}

static uint64_t vnet_config_read(void *opaque, uint32_t offset, unsigned size)
{
    uint8_t c[VIRTIO_NET_CONFIG_SIZE];

    vnet_config(opaque, c);
    return le_get_n(c + offset, size); /* the transport checked the range */
}

/* QEMU's reset state: promiscuous, empty table, the configured MAC. */
static void vnet_filter_reset(struct virtio_net *n)
{
    memset(&n->rx, 0, sizeof(n->rx));
    n->rx.promisc = true;
    memcpy(n->mac, n->conf_mac, VIRTIO_NET_MAC_LEN);
}

/* The driver reset the device (queues already reset): nothing is held
 * here (a chain the backend refused went back into a ring that is gone
 * now); an announce request and the filter end with the driver that set
 * them. */
static void vnet_reset(void *opaque)
{
    struct virtio_net *n = opaque;

    n->tx_waiting = false;
    n->status &= ~VIRTIO_NET_S_ANNOUNCE;
    vnet_filter_reset(n);
}

/* DRIVER_OK: buffers the driver posted before may take frames now. */
static void vnet_set_status(void *opaque, uint8_t status)
{
    struct virtio_net *n = opaque;

    if (status & VIRTIO_STATUS_DRIVER_OK)
        virtio_net_kick(n);
}

static const struct virtio_device_ops virtio_net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
                (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_CTRL_VQ) |
                (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE) | (1ULL << VIRTIO_NET_F_CTRL_RX) |
                (1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA) | (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR),
    .num_queues = 3,
    .queue_max = VIRTIO_NET_QUEUE_SIZE,
    .config_size = VIRTIO_NET_CONFIG_SIZE,
    .config_read = vnet_config_read,
    .queue_notify = vnet_queue_notify,
    .reset = vnet_reset,
    .set_status = vnet_set_status,
};

/* ---- the backend's link ---- */

static void vnet_set_link(struct virtio_net *n, bool up)
{
    uint16_t status = (n->status & ~VIRTIO_NET_S_LINK_UP) | (up ? VIRTIO_NET_S_LINK_UP : 0);

    if (status == n->status)
        return;
    n->status = status;
    virtio_config_changed(vnet_vdev(n));
}

/* net_peer_ops.link_changed: main loop, lock held. */
static void vnet_link_changed(void *opaque, bool up)
{
    vnet_set_link(opaque, up);
}

static const struct net_peer_ops virtio_net_peer_ops = {
    .can_receive = vnet_can_receive,
    .receive = vnet_receive,
    .tx_ready = vnet_tx_ready,
    .link_changed = vnet_link_changed,
};

/* ---- public ---- */

bool virtio_net_init(struct virtio_net *n, struct net_backend *nb,
                     const uint8_t mac[VIRTIO_NET_MAC_LEN], const struct virtqueue_ram *ram,
                     uint64_t base, struct irq_line irq, GError **errp)
{
    memset(n, 0, sizeof(*n));
    n->nb = nb;
    memcpy(n->conf_mac, mac, VIRTIO_NET_MAC_LEN);
    vnet_filter_reset(n);
    if (net_backend_has_vnet_hdr(nb)) {
        if (!net_backend_set_vnet_hdr_len(nb, VIRTIO_NET_HDR_LEN, errp))
            return false;
        n->backend_hdr = true;
    }
    virtio_mmio_init(&n->mmio, &virtio_net_ops, n, ram, base, irq);
    n->status = net_backend_link_up(nb) ? VIRTIO_NET_S_LINK_UP : 0;
    net_backend_set_peer(nb, &virtio_net_peer_ops, n);
    return true;
}

void virtio_net_destroy(struct virtio_net *n)
{
    if (n->nb)
        net_backend_set_peer(n->nb, NULL, NULL);
    n->nb = NULL;
    virtio_mmio_destroy(&n->mmio);
}

void virtio_net_reset(struct virtio_net *n)
{
    virtio_mmio_reset(&n->mmio); /* vnet_reset */
}

void virtio_net_set_running(struct virtio_net *n, bool running)
{
    n->running = running;
    if (running)
        virtio_net_kick(n);
}

void virtio_net_kick(struct virtio_net *n)
{
    if (!vnet_active(n))
        return;
    net_backend_rx_ready(n->nb);
    vnet_tx_flush(n);
}

bool virtio_net_send_rarp(struct virtio_net *n)
{
    uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 }, frame[ANNOUNCE_FRAME_LEN];
    struct iovec iov[2] = { { hdr, sizeof(hdr) }, { frame, sizeof(frame) } };
    ssize_t ret;

    /* Behind a frame the backend could not take: this one is dropped
     * (another round follows). */
    if (n->tx_waiting)
        return false;
    announce_rarp_frame(n->mac, frame);
    ret = net_backend_send(n->nb, n->backend_hdr ? iov : iov + 1, n->backend_hdr ? 2 : 1);
    if (ret == -EAGAIN) {
        n->tx_waiting = true; /* tx_ready restarts the guest's queue */
        return false;
    }
    return ret >= 0;
}

bool virtio_net_announce(struct virtio_net *n)
{
    struct virtio_dev *vdev = vnet_vdev(n);

    if (!(vdev->s.status & VIRTIO_STATUS_DRIVER_OK) ||
        !virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_ANNOUNCE) ||
        !virtio_has_feature(vdev, VIRTIO_NET_F_CTRL_VQ))
        return false;
    n->status |= VIRTIO_NET_S_ANNOUNCE;
    virtio_config_changed(vdev);
    return true;
}

/* The link is the destination's; the announce request and the filter are
 * the guest's.  A version 1 stream predates the filter: its guest got
 * every frame with the configured MAC, which is the reset state. */
static bool vnet_post_load(void *opaque, int version_id, GError **errp)
{
    struct virtio_net *n = opaque;

    if (n->status & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE)) {
        error_setg(errp, "status 0x%x has unknown bits", n->status);
        return false;
    }
    if (version_id < 2)
        vnet_filter_reset(n);
    /* Hostile input: the loader bounded in_use by the table already. */
    if (n->rx.in_use > VIRTIO_NET_MAC_TABLE_ENTRIES || n->rx.first_multi > n->rx.in_use) {
        error_setg(errp, "MAC table: %u entries, multicast from %u (at most %u)", n->rx.in_use,
                   n->rx.first_multi, VIRTIO_NET_MAC_TABLE_ENTRIES);
        return false;
    }
    n->tx_waiting = false;
    vnet_set_link(n, net_backend_link_up(n->nb));
    return true;
}

static const struct vmstate_field vnet_mac_entry_fields[] = {
    VMSTATE_BUFFER(struct virtio_net_mac_entry, a),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description vnet_mac_entry_vmstate = {
    .name = "virtio-net-mac",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vnet_mac_entry_fields,
};

static const struct vmstate_field vnet_rx_filter_fields[] = {
    VMSTATE_FIELD(struct virtio_net_rx_filter, promisc),
    VMSTATE_FIELD(struct virtio_net_rx_filter, allmulti),
    VMSTATE_FIELD(struct virtio_net_rx_filter, alluni),
    VMSTATE_FIELD(struct virtio_net_rx_filter, nomulti),
    VMSTATE_FIELD(struct virtio_net_rx_filter, nouni),
    VMSTATE_FIELD(struct virtio_net_rx_filter, nobcast),
    VMSTATE_FIELD(struct virtio_net_rx_filter, uni_overflow),
    VMSTATE_FIELD(struct virtio_net_rx_filter, multi_overflow),
    VMSTATE_FIELD(struct virtio_net_rx_filter, in_use),
    VMSTATE_FIELD(struct virtio_net_rx_filter, first_multi),
    VMSTATE_STRUCT_VARRAY(struct virtio_net_rx_filter, macs, in_use, vnet_mac_entry_vmstate),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description vnet_rx_filter_vmstate = {
    .name = "virtio-net-rx-filter",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vnet_rx_filter_fields,
};

static const struct vmstate_field virtio_net_fields[] = {
    {.name = "transport",
     .kind = VMS_STRUCT,
     .offset = offsetof(struct virtio_net, mmio.vdev.s),
     .size = sizeof(struct virtio_state),
     .num = 1,
     .vmsd = &virtio_mmio_vmstate},
    /* Configuration, not state: a destination with another -device mac=
     * refuses.  The name stays "mac", as in version 1. */
    {.name = "mac",
     .kind = VMS_U8,
     .offset = offsetof(struct virtio_net, conf_mac),
     .size = 1,
     .num = VIRTIO_NET_MAC_LEN,
     .equal = true},
    VMSTATE_FIELD(struct virtio_net, status),
    /* Version 2: the guest's state, whatever the destination's config. */
    {.name = "current_mac",
     .kind = VMS_U8,
     .offset = offsetof(struct virtio_net, mac),
     .size = 1,
     .num = VIRTIO_NET_MAC_LEN,
     .version_id = 2},
    {.name = "rx_filter",
     .kind = VMS_STRUCT,
     .offset = offsetof(struct virtio_net, rx),
     .size = sizeof(struct virtio_net_rx_filter),
     .num = 1,
     .vmsd = &vnet_rx_filter_vmstate,
     .version_id = 2},
    VMSTATE_END_OF_LIST(),
};

const struct vmstate_description virtio_net_vmstate = {
    .name = "virtio-net",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = virtio_net_fields,
    .post_load = vnet_post_load,
};
