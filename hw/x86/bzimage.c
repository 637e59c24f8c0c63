#include "hw/x86/bzimage.h"

#include <string.h>

#include "util/error.h"
#include "util/le.h"

enum {
    BZ_SETUP_SECTS = 0x1f1, BZ_VID_MODE = 0x1fa, BZ_BOOT_FLAG = 0x1fe, BZ_JUMP = 0x200,
    BZ_HEADER = 0x202, BZ_VERSION = 0x206, BZ_TYPE_OF_LOADER = 0x210, BZ_LOADFLAGS = 0x211,
    BZ_RAMDISK_IMAGE = 0x218, BZ_RAMDISK_SIZE = 0x21c, BZ_CMD_LINE_PTR = 0x228,
    BZ_INITRD_ADDR_MAX = 0x22c, BZ_XLOADFLAGS = 0x236, BZ_CMDLINE_SIZE = 0x238,
    BZ_INIT_SIZE = 0x260, BZ_E820_ENTRIES = 0x1e8, BZ_E820_TABLE = 0x2d0,
    BZ_KERNEL_ALIGNMENT = 0x230, BZ_RELOCATABLE = 0x234, BZ_PREF_ADDRESS = 0x258,
    BZ_EXT_RAMDISK_IMAGE = 0x0c0, BZ_EXT_RAMDISK_SIZE = 0x0c4, BZ_EXT_CMD_LINE_PTR = 0x0c8,
    LOADED_HIGH = 0x01, XLF_KERNEL_64 = 0x01, BZ_E820_MAX = 128,
};


bool bzimage_is_linux(const uint8_t *buf, size_t len)
{
    return len >= BZ_HEADER + 4 && !memcmp(buf + BZ_HEADER, "HdrS", 4);
}

bool bzimage_parse(const uint8_t *buf, size_t len, struct bzimage_info *info, GError **errp)
{
    unsigned sects;

    memset(info, 0, sizeof(*info));
    if (!bzimage_is_linux(buf, len)) {
        error_setg(errp, "not a Linux bzImage (no \"HdrS\" header at 0x202)");
        return false;
    }
    if (len < BZ_VERSION + 2) {
        error_setg(errp, "truncated bzImage header");
        return false;
    }
    info->version = le16_get(buf + BZ_VERSION);
    if (info->version < BZIMAGE_MIN_VERSION) {
        error_setg(errp, "Linux boot protocol %u.%02u is too old (Tern needs 2.12 or later)",
                   info->version >> 8, info->version & 0xff);
        return false;
    }
    if (len < 0x270) {
        error_setg(errp, "truncated bzImage header");
        return false;
    }
    if (!(buf[BZ_LOADFLAGS] & LOADED_HIGH)) {
        error_setg(errp, "not a bzImage (zImage kernels are not supported)");
        return false;
    }
    if (!(le16_get(buf + BZ_XLOADFLAGS) & XLF_KERNEL_64)) {
        error_setg(errp, "kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
        return false;
    }
    sects = buf[BZ_SETUP_SECTS] ? buf[BZ_SETUP_SECTS] : 4;
    info->setup_size = (uint64_t)(sects + 1) * 512;
    if (info->setup_size >= len) {
        error_setg(errp, "bzImage is truncated (setup of %" G_GUINT64_FORMAT " bytes, file of "
                         "%zu)",
                   info->setup_size, len);
        return false;
    }
    info->kernel_size = len - info->setup_size;
    info->header_end = MIN((unsigned)BZ_HEADER + buf[BZ_JUMP + 1], 0x290u);
    info->initrd_addr_max = le32_get(buf + BZ_INITRD_ADDR_MAX);
    info->cmdline_size = le32_get(buf + BZ_CMDLINE_SIZE);
    info->init_size = le32_get(buf + BZ_INIT_SIZE);
    info->kernel_alignment = le32_get(buf + BZ_KERNEL_ALIGNMENT);
    info->relocatable = buf[BZ_RELOCATABLE];
    info->pref_address = le64_get(buf + BZ_PREF_ADDRESS);
    return true;
}

void bzimage_build_zero_page(uint8_t *zp, const uint8_t *buf, const struct bzimage_info *info,
                             uint64_t cmdline_paddr, uint64_t initrd_paddr, uint64_t initrd_size,
                             const struct e820_entry *map, unsigned nmap)
{
    memset(zp, 0, 4096);
    memcpy(zp + BZ_SETUP_SECTS, buf + BZ_SETUP_SECTS, info->header_end - BZ_SETUP_SECTS);
    le16_put(zp + BZ_VID_MODE, 0xffff); /* "normal" */
    zp[BZ_TYPE_OF_LOADER] = 0xff;    /* undefined loader */
    le32_put(zp + BZ_CMD_LINE_PTR, cmdline_paddr);
    le32_put(zp + BZ_EXT_CMD_LINE_PTR, cmdline_paddr >> 32);
    le32_put(zp + BZ_RAMDISK_IMAGE, initrd_paddr);
    le32_put(zp + BZ_RAMDISK_SIZE, initrd_size);
    le32_put(zp + BZ_EXT_RAMDISK_IMAGE, initrd_paddr >> 32);
    le32_put(zp + BZ_EXT_RAMDISK_SIZE, initrd_size >> 32);
    nmap = MIN(nmap, (unsigned)BZ_E820_MAX);
    zp[BZ_E820_ENTRIES] = nmap;
    for (unsigned i = 0; i < nmap; i++) {
        uint8_t *e = zp + BZ_E820_TABLE + 20 * i;
        le64_put(e, map[i].addr);
        le64_put(e + 8, map[i].size);
        le32_put(e + 16, map[i].type);
    }
}

uint64_t bzimage_runtime_end(const struct bzimage_info *info, uint64_t load_addr)
{
    uint64_t start = load_addr, align = info->kernel_alignment;

    /* boot.rst: a relocatable kernel runs at its load address rounded up to
     * kernel_alignment, but not below pref_address (LOAD_PHYSICAL_ADDR);
     * otherwise it moves itself to pref_address.  It then needs init_size
     * bytes from there, and the file image stays where it was loaded. */
    if (info->relocatable && align && !(align & (align - 1)))
        start = MAX((load_addr + align - 1) & ~(align - 1), info->pref_address);
    else if (info->pref_address)
        start = info->pref_address;
    return MAX(load_addr + info->kernel_size, start + info->init_size);
}
