/*
 * blk-pattern: the disk guest for virtio-blk and block migration tests.
 *
 * Finds a virtio-blk device on virtio-mmio from its own command line, in
 * Linux's form "virtio_mmio.device=SIZE@ADDR:IRQ" (the first one), drives
 * it by polling the used ring (the guests run with interrupts off), and
 * then for ever, round r = 1, 2, ...: for every 4 KiB block b of the disk
 * in order, writes the block's pattern for round r, reads the block back
 * and compares.  After each round it prints "R<r> " on the serial port.
 *
 * Pattern of block b in round r: 512 little-endian 64-bit words,
 * word i = r << 48 | b << 16 | i.  A block never written is zeros
 * (round 0).
 *
 * Invariant, for a stopped guest's disk image: every block holds the
 * pattern of some round, and walking the blocks the rounds never
 * increase, except for at most one place where they drop by exactly 1
 * (the blocks before it were already rewritten in the current round).
 * Anything else means a write was lost, duplicated or torn.
 *
 * Messages: "BLK-READY blocks=N" once the device is set up;
 * "BLK-MISMATCH block B round R word I" when a read does not return what
 * was written, "BLK-IOERR type T status S block B" when the device fails a
 * request, "BLK-ERROR ..." for a device this driver cannot use; each ends
 * the guest with debug-exit 1 (when the port is present) or a halt.
 *
 * Command line: blocks=N (use at most N blocks), rounds=N (debug-exit 0
 * after N rounds).
 *
 * Register layout: virtio 1.x, "MMIO Device Register Layout" (version 2);
 * request layout: "Block Device", struct virtio_blk_req.
 */
#include "cmdline.h"
#include "debug_exit.h"
#include "guest.h"
#include "phys.h"
#include "print.h"

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

#define VIRTIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_ID_BLOCK 2

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1

#define QSIZE 4
#define BLOCK 4096
#define SECTORS_PER_BLOCK (BLOCK / 512)
#define WORDS (BLOCK / 8)

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[QSIZE];
	uint16_t used_event;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[QSIZE];
	uint16_t avail_event;
};

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct virtq_desc desc[QSIZE] __attribute__((aligned(4096)));
static struct virtq_avail avail __attribute__((aligned(4096)));
static struct virtq_used used __attribute__((aligned(4096)));
static struct blk_req_hdr hdr __attribute__((aligned(16)));
static uint64_t data[WORDS] __attribute__((aligned(4096)));
static volatile uint8_t req_status;
static uint16_t last_used;
static uint64_t mmio;

static void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static uint32_t rd(uint32_t off)
{
	return *(volatile uint32_t *)phys_ptr(mmio + off);
}

static void wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)phys_ptr(mmio + off) = v;
}

static void wr64(uint32_t off, uint64_t v)
{
	wr(off, (uint32_t)v);
	wr(off + 4, (uint32_t)(v >> 32));
}

static void __attribute__((noreturn)) fail(void)
{
	debug_exit(1);
}

/* "SIZE@ADDR:IRQ" -> ADDR (SIZE may carry a K/M suffix). */
static uint64_t find_device(const char *cmdline)
{
	const char *v = cmdline_find(cmdline, "virtio_mmio.device");
	uint64_t addr = 0;

	while (v && *v && *v != '@' && *v != ' ')
		v++;
	if (!v || *v != '@') {
		print("BLK-ERROR no virtio_mmio.device=SIZE@ADDR:IRQ on the command line\n");
		fail();
	}
	v++;
	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
		v += 2;
	for (;; v++) {
		char c = *v;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16u;
		if (d == 16)
			break;
		addr = addr << 4 | d;
	}
	return addr;
}

static uint64_t setup_device(void)
{
	uint32_t max;

	if (rd(VIRTIO_MMIO_MAGIC) != VIRTIO_MAGIC || rd(VIRTIO_MMIO_VERSION) != 2 ||
	    rd(VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK) {
		print("BLK-ERROR not a virtio 1.x block device at 0x%llx (magic 0x%x version %u "
		      "id %u)\n", (unsigned long long)mmio, rd(VIRTIO_MMIO_MAGIC),
		      rd(VIRTIO_MMIO_VERSION), rd(VIRTIO_MMIO_DEVICE_ID));
		fail();
	}
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
	/* Only VIRTIO_F_VERSION_1 (feature 32): no event index, no extras. */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	if (!(rd(VIRTIO_MMIO_DEVICE_FEATURES) & 1)) {
		print("BLK-ERROR the device does not offer VIRTIO_F_VERSION_1\n");
		fail();
	}
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
	if (!(rd(VIRTIO_MMIO_STATUS) & STATUS_FEATURES_OK)) {
		print("BLK-ERROR the device refused the features\n");
		fail();
	}
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	max = rd(VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max < QSIZE) {
		print("BLK-ERROR queue 0 has room for %u descriptors\n", max);
		fail();
	}
	wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr64(VIRTIO_MMIO_QUEUE_DESC, (uint64_t)(uintptr_t)desc);
	wr64(VIRTIO_MMIO_QUEUE_DRIVER, (uint64_t)(uintptr_t)&avail);
	wr64(VIRTIO_MMIO_QUEUE_DEVICE, (uint64_t)(uintptr_t)&used);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS,
	   STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	/* capacity: le64 at config offset 0, in 512-byte sectors */
	return ((uint64_t)rd(VIRTIO_MMIO_CONFIG + 4) << 32 | rd(VIRTIO_MMIO_CONFIG)) /
	       SECTORS_PER_BLOCK;
}

/* One request, three descriptors: header, the block, the status byte. */
static void request(uint32_t type, uint64_t block)
{
	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = block * SECTORS_PER_BLOCK;
	req_status = 0xff;
	desc[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1 };
	desc[1] = (struct virtq_desc){ (uint64_t)(uintptr_t)data, BLOCK,
				       VIRTQ_DESC_F_NEXT |
				       (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0), 2 };
	desc[2] = (struct virtq_desc){ (uint64_t)(uintptr_t)&req_status, 1, VIRTQ_DESC_F_WRITE, 0 };
	avail.ring[avail.idx % QSIZE] = 0;
	barrier();
	avail.idx++;
	barrier();
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	while (*(volatile uint16_t *)&used.idx == last_used)
		__asm__ volatile("pause");
	barrier();
	last_used++;
	if (rd(VIRTIO_MMIO_INTERRUPT_STATUS))
		wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS));
	if (req_status != 0) {
		print("BLK-IOERR type %u status %u block %llu\n", type, req_status,
		      (unsigned long long)block);
		fail();
	}
}

static uint64_t pattern(uint64_t round, uint64_t block, uint64_t i)
{
	return round << 48 | block << 16 | i;
}

void guest_main(const struct hvm_start_info *si)
{
	const char *cmdline = pvh_cmdline(si);
	uint64_t rounds = cmdline_u64(cmdline, "rounds", 0);
	uint64_t blocks;

	mmio = find_device(cmdline);
	blocks = setup_device();
	if (cmdline_u64(cmdline, "blocks", 0) && cmdline_u64(cmdline, "blocks", 0) < blocks)
		blocks = cmdline_u64(cmdline, "blocks", 0);
	print("BLK-READY blocks=%llu\n", (unsigned long long)blocks);
	for (uint64_t r = 1;; r++) {
		for (uint64_t b = 0; b < blocks; b++) {
			for (uint64_t i = 0; i < WORDS; i++)
				data[i] = pattern(r, b, i);
			request(VIRTIO_BLK_T_OUT, b);
			for (uint64_t i = 0; i < WORDS; i++)
				data[i] = 0;
			request(VIRTIO_BLK_T_IN, b);
			for (uint64_t i = 0; i < WORDS; i++) {
				if (data[i] != pattern(r, b, i)) {
					print("BLK-MISMATCH block %llu round %llu word %llu: 0x%llx\n",
					      (unsigned long long)b, (unsigned long long)r,
					      (unsigned long long)i, (unsigned long long)data[i]);
					fail();
				}
			}
		}
		print("R%llu ", (unsigned long long)r);
		if (rounds && r == rounds)
			debug_exit(0);
	}
}
