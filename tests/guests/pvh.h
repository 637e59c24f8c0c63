/*
 * The Xen PVH boot ABI as far as the guests use it.
 *
 * The VMM enters the image at the address in the XEN_ELFNOTE_PHYS32_ENTRY
 * note in 32-bit protected mode, paging off, with %ebx pointing at
 * struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h).
 * Version 0 has no memory map; version 1 adds memmap_paddr and
 * memmap_entries.  The guests only dereference what lies below 4 GiB,
 * because that is all the entry stub maps.
 */
#ifndef PVH_H
#define PVH_H

#include <stdbool.h>
#include <stdint.h>

#define PVH_START_MAGIC 0x336ec578u
#define PVH_MEMMAP_TYPE_RAM 1

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;	/* version >= 1 */
	uint32_t memmap_entries; /* version >= 1 */
	uint32_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap layout");

/* The command line, or "" when the VMM passed none (or no start_info). */
const char *pvh_cmdline(const struct hvm_start_info *si);

/*
 * End of the RAM region of the memory map that contains @addr, or 0 when
 * the VMM gave no usable memory map (start_info version 0) or @addr is
 * not in RAM.
 */
uint64_t pvh_ram_end(const struct hvm_start_info *si, uint64_t addr);

/* Total bytes of RAM in the memory map, or 0 when there is none. */
uint64_t pvh_ram_bytes(const struct hvm_start_info *si);

#endif
