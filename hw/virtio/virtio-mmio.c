#include "hw/virtio/virtio-mmio.h"

#include "util/container.h"

static void virtio_mmio_update_irq(void *transport, struct virtio_dev *vdev)
{
    struct virtio_mmio *t = transport;
    int level = vdev->s.isr != 0;

    t->level = level;
    irq_line_set(&t->irq, level);
}

/* A host notifier caught a doorbell: main thread (or a flush), lock held. */
static void virtio_mmio_host_kick(void *opaque)
{
    struct virtio_mmio_kick *k = opaque;

    virtio_queue_notify(&k->t->vdev, k->index);
}

/*
 * Make the host notifiers match QueueReady: one per ready queue.  Called
 * after everything that can change readiness (QueueReady and Status
 * writes, resets, a load), so no path has to remember which queue moved.
 */
static void virtio_mmio_sync_notifiers(struct virtio_mmio *t)
{
    struct virtio_dev *vdev = &t->vdev;

    for (unsigned i = 0; i < vdev->s.num_queues; i++) {
        bool want = t->notifiers.ops && vdev->s.vq[i].ready;
        struct host_notifier **n = &t->queue_notifier[i];
        uint32_t bit = 1u << i;

        if (!want) {
            host_notifier_del(&t->notifiers, *n);
            *n = NULL;
            t->notifier_refused &= ~bit;
        } else if (!*n && !(t->notifier_refused & bit)) {
            /* Refused: the write keeps exiting; not asked again until
             * the queue is reset. */
            *n = host_notifier_add(&t->notifiers, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, i,
                                   virtio_mmio_host_kick, &t->kick[i]);
            if (!*n)
                t->notifier_refused |= bit;
        }
    }
}

void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *opaque,
                      const struct virtqueue_ram *ram, uint64_t base, struct irq_line irq)
{
    virtio_init(&t->vdev, ops, opaque, ram);
    t->vdev.update_irq = virtio_mmio_update_irq;
    t->vdev.transport = t;
    t->irq = irq;
    t->base = base;
    t->level = 0;
    t->notifiers = (struct host_notifiers){0};
    t->notifier_refused = 0;
    for (unsigned i = 0; i < VIRTIO_QUEUES_MAX; i++) {
        t->queue_notifier[i] = NULL;
        t->kick[i] = (struct virtio_mmio_kick){t, i};
    }
    virtio_reset(&t->vdev);
}

void virtio_mmio_reset(struct virtio_mmio *t)
{
    virtio_reset(&t->vdev);
    virtio_mmio_sync_notifiers(t);
}

void virtio_mmio_set_host_notifiers(struct virtio_mmio *t, struct host_notifiers hn)
{
    t->notifiers = hn;
    virtio_mmio_sync_notifiers(t);
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
    for (unsigned i = 0; i < VIRTIO_QUEUES_MAX; i++) {
        host_notifier_del(&t->notifiers, t->queue_notifier[i]);
        t->queue_notifier[i] = NULL;
    }
    t->notifiers = (struct host_notifiers){0};
    t->notifier_refused = 0;
}

char *virtio_mmio_cmdline(uint64_t base, unsigned gsi)
{
    return g_strdup_printf("virtio_mmio.device=4K@0x%" G_GINT64_MODIFIER "x:%u", base, gsi);
}

static uint64_t virtio_mmio_config_read(struct virtio_mmio *t, uint64_t offset, unsigned size)
{
    const struct virtio_device_ops *ops = t->vdev.ops;

    if (!ops->config_read || offset >= ops->config_size || size > ops->config_size - offset)
        return 0;
    return ops->config_read(t->vdev.opaque, (uint32_t)offset, size);
}

static void virtio_mmio_config_write(struct virtio_mmio *t, uint64_t offset, uint64_t value,
                                     unsigned size)
{
    const struct virtio_device_ops *ops = t->vdev.ops;

    if (!ops->config_write || offset >= ops->config_size || size > ops->config_size - offset)
        return;
    ops->config_write(t->vdev.opaque, (uint32_t)offset, value, size);
}

static uint32_t virtio_mmio_queue_read(struct virtio_mmio *t, uint64_t offset)
{
    struct virtqueue *vq = virtio_selected_queue(&t->vdev);

    if (!vq)
        return 0; /* QueueNumMax 0: the queue does not exist */
    switch (offset) {
    case VIRTIO_MMIO_QUEUE_NUM_MAX: return vq->num_max;
    case VIRTIO_MMIO_QUEUE_READY: return vq->s->ready;
    default: return 0;
    }
}

uint64_t virtio_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_mmio *t = opaque;
    struct virtio_dev *vdev = &t->vdev;

    if (offset >= VIRTIO_MMIO_CONFIG)
        return virtio_mmio_config_read(t, offset - VIRTIO_MMIO_CONFIG, size);
    if (size != 4)
        return 0;
    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION_REG: return VIRTIO_MMIO_VERSION;
    case VIRTIO_MMIO_DEVICE_ID: return vdev->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES: return virtio_device_features(vdev);
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
    case VIRTIO_MMIO_QUEUE_READY: return virtio_mmio_queue_read(t, offset);
    case VIRTIO_MMIO_INTERRUPT_STATUS: return vdev->s.isr;
    case VIRTIO_MMIO_STATUS: return vdev->s.status;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH: return 0xffffffff; /* no shared memory regions */
    case VIRTIO_MMIO_CONFIG_GENERATION: return vdev->s.config_generation;
    default: return 0; /* write-only or reserved */
    }
}

static void virtio_mmio_set_addr(uint64_t *addr, bool high, uint32_t value)
{
    if (high)
        *addr = (*addr & 0xffffffffULL) | (uint64_t)value << 32;
    else
        *addr = (*addr & ~0xffffffffULL) | value;
}

/* QueueNum and the three addresses: only while the queue is not ready. */
static void virtio_mmio_queue_write(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
    struct virtqueue *vq = virtio_selected_queue(&t->vdev);
    struct virtqueue_state *s;

    if (!vq || vq->s->ready)
        return;
    s = vq->s;
    switch (offset) {
    case VIRTIO_MMIO_QUEUE_NUM: s->num = value > 0xffff ? 0 : value; break; /* checked at ready */
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        virtio_mmio_set_addr(&s->desc, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, value);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        virtio_mmio_set_addr(&s->avail, offset == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, value);
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        virtio_mmio_set_addr(&s->used, offset == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, value);
        break;
    }
}

void virtio_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct virtio_mmio *t = opaque;
    struct virtio_dev *vdev = &t->vdev;
    uint32_t v = (uint32_t)value;

    if (offset >= VIRTIO_MMIO_CONFIG) {
        virtio_mmio_config_write(t, offset - VIRTIO_MMIO_CONFIG, value, size);
        return;
    }
    if (size != 4)
        return;
    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: vdev->s.device_features_sel = v; break;
    case VIRTIO_MMIO_DRIVER_FEATURES: virtio_set_driver_features(vdev, v); break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: vdev->s.driver_features_sel = v; break;
    case VIRTIO_MMIO_QUEUE_SEL: vdev->s.queue_sel = v; break;
    case VIRTIO_MMIO_QUEUE_READY:
        virtio_queue_set_ready(vdev, v & 1);
        virtio_mmio_sync_notifiers(t);
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY: virtio_queue_notify(vdev, v & 0xffff); break;
    case VIRTIO_MMIO_INTERRUPT_ACK: virtio_ack_interrupt(vdev, (uint8_t)v); break;
    case VIRTIO_MMIO_STATUS:
        virtio_set_status(vdev, (uint8_t)v); /* 0 resets every queue */
        virtio_mmio_sync_notifiers(t);
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: virtio_mmio_queue_write(t, offset, v); break;
    default: break; /* read-only or reserved */
    }
}

const struct iomap_ops virtio_mmio_ops = {
    .read = virtio_mmio_read,
    .write = virtio_mmio_write,
};

static bool virtio_mmio_post_load(void *opaque, int version_id, GError **errp)
{
    struct virtio_mmio *t = container_of(opaque, struct virtio_mmio, vdev.s);

    (void)version_id;
    if (!virtio_post_load(&t->vdev, errp)) /* re-drives the line */
        return false;
    virtio_mmio_sync_notifiers(t);
    return true;
}

static const struct vmstate_field virtio_mmio_fields[] = {
    {.name = "virtio",
     .kind = VMS_STRUCT,
     .offset = 0,
     .size = sizeof(struct virtio_state),
     .num = 1,
     .vmsd = &virtio_vmstate},
    VMSTATE_END_OF_LIST(),
};

const struct vmstate_description virtio_mmio_vmstate = {
    .name = "virtio-mmio",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = virtio_mmio_fields,
    .post_load = virtio_mmio_post_load,
};
