#include "hw/x86/boot.h"

#include <string.h>

#include "hw/x86/cpu-setup.h"
#include "hw/x86/e820.h"
#include "hw/x86/layout.h"
#include "hw/x86/mptable.h"
#include "util/error.h"

static GBytes *boot_read_file(const char *opt, const char *path, GError **errp)
{
    g_autoptr(GError) err = NULL;
    char *data;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        error_setg(errp, "%s %s: %s", opt, path, err->message);
        return NULL;
    }
    return g_bytes_new_take(data, len);
}

static bool boot_parse_kernel(struct boot_image *img, const char *path, GError **errp)
{
    gsize len;
    const uint8_t *buf = g_bytes_get_data(img->kernel, &len);
    g_autoptr(GError) err = NULL;

    if (pvh_is_elf(buf, len)) {
        img->mode = BOOT_PVH;
        if (!pvh_parse(buf, len, &img->pvh, &err))
            goto fail;
    } else if (bzimage_is_linux(buf, len)) {
        img->mode = BOOT_LINUX64;
        if (!bzimage_parse(buf, len, &img->bz, &err))
            goto fail;
    } else {
        error_setg(errp, "-kernel %s: not a kernel Tern can boot (expected a PVH ELF or a "
                         "Linux bzImage)",
                   path);
        return false;
    }
    return true;
fail:
    error_setg(errp, "-kernel %s: %s", path, err->message);
    return false;
}

bool boot_image_load(struct boot_image *img, const char *kernel, const char *initrd,
                     const char *cmdline, unsigned ncpus, GError **errp)
{
    memset(img, 0, sizeof(*img));
    img->ncpus = ncpus;
    img->cmdline = g_strdup(cmdline ? cmdline : "");
    if (strlen(img->cmdline) >= LAYOUT_CMDLINE_MAX) {
        error_setg(errp, "-append: command line longer than %llu bytes", LAYOUT_CMDLINE_MAX - 1);
        goto fail;
    }
    img->kernel = boot_read_file("-kernel", kernel, errp);
    if (!img->kernel || !boot_parse_kernel(img, kernel, errp))
        goto fail;
    if (img->mode == BOOT_LINUX64 && img->bz.cmdline_size &&
        strlen(img->cmdline) > img->bz.cmdline_size) {
        error_setg(errp, "-append: command line of %zu bytes exceeds the kernel's limit of %u",
                   strlen(img->cmdline), img->bz.cmdline_size);
        goto fail;
    }
    if (initrd) {
        img->initrd = boot_read_file("-initrd", initrd, errp);
        if (!img->initrd)
            goto fail;
    }
    return true;
fail:
    boot_image_clear(img);
    return false;
}

void boot_image_clear(struct boot_image *img)
{
    if (img->kernel)
        g_bytes_unref(img->kernel);
    if (img->initrd)
        g_bytes_unref(img->initrd);
    g_free(img->cmdline);
    memset(img, 0, sizeof(*img));
}

static uint64_t boot_lowmem_end(const struct guest_memory *mem)
{
    return mem->ranges[0].gpa + mem->ranges[0].size;
}

/* Copy the kernel; returns the first byte above it. */
static bool boot_copy_kernel(const struct boot_image *img, const struct guest_memory *mem,
                             uint64_t *kernel_end, GError **errp)
{
    gsize len;
    const uint8_t *buf = g_bytes_get_data(img->kernel, &len);

    if (img->mode == BOOT_PVH) {
        for (unsigned i = 0; i < img->pvh.nsegs; i++) {
            const struct pvh_segment *s = &img->pvh.segs[i];
            uint8_t *dst = memory_gpa_to_hva(mem, s->paddr, s->memsz);

            if (!dst) {
                error_setg(errp, "kernel segment 0x%" G_GINT64_MODIFIER "x-0x%"
                                 G_GINT64_MODIFIER "x does not fit in guest RAM (-m too small?)",
                           s->paddr, s->paddr + s->memsz);
                return false;
            }
            memcpy(dst, buf + s->offset, s->filesz);
            memset(dst + s->filesz, 0, s->memsz - s->filesz);
        }
        *kernel_end = img->pvh.high;
        return true;
    }
    /* bzImage: the kernel decompresses itself where it will run, which may
     * be above where it is loaded; nothing else may live below that end. */
    uint64_t end = bzimage_runtime_end(&img->bz, LAYOUT_HIMEM);
    if (end > boot_lowmem_end(mem)) {
        error_setg(errp, "kernel needs RAM up to %" G_GUINT64_FORMAT " MiB; -m is too small",
                   (end + (1 << 20) - 1) >> 20);
        return false;
    }
    if (!memory_write(mem, LAYOUT_HIMEM, buf + img->bz.setup_size, img->bz.kernel_size, errp))
        return false;
    *kernel_end = end;
    return true;
}

/* Put the initrd as high as possible below 4 GiB (and the kernel's limit). */
static bool boot_copy_initrd(const struct boot_image *img, const struct guest_memory *mem,
                             uint64_t kernel_end, uint64_t *addr, uint64_t *size, GError **errp)
{
    gsize len;
    const uint8_t *buf;
    uint64_t top = boot_lowmem_end(mem);

    *addr = *size = 0;
    if (!img->initrd)
        return true;
    buf = g_bytes_get_data(img->initrd, &len);
    if (img->mode == BOOT_LINUX64 && img->bz.initrd_addr_max)
        top = MIN(top, (uint64_t)img->bz.initrd_addr_max + 1);
    if (len > top || ((top - len) & ~0xfffULL) < kernel_end) {
        error_setg(errp, "-initrd: %zu bytes do not fit in guest RAM above the kernel "
                         "(-m too small?)",
                   (size_t)len);
        return false;
    }
    *addr = (top - len) & ~0xfffULL;
    *size = len;
    return memory_write(mem, *addr, buf, len, errp);
}

static bool boot_write_tables(const struct boot_image *img, const struct guest_memory *mem,
                              GError **errp)
{
    uint64_t gdt[LAYOUT_GDT_ENTRIES];
    g_autofree uint8_t *pt = g_malloc(CPU_SETUP_PT_SIZE);
    g_autofree uint8_t *mp = g_malloc(mptable_size(img->ncpus));
    size_t mpsize = mptable_build(mp, LAYOUT_MPTABLE, img->ncpus);

    cpu_setup_gdt(gdt);
    cpu_setup_page_tables(pt);
    return memory_write(mem, LAYOUT_GDT, gdt, sizeof(gdt), errp) &&
           memory_write(mem, LAYOUT_PML4, pt, CPU_SETUP_PT_SIZE, errp) &&
           memory_write(mem, LAYOUT_MPTABLE, mp, mpsize, errp) &&
           memory_write(mem, LAYOUT_CMDLINE, img->cmdline, strlen(img->cmdline) + 1, errp);
}

bool boot_install(const struct boot_image *img, const struct guest_memory *mem,
                  struct boot_entry *entry, GError **errp)
{
    struct e820_entry map[E820_MAX_ENTRIES];
    unsigned nmap = e820_build(mem->ranges, mem->nranges, map);
    uint8_t page[4096];
    uint64_t kernel_end, initrd_addr, initrd_size;

    if (boot_lowmem_end(mem) < LAYOUT_HIMEM) {
        error_setg(errp, "guest RAM below 1 MiB is required");
        return false;
    }
    if (!boot_copy_kernel(img, mem, &kernel_end, errp) ||
        !boot_copy_initrd(img, mem, kernel_end, &initrd_addr, &initrd_size, errp) ||
        !boot_write_tables(img, mem, errp))
        return false;

    if (img->mode == BOOT_PVH) {
        pvh_build_start_info(page, map, nmap, LAYOUT_CMDLINE, initrd_addr, initrd_size);
        *entry = (struct boot_entry){ BOOT_PVH, img->pvh.entry, LAYOUT_PVH_INFO };
        return memory_write(mem, LAYOUT_PVH_INFO, page, sizeof(page), errp);
    }
    bzimage_build_zero_page(page, g_bytes_get_data(img->kernel, NULL), &img->bz, LAYOUT_CMDLINE,
                            initrd_addr, initrd_size, map, nmap);
    *entry = (struct boot_entry){ BOOT_LINUX64, LAYOUT_HIMEM + 0x200, LAYOUT_ZERO_PAGE };
    return memory_write(mem, LAYOUT_ZERO_PAGE, page, sizeof(page), errp);
}
