#include "hw/virtio/virtio-net.h"

#include <errno.h>
#include <string.h>

#include "net/announce.h"
#include "util/error.h"
#include "util/le.h"

#define HDR_NUM_BUFFERS 10 /* le16 num_buffers in virtio_net_hdr_v1 */

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

static uint8_t vnet_ctrl_command(struct virtio_net *n, uint8_t class, uint8_t cmd)
{
    if (class == VIRTIO_NET_CTRL_ANNOUNCE && cmd == VIRTIO_NET_CTRL_ANNOUNCE_ACK &&
        virtio_has_feature(vnet_vdev(n), VIRTIO_NET_F_GUEST_ANNOUNCE)) {
        n->status &= ~VIRTIO_NET_S_ANNOUNCE;
        return VIRTIO_NET_OK;
    }
    return VIRTIO_NET_ERR;
}

static void vnet_ctrl(struct virtio_net *n, struct virtqueue *vq)
{
    struct virtqueue_elem *e;
    uint8_t cmd[2], ack;

    while ((e = virtqueue_pop(vq))) {
        if (virtqueue_elem_from_out(e, 0, cmd, 2) != 2 || vnet_in_size(e) < 1) {
            g_free(e);
            virtio_set_needs_reset(vnet_vdev(n), "virtio-net: control command without "
                                                 "class, command or ack");
            return;
        }
        ack = vnet_ctrl_command(n, cmd[0], cmd[1]);
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
    uint64_t v = 0;

    vnet_config(opaque, c);
    for (unsigned i = 0; i < size; i++) /* the transport checked the range */
        v |= (uint64_t)c[offset + i] << (8 * i);
    return v;
}

/* The driver reset the device (queues already reset): nothing is held
 * here (a chain the backend refused went back into a ring that is gone
 * now); an announce request ends with the driver that was asked. */
static void vnet_reset(void *opaque)
{
    struct virtio_net *n = opaque;

    n->tx_waiting = false;
    n->status &= ~VIRTIO_NET_S_ANNOUNCE;
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
                (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE),
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
    memcpy(n->mac, mac, VIRTIO_NET_MAC_LEN);
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

/* The link is the destination's; the announce request is the guest's. */
static bool vnet_post_load(void *opaque, int version_id, GError **errp)
{
    struct virtio_net *n = opaque;

    (void)version_id;
    if (n->status & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE)) {
        error_setg(errp, "status 0x%x has unknown bits", n->status);
        return false;
    }
    n->tx_waiting = false;
    vnet_set_link(n, net_backend_link_up(n->nb));
    return true;
}

static const struct vmstate_field virtio_net_fields[] = {
    {.name = "transport",
     .kind = VMS_STRUCT,
     .offset = offsetof(struct virtio_net, mmio.vdev.s),
     .size = sizeof(struct virtio_state),
     .num = 1,
     .vmsd = &virtio_mmio_vmstate},
    /* Configuration, not state: a destination with another MAC refuses. */
    {.name = "mac",
     .kind = VMS_U8,
     .offset = offsetof(struct virtio_net, mac),
     .size = 1,
     .num = VIRTIO_NET_MAC_LEN,
     .equal = true},
    VMSTATE_FIELD(struct virtio_net, status),
    VMSTATE_END_OF_LIST(),
};

const struct vmstate_description virtio_net_vmstate = {
    .name = "virtio-net",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = virtio_net_fields,
    .post_load = vnet_post_load,
};
