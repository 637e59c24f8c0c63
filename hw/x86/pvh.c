#include "hw/x86/pvh.h"

#include <string.h>

#include "hw/x86/layout.h"
#include "util/error.h"
#include "util/le.h"

enum {
    EI_CLASS = 4, EI_DATA = 5, ELFCLASS32 = 1, ELFCLASS64 = 2, ELFDATA2LSB = 1,
    EM_386 = 3, EM_X86_64 = 62, PT_LOAD = 1, PT_NOTE = 4,
};


/* The fields of a program header that matter here, for either class. */
struct pvh_phdr {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
};

static void pvh_read_phdr(const uint8_t *p, bool is64, struct pvh_phdr *ph)
{
    ph->type = le32_get(p);
    if (is64) {
        ph->offset = le64_get(p + 8);
        ph->paddr = le64_get(p + 24);
        ph->filesz = le64_get(p + 32);
        ph->memsz = le64_get(p + 40);
    } else {
        ph->offset = le32_get(p + 4);
        ph->paddr = le32_get(p + 12);
        ph->filesz = le32_get(p + 16);
        ph->memsz = le32_get(p + 20);
    }
}

bool pvh_is_elf(const uint8_t *buf, size_t len)
{
    return len >= 4 && !memcmp(buf, "\x7f" "ELF", 4);
}

/* Walk the notes in [p, p + len); set *entry when the PVH note is found. */
static bool pvh_scan_notes(const uint8_t *p, uint64_t len, uint32_t *entry, bool *found,
                           GError **errp)
{
    uint64_t off = 0;

    while (len - off >= 12) {
        uint32_t namesz = le32_get(p + off), descsz = le32_get(p + off + 4), type = le32_get(p + off + 8);
        uint64_t name_off = off + 12;
        uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
        uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);

        if (desc_off > len || next > len || desc_off + descsz > len) {
            error_setg(errp, "ELF note extends past its segment");
            return false;
        }
        if (namesz == 4 && !memcmp(p + name_off, "Xen", 4) &&
            type == XEN_ELFNOTE_PHYS32_ENTRY) {
            if (descsz != 4 && descsz != 8) {
                error_setg(errp, "PVH entry note has a %u-byte descriptor", descsz);
                return false;
            }
            *entry = descsz == 4 ? le32_get(p + desc_off) : (uint32_t)le64_get(p + desc_off);
            *found = true;
        }
        off = next;
    }
    return true;
}

static bool pvh_parse_header(const uint8_t *buf, size_t len, bool *is64, uint64_t *phoff,
                             unsigned *phnum, unsigned *phentsize, GError **errp)
{
    uint16_t machine;

    if (!pvh_is_elf(buf, len) || len < 52) {
        error_setg(errp, "not an ELF file");
        return false;
    }
    if (buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64) {
        error_setg(errp, "unknown ELF class %u", buf[EI_CLASS]);
        return false;
    }
    *is64 = buf[EI_CLASS] == ELFCLASS64;
    if (buf[EI_DATA] != ELFDATA2LSB) {
        error_setg(errp, "ELF file is not little-endian");
        return false;
    }
    if (*is64 && len < 64) {
        error_setg(errp, "truncated ELF header");
        return false;
    }
    machine = le16_get(buf + 18);
    if (machine != EM_X86_64 && machine != EM_386) {
        error_setg(errp, "ELF file is for machine %u, not x86", machine);
        return false;
    }
    *phoff = *is64 ? le64_get(buf + 32) : le32_get(buf + 28);
    *phentsize = le16_get(buf + (*is64 ? 54 : 42));
    *phnum = le16_get(buf + (*is64 ? 56 : 44));
    if (*phentsize < (*is64 ? 56u : 32u) || *phnum == 0 || *phoff > len ||
        (uint64_t)*phnum * *phentsize > len - *phoff) {
        error_setg(errp, "ELF program headers are missing or truncated");
        return false;
    }
    return true;
}

static bool pvh_add_segment(struct pvh_image *img, const struct pvh_phdr *ph, size_t len,
                            GError **errp)
{
    if (ph->offset > len || ph->filesz > len - ph->offset) {
        error_setg(errp, "ELF segment at offset 0x%" G_GINT64_MODIFIER "x runs past the end "
                         "of the file",
                   ph->offset);
        return false;
    }
    if (ph->filesz > ph->memsz || ph->paddr + ph->memsz < ph->paddr ||
        ph->paddr + ph->memsz > LAYOUT_4G) {
        error_setg(errp, "ELF segment at 0x%" G_GINT64_MODIFIER "x has invalid sizes",
                   ph->paddr);
        return false;
    }
    if (img->nsegs == PVH_MAX_SEGMENTS) {
        error_setg(errp, "too many ELF segments (max %d)", PVH_MAX_SEGMENTS);
        return false;
    }
    img->segs[img->nsegs++] = (struct pvh_segment){ ph->paddr, ph->offset, ph->filesz,
                                                    ph->memsz };
    img->low = MIN(img->low, ph->paddr);
    img->high = MAX(img->high, ph->paddr + ph->memsz);
    return true;
}

bool pvh_parse(const uint8_t *buf, size_t len, struct pvh_image *img, GError **errp)
{
    uint64_t phoff;
    unsigned phnum, phentsize;
    bool is64, found = false;

    memset(img, 0, sizeof(*img));
    img->low = UINT64_MAX;
    if (!pvh_parse_header(buf, len, &is64, &phoff, &phnum, &phentsize, errp))
        return false;
    for (unsigned i = 0; i < phnum; i++) {
        struct pvh_phdr ph;

        pvh_read_phdr(buf + phoff + (uint64_t)i * phentsize, is64, &ph);
        if (ph.type == PT_LOAD && ph.memsz) {
            if (!pvh_add_segment(img, &ph, len, errp))
                return false;
        } else if (ph.type == PT_NOTE) {
            if (ph.offset > len || ph.filesz > len - ph.offset) {
                error_setg(errp, "ELF note segment runs past the end of the file");
                return false;
            }
            if (!pvh_scan_notes(buf + ph.offset, ph.filesz, &img->entry, &found, errp))
                return false;
        }
    }
    if (!img->nsegs) {
        error_setg(errp, "ELF file has no loadable segments");
        return false;
    }
    if (!found) {
        error_setg(errp, "ELF file has no PVH entry note (Xen note type 18); Tern boots PVH "
                         "ELF kernels and bzImages");
        return false;
    }
    if (img->low < LAYOUT_HIMEM) {
        error_setg(errp, "ELF segment at 0x%" G_GINT64_MODIFIER "x is below 1 MiB, where the "
                         "machine keeps its boot data",
                   img->low);
        return false;
    }
    if (img->entry < img->low || img->entry >= img->high) {
        error_setg(errp, "PVH entry 0x%x lies outside the loaded segments", img->entry);
        return false;
    }
    return true;
}

void pvh_build_start_info(uint8_t *out, const struct e820_entry *map, unsigned nmap,
                          uint64_t cmdline_paddr, uint64_t initrd_paddr, uint64_t initrd_size)
{
    uint8_t *mod = out + (LAYOUT_PVH_MODLIST - LAYOUT_PVH_INFO);
    uint8_t *mm = out + (LAYOUT_PVH_MEMMAP - LAYOUT_PVH_INFO);

    nmap = MIN(nmap, LAYOUT_PVH_MEMMAP_MAX);
    memset(out, 0, 0x1000);
    le32_put(out + 0, PVH_START_MAGIC);
    le32_put(out + 4, 1);
    le32_put(out + 12, initrd_size ? 1 : 0);
    le64_put(out + 16, initrd_size ? LAYOUT_PVH_MODLIST : 0);
    le64_put(out + 24, cmdline_paddr);
    le64_put(out + 40, LAYOUT_PVH_MEMMAP);
    le32_put(out + 48, nmap);
    if (initrd_size) {
        le64_put(mod + 0, initrd_paddr);
        le64_put(mod + 8, initrd_size);
    }
    for (unsigned i = 0; i < nmap; i++) {
        le64_put(mm + 24 * i + 0, map[i].addr);
        le64_put(mm + 24 * i + 8, map[i].size);
        le32_put(mm + 24 * i + 16, map[i].type);
    }
}
