#include "hw/virtio/virtio-blk.h"

#include <string.h>

#include "util/container.h"
#include "util/le.h"

#define SECTOR 512u
#define REQ_HEADER 16u  /* le32 type, le32 reserved, le64 sector */
#define DWZ_SEGMENT 16u /* le64 sector, le32 num_sectors, le32 flags */
#define DWZ_F_UNMAP 1u

/* One request in flight (or being failed). */
struct vblk_req {
    struct virtio_blk *b;
    struct virtqueue_elem *elem;
    uint64_t generation;
    uint8_t *status;  /* the chain's last byte, in guest RAM */
    uint32_t in_len;  /* bytes of in-buffers written (dirty), status included */
    int iovcnt;
    struct iovec iov[]; /* the data part of the chain */
};

static struct virtqueue *vblk_vq(struct virtio_blk *b)
{
    return virtio_queue(&b->mmio.vdev, 0);
}

/* Return @req to the driver with @status (lock held), unless a reset
 * came in between: then the driver no longer owns those buffers' ring. */
static void vblk_complete(struct vblk_req *req, uint8_t status)
{
    struct virtio_blk *b = req->b;

    if (req->generation == b->generation) {
        *req->status = status;
        virtqueue_push(vblk_vq(b), req->elem, req->in_len);
        virtio_notify(&b->mmio.vdev, vblk_vq(b));
    }
    g_free(req->elem);
    g_free(req);
}

/* block_complete_fn: main loop (or a drain), VM lock held. */
static void vblk_io_done(void *opaque, int ret)
{
    struct vblk_req *req = opaque;

    req->b->in_flight--;
    vblk_complete(req, ret == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
}

/* dst <- the bytes [skip, skip + len) of src; the number of entries. */
static int vblk_iov_slice(const struct iovec *src, unsigned cnt, size_t skip, size_t len,
                          struct iovec *dst)
{
    int n = 0;

    for (unsigned i = 0; i < cnt && len; i++) {
        size_t l = src[i].iov_len;

        if (skip >= l) {
            skip -= l;
            continue;
        }
        dst[n].iov_base = (uint8_t *)src[i].iov_base + skip;
        dst[n].iov_len = MIN(l - skip, len);
        len -= dst[n++].iov_len;
        skip = 0;
    }
    return n;
}

static size_t vblk_iov_size(const struct iovec *iov, unsigned cnt)
{
    size_t n = 0;

    for (unsigned i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return n;
}

/* Is [sector, sector + bytes/512) on the disk and aligned to blk_size? */
static bool vblk_range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
    uint64_t per_block = b->blk_size / SECTOR;

    return bytes % b->blk_size == 0 && sector % per_block == 0 && sector <= b->capacity &&
           bytes / SECTOR <= b->capacity - sector;
}

static void vblk_rw(struct vblk_req *req, bool write, uint64_t sector)
{
    struct virtio_blk *b = req->b;
    uint64_t bytes = vblk_iov_size(req->iov, req->iovcnt);

    if (!vblk_range_ok(b, sector, bytes)) {
        vblk_complete(req, VIRTIO_BLK_S_IOERR);
        return;
    }
    b->in_flight++;
    if (write)
        block_pwritev(b->bb, sector * SECTOR, req->iov, req->iovcnt, vblk_io_done, req);
    else
        block_preadv(b->bb, sector * SECTOR, req->iov, req->iovcnt, vblk_io_done, req);
}

static void vblk_get_id(struct vblk_req *req)
{
    size_t room = vblk_iov_size(req->iov, req->iovcnt);
    size_t n = MIN(room, (size_t)VIRTIO_BLK_ID_BYTES);
    char id[VIRTIO_BLK_ID_BYTES] = { 0 };
    size_t done = 0;

    /* Shorter than 20 bytes: NUL-padded, as QEMU does. */
    memcpy(id, req->b->serial, strnlen(req->b->serial, sizeof(id)));
    for (int i = 0; i < req->iovcnt && done < n; i++) {
        size_t l = MIN(req->iov[i].iov_len, n - done);

        memcpy(req->iov[i].iov_base, id + done, l);
        done += l;
    }
    req->in_len = (uint32_t)n + 1;
    vblk_complete(req, VIRTIO_BLK_S_OK);
}

/* DISCARD / WRITE_ZEROES: one segment (max_*_seg is 1). */
static void vblk_discard_zeroes(struct vblk_req *req, bool zeroes)
{
    struct virtio_blk *b = req->b;
    uint8_t seg[DWZ_SEGMENT];
    size_t got = 0;
    uint64_t sector;
    uint32_t num, flags;

    if (vblk_iov_size(req->iov, req->iovcnt) != DWZ_SEGMENT) {
        vblk_complete(req, VIRTIO_BLK_S_IOERR);
        return;
    }
    for (int i = 0; i < req->iovcnt; i++) {
        memcpy(seg + got, req->iov[i].iov_base, req->iov[i].iov_len);
        got += req->iov[i].iov_len;
    }
    sector = le64_get(seg);
    num = le32_get(seg + 8);
    flags = le32_get(seg + 12);
    if (flags & ~(zeroes ? DWZ_F_UNMAP : 0)) {
        vblk_complete(req, VIRTIO_BLK_S_UNSUPP);
        return;
    }
    if (num > VIRTIO_BLK_MAX_DISCARD_SECTORS ||
        !vblk_range_ok(b, sector, (uint64_t)num * SECTOR)) {
        vblk_complete(req, VIRTIO_BLK_S_IOERR);
        return;
    }
    b->in_flight++;
    if (zeroes)
        block_write_zeroes(b->bb, sector * SECTOR, (uint64_t)num * SECTOR, vblk_io_done, req);
    else
        block_discard(b->bb, sector * SECTOR, (uint64_t)num * SECTOR, vblk_io_done, req);
}

/* Split @elem into header, data and status; NULL (device broken) when
 * the chain has no room for them -- the driver cannot be told otherwise. */
static struct vblk_req *vblk_req_new(struct virtio_blk *b, struct virtqueue_elem *elem,
                                     uint8_t hdr[REQ_HEADER], uint32_t *type)
{
    const struct iovec *last;
    struct vblk_req *req;
    size_t out_size, in_size;

    if (elem->in_num < 1 || virtqueue_elem_from_out(elem, 0, hdr, REQ_HEADER) != REQ_HEADER)
        return NULL;
    last = &elem->iov[elem->out_num + elem->in_num - 1];
    if (last->iov_len < 1)
        return NULL;
    *type = le32_get(hdr);
    out_size = vblk_iov_size(elem->iov, elem->out_num);
    in_size = vblk_iov_size(elem->iov + elem->out_num, elem->in_num);
    req = g_malloc0(sizeof(*req) + (elem->out_num + elem->in_num) * sizeof(struct iovec));
    req->b = b;
    req->elem = elem;
    req->generation = b->generation;
    req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    req->in_len = 1;
    if (*type == VIRTIO_BLK_T_IN || *type == VIRTIO_BLK_T_GET_ID) {
        req->iovcnt = vblk_iov_slice(elem->iov + elem->out_num, elem->in_num, 0, in_size - 1,
                                     req->iov);
        /* The host writes the data straight into guest RAM, even on a
         * failure part-way: all of it is marked dirty. */
        req->in_len = (uint32_t)MIN(in_size, UINT32_MAX);
    } else {
        req->iovcnt = vblk_iov_slice(elem->iov, elem->out_num, REQ_HEADER, out_size - REQ_HEADER,
                                     req->iov);
    }
    return req;
}

static void vblk_handle(struct virtio_blk *b, struct virtqueue_elem *elem)
{
    uint8_t hdr[REQ_HEADER];
    uint32_t type = 0;
    struct vblk_req *req = vblk_req_new(b, elem, hdr, &type);
    uint64_t sector;

    if (!req) {
        g_free(elem);
        virtio_set_needs_reset(&b->mmio.vdev, "virtio-blk: request without header or status");
        return;
    }
    sector = le64_get(hdr + 8);
    switch (type) {
    case VIRTIO_BLK_T_IN: vblk_rw(req, false, sector); break;
    case VIRTIO_BLK_T_OUT: vblk_rw(req, true, sector); break;
    case VIRTIO_BLK_T_FLUSH:
        b->in_flight++;
        block_flush(b->bb, vblk_io_done, req);
        break;
    case VIRTIO_BLK_T_GET_ID: vblk_get_id(req); break;
    case VIRTIO_BLK_T_DISCARD: vblk_discard_zeroes(req, false); break;
    case VIRTIO_BLK_T_WRITE_ZEROES: vblk_discard_zeroes(req, true); break;
    default: vblk_complete(req, VIRTIO_BLK_S_UNSUPP); break;
    }
}

/* virtio_device_ops.queue_notify: take every available request, with
 * notifications off meanwhile (the driver need not kick while we run). */
static void vblk_queue_notify(void *opaque, struct virtio_dev *vdev, unsigned index)
{
    struct virtio_blk *b = opaque;
    struct virtqueue *vq = virtio_queue(vdev, index);
    struct virtqueue_elem *elem;

    do {
        virtqueue_set_notification(vq, false);
        while ((elem = virtqueue_pop(vq)))
            vblk_handle(b, elem);
        virtqueue_set_notification(vq, true);
    } while (!vq->s->broken && vq->s->ready && !virtqueue_empty(vq));
}

static void vblk_config(const struct virtio_blk *b, uint8_t c[VIRTIO_BLK_CONFIG_SIZE])
{
    uint32_t align = b->blk_size / SECTOR;

    memset(c, 0, VIRTIO_BLK_CONFIG_SIZE);
    le64_put(c + 0x00, b->capacity);
    le32_put(c + 0x0c, VIRTIO_BLK_QUEUE_SIZE - 2); /* seg_max: header and status */
    le32_put(c + 0x14, b->blk_size);
    c[0x20] = 1; /* writeback: the guest flushes */
    le16_put(c + 0x22, 1);
    le32_put(c + 0x24, VIRTIO_BLK_MAX_DISCARD_SECTORS);
    le32_put(c + 0x28, 1);
    le32_put(c + 0x2c, align);
    le32_put(c + 0x30, VIRTIO_BLK_MAX_DISCARD_SECTORS);
    le32_put(c + 0x34, 1);
    c[0x38] = 1;
}

static uint64_t vblk_config_read(void *opaque, uint32_t offset, unsigned size)
{
    uint8_t c[VIRTIO_BLK_CONFIG_SIZE];

    vblk_config(opaque, c);
    return le_get_n(c + offset, size); /* the transport checked the range */
}

/* The driver reset the device (queues already reset): requests in
 * flight finish into the void. */
static void vblk_reset(void *opaque)
{
    struct virtio_blk *b = opaque;

    b->generation++;
    if (b->bb)
        block_drain(b->bb);
}

static const struct virtio_device_ops virtio_blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
                (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_DISCARD) |
                (1ULL << VIRTIO_BLK_F_WRITE_ZEROES),
    .num_queues = 1,
    .queue_max = VIRTIO_BLK_QUEUE_SIZE,
    .config_size = VIRTIO_BLK_CONFIG_SIZE,
    .config_read = vblk_config_read,
    .queue_notify = vblk_queue_notify,
    .reset = vblk_reset,
};

void virtio_blk_init(struct virtio_blk *b, struct block_backend *bb, const char *serial,
                     const struct virtqueue_ram *ram, uint64_t base, struct irq_line irq)
{
    memset(b, 0, sizeof(*b));
    b->bb = bb;
    b->capacity = block_length(bb) / SECTOR;
    b->blk_size = (uint32_t)MAX((uint64_t)SECTOR, block_request_alignment(bb));
    g_strlcpy(b->serial, serial ? serial : "", sizeof(b->serial));
    virtio_mmio_init(&b->mmio, &virtio_blk_ops, b, ram, base, irq);
    if (block_is_readonly(bb))
        b->mmio.vdev.host_features |= 1ULL << VIRTIO_BLK_F_RO;
}

void virtio_blk_reset(struct virtio_blk *b)
{
    virtio_mmio_reset(&b->mmio); /* vblk_reset drains */
}

void virtio_blk_drain(struct virtio_blk *b)
{
    block_drain(b->bb);
}

void virtio_blk_kick(struct virtio_blk *b)
{
    if (b->mmio.vdev.s.status & VIRTIO_STATUS_DRIVER_OK)
        virtio_queue_notify(&b->mmio.vdev, 0);
}

static const struct vmstate_field virtio_blk_fields[] = {
    {.name = "transport",
     .kind = VMS_STRUCT,
     .offset = offsetof(struct virtio_blk, mmio.vdev.s),
     .size = sizeof(struct virtio_state),
     .num = 1,
     .vmsd = &virtio_mmio_vmstate},
    VMSTATE_EQUAL(struct virtio_blk, capacity),
    VMSTATE_END_OF_LIST(),
};

const struct vmstate_description virtio_blk_vmstate = {
    .name = "virtio-blk",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = virtio_blk_fields,
};
