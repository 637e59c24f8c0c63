#include "virtio_mmio.h"

#include "cmdline.h"
#include "mem.h"
#include "phys.h"

static void virtio_mmio_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

uint32_t virtio_mmio_read(const struct virtio_mmio_dev *dev, uint32_t off)
{
	return *(volatile uint32_t *)phys_ptr(dev->base + off);
}

void virtio_mmio_write(const struct virtio_mmio_dev *dev, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)phys_ptr(dev->base + off) = v;
}

static void virtio_mmio_write64(const struct virtio_mmio_dev *dev, uint32_t off, uint64_t v)
{
	virtio_mmio_write(dev, off, (uint32_t)v);
	virtio_mmio_write(dev, off + 4, (uint32_t)(v >> 32));
}

uint32_t virtio_mmio_config(const struct virtio_mmio_dev *dev, uint32_t off, unsigned size)
{
	void *p = phys_ptr(dev->base + VIRTIO_MMIO_CONFIG + off);

	if (size == 1)
		return *(volatile uint8_t *)p;
	if (size == 2)
		return *(volatile uint16_t *)p;
	return *(volatile uint32_t *)p;
}

/* Hex digits (an optional 0x first) at @s; *end past them. */
static uint64_t virtio_mmio_parse_hex(const char *s, const char **end)
{
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (;; s++) {
		char c = *s;
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16u;
		if (d == 16)
			break;
		v = v << 4 | d;
	}
	*end = s;
	return v;
}

/* Does the window at @base hold a virtio 1.x device with @device_id? */
static bool virtio_mmio_probe(uint64_t base, uint32_t device_id)
{
	struct virtio_mmio_dev d = { .base = base };

	return virtio_mmio_read(&d, VIRTIO_MMIO_MAGIC) == VIRTIO_MMIO_MAGIC_VALUE &&
	       virtio_mmio_read(&d, VIRTIO_MMIO_VERSION) == 2 &&
	       virtio_mmio_read(&d, VIRTIO_MMIO_DEVICE_ID) == device_id;
}

bool virtio_mmio_find(struct virtio_mmio_dev *dev, const char *cmdline, uint32_t device_id)
{
	const char *v = cmdline;
	bool listed = false;

	/* "SIZE@ADDR:IRQ", SIZE perhaps with a K/M suffix; each word in turn. */
	while ((v = cmdline_find(v, "virtio_mmio.device"))) {
		uint64_t base;

		while (*v && *v != '@' && *v != ' ')
			v++;
		if (*v != '@')
			continue;
		base = virtio_mmio_parse_hex(v + 1, &v);
		listed = true;
		if (base && virtio_mmio_probe(base, device_id)) {
			dev->base = base;
			return true;
		}
	}
	dev->error = listed ? "no virtio 1.x device with that id at any virtio_mmio.device= address"
			    : "no virtio_mmio.device=SIZE@ADDR:IRQ on the command line";
	return false;
}

static uint64_t virtio_mmio_device_features(const struct virtio_mmio_dev *dev)
{
	uint64_t f;

	virtio_mmio_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)virtio_mmio_read(dev, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	virtio_mmio_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | virtio_mmio_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
}

bool virtio_mmio_negotiate(struct virtio_mmio_dev *dev, uint64_t required, uint64_t optional)
{
	const uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint64_t offered;

	virtio_mmio_write(dev, VIRTIO_MMIO_STATUS, 0);
	virtio_mmio_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_mmio_write(dev, VIRTIO_MMIO_STATUS, st);
	offered = virtio_mmio_device_features(dev);
	if ((offered & required) != required) {
		dev->error = (offered >> VIRTIO_F_VERSION_1 & 1)
				     ? "the device does not offer a required feature"
				     : "the device does not offer VIRTIO_F_VERSION_1";
		return false;
	}
	dev->features = required | (optional & offered);
	virtio_mmio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_mmio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)dev->features);
	virtio_mmio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_mmio_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(dev->features >> 32));
	virtio_mmio_write(dev, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_mmio_read(dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
		dev->error = "the device refused the features";
		return false;
	}
	return true;
}

bool virtio_mmio_vq_setup(struct virtio_mmio_vq *vq, struct virtio_mmio_dev *dev,
			  uint16_t index, uint16_t num, void *mem)
{
	uint8_t *m = mem;

	virtio_mmio_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
	if (virtio_mmio_read(dev, VIRTIO_MMIO_QUEUE_NUM_MAX) < num) {
		dev->error = "a queue is smaller than the driver needs";
		return false;
	}
	memset(m, 0, VIRTIO_MMIO_VQ_MEM_SIZE(num));
	*vq = (struct virtio_mmio_vq){
		.dev = dev,
		.index = index,
		.num = num,
		.desc = (struct virtq_desc *)m,
		.avail = (volatile uint16_t *)(m + VIRTIO_MMIO_VQ_AVAIL_OFF(num)),
		.used = (volatile uint16_t *)(m + VIRTIO_MMIO_VQ_USED_OFF(num)),
	};
	virtio_mmio_write(dev, VIRTIO_MMIO_QUEUE_NUM, num);
	virtio_mmio_write64(dev, VIRTIO_MMIO_QUEUE_DESC, (uint64_t)(uintptr_t)vq->desc);
	virtio_mmio_write64(dev, VIRTIO_MMIO_QUEUE_DRIVER, (uint64_t)(uintptr_t)vq->avail);
	virtio_mmio_write64(dev, VIRTIO_MMIO_QUEUE_DEVICE, (uint64_t)(uintptr_t)vq->used);
	virtio_mmio_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	return true;
}

void virtio_mmio_driver_ok(struct virtio_mmio_dev *dev)
{
	virtio_mmio_write(dev, VIRTIO_MMIO_STATUS,
			  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

void virtio_mmio_vq_add(struct virtio_mmio_vq *vq, uint16_t head)
{
	vq->avail[2 + vq->avail_idx % vq->num] = head;
	/* The ring entry before the index that publishes it (x86: stores
	 * are ordered; the compiler must keep them so). */
	virtio_mmio_barrier();
	vq->avail[1] = ++vq->avail_idx;
	virtio_mmio_barrier();
}

void virtio_mmio_vq_notify(struct virtio_mmio_vq *vq)
{
	virtio_mmio_write(vq->dev, VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);
}

bool virtio_mmio_vq_poll(struct virtio_mmio_vq *vq, struct virtq_used_elem *out)
{
	const volatile struct virtq_used_elem *ring =
		(const volatile struct virtq_used_elem *)(vq->used + 2);
	uint32_t isr;

	if (vq->used[1] == vq->last_used)
		return false;
	virtio_mmio_barrier();
	out->id = ring[vq->last_used % vq->num].id;
	out->len = ring[vq->last_used % vq->num].len;
	vq->last_used++;
	isr = virtio_mmio_read(vq->dev, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr)
		virtio_mmio_write(vq->dev, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return true;
}

struct virtq_used_elem virtio_mmio_vq_wait(struct virtio_mmio_vq *vq)
{
	struct virtq_used_elem e;

	while (!virtio_mmio_vq_poll(vq, &e))
		__asm__ volatile("pause" ::: "memory");
	return e;
}

struct virtq_used_elem virtio_mmio_vq_run(struct virtio_mmio_vq *vq, uint16_t head)
{
	virtio_mmio_vq_add(vq, head);
	virtio_mmio_vq_notify(vq);
	return virtio_mmio_vq_wait(vq);
}
