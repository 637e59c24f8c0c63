/*
 * The guest's RAM layout and the memory map it is told about (e820 for
 * Linux's zero page, the same entries for PVH's hvm_memmap_table).
 */
#ifndef HW_X86_E820_H
#define HW_X86_E820_H

#include <stdint.h>

#include "system/memory.h"

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX_ENTRIES 16

struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

/*
 * Place @ram_size bytes of RAM: all below the PCI hole when it fits under
 * LAYOUT_LOWMEM_MAX, otherwise split with the rest at 4 GiB.  Returns the
 * number of ranges written to @out (1 or 2).
 */
unsigned e820_ram_layout(uint64_t ram_size, struct ram_range out[MEMORY_MAX_RANGES]);

/* The memory map for @ranges: RAM minus the EBDA/BIOS areas, plus reserved
 * entries for them and for KVM's TSS pages.  Sorted by address. */
unsigned e820_build(const struct ram_range *ranges, unsigned nranges,
                    struct e820_entry out[E820_MAX_ENTRIES]);

#endif
