/*
 * Direct kernel boot: read the -kernel / -initrd files once, recognise the
 * kernel (PVH ELF or Linux bzImage), and install everything the kernel needs
 * into guest RAM: the image, the initrd at the top of low RAM, the command
 * line, the memory map (PVH start info or Linux zero page), the MP table, the
 * boot GDT and page tables.  boot_install() runs again on every system reset,
 * from the copies kept in struct boot_image, as QEMU re-runs its option ROM.
 */
#ifndef HW_X86_BOOT_H
#define HW_X86_BOOT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/x86/bzimage.h"
#include "hw/x86/pvh.h"
#include "system/memory.h"

enum boot_mode {
    BOOT_PVH,     /* 32-bit entry, %ebx = hvm_start_info */
    BOOT_LINUX64, /* 64-bit entry, %rsi = boot_params */
};

/* What the boot vCPU needs to start the kernel. */
struct boot_entry {
    enum boot_mode mode;
    uint64_t entry;
    uint64_t arg;
};

struct boot_image {
    enum boot_mode mode;
    GBytes *kernel;
    GBytes *initrd; /* NULL without -initrd */
    char *cmdline;
    unsigned ncpus;
    struct pvh_image pvh;
    struct bzimage_info bz;
};

/* Read and check the files.  Messages start with the option and file name:
 * "-kernel FILE: not an ELF (PVH) or bzImage kernel". */
bool boot_image_load(struct boot_image *img, const char *kernel, const char *initrd,
                     const char *cmdline, unsigned ncpus, GError **errp);
void boot_image_clear(struct boot_image *img);

/* Write the boot data into @mem and say where the boot vCPU starts. */
bool boot_install(const struct boot_image *img, const struct guest_memory *mem,
                  struct boot_entry *entry, GError **errp);

#endif
