/*
 * A polling virtio 1.x driver core for virtio-mmio (version 2), shared by
 * the guests that drive a virtio device (blk-pattern, net-echo).
 *
 * Finding the device: Linux's "virtio_mmio.device=SIZE@ADDR:IRQ" words on
 * the command line (Tern appends one per device: disks first, then NICs);
 * each listed window is probed and the first whose DeviceID matches wins.
 *
 * Initialisation, virtio 1.x "Device Initialization": reset, ACKNOWLEDGE,
 * DRIVER, feature negotiation, FEATURES_OK (read back), queue setup, then
 * DRIVER_OK.  Interrupts stay off: used rings are polled, and
 * InterruptStatus is acknowledged so the line does not stay high.
 *
 * Split virtqueues ("Split Virtqueues"), all three parts in one caller-
 * provided block of VIRTIO_MMIO_VQ_MEM_SIZE(num) bytes, 4 KiB aligned:
 *   0                        struct virtq_desc[num]      (16 bytes each)
 *   16 * num                 avail: le16 flags, le16 idx, le16 ring[num],
 *                            le16 used_event
 *   align4(avail end)        used: le16 flags, le16 idx,
 *                            {le32 id, le32 len}[num], le16 avail_event
 * No EVENT_IDX: every notify is a write to QueueNotify.
 *
 * Errors: functions return false and leave a reason in dev->error (a
 * constant string), so each guest reports it with its own prefix.
 */
#ifndef VIRTIO_MMIO_H
#define VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

/* Register offsets ("MMIO Device Register Layout"). */
#define VIRTIO_MMIO_MAGIC 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC 0x080
#define VIRTIO_MMIO_QUEUE_DRIVER 0x090
#define VIRTIO_MMIO_QUEUE_DEVICE 0x0a0
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976 /* "virt" */

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64

#define VIRTIO_F_VERSION_1 32

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

#define VIRTIO_MMIO_VQ_AVAIL_OFF(num) (16u * (num))
#define VIRTIO_MMIO_VQ_USED_OFF(num) ((VIRTIO_MMIO_VQ_AVAIL_OFF(num) + 6u + 2u * (num) + 3u) & ~3u)
#define VIRTIO_MMIO_VQ_MEM_SIZE(num) (VIRTIO_MMIO_VQ_USED_OFF(num) + 6u + 8u * (num))

struct virtio_mmio_dev {
	uint64_t base;	   /* the register window */
	uint64_t features; /* negotiated */
	const char *error; /* why the last call returned false */
};

/* One split virtqueue; the driver's view. */
struct virtio_mmio_vq {
	struct virtio_mmio_dev *dev;
	uint16_t index, num;
	struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[num], used_event */
	volatile uint16_t *used;  /* flags, idx, then the elements */
	uint16_t avail_idx;	  /* our copy of avail->idx */
	uint16_t last_used;	  /* used entries consumed so far */
};

uint32_t virtio_mmio_read(const struct virtio_mmio_dev *dev, uint32_t off);
void virtio_mmio_write(const struct virtio_mmio_dev *dev, uint32_t off, uint32_t v);
/* A config-space field of 1, 2 or 4 bytes (one access of that size). */
uint32_t virtio_mmio_config(const struct virtio_mmio_dev *dev, uint32_t off, unsigned size);

/*
 * Probe every "virtio_mmio.device=" word of @cmdline for a virtio 1.x
 * (version 2) device with @device_id; fills dev->base.
 */
bool virtio_mmio_find(struct virtio_mmio_dev *dev, const char *cmdline, uint32_t device_id);

/*
 * Reset, ACKNOWLEDGE, DRIVER, then offer @required (which must include
 * VIRTIO_F_VERSION_1) plus whatever of @optional the device offers, and
 * set FEATURES_OK.  False when a required bit is missing or the device
 * refuses.  dev->features holds the result.
 */
bool virtio_mmio_negotiate(struct virtio_mmio_dev *dev, uint64_t required, uint64_t optional);

static inline bool virtio_mmio_has(const struct virtio_mmio_dev *dev, unsigned bit)
{
	return dev->features >> bit & 1;
}

/*
 * Set up queue @index with @num entries (a power of 2) in @mem
 * (VIRTIO_MMIO_VQ_MEM_SIZE(num) bytes, 4 KiB aligned; zeroed here).
 */
bool virtio_mmio_vq_setup(struct virtio_mmio_vq *vq, struct virtio_mmio_dev *dev,
			  uint16_t index, uint16_t num, void *mem);

/* DRIVER_OK: the queues are live. */
void virtio_mmio_driver_ok(struct virtio_mmio_dev *dev);

/* Make the chain starting at descriptor @head available (no notify). */
void virtio_mmio_vq_add(struct virtio_mmio_vq *vq, uint16_t head);
/* Tell the device to look at the queue. */
void virtio_mmio_vq_notify(struct virtio_mmio_vq *vq);
/* The next used element, if the device returned one; acks InterruptStatus. */
bool virtio_mmio_vq_poll(struct virtio_mmio_vq *vq, struct virtq_used_elem *out);
/* virtio_mmio_vq_poll() until an element arrives. */
struct virtq_used_elem virtio_mmio_vq_wait(struct virtio_mmio_vq *vq);
/* add + notify + wait: one chain start to finish (one in flight). */
struct virtq_used_elem virtio_mmio_vq_run(struct virtio_mmio_vq *vq, uint16_t head);

#endif
