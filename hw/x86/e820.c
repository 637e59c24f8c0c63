#include "hw/x86/e820.h"

#include <string.h>

#include "hw/x86/layout.h"

unsigned e820_ram_layout(uint64_t ram_size, struct ram_range out[MEMORY_MAX_RANGES])
{
    memset(out, 0, sizeof(struct ram_range) * MEMORY_MAX_RANGES);
    if (ram_size <= LAYOUT_LOWMEM_MAX) {
        out[0].gpa = 0;
        out[0].size = ram_size;
        return 1;
    }
    out[0].gpa = 0;
    out[0].size = LAYOUT_LOWMEM_MAX;
    out[1].gpa = LAYOUT_4G;
    out[1].size = ram_size - LAYOUT_LOWMEM_MAX;
    return 2;
}

static unsigned e820_add(struct e820_entry *out, unsigned n, uint64_t addr, uint64_t end,
                         uint32_t type)
{
    if (end > addr && n < E820_MAX_ENTRIES)
        out[n++] = (struct e820_entry){ addr, end - addr, type };
    return n;
}

unsigned e820_build(const struct ram_range *ranges, unsigned nranges,
                    struct e820_entry out[E820_MAX_ENTRIES])
{
    unsigned n = 0;

    for (unsigned i = 0; i < nranges; i++) {
        uint64_t start = ranges[i].gpa, end = ranges[i].gpa + ranges[i].size;

        if (start < LAYOUT_HIMEM) {
            /* base memory up to the EBDA, then the reserved BIOS areas */
            n = e820_add(out, n, start, end < LAYOUT_EBDA ? end : LAYOUT_EBDA, E820_RAM);
            n = e820_add(out, n, LAYOUT_EBDA, LAYOUT_VGA, E820_RESERVED);
            n = e820_add(out, n, LAYOUT_MPTABLE, LAYOUT_HIMEM, E820_RESERVED);
            start = LAYOUT_HIMEM;
        }
        n = e820_add(out, n, start, end, E820_RAM);
        if (end <= LAYOUT_LOWMEM_MAX && (i + 1 == nranges || ranges[i + 1].gpa >= LAYOUT_4G))
            n = e820_add(out, n, LAYOUT_KVM_IDENTITY_MAP, LAYOUT_KVM_TSS + 3 * 0x1000,
                         E820_RESERVED);
    }
    return n;
}
