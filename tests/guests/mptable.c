#include "mptable.h"

#include <stddef.h>

#include "mem.h"
#include "phys.h"

#define MPTABLE_BDA_EBDA_SEG 0x40e
#define MPTABLE_FP_SIZE 16
#define MPTABLE_CONFIG_HEADER_SIZE 44
#define MPTABLE_ENTRY_PROCESSOR 0
#define MPTABLE_PROCESSOR_SIZE 20
#define MPTABLE_OTHER_ENTRY_SIZE 8
#define MPTABLE_LAST_KNOWN_TYPE 4
#define MPTABLE_CPU_ENABLED 0x01
#define MPTABLE_CPU_BSP 0x02

static uint16_t mptable_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t mptable_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static bool mptable_checksum_ok(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

static const uint8_t *mptable_scan(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a + MPTABLE_FP_SIZE <= end; a += 16) {
		const uint8_t *p = phys_ptr(a);

		if (!memcmp(p, "_MP_", 4) && p[8] == 1 &&
		    mptable_checksum_ok(p, MPTABLE_FP_SIZE))
			return p;
	}
	return NULL;
}

static const uint8_t *mptable_find_fp(void)
{
	uint16_t ebda = *(const uint16_t *)phys_ptr(MPTABLE_BDA_EBDA_SEG);
	const uint8_t *fp = NULL;

	if (ebda)
		fp = mptable_scan((uint64_t)ebda << 4, ((uint64_t)ebda << 4) + 1024);
	if (!fp)
		fp = mptable_scan(0x9fc00, 0xa0000);
	if (!fp)
		fp = mptable_scan(0xf0000, 0x100000);
	return fp;
}

bool mptable_find(struct mptable *mp)
{
	const uint8_t *fp = mptable_find_fp();
	const uint8_t *cfg;
	uint32_t addr;

	mp->config = NULL;
	if (!fp || fp[11] != 0)
		return false;
	addr = mptable_le32(fp + 4);
	if (!addr)
		return false;
	cfg = phys_ptr(addr);
	if (memcmp(cfg, "PCMP", 4) ||
	    mptable_le16(cfg + 4) < MPTABLE_CONFIG_HEADER_SIZE ||
	    !mptable_checksum_ok(cfg, mptable_le16(cfg + 4)))
		return false;
	mp->config = cfg;
	return true;
}

unsigned mptable_cpus(const struct mptable *mp, struct mptable_cpu *cpus,
		      unsigned max)
{
	const uint8_t *p = mp->config + MPTABLE_CONFIG_HEADER_SIZE;
	const uint8_t *end = mp->config + mptable_le16(mp->config + 4);
	unsigned count = mptable_le16(mp->config + 34);
	unsigned n = 0;

	/* Stop at the table's end or at an entry type we cannot size. */
	for (unsigned i = 0; i < count && p < end; i++) {
		if (p[0] > MPTABLE_LAST_KNOWN_TYPE)
			break;
		if (p[0] != MPTABLE_ENTRY_PROCESSOR) {
			p += MPTABLE_OTHER_ENTRY_SIZE;
			continue;
		}
		if (p[3] & MPTABLE_CPU_ENABLED) {
			if (n < max) {
				cpus[n].apic_id = p[1];
				cpus[n].bsp = p[3] & MPTABLE_CPU_BSP;
			}
			n++;
		}
		p += MPTABLE_PROCESSOR_SIZE;
	}
	return n;
}
