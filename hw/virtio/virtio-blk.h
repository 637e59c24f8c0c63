/*
 * virtio-blk (virtio 1.x spec 5.2) on a block backend (block/block.h),
 * over the virtio-mmio transport.
 *
 * One request queue of VIRTIO_BLK_QUEUE_SIZE entries.  A request is a
 * descriptor chain (little-endian):
 *   out  le32 type, le32 reserved, le64 sector      (struct virtio_blk_req)
 *   out  data (OUT: the bytes to write; DISCARD / WRITE_ZEROES: segments of
 *        le64 sector, le32 num_sectors, le32 flags (bit 0 unmap))
 *   in   data (IN: the bytes read; GET_ID: up to 20 bytes of serial)
 *   in   u8 status: 0 OK, 1 IOERR, 2 UNSUPP (the last byte of the chain)
 * Types: IN 0, OUT 1, FLUSH 4, GET_ID 8, DISCARD 11, WRITE_ZEROES 13.
 *
 * Config space (struct virtio_blk_config, the fields Tern fills):
 *   0x00 le64 capacity (512-byte sectors)     0x0c le32 seg_max
 *   0x14 le32 blk_size (512, or the O_DIRECT alignment with cache=none)
 *   0x20 u8 writeback (1)                     0x22 le16 num_queues (1)
 *   0x24 le32 max_discard_sectors             0x28 le32 max_discard_seg (1)
 *   0x2c le32 discard_sector_alignment        0x30 le32 max_write_zeroes_sectors
 *   0x34 le32 max_write_zeroes_seg (1)        0x38 u8 write_zeroes_may_unmap (1)
 * Features: SEG_MAX, BLK_SIZE, FLUSH, DISCARD, WRITE_ZEROES, and RO for a
 * read-only drive; plus the core's VERSION_1, EVENT_IDX, INDIRECT_DESC.
 *
 * Every request the driver makes available is submitted at once (any
 * number in flight, completing in any order).  Whatever goes wrong -- a
 * malformed request, a range past the end, a write to a read-only disk,
 * an I/O error from the host -- becomes the request's status; nothing the
 * guest does stops Tern.  Data moves straight between the image and guest
 * RAM; the completion marks the bytes it wrote dirty (virtqueue_push) so a
 * running migration resends them.
 *
 * Migration: requests are never in flight in a saved state -- the VM
 * drains the backend (virtio_blk_drain) after the vCPUs stop, before the
 * device sections are saved -- so the section holds the transport's
 * state and the disk's size, which the destination must match.  After a
 * load, virtio_blk_kick() processes what the driver made available
 * before the stop.
 *
 * Thread context: everything with the VM lock held: register accesses on
 * vCPU threads, completions from the main loop (block.h), resets and
 * migration hooks where the VM calls them.
 */
#ifndef HW_VIRTIO_VIRTIO_BLK_H
#define HW_VIRTIO_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"
#include "hw/virtio/virtio-mmio.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_ID_BYTES 20

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_CONFIG_SIZE 0x3c
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per segment */

struct virtio_blk {
    struct virtio_mmio mmio; /* transport; mmio.vdev.s is migrated */
    uint64_t capacity;       /* sectors: migrated as an equal-field */
    struct block_backend *bb; /* not owned */
    char serial[VIRTIO_BLK_ID_BYTES + 1];
    uint32_t blk_size;
    /* Bumped by a reset: completions of requests from before it only
     * free themselves. */
    uint64_t generation;
    unsigned in_flight;
};

/* The "virtio-blk" section: transport state + capacity (must match). */
extern const struct vmstate_description virtio_blk_vmstate;

/*
 * @bb stays the caller's (close it after the device is gone); @serial
 * (GET_ID) may be NULL.  Register the transport with iomap_add(mmio,
 * base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, &b->mmio, ...).
 */
void virtio_blk_init(struct virtio_blk *b, struct block_backend *bb, const char *serial,
                     const struct virtqueue_ram *ram, uint64_t base, struct irq_line irq);
/* System reset: drains, then resets the transport. */
void virtio_blk_reset(struct virtio_blk *b);
/* Wait for every request in flight and complete it to the guest. */
void virtio_blk_drain(struct virtio_blk *b);
/* Process requests the driver made available without a notification we
 * saw (after an incoming migration). */
void virtio_blk_kick(struct virtio_blk *b);

#endif
