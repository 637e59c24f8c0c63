/*
 * ELF kernels entered through Xen's PVH boot ABI, as Linux's vmlinux and
 * Tern's test guests are.
 *
 * The image carries an ELF note, name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY
 * (18), whose descriptor is the 32-bit physical entry address.  The VMM loads
 * every PT_LOAD segment at its p_paddr, writes struct hvm_start_info (below)
 * and enters the entry point in 32-bit protected mode, paging off, with %ebx
 * holding the start info's physical address.
 *
 * struct hvm_start_info (version 1), little-endian, at LAYOUT_PVH_INFO:
 *   0  u32 magic 0x336ec578      4  u32 version (1)
 *   8  u32 flags                12  u32 nr_modules
 *  16  u64 modlist_paddr        24  u64 cmdline_paddr (NUL-terminated)
 *  32  u64 rsdp_paddr (0)       40  u64 memmap_paddr
 *  48  u32 memmap_entries       52  u32 reserved
 * module: { u64 paddr; u64 size; u64 cmdline_paddr; u64 reserved; }
 * memmap: { u64 addr; u64 size; u32 type; u32 reserved; }  (e820 types)
 */
#ifndef HW_X86_PVH_H
#define HW_X86_PVH_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/x86/e820.h"

#define PVH_MAX_SEGMENTS 16
#define PVH_START_MAGIC 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct pvh_segment {
    uint64_t paddr;
    uint64_t offset; /* in the file */
    uint64_t filesz;
    uint64_t memsz;
};

struct pvh_image {
    uint32_t entry; /* from the PVH note */
    unsigned nsegs;
    struct pvh_segment segs[PVH_MAX_SEGMENTS];
    uint64_t low, high; /* physical extent of all segments */
};

/* Does @buf start with the ELF magic? */
bool pvh_is_elf(const uint8_t *buf, size_t len);

/*
 * Validate an ELF32/ELF64 x86 image and find its PVH entry.  Every offset
 * and size is checked against @len; errors say what is wrong with the file.
 */
bool pvh_parse(const uint8_t *buf, size_t len, struct pvh_image *img, GError **errp);

/* Serialise struct hvm_start_info + module + memmap into @out (>= 0x1000
 * bytes, to be placed at LAYOUT_PVH_INFO).  @initrd_size 0: no module. */
void pvh_build_start_info(uint8_t *out, const struct e820_entry *map, unsigned nmap,
                          uint64_t cmdline_paddr, uint64_t initrd_paddr, uint64_t initrd_size);

#endif
