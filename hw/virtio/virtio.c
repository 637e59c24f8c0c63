#include "hw/virtio/virtio.h"

#include <string.h>

#include "util/error.h"

static void virtio_queue_error(void *opaque, struct virtqueue *vq, const char *why)
{
    struct virtio_dev *vdev = opaque;

    (void)vq;
    virtio_set_needs_reset(vdev, why);
}

void virtio_init(struct virtio_dev *vdev, const struct virtio_device_ops *ops, void *opaque,
                 const struct virtqueue_ram *ram)
{
    memset(vdev, 0, sizeof(*vdev));
    vdev->ops = ops;
    vdev->opaque = opaque;
    vdev->ram = *ram;
    vdev->host_features = ops->features | VIRTIO_CORE_FEATURES;
    vdev->s.num_queues = MIN(ops->num_queues, VIRTIO_QUEUES_MAX);
    for (unsigned i = 0; i < vdev->s.num_queues; i++)
        virtqueue_init(&vdev->vq[i], &vdev->s.vq[i], ops->queue_max, &vdev->ram, virtio_queue_error,
                       vdev);
}

static void virtio_update_irq(struct virtio_dev *vdev)
{
    if (vdev->update_irq)
        vdev->update_irq(vdev->transport, vdev);
}

void virtio_reset(struct virtio_dev *vdev)
{
    struct virtio_state *s = &vdev->s;

    s->status = 0;
    s->isr = 0;
    s->device_features_sel = s->driver_features_sel = s->queue_sel = 0;
    s->driver_features = 0;
    for (unsigned i = 0; i < s->num_queues; i++)
        virtqueue_reset(&vdev->vq[i]);
    if (vdev->ops->reset)
        vdev->ops->reset(vdev->opaque);
    virtio_update_irq(vdev);
}

struct virtqueue *virtio_queue(struct virtio_dev *vdev, unsigned index)
{
    return index < vdev->s.num_queues ? &vdev->vq[index] : NULL;
}

bool virtio_has_feature(const struct virtio_dev *vdev, unsigned bit)
{
    return bit < 64 && (vdev->s.driver_features >> bit) & 1;
}

uint32_t virtio_device_features(const struct virtio_dev *vdev)
{
    switch (vdev->s.device_features_sel) {
    case 0: return (uint32_t)vdev->host_features;
    case 1: return (uint32_t)(vdev->host_features >> 32);
    default: return 0;
    }
}

void virtio_set_driver_features(struct virtio_dev *vdev, uint32_t value)
{
    struct virtio_state *s = &vdev->s;

    /* Features are fixed once FEATURES_OK is set (spec 3.1.1). */
    if (s->status & VIRTIO_STATUS_FEATURES_OK)
        return;
    if (s->driver_features_sel == 0)
        s->driver_features = (s->driver_features & ~0xffffffffULL) | value;
    else if (s->driver_features_sel == 1)
        s->driver_features = (s->driver_features & 0xffffffffULL) | (uint64_t)value << 32;
}

static bool virtio_features_acceptable(const struct virtio_dev *vdev, uint64_t features)
{
    return (features & (1ULL << VIRTIO_F_VERSION_1)) && !(features & ~vdev->host_features);
}

static void virtio_apply_features(struct virtio_dev *vdev)
{
    bool event_idx = virtio_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX);

    for (unsigned i = 0; i < vdev->s.num_queues; i++)
        vdev->vq[i].event_idx = event_idx;
}

void virtio_set_status(struct virtio_dev *vdev, uint8_t status)
{
    struct virtio_state *s = &vdev->s;

    if (status == 0) {
        virtio_reset(vdev);
        return;
    }
    /* NEEDS_RESET belongs to the device; the driver cannot set or clear it. */
    status = (status & ~VIRTIO_STATUS_NEEDS_RESET) | (s->status & VIRTIO_STATUS_NEEDS_RESET);
    if ((status & VIRTIO_STATUS_FEATURES_OK) && !(s->status & VIRTIO_STATUS_FEATURES_OK)) {
        if (virtio_features_acceptable(vdev, s->driver_features))
            virtio_apply_features(vdev);
        else
            status &= ~VIRTIO_STATUS_FEATURES_OK; /* the driver reads it back and gives up */
    }
    s->status = status;
    if (vdev->ops->set_status)
        vdev->ops->set_status(vdev->opaque, status);
}

struct virtqueue *virtio_selected_queue(struct virtio_dev *vdev)
{
    return virtio_queue(vdev, vdev->s.queue_sel);
}

void virtio_queue_set_ready(struct virtio_dev *vdev, bool ready)
{
    struct virtqueue *vq = virtio_selected_queue(vdev);

    if (!vq)
        return;
    if (!ready) {
        vq->s->ready = false;
        return;
    }
    if (!vq->s->ready)
        virtqueue_enable(vq);
}

void virtio_queue_notify(struct virtio_dev *vdev, unsigned index)
{
    struct virtqueue *vq = virtio_queue(vdev, index);

    if (!vq || !vq->s->ready || vq->s->broken || !vdev->ops->queue_notify)
        return;
    vdev->ops->queue_notify(vdev->opaque, vdev, index);
}

void virtio_queue_notify_all(struct virtio_dev *vdev)
{
    for (unsigned i = 0; i < vdev->s.num_queues; i++)
        virtio_queue_notify(vdev, i); /* skips queues not ready or broken */
}

void virtio_ack_interrupt(struct virtio_dev *vdev, uint8_t bits)
{
    vdev->s.isr &= ~bits;
    virtio_update_irq(vdev);
}

void virtio_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
    if (!virtqueue_should_notify(vq))
        return;
    vdev->s.isr |= VIRTIO_ISR_QUEUE;
    virtio_update_irq(vdev);
}

void virtio_config_changed(struct virtio_dev *vdev)
{
    vdev->s.config_generation++;
    if (!(vdev->s.status & VIRTIO_STATUS_DRIVER_OK))
        return;
    vdev->s.isr |= VIRTIO_ISR_CONFIG;
    virtio_update_irq(vdev);
}

void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why)
{
    if (vdev->s.status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    g_debug("%s: guest driver error: %s; device needs reset", vdev->ops->name, why);
    vdev->s.status |= VIRTIO_STATUS_NEEDS_RESET;
    if (vdev->s.status & VIRTIO_STATUS_DRIVER_OK) {
        vdev->s.isr |= VIRTIO_ISR_CONFIG;
        virtio_update_irq(vdev);
    }
}

bool virtio_post_load(struct virtio_dev *vdev, GError **errp)
{
    struct virtio_state *s = &vdev->s;

    if (s->driver_features & ~vdev->host_features) {
        error_setg(errp, "%s: negotiated features 0x%" G_GINT64_MODIFIER "x not offered here",
                   vdev->ops->name, s->driver_features);
        return false;
    }
    if (s->isr & ~(VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG)) {
        error_setg(errp, "%s: interrupt status 0x%x invalid", vdev->ops->name, s->isr);
        return false;
    }
    virtio_apply_features(vdev);
    for (unsigned i = 0; i < s->num_queues; i++) {
        if (!virtqueue_post_load(&vdev->vq[i], errp)) {
            g_prefix_error(errp, "%s queue %u: ", vdev->ops->name, i);
            return false;
        }
    }
    virtio_update_irq(vdev);
    return true;
}

static const struct vmstate_field virtio_fields[] = {
    VMSTATE_FIELD(struct virtio_state, status),
    VMSTATE_FIELD(struct virtio_state, isr),
    VMSTATE_FIELD(struct virtio_state, device_features_sel),
    VMSTATE_FIELD(struct virtio_state, driver_features_sel),
    VMSTATE_FIELD(struct virtio_state, queue_sel),
    VMSTATE_FIELD(struct virtio_state, driver_features),
    VMSTATE_FIELD(struct virtio_state, config_generation),
    VMSTATE_EQUAL(struct virtio_state, num_queues),
    VMSTATE_STRUCT_VARRAY(struct virtio_state, vq, num_queues, virtqueue_vmstate),
    VMSTATE_END_OF_LIST(),
};

const struct vmstate_description virtio_vmstate = {
    .name = "virtio",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = virtio_fields,
};
