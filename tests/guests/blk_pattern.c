/*
 * blk-pattern: the disk guest for virtio-blk and block migration tests.
 *
 * Finds a virtio-blk device on virtio-mmio from its own command line, in
 * Linux's form "virtio_mmio.device=SIZE@ADDR:IRQ" (the first listed
 * window whose DeviceID is 2; virtio_mmio.[ch]), drives
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
#include "print.h"
#include "virtio_mmio.h"

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1

#define QSIZE 4
#define BLOCK 4096
#define SECTORS_PER_BLOCK (BLOCK / 512)
#define WORDS (BLOCK / 8)

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk {
	struct virtio_mmio_dev dev;
	struct virtio_mmio_vq vq;
};

static uint8_t vq_mem[VIRTIO_MMIO_VQ_MEM_SIZE(QSIZE)] __attribute__((aligned(4096)));
static struct blk_req_hdr hdr __attribute__((aligned(16)));
static uint64_t data[WORDS] __attribute__((aligned(4096)));
static volatile uint8_t req_status;

static void __attribute__((noreturn)) fail(void)
{
	debug_exit(1);
}

/* Only VIRTIO_F_VERSION_1: no event index, no extras.  The block count. */
static uint64_t setup_device(struct blk *b, const char *cmdline)
{
	if (!virtio_mmio_find(&b->dev, cmdline, VIRTIO_ID_BLOCK) ||
	    !virtio_mmio_negotiate(&b->dev, 1ULL << VIRTIO_F_VERSION_1, 0) ||
	    !virtio_mmio_vq_setup(&b->vq, &b->dev, 0, QSIZE, vq_mem)) {
		print("BLK-ERROR %s\n", b->dev.error);
		fail();
	}
	virtio_mmio_driver_ok(&b->dev);
	/* capacity: le64 at config offset 0, in 512-byte sectors */
	return ((uint64_t)virtio_mmio_config(&b->dev, 4, 4) << 32 |
		virtio_mmio_config(&b->dev, 0, 4)) /
	       SECTORS_PER_BLOCK;
}

/* One request, three descriptors: header, the block, the status byte. */
static void request(struct blk *b, uint32_t type, uint64_t block)
{
	struct virtq_desc *desc = b->vq.desc;

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = block * SECTORS_PER_BLOCK;
	req_status = 0xff;
	desc[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1 };
	desc[1] = (struct virtq_desc){ (uint64_t)(uintptr_t)data, BLOCK,
				       VIRTQ_DESC_F_NEXT |
				       (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0), 2 };
	desc[2] = (struct virtq_desc){ (uint64_t)(uintptr_t)&req_status, 1, VIRTQ_DESC_F_WRITE, 0 };
	virtio_mmio_vq_run(&b->vq, 0);
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
	struct blk dev = { 0 };
	uint64_t blocks = setup_device(&dev, cmdline);

	if (cmdline_u64(cmdline, "blocks", 0) && cmdline_u64(cmdline, "blocks", 0) < blocks)
		blocks = cmdline_u64(cmdline, "blocks", 0);
	print("BLK-READY blocks=%llu\n", (unsigned long long)blocks);
	for (uint64_t r = 1;; r++) {
		for (uint64_t b = 0; b < blocks; b++) {
			for (uint64_t i = 0; i < WORDS; i++)
				data[i] = pattern(r, b, i);
			request(&dev, VIRTIO_BLK_T_OUT, b);
			for (uint64_t i = 0; i < WORDS; i++)
				data[i] = 0;
			request(&dev, VIRTIO_BLK_T_IN, b);
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
