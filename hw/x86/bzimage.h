/*
 * Linux bzImage, entered at its 64-bit entry point (boot protocol >= 2.12,
 * XLF_KERNEL_64), as Documentation/x86/boot.rst describes.
 *
 * File layout: the real-mode setup (boot sector + setup_sects sectors, the
 * setup header at 0x1f1) followed by the protected-mode kernel, which Tern
 * loads at LAYOUT_HIMEM.  Header fields used (offsets in the file and in
 * struct boot_params alike):
 *   0x1f1 u8 setup_sects (0 means 4)   0x1fe u16 boot_flag 0xaa55
 *   0x201 u8 jump offset: header ends at 0x202 + this
 *   0x202 "HdrS"   0x206 u16 version   0x210 u8 type_of_loader
 *   0x211 u8 loadflags (bit 0 LOADED_HIGH)   0x218 u32 ramdisk_image
 *   0x21c u32 ramdisk_size   0x228 u32 cmd_line_ptr
 *   0x22c u32 initrd_addr_max   0x230 u32 kernel_alignment
 *   0x234 u8 relocatable_kernel   0x236 u16 xloadflags (bit 0 XLF_KERNEL_64)
 *   0x238 u32 cmdline_size   0x258 u64 pref_address   0x260 u32 init_size
 * boot_params: 0x1e8 u8 e820_entries, 0x2d0 e820_table[128] of
 *   { u64 addr; u64 size; u32 type } packed (20 bytes each).
 */
#ifndef HW_X86_BZIMAGE_H
#define HW_X86_BZIMAGE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/x86/e820.h"

#define BZIMAGE_MIN_VERSION 0x020c

struct bzimage_info {
    uint16_t version;
    uint64_t setup_size;    /* bytes before the protected-mode kernel */
    uint64_t kernel_size;   /* protected-mode kernel bytes in the file */
    uint32_t initrd_addr_max;
    uint32_t cmdline_size;  /* max command line length, without the NUL */
    uint32_t init_size;     /* memory the kernel needs from where it runs */
    uint32_t kernel_alignment;
    uint8_t relocatable;
    uint64_t pref_address;  /* where a non-relocatable kernel runs */
    unsigned header_end;    /* offset just past the setup header */
};

/* Does the file look like a Linux kernel at all ("HdrS" at 0x202)? */
bool bzimage_is_linux(const uint8_t *buf, size_t len);

/* Check the header; too-old protocols and kernels without a 64-bit entry are
 * refused with a message saying so. */
bool bzimage_parse(const uint8_t *buf, size_t len, struct bzimage_info *info, GError **errp);

/* First byte above everything the kernel uses while it decompresses and
 * runs, when its file image is loaded at @load_addr. */
uint64_t bzimage_runtime_end(const struct bzimage_info *info, uint64_t load_addr);

/* Fill the 4 KiB zero page for a kernel whose file starts with @buf. */
void bzimage_build_zero_page(uint8_t *zp, const uint8_t *buf, const struct bzimage_info *info,
                             uint64_t cmdline_paddr, uint64_t initrd_paddr, uint64_t initrd_size,
                             const struct e820_entry *map, unsigned nmap);

#endif
