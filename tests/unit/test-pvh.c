/* hw/x86/pvh.c: ELF + PVH note parsing on synthetic files, start info. */
#include <glib.h>
#include <string.h>

#include "hw/x86/layout.h"
#include "hw/x86/pvh.h"
#include "util/le.h"


/* ELF64: header, 2 phdrs (LOAD at 1 MiB, NOTE), note, 0x100 bytes of code. */
enum { PH = 64, NOTE = 64 + 2 * 56, CODE = 0x100, FILE_SIZE = 0x200 };

static void make_elf64(uint8_t *f, uint32_t entry)
{
    memset(f, 0, FILE_SIZE);
    memcpy(f, "\x7f" "ELF", 4);
    f[4] = 2; /* ELFCLASS64 */
    f[5] = 1; /* little-endian */
    f[6] = 1;
    le16_put(f + 16, 2);  /* ET_EXEC */
    le16_put(f + 18, 62); /* x86-64 */
    le64_put(f + 24, 0x100000);
    le64_put(f + 32, PH);
    le16_put(f + 54, 56);
    le16_put(f + 56, 2);
    /* PT_LOAD: file [CODE, CODE+0x100) -> 0x100000, memsz 0x1000 (bss) */
    le32_put(f + PH, 1);
    le64_put(f + PH + 8, CODE);
    le64_put(f + PH + 24, 0x100000);
    le64_put(f + PH + 32, 0x100);
    le64_put(f + PH + 40, 0x1000);
    /* PT_NOTE */
    le32_put(f + PH + 56, 4);
    le64_put(f + PH + 56 + 8, NOTE);
    le64_put(f + PH + 56 + 32, 20);
    /* note: namesz 4, descsz 4, type 18, "Xen\0", entry */
    le32_put(f + NOTE, 4);
    le32_put(f + NOTE + 4, 4);
    le32_put(f + NOTE + 8, XEN_ELFNOTE_PHYS32_ENTRY);
    memcpy(f + NOTE + 12, "Xen", 4);
    le32_put(f + NOTE + 16, entry);
    memset(f + CODE, 0x90, 0x100);
}

static void test_elf64_ok(void)
{
    uint8_t f[FILE_SIZE];
    struct pvh_image img;
    g_autoptr(GError) err = NULL;

    make_elf64(f, 0x100010);
    g_assert_true(pvh_is_elf(f, sizeof(f)));
    g_assert_true(pvh_parse(f, sizeof(f), &img, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(img.entry, ==, 0x100010);
    g_assert_cmpuint(img.nsegs, ==, 1);
    g_assert_cmpuint(img.segs[0].paddr, ==, 0x100000);
    g_assert_cmpuint(img.segs[0].filesz, ==, 0x100);
    g_assert_cmpuint(img.segs[0].memsz, ==, 0x1000);
    g_assert_cmpuint(img.low, ==, 0x100000);
    g_assert_cmpuint(img.high, ==, 0x101000);
}

static void expect_error(const uint8_t *f, size_t len, const char *fragment)
{
    struct pvh_image img;
    g_autoptr(GError) err = NULL;

    g_assert_false(pvh_parse(f, len, &img, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, fragment))
        g_error("'%s' lacks '%s'", err->message, fragment);
}

static void test_elf_errors(void)
{
    uint8_t f[FILE_SIZE];

    make_elf64(f, 0x100010);
    le32_put(f + NOTE + 8, 17); /* a different Xen note */
    expect_error(f, sizeof(f), "no PVH entry note");

    make_elf64(f, 0x200000);
    expect_error(f, sizeof(f), "outside the loaded segments");

    make_elf64(f, 0x100010);
    le64_put(f + PH + 24, 0x1000); /* segment inside the boot data area */
    expect_error(f, sizeof(f), "below 1 MiB");

    make_elf64(f, 0x100010);
    le64_put(f + PH + 32, 0x10000); /* filesz beyond the file */
    expect_error(f, sizeof(f), "past the end");

    make_elf64(f, 0x100010);
    le64_put(f + PH + 8, 0);
    le64_put(f + PH + 32, 0x180); /* filesz > memsz */
    le64_put(f + PH + 40, 0x100);
    expect_error(f, sizeof(f), "invalid sizes");

    make_elf64(f, 0x100010);
    le32_put(f + NOTE + 4, 0x1000); /* descsz runs off the note segment */
    expect_error(f, sizeof(f), "note extends past");

    make_elf64(f, 0x100010);
    le16_put(f + 18, 40); /* ARM */
    expect_error(f, sizeof(f), "not x86");

    make_elf64(f, 0x100010);
    le16_put(f + 56, 200); /* phnum beyond the file */
    expect_error(f, sizeof(f), "truncated");

    make_elf64(f, 0x100010);
    f[4] = 9;
    expect_error(f, sizeof(f), "ELF class");

    make_elf64(f, 0x100010);
    f[5] = 2;
    expect_error(f, sizeof(f), "little-endian");

    expect_error((const uint8_t *)"hello", 5, "not an ELF");
}

/* Every prefix of a valid file is refused cleanly (no crash, an error). */
static void test_truncation(void)
{
    uint8_t f[FILE_SIZE];

    make_elf64(f, 0x100010);
    for (size_t len = 0; len < CODE + 0x100; len++) {
        struct pvh_image img;
        g_autoptr(GError) err = NULL;

        g_assert_false(pvh_parse(f, len, &img, &err));
        g_assert_nonnull(err);
    }
}

static void test_elf32(void)
{
    uint8_t f[0x200] = { 0 };
    struct pvh_image img;
    g_autoptr(GError) err = NULL;

    memcpy(f, "\x7f" "ELF", 4);
    f[4] = 1;
    f[5] = 1;
    le16_put(f + 18, 3); /* i386 */
    le32_put(f + 28, 52);
    le16_put(f + 42, 32);
    le16_put(f + 44, 2);
    le32_put(f + 52, 1); /* PT_LOAD */
    le32_put(f + 52 + 4, 0x100);
    le32_put(f + 52 + 12, 0x200000);
    le32_put(f + 52 + 16, 0x80);
    le32_put(f + 52 + 20, 0x80);
    le32_put(f + 84, 4); /* PT_NOTE */
    le32_put(f + 84 + 4, 0xa0);
    le32_put(f + 84 + 16, 20);
    le32_put(f + 0xa0, 4);
    le32_put(f + 0xa4, 4);
    le32_put(f + 0xa8, 18);
    memcpy(f + 0xac, "Xen", 4);
    le32_put(f + 0xb0, 0x200004);
    g_assert_true(pvh_parse(f, sizeof(f), &img, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(img.entry, ==, 0x200004);
}

static void test_start_info(void)
{
    uint8_t page[4096];
    struct e820_entry map[2] = { { 0, 0x9fc00, 1 }, { 0x100000, 0x7f00000, 1 } };
    const uint8_t *mod = page + (LAYOUT_PVH_MODLIST - LAYOUT_PVH_INFO);
    const uint8_t *mm = page + (LAYOUT_PVH_MEMMAP - LAYOUT_PVH_INFO);

    pvh_build_start_info(page, map, 2, LAYOUT_CMDLINE, 0x7000000, 0x12345);
    g_assert_cmpuint(le32_get(page), ==, PVH_START_MAGIC);
    g_assert_cmpuint(le32_get(page + 4), ==, 1);
    g_assert_cmpuint(le32_get(page + 12), ==, 1);
    g_assert_cmpuint(le64_get(page + 16), ==, LAYOUT_PVH_MODLIST);
    g_assert_cmpuint(le64_get(page + 24), ==, LAYOUT_CMDLINE);
    g_assert_cmpuint(le64_get(page + 40), ==, LAYOUT_PVH_MEMMAP);
    g_assert_cmpuint(le32_get(page + 48), ==, 2);
    g_assert_cmpuint(le64_get(mod), ==, 0x7000000);
    g_assert_cmpuint(le64_get(mod + 8), ==, 0x12345);
    g_assert_cmpuint(le64_get(mm + 24), ==, 0x100000);
    g_assert_cmpuint(le64_get(mm + 32), ==, 0x7f00000);
    g_assert_cmpuint(le32_get(mm + 40), ==, 1);

    pvh_build_start_info(page, map, 2, LAYOUT_CMDLINE, 0, 0);
    g_assert_cmpuint(le32_get(page + 12), ==, 0);
    g_assert_cmpuint(le64_get(page + 16), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pvh/elf64", test_elf64_ok);
    g_test_add_func("/pvh/elf32", test_elf32);
    g_test_add_func("/pvh/errors", test_elf_errors);
    g_test_add_func("/pvh/truncation", test_truncation);
    g_test_add_func("/pvh/start-info", test_start_info);
    return g_test_run();
}
