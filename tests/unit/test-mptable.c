/* hw/x86/mptable.c: structure, counts and checksums. */
#include <glib.h>
#include <string.h>

#include "hw/x86/layout.h"
#include "hw/x86/mptable.h"
#include "util/le.h"


static void check_table(unsigned ncpus)
{
    g_autofree uint8_t *buf = g_malloc(mptable_size(ncpus));
    size_t size = mptable_build(buf, LAYOUT_MPTABLE, ncpus);
    const uint8_t *hdr = buf + 16, *p;
    unsigned entries, cpus = 0, bsp = 0, ioapics = 0, intsrc = 0;

    g_assert_cmpuint(size, ==, mptable_size(ncpus));
    g_assert_cmpmem(buf, 4, "_MP_", 4);
    g_assert_cmpuint(mptable_checksum(buf, 16), ==, 0);
    g_assert_cmpuint(le32_get(buf + 4), ==, LAYOUT_MPTABLE + 16);
    g_assert_cmpmem(hdr, 4, "PCMP", 4);
    g_assert_cmpuint(le16_get(hdr + 4), ==, size - 16);
    g_assert_cmpuint(mptable_checksum(hdr, le16_get(hdr + 4)), ==, 0);
    g_assert_cmpuint(le32_get(hdr + 36), ==, LAYOUT_LAPIC);
    entries = le16_get(hdr + 34);
    p = hdr + 44;
    for (unsigned i = 0; i < entries; i++) {
        switch (p[0]) {
        case 0:
            g_assert_cmpuint(p[1], ==, cpus); /* APIC id = index */
            g_assert_true(p[3] & 1);
            bsp += !!(p[3] & 2);
            cpus++;
            p += 20;
            break;
        case 2:
            g_assert_cmpuint(p[1], ==, ncpus);
            g_assert_cmpuint(le32_get(p + 4), ==, LAYOUT_IOAPIC);
            ioapics++;
            p += 8;
            break;
        case 3:
            g_assert_cmpuint(p[5], ==, p[7]); /* ISA irq n -> pin n */
            /* virtio-mmio lines level/active high, the rest bus default */
            g_assert_cmpuint(le16_get(p + 2), ==, (LAYOUT_LEVEL_IRQS >> p[5]) & 1 ? 0x0d : 0);
            intsrc++;
            p += 8;
            break;
        default:
            g_assert_cmpuint(p[0], <=, 4);
            p += 8;
            break;
        }
    }
    g_assert_cmpuint(p - buf, ==, size);
    g_assert_cmpuint(cpus, ==, ncpus);
    g_assert_cmpuint(bsp, ==, 1);
    g_assert_cmpuint(ioapics, ==, 1);
    g_assert_cmpuint(intsrc, ==, 16);
}

static void test_sizes(void)
{
    check_table(1);
    check_table(2);
    check_table(4);
    check_table(254);
    g_assert_cmpuint(mptable_size(254), <=, LAYOUT_MPTABLE_MAX);
}

static void test_checksum_detects_change(void)
{
    uint8_t buf[512];
    size_t size = mptable_build(buf, LAYOUT_MPTABLE, 2);

    buf[size - 1] ^= 1;
    g_assert_cmpuint(mptable_checksum(buf + 16, size - 16), !=, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptable/structure", test_sizes);
    g_test_add_func("/mptable/checksum", test_checksum_detects_change);
    return g_test_run();
}
