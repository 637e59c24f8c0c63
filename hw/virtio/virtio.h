/*
 * The virtio 1.x device model, independent of the transport: device
 * status and its state machine, feature negotiation, the queues, the
 * interrupt status and the config generation.  A device (virtio-blk, ...)
 * fills a struct virtio_device_ops; a transport (virtio-mmio.c) decodes
 * its registers into the virtio_*() calls below and turns the interrupt
 * status into a line.
 *
 * Status (spec 2.1): the driver sets ACKNOWLEDGE, DRIVER, writes its
 * features, sets FEATURES_OK (kept only if the features are acceptable:
 * VERSION_1 present, nothing the device did not offer), sets up the
 * queues, sets DRIVER_OK.  Writing 0 resets the device: status, features,
 * selectors, interrupt status and every queue go back to zero and the
 * device's reset() runs.  A malformed ring sets DEVICE_NEEDS_RESET and
 * raises a configuration-change interrupt (spec 2.1.2).
 *
 * Thread context: everything here runs with the VM lock held (vCPU
 * threads for register accesses; the main thread for device completions
 * and migration).
 */
#ifndef HW_VIRTIO_VIRTIO_H
#define HW_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/virtio/virtqueue.h"
#include "migration/vmstate.h"

#define VIRTIO_QUEUES_MAX 8

/* Feature bits (spec 6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
/* What the core offers on behalf of every device. */
#define VIRTIO_CORE_FEATURES                                                                       \
    ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_EVENT_IDX) |                            \
     (1ULL << VIRTIO_F_RING_INDIRECT_DESC))

/* Device status bits (spec 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Interrupt status bits (virtio-mmio InterruptStatus, PCI ISR). */
#define VIRTIO_ISR_QUEUE 0x1
#define VIRTIO_ISR_CONFIG 0x2

struct virtio_dev;

/*
 * What a device provides.  Callbacks get @opaque (the device) and run
 * with the VM lock held.
 */
struct virtio_device_ops {
    const char *name;
    uint32_t device_id;  /* spec 5: 2 = block, 1 = net, 4 = entropy */
    uint64_t features;   /* device-specific feature bits offered */
    unsigned num_queues; /* <= VIRTIO_QUEUES_MAX */
    uint16_t queue_max;  /* QueueNumMax, power of 2 <= VIRTQUEUE_MAX_SIZE */
    uint32_t config_size;
    /* Config space access at @offset < config_size, @size 1/2/4/8 bytes
     * that fit; little-endian value.  NULL: reads 0, writes ignored. */
    uint64_t (*config_read)(void *opaque, uint32_t offset, unsigned size);
    void (*config_write)(void *opaque, uint32_t offset, uint64_t value, unsigned size);
    /* The driver notified queue @index (ready, not broken).  Pop with
     * virtqueue_pop(virtio_queue(vdev, index)). */
    void (*queue_notify)(void *opaque, struct virtio_dev *vdev, unsigned index);
    /* The driver reset the device (status 0): drop in-flight work.
     * Queues are already reset. */
    void (*reset)(void *opaque);
    /* Optional: the status changed to @status (e.g. DRIVER_OK). */
    void (*set_status)(void *opaque, uint8_t status);
};

/* Guest-visible state: what virtio_vmstate migrates. */
struct virtio_state {
    uint8_t status;
    uint8_t isr;
    uint32_t device_features_sel;
    uint32_t driver_features_sel;
    uint32_t queue_sel;
    uint64_t driver_features;
    uint32_t config_generation;
    uint8_t num_queues;
    struct virtqueue_state vq[VIRTIO_QUEUES_MAX];
};

struct virtio_dev {
    struct virtio_state s;
    const struct virtio_device_ops *ops;
    void *opaque;
    uint64_t host_features; /* ops->features | VIRTIO_CORE_FEATURES */
    struct virtqueue_ram ram;
    struct virtqueue vq[VIRTIO_QUEUES_MAX];
    /* The transport: the interrupt status changed (lock held). */
    void (*update_irq)(void *transport, struct virtio_dev *vdev);
    void *transport;
};

/* Describes struct virtio_state (nest it with VMSTATE_STRUCT). */
extern const struct vmstate_description virtio_vmstate;

/* @ram is copied.  The device may add bits to vdev->host_features after. */
void virtio_init(struct virtio_dev *vdev, const struct virtio_device_ops *ops, void *opaque,
                 const struct virtqueue_ram *ram);
/* Power-on / driver reset (status 0). */
void virtio_reset(struct virtio_dev *vdev);

struct virtqueue *virtio_queue(struct virtio_dev *vdev, unsigned index);
bool virtio_has_feature(const struct virtio_dev *vdev, unsigned bit);

/* Register-level operations, shared by transports. */
uint32_t virtio_device_features(const struct virtio_dev *vdev);           /* at features_sel */
void virtio_set_driver_features(struct virtio_dev *vdev, uint32_t value); /* at sel */
void virtio_set_status(struct virtio_dev *vdev, uint8_t status);
/* Queue registers of the selected queue; NULL when queue_sel is out of
 * range.  Writes are ignored while the queue is ready. */
struct virtqueue *virtio_selected_queue(struct virtio_dev *vdev);
void virtio_queue_set_ready(struct virtio_dev *vdev, bool ready);
void virtio_queue_notify(struct virtio_dev *vdev, unsigned index);
/*
 * Act as if the driver had notified every ready queue: the device looks at
 * each ring once.  A spurious look is harmless (it pops nothing new), so
 * whoever starts a device whose doorbells may have been missed (one loaded
 * from a stream whose source did not deliver a caught doorbell before
 * saving) calls this.  VM lock held.
 */
void virtio_queue_notify_all(struct virtio_dev *vdev);
void virtio_ack_interrupt(struct virtio_dev *vdev, uint8_t bits);

/*
 * For devices: interrupt the driver about @vq if it wants one (event
 * idx / NO_INTERRUPT).  Call after one or more virtqueue_push().
 */
void virtio_notify(struct virtio_dev *vdev, struct virtqueue *vq);
/* The device changed its config space: bump the generation, interrupt. */
void virtio_config_changed(struct virtio_dev *vdev);
/* Mark the device broken (DEVICE_NEEDS_RESET + config interrupt). */
void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why);

/* After loading s: rebuild queue mappings and check what the stream said
 * against this device (features offered, queue sizes). */
bool virtio_post_load(struct virtio_dev *vdev, GError **errp);

#endif
