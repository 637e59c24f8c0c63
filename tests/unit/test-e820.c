/* hw/x86/e820.c: RAM placement around the PCI hole and the memory map. */
#include <glib.h>

#include "hw/x86/e820.h"
#include "hw/x86/layout.h"
#include "util/size.h"

static uint64_t e820_ram_total(const struct e820_entry *e, unsigned n)
{
    uint64_t t = 0;

    for (unsigned i = 0; i < n; i++)
        if (e[i].type == E820_RAM)
            t += e[i].size;
    return t;
}

static void e820_check_sorted_disjoint(const struct e820_entry *e, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        g_assert_cmpuint(e[i - 1].addr + e[i - 1].size, <=, e[i].addr);
}

static void test_small(void)
{
    struct ram_range r[MEMORY_MAX_RANGES];
    struct e820_entry e[E820_MAX_ENTRIES];
    unsigned nr = e820_ram_layout(129 * MiB, r), n;

    g_assert_cmpuint(nr, ==, 1);
    g_assert_cmpuint(r[0].gpa, ==, 0);
    g_assert_cmpuint(r[0].size, ==, 129 * MiB);
    n = e820_build(r, nr, e);
    e820_check_sorted_disjoint(e, n);
    g_assert_cmpuint(e[0].addr, ==, 0);
    g_assert_cmpuint(e[0].size, ==, LAYOUT_EBDA);
    g_assert_cmpuint(e[0].type, ==, E820_RAM);
    g_assert_cmpuint(e[1].addr, ==, LAYOUT_EBDA);
    g_assert_cmpuint(e[1].type, ==, E820_RESERVED);
    g_assert_cmpuint(e[2].addr, ==, LAYOUT_MPTABLE);
    g_assert_cmpuint(e[2].type, ==, E820_RESERVED);
    g_assert_cmpuint(e[3].addr, ==, LAYOUT_HIMEM);
    g_assert_cmpuint(e[3].addr + e[3].size, ==, 129 * MiB);
    g_assert_cmpuint(e[4].addr, ==, LAYOUT_KVM_IDENTITY_MAP);
    g_assert_cmpuint(n, ==, 5);
    /* all of RAM except the BIOS areas is usable */
    g_assert_cmpuint(e820_ram_total(e, n), ==, 129 * MiB - (LAYOUT_HIMEM - LAYOUT_EBDA));
}

static void test_exactly_lowmem(void)
{
    struct ram_range r[MEMORY_MAX_RANGES];

    g_assert_cmpuint(e820_ram_layout(LAYOUT_LOWMEM_MAX, r), ==, 1);
    g_assert_cmpuint(e820_ram_layout(LAYOUT_LOWMEM_MAX + MiB, r), ==, 2);
}

static void test_split(void)
{
    struct ram_range r[MEMORY_MAX_RANGES];
    struct e820_entry e[E820_MAX_ENTRIES];
    uint64_t size = 4 * GiB + 63 * MiB;
    unsigned nr = e820_ram_layout(size, r), n;

    g_assert_cmpuint(nr, ==, 2);
    g_assert_cmpuint(r[0].size, ==, LAYOUT_LOWMEM_MAX);
    g_assert_cmpuint(r[1].gpa, ==, LAYOUT_4G);
    g_assert_cmpuint(r[0].size + r[1].size, ==, size);
    n = e820_build(r, nr, e);
    e820_check_sorted_disjoint(e, n);
    g_assert_cmpuint(e[n - 1].addr, ==, LAYOUT_4G);
    g_assert_cmpuint(e[n - 1].size, ==, size - LAYOUT_LOWMEM_MAX);
    g_assert_cmpuint(e820_ram_total(e, n), ==, size - (LAYOUT_HIMEM - LAYOUT_EBDA));
    /* nothing usable inside the PCI hole */
    for (unsigned i = 0; i < n; i++) {
        if (e[i].type == E820_RAM)
            g_assert_true(e[i].addr + e[i].size <= LAYOUT_LOWMEM_MAX || e[i].addr >= LAYOUT_4G);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/e820/small", test_small);
    g_test_add_func("/e820/lowmem-boundary", test_exactly_lowmem);
    g_test_add_func("/e820/split", test_split);
    return g_test_run();
}
