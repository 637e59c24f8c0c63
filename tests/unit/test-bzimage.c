/* hw/x86/bzimage.c: header checks on synthetic images and the zero page. */
#include <glib.h>
#include <string.h>

#include "hw/x86/bzimage.h"
#include "util/le.h"


enum { IMG_SIZE = 0x4000 };

static void make_bzimage(uint8_t *f, uint16_t version)
{
    memset(f, 0, IMG_SIZE);
    f[0x1f1] = 3; /* setup_sects: kernel at 0x800 */
    le16_put(f + 0x1fe, 0xaa55);
    f[0x201] = 0x6a; /* header ends at 0x26c */
    memcpy(f + 0x202, "HdrS", 4);
    le16_put(f + 0x206, version);
    f[0x211] = 0x01;               /* LOADED_HIGH */
    le32_put(f + 0x22c, 0x7fffffff);  /* initrd_addr_max */
    le16_put(f + 0x236, 0x0001);      /* XLF_KERNEL_64 */
    le32_put(f + 0x238, 2047);        /* cmdline_size */
    le32_put(f + 0x260, 0x800000);    /* init_size */
}

static void test_ok(void)
{
    uint8_t f[IMG_SIZE];
    struct bzimage_info info;
    g_autoptr(GError) err = NULL;

    make_bzimage(f, 0x020f);
    g_assert_true(bzimage_is_linux(f, sizeof(f)));
    g_assert_true(bzimage_parse(f, sizeof(f), &info, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(info.version, ==, 0x020f);
    g_assert_cmpuint(info.setup_size, ==, 4 * 512);
    g_assert_cmpuint(info.kernel_size, ==, IMG_SIZE - 4 * 512);
    g_assert_cmpuint(info.cmdline_size, ==, 2047);
    g_assert_cmpuint(info.init_size, ==, 0x800000);
    g_assert_cmpuint(info.header_end, ==, 0x26c);

    f[0x1f1] = 0; /* 0 means 4 */
    g_assert_true(bzimage_parse(f, sizeof(f), &info, &err));
    g_assert_cmpuint(info.setup_size, ==, 5 * 512);
}

static void expect_error(const uint8_t *f, size_t len, const char *fragment)
{
    struct bzimage_info info;
    g_autoptr(GError) err = NULL;

    g_assert_false(bzimage_parse(f, len, &info, &err));
    if (!strstr(err->message, fragment))
        g_error("'%s' lacks '%s'", err->message, fragment);
}

static void test_errors(void)
{
    uint8_t f[IMG_SIZE];

    make_bzimage(f, 0x020b);
    expect_error(f, sizeof(f), "boot protocol 2.11 is too old");
    make_bzimage(f, 0x020f);
    memcpy(f + 0x202, "HdrX", 4);
    expect_error(f, sizeof(f), "not a Linux bzImage");
    make_bzimage(f, 0x020f);
    le16_put(f + 0x236, 0);
    expect_error(f, sizeof(f), "no 64-bit entry point");
    make_bzimage(f, 0x020f);
    f[0x211] = 0;
    expect_error(f, sizeof(f), "zImage");
    make_bzimage(f, 0x020f);
    f[0x1f1] = 200;
    expect_error(f, sizeof(f), "truncated");
    make_bzimage(f, 0x020f);
    expect_error(f, 0x210, "truncated");
    expect_error(f, 0x100, "not a Linux bzImage");
}

static void test_zero_page(void)
{
    uint8_t f[IMG_SIZE], zp[4096];
    struct bzimage_info info;
    struct e820_entry map[3] = { { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 },
                                 { 0x100000, 0x3f00000, 1 } };
    g_autoptr(GError) err = NULL;

    make_bzimage(f, 0x020f);
    g_assert_true(bzimage_parse(f, sizeof(f), &info, &err));
    bzimage_build_zero_page(zp, f, &info, 0x20000, 0x3000000, 0x4567, map, 3);
    g_assert_cmpmem(zp + 0x202, 4, "HdrS", 4);   /* header copied */
    g_assert_cmpuint(zp[0x210], ==, 0xff);       /* type_of_loader */
    g_assert_cmpuint(le32_get(zp + 0x228), ==, 0x20000);
    g_assert_cmpuint(le32_get(zp + 0x218), ==, 0x3000000);
    g_assert_cmpuint(le32_get(zp + 0x21c), ==, 0x4567);
    g_assert_cmpuint(zp[0x1e8], ==, 3);
    g_assert_cmpuint(le32_get(zp + 0x2d0 + 2 * 20), ==, 0x100000);
    g_assert_cmpuint(le32_get(zp + 0x2d0 + 2 * 20 + 8), ==, 0x3f00000);
    g_assert_cmpuint(le32_get(zp + 0x2d0 + 20 + 16), ==, 2);
    /* bytes past the setup header stay zero */
    g_assert_cmpuint(zp[0x270], ==, 0);
}

/* Where the kernel really ends: boot.rst's runtime start + init_size. */
static void test_runtime_end(void)
{
    struct bzimage_info info = { .kernel_size = 0x400000, .init_size = 0xfd5000,
                                 .kernel_alignment = 0x200000, .pref_address = 0x1000000 };

    /* non-relocatable: runs at pref_address (16 MiB) */
    g_assert_cmphex(bzimage_runtime_end(&info, 0x100000), ==, 0x1000000 + 0xfd5000);
    /* relocatable, loaded low: rounded up, but not below pref_address */
    info.relocatable = 1;
    g_assert_cmphex(bzimage_runtime_end(&info, 0x100000), ==, 0x1000000 + 0xfd5000);
    /* relocatable, loaded high: runs at its aligned load address */
    g_assert_cmphex(bzimage_runtime_end(&info, 0x3100000), ==, 0x3200000 + 0xfd5000);
    /* a kernel without pref_address runs where it is */
    info.relocatable = 0;
    info.pref_address = 0;
    g_assert_cmphex(bzimage_runtime_end(&info, 0x100000), ==, 0x100000 + 0xfd5000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bzimage/ok", test_ok);
    g_test_add_func("/bzimage/errors", test_errors);
    g_test_add_func("/bzimage/zero-page", test_zero_page);
    g_test_add_func("/bzimage/runtime-end", test_runtime_end);
    return g_test_run();
}
