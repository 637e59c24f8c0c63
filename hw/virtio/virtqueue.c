#include "hw/virtio/virtqueue.h"

#include <string.h>

#include "util/error.h"

/* Ring accesses: x86 hosts are little-endian, and every field is
 * naturally aligned (virtqueue_enable checks the area alignment), so a
 * 16-bit index is read and written in one access, as the driver expects. */
#define VQ_DESC_SIZE 16
#define VQ_USED_ELEM_SIZE 8

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static uint16_t vq_load16(const uint8_t *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static void vq_store16(uint8_t *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static void vq_mark_dirty(struct virtqueue *vq, gpa_t gpa, uint64_t len)
{
    if (vq->ram->mark_dirty && len)
        vq->ram->mark_dirty(vq->ram->opaque, gpa, len);
}

static void vq_break(struct virtqueue *vq, const char *why)
{
    if (vq->s->broken)
        return;
    vq->s->broken = true;
    if (vq->error)
        vq->error(vq->error_opaque, vq, why);
}

void virtqueue_init(struct virtqueue *vq, struct virtqueue_state *s, uint16_t num_max,
                    const struct virtqueue_ram *ram,
                    void (*error)(void *opaque, struct virtqueue *vq, const char *why),
                    void *error_opaque)
{
    memset(vq, 0, sizeof(*vq));
    vq->s = s;
    vq->num_max = num_max;
    vq->ram = ram;
    vq->error = error;
    vq->error_opaque = error_opaque;
}

void virtqueue_reset(struct virtqueue *vq)
{
    memset(vq->s, 0, sizeof(*vq->s));
    vq->event_idx = false;
    vq->desc_hva = vq->avail_hva = vq->used_hva = NULL;
}

static uint64_t vq_avail_size(uint16_t num) { return 6 + 2 * (uint64_t)num; }

static uint64_t vq_used_size(uint16_t num) { return 6 + VQ_USED_ELEM_SIZE * (uint64_t)num; }

/* Map the areas for s; NULL reason on success. */
static const char *vq_map(struct virtqueue *vq)
{
    const struct guest_memory *mem = vq->ram->mem;
    uint16_t num = vq->s->num;

    if (!num || (num & (num - 1)) || num > vq->num_max)
        return "queue size is not a power of 2 within QueueNumMax";
    if ((vq->s->desc & 15) || (vq->s->avail & 1) || (vq->s->used & 3))
        return "misaligned ring";
    vq->desc_hva = memory_gpa_to_hva(mem, vq->s->desc, (uint64_t)num * VQ_DESC_SIZE);
    vq->avail_hva = memory_gpa_to_hva(mem, vq->s->avail, vq_avail_size(num));
    vq->used_hva = memory_gpa_to_hva(mem, vq->s->used, vq_used_size(num));
    if (!vq->desc_hva || !vq->avail_hva || !vq->used_hva)
        return "ring outside guest RAM";
    return NULL;
}

bool virtqueue_enable(struct virtqueue *vq)
{
    const char *why = vq_map(vq);

    vq->s->ready = true;
    if (why) {
        vq_break(vq, why);
        return false;
    }
    return true;
}

static bool virtqueue_state_valid(const struct virtqueue *vq, GError **errp)
{
    if (vq->s->num > vq->num_max || (vq->s->num & (vq->s->num - 1))) {
        error_setg(errp, "virtqueue size %u invalid (max %u)", vq->s->num, vq->num_max);
        return false;
    }
    return true;
}

bool virtqueue_post_load(struct virtqueue *vq, GError **errp)
{
    const char *why;

    vq->desc_hva = vq->avail_hva = vq->used_hva = NULL;
    if (!virtqueue_state_valid(vq, errp))
        return false;
    if (!vq->s->ready || vq->s->broken)
        return true;
    why = vq_map(vq);
    if (why) {
        error_setg(errp, "virtqueue: %s", why);
        return false;
    }
    return true;
}

static bool vq_usable(const struct virtqueue *vq)
{
    return vq->s->ready && !vq->s->broken && vq->desc_hva;
}

static uint16_t vq_avail_idx(const struct virtqueue *vq) { return vq_load16(vq->avail_hva + 2); }

bool virtqueue_empty(struct virtqueue *vq)
{
    return !vq_usable(vq) || vq_avail_idx(vq) == vq->s->last_avail_idx;
}

static void vq_read_desc(const uint8_t *table, unsigned i, struct vq_desc *d)
{
    const uint8_t *p = table + (size_t)i * VQ_DESC_SIZE;

    memcpy(&d->addr, p, 8);
    memcpy(&d->len, p + 8, 4);
    memcpy(&d->flags, p + 12, 2);
    memcpy(&d->next, p + 14, 2);
}

/* Append one buffer; NULL reason on success. */
static const char *vq_add_buf(struct virtqueue *vq, struct virtqueue_elem *e,
                              const struct vq_desc *d)
{
    unsigned n = e->out_num + e->in_num;
    void *hva;

    if (n == VIRTQUEUE_MAX_SG)
        return "too many buffers in one chain";
    hva = memory_gpa_to_hva(vq->ram->mem, d->addr, d->len);
    if (!hva)
        return "buffer outside guest RAM";
    if (d->flags & VIRTQ_DESC_F_WRITE) {
        e->in_num++;
    } else {
        if (e->in_num)
            return "device-readable buffer after a writable one";
        e->out_num++;
    }
    e->iov[n].iov_base = hva;
    e->iov[n].iov_len = d->len;
    e->gpa[n] = d->addr;
    return NULL;
}

/* Switch @table/@max to the indirect table @d names; NULL on success. */
static const char *vq_indirect(struct virtqueue *vq, const struct vq_desc *d, const uint8_t **table,
                               unsigned *max)
{
    if (!d->len || d->len % VQ_DESC_SIZE)
        return "indirect table size not a multiple of 16";
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return "indirect descriptor with NEXT";
    *table = memory_gpa_to_hva(vq->ram->mem, d->addr, d->len);
    if (!*table)
        return "indirect table outside guest RAM";
    *max = d->len / VQ_DESC_SIZE;
    return NULL;
}

/* Walk the chain at @head into @e; NULL reason on success. */
static const char *vq_walk(struct virtqueue *vq, uint16_t head, struct virtqueue_elem *e)
{
    const uint8_t *table = vq->desc_hva;
    unsigned max = vq->s->num, i = head, count = 0;
    bool indirect = false;
    struct vq_desc d;
    const char *why;

    if (head >= max)
        return "head index out of range";
    for (;;) {
        vq_read_desc(table, i, &d);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (indirect || count)
                return "indirect descriptor not at the head of a chain";
            why = vq_indirect(vq, &d, &table, &max);
            if (why)
                return why;
            indirect = true;
            i = 0;
            continue;
        }
        if (++count > max)
            return "descriptor chain loops";
        why = vq_add_buf(vq, e, &d);
        if (why)
            return why;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return NULL;
        i = d.next;
        if (i >= max)
            return "next index out of range";
    }
}

static void vq_set_avail_event(struct virtqueue *vq, uint16_t val)
{
    uint64_t off = 4 + VQ_USED_ELEM_SIZE * (uint64_t)vq->s->num;

    vq_store16(vq->used_hva + off, val);
    vq_mark_dirty(vq, vq->s->used + off, 2);
}

struct virtqueue_elem *virtqueue_pop(struct virtqueue *vq)
{
    struct virtqueue_elem *e;
    uint16_t avail, head;
    const char *why;

    if (!vq_usable(vq))
        return NULL;
    avail = vq_avail_idx(vq);
    if ((uint16_t)(avail - vq->s->last_avail_idx) > vq->s->num) {
        vq_break(vq, "avail idx too far ahead");
        return NULL;
    }
    if (avail == vq->s->last_avail_idx)
        return NULL;
    /* Read the ring entry only after the index that published it. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    head = vq_load16(vq->avail_hva + 4 + 2 * (vq->s->last_avail_idx % vq->s->num));
    e = g_new(struct virtqueue_elem, 1);
    e->head = head;
    e->out_num = e->in_num = 0;
    why = vq_walk(vq, head, e);
    if (why) {
        g_free(e);
        vq_break(vq, why);
        return NULL;
    }
    vq->s->last_avail_idx++;
    if (vq->event_idx)
        vq_set_avail_event(vq, vq->s->last_avail_idx);
    return e;
}

void virtqueue_unpop(struct virtqueue *vq, uint16_t n)
{
    if (!vq_usable(vq))
        return;
    vq->s->last_avail_idx -= n;
    if (vq->event_idx)
        vq_set_avail_event(vq, vq->s->last_avail_idx);
}

/* Mark the first @len bytes of the in-buffers dirty. */
static void vq_mark_in_dirty(struct virtqueue *vq, const struct virtqueue_elem *e, uint64_t len)
{
    for (unsigned i = e->out_num; i < e->out_num + e->in_num && len; i++) {
        uint64_t n = MIN(len, e->iov[i].iov_len);

        vq_mark_dirty(vq, e->gpa[i], n);
        len -= n;
    }
}

/* Write the used entry for @elem at used_idx + @ahead (not yet published). */
static void vq_fill(struct virtqueue *vq, const struct virtqueue_elem *elem, uint32_t len,
                    uint16_t ahead)
{
    uint64_t off = 4 + VQ_USED_ELEM_SIZE * (uint64_t)((uint16_t)(vq->s->used_idx + ahead) %
                                                      vq->s->num);
    uint32_t id = elem->head;

    memcpy(vq->used_hva + off, &id, 4);
    memcpy(vq->used_hva + off + 4, &len, 4);
    vq_mark_dirty(vq, vq->s->used + off, VQ_USED_ELEM_SIZE);
}

void virtqueue_push_many(struct virtqueue *vq, struct virtqueue_elem *const *elems,
                         const uint32_t *lens, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        vq_mark_in_dirty(vq, elems[i], lens[i]);
    if (!vq_usable(vq))
        return; /* reset or broken meanwhile: the driver no longer waits */
    for (unsigned i = 0; i < n; i++)
        vq_fill(vq, elems[i], lens[i], (uint16_t)i);
    /* The entries must be visible before the index that publishes them. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vq->s->used_idx += n;
    vq_store16(vq->used_hva + 2, vq->s->used_idx);
    vq_mark_dirty(vq, vq->s->used + 2, 2);
}

void virtqueue_push(struct virtqueue *vq, const struct virtqueue_elem *elem, uint32_t len)
{
    struct virtqueue_elem *e = (struct virtqueue_elem *)elem;

    virtqueue_push_many(vq, &e, &len, 1);
}

/* virtio spec 2.7.10: interrupt when used_event lies in (old, new]. */
static bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtqueue_should_notify(struct virtqueue *vq)
{
    uint16_t old, used_event;
    bool valid;

    if (!vq_usable(vq))
        return false;
    /* Our used idx store must be ordered before reading the driver's
     * suppression fields, or both sides may decide to wait. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vq->event_idx)
        return !(vq_load16(vq->avail_hva) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    old = vq->s->signalled_used;
    valid = vq->s->signalled_used_valid;
    vq->s->signalled_used = vq->s->used_idx;
    vq->s->signalled_used_valid = true;
    used_event = vq_load16(vq->avail_hva + 4 + 2 * (uint64_t)vq->s->num);
    return !valid || vq_need_event(used_event, vq->s->used_idx, old);
}

void virtqueue_set_notification(struct virtqueue *vq, bool enable)
{
    uint16_t flags;

    if (!vq_usable(vq))
        return;
    if (vq->event_idx) {
        if (enable)
            vq_set_avail_event(vq, vq_avail_idx(vq));
    } else {
        flags = vq_load16(vq->used_hva);
        flags = enable ? flags & ~VIRTQ_USED_F_NO_NOTIFY : flags | VIRTQ_USED_F_NO_NOTIFY;
        vq_store16(vq->used_hva, flags);
        vq_mark_dirty(vq, vq->s->used, 2);
    }
    /* Publish before the caller re-checks for buffers that raced in. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

size_t virtqueue_elem_to_in(const struct virtqueue_elem *elem, size_t offset, const void *buf,
                            size_t len)
{
    size_t done = 0;

    for (unsigned i = elem->out_num; i < elem->out_num + elem->in_num && done < len; i++) {
        size_t n;

        if (offset >= elem->iov[i].iov_len) {
            offset -= elem->iov[i].iov_len;
            continue;
        }
        n = MIN(len - done, elem->iov[i].iov_len - offset);
        memcpy((uint8_t *)elem->iov[i].iov_base + offset, (const uint8_t *)buf + done, n);
        done += n;
        offset = 0;
    }
    return done;
}

size_t virtqueue_elem_from_out(const struct virtqueue_elem *elem, size_t offset, void *buf,
                               size_t len)
{
    size_t done = 0;

    for (unsigned i = 0; i < elem->out_num && done < len; i++) {
        size_t n;

        if (offset >= elem->iov[i].iov_len) {
            offset -= elem->iov[i].iov_len;
            continue;
        }
        n = MIN(len - done, elem->iov[i].iov_len - offset);
        memcpy((uint8_t *)buf + done, (const uint8_t *)elem->iov[i].iov_base + offset, n);
        done += n;
        offset = 0;
    }
    return done;
}

static const struct vmstate_field virtqueue_fields[] = {
    VMSTATE_FIELD(struct virtqueue_state, num),
    VMSTATE_FIELD(struct virtqueue_state, ready),
    VMSTATE_FIELD(struct virtqueue_state, desc),
    VMSTATE_FIELD(struct virtqueue_state, avail),
    VMSTATE_FIELD(struct virtqueue_state, used),
    VMSTATE_FIELD(struct virtqueue_state, last_avail_idx),
    VMSTATE_FIELD(struct virtqueue_state, used_idx),
    VMSTATE_FIELD(struct virtqueue_state, signalled_used),
    VMSTATE_FIELD(struct virtqueue_state, signalled_used_valid),
    VMSTATE_FIELD(struct virtqueue_state, broken),
    VMSTATE_END_OF_LIST(),
};

const struct vmstate_description virtqueue_vmstate = {
    .name = "virtqueue",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = virtqueue_fields,
};
