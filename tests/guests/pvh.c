/*
 * Reading struct hvm_start_info defensively: the guests run under QEMU
 * and under a VMM that is still being written, so a bad magic, an old
 * version or a table above 4 GiB (unmapped) means "not provided" rather
 * than a fault.
 */
#include "pvh.h"

#include <stddef.h>

#include "phys.h"

#define PVH_MAPPED_LIMIT (4ull << 30)

static bool pvh_valid(const struct hvm_start_info *si)
{
	return si && si->magic == PVH_START_MAGIC;
}

static const struct hvm_memmap_table_entry *
pvh_memmap(const struct hvm_start_info *si, uint32_t *entries)
{
	*entries = 0;
	if (!pvh_valid(si) || si->version < 1 || !si->memmap_paddr ||
	    si->memmap_paddr >= PVH_MAPPED_LIMIT)
		return NULL;
	*entries = si->memmap_entries;
	return phys_ptr(si->memmap_paddr);
}

const char *pvh_cmdline(const struct hvm_start_info *si)
{
	if (!pvh_valid(si) || !si->cmdline_paddr ||
	    si->cmdline_paddr >= PVH_MAPPED_LIMIT)
		return "";
	return phys_ptr(si->cmdline_paddr);
}

uint64_t pvh_ram_end(const struct hvm_start_info *si, uint64_t addr)
{
	uint32_t n;
	const struct hvm_memmap_table_entry *e = pvh_memmap(si, &n);

	for (uint32_t i = 0; i < n; i++) {
		if (e[i].type == PVH_MEMMAP_TYPE_RAM && e[i].addr <= addr &&
		    addr - e[i].addr < e[i].size)
			return e[i].addr + e[i].size;
	}
	return 0;
}

uint64_t pvh_ram_bytes(const struct hvm_start_info *si)
{
	uint32_t n;
	const struct hvm_memmap_table_entry *e = pvh_memmap(si, &n);
	uint64_t total = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (e[i].type == PVH_MEMMAP_TYPE_RAM)
			total += e[i].size;
	}
	return total;
}
