#include "tests/unit/virtio-driver.h"

static void virtio_driver_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    virtio_mmio_write(t, off, v, 4);
}

void virtio_driver_negotiate(struct virtio_mmio *t, uint64_t features)
{
    virtio_driver_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_driver_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    virtio_driver_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    virtio_driver_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    virtio_driver_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    virtio_driver_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                                   VIRTIO_STATUS_FEATURES_OK);
}

void virtio_driver_setup_queue(struct virtio_mmio *t, unsigned q, unsigned num, uint64_t desc,
                               uint64_t avail, uint64_t used)
{
    virtio_driver_write(t, VIRTIO_MMIO_QUEUE_SEL, q);
    virtio_driver_write(t, VIRTIO_MMIO_QUEUE_NUM, num);
    virtio_driver_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    virtio_driver_write(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    virtio_driver_write(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    virtio_driver_write(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    virtio_driver_write(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    virtio_driver_write(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    virtio_driver_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}
