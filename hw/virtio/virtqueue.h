/*
 * A split virtqueue (virtio 1.x, section 2.7) as the device sees it.
 *
 * Guest layout (little-endian, all three areas in guest RAM):
 *   descriptor table  num x 16 bytes, 16-byte aligned:
 *                     le64 addr, le32 len, le16 flags (NEXT 1, WRITE 2,
 *                     INDIRECT 4), le16 next
 *   available ring    2-byte aligned: le16 flags (NO_INTERRUPT 1),
 *                     le16 idx, le16 ring[num], le16 used_event
 *   used ring         4-byte aligned: le16 flags (NO_NOTIFY 1), le16 idx,
 *                     { le32 id, le32 len } ring[num], le16 avail_event
 * used_event / avail_event exist (and are honoured) only with
 * VIRTIO_F_EVENT_IDX.
 *
 * The driver is hostile: a head or next index >= num, a chain longer than
 * its table (a loop), a nested or empty indirect table, a readable buffer
 * after a writable one, an avail idx more than num ahead, or any buffer
 * outside guest RAM marks the queue broken.  A broken queue pops nothing
 * more and calls the owner's error callback once (which sets
 * DEVICE_NEEDS_RESET); only a device reset repairs it.
 *
 * Every byte the device writes to guest RAM is reported through
 * virtqueue_ram.mark_dirty: the used ring entries and indexes, avail_event,
 * and the first @len bytes of the in-buffers of each element pushed.
 *
 * Thread context: VM lock held.  vCPUs may run and touch the rings
 * concurrently; the barriers follow the spec's ordering rules.
 */
#ifndef HW_VIRTIO_VIRTQUEUE_H
#define HW_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "migration/vmstate.h"
#include "system/memory.h"

#define VIRTQUEUE_MAX_SIZE 1024 /* QueueNumMax upper bound; power of 2 */
#define VIRTQUEUE_MAX_SG 1024   /* buffers in one element (out + in) */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Guest RAM as a device sees it: translation plus dirty reporting. */
struct virtqueue_ram {
    const struct guest_memory *mem;
    /* Device emulation wrote [gpa, gpa + len); NULL: nobody tracks. */
    void (*mark_dirty)(void *opaque, gpa_t gpa, uint64_t len);
    void *opaque;
};

/* Migratable state of one queue (virtio_vmstate nests it). */
struct virtqueue_state {
    uint16_t num;   /* QueueNum; 0 until the driver sets it */
    bool ready;     /* QueueReady */
    uint64_t desc;  /* QueueDesc */
    uint64_t avail; /* QueueDriver */
    uint64_t used;  /* QueueDevice */
    uint16_t last_avail_idx;
    uint16_t used_idx;
    uint16_t signalled_used; /* used_idx at the last interrupt (event idx) */
    bool signalled_used_valid;
    bool broken; /* malformed ring seen; cleared by reset */
};

struct virtqueue {
    struct virtqueue_state *s; /* in the owner's migratable state */
    uint16_t num_max;
    bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
    const struct virtqueue_ram *ram;
    /* Host views of the three areas, valid while s.ready && !s.broken. */
    uint8_t *desc_hva, *avail_hva, *used_hva;
    /* Called once when the queue breaks, with a reason (VM lock held). */
    void (*error)(void *opaque, struct virtqueue *vq, const char *why);
    void *error_opaque;
};

/*
 * One request: a descriptor chain.  iov[0 .. out_num) are the
 * device-readable buffers, iov[out_num .. out_num + in_num) the
 * device-writable ones; gpa[] the guest address of each.  The host
 * addresses point straight into guest RAM, already bounds-checked.
 */
struct virtqueue_elem {
    uint16_t head;
    unsigned out_num, in_num;
    struct iovec iov[VIRTQUEUE_MAX_SG];
    gpa_t gpa[VIRTQUEUE_MAX_SG];
};

extern const struct vmstate_description virtqueue_vmstate;

void virtqueue_init(struct virtqueue *vq, struct virtqueue_state *s, uint16_t num_max,
                    const struct virtqueue_ram *ram,
                    void (*error)(void *opaque, struct virtqueue *vq, const char *why),
                    void *error_opaque);
/* Back to the power-on state (not ready, addresses and indexes 0). */
void virtqueue_reset(struct virtqueue *vq);
/*
 * The driver wrote QueueReady = 1: check num and map the three areas.
 * False (and the queue broken, error callback called) when they are bad.
 */
bool virtqueue_enable(struct virtqueue *vq);
/* After a load: *s is what the stream said; rebuild the mappings.  False
 * with @errp when the state cannot be one a device produced. */
bool virtqueue_post_load(struct virtqueue *vq, GError **errp);

/* The next available chain, or NULL (empty, not ready, or broken).
 * g_free() it after virtqueue_push(). */
struct virtqueue_elem *virtqueue_pop(struct virtqueue *vq);
/*
 * Give back the last @n chains popped and not pushed, newest first: the
 * next pops return them again (a device that cannot finish a chain now --
 * a backend said -EAGAIN, a frame needs more rx buffers -- leaves it in
 * the ring, so a saved state never holds half-processed work).
 */
void virtqueue_unpop(struct virtqueue *vq, uint16_t n);
/* Return @elem to the driver with @len bytes written into its
 * in-buffers (those bytes are marked dirty). */
void virtqueue_push(struct virtqueue *vq, const struct virtqueue_elem *elem, uint32_t len);
/* Push @n elements at once: the driver sees all of them or none (one
 * used idx update) -- a frame spread over several rx buffers. */
void virtqueue_push_many(struct virtqueue *vq, struct virtqueue_elem *const *elems,
                         const uint32_t *lens, unsigned n);
/* Should the device interrupt the driver for what it pushed?  Honours
 * NO_INTERRUPT, or used_event with event idx; records the signal. */
bool virtqueue_should_notify(struct virtqueue *vq);
/* Ask the driver to kick (true) or not (false) on new buffers: used
 * flags NO_NOTIFY, or avail_event with event idx. */
void virtqueue_set_notification(struct virtqueue *vq, bool enable);
/* Chains the driver made available and the device has not popped. */
bool virtqueue_empty(struct virtqueue *vq);

/* Copy @len bytes into the element's in-buffers from @offset; returns the
 * bytes copied (the dirty marking happens at push). */
size_t virtqueue_elem_to_in(const struct virtqueue_elem *elem, size_t offset, const void *buf,
                            size_t len);
/* Copy up to @len bytes out of the out-buffers from @offset. */
size_t virtqueue_elem_from_out(const struct virtqueue_elem *elem, size_t offset, void *buf,
                               size_t len);

#endif
