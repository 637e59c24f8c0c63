/* hw/x86/cpu-setup.c: boot segments, page tables, CPUID topology. */
#include <glib.h>
#include <string.h>

#include "hw/x86/cpu-setup.h"

static void test_pvh_state(void)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;

    memset(&sregs, 0xaa, sizeof(sregs));
    cpu_setup_pvh(&regs, &sregs, 0x100123, 0x6000);
    g_assert_cmpuint(regs.rip, ==, 0x100123);
    g_assert_cmpuint(regs.rbx, ==, 0x6000);
    g_assert_cmpuint(regs.rflags, ==, 2);
    g_assert_cmpuint(sregs.cr0 & 0x80000001u, ==, 1); /* PE, no PG */
    g_assert_cmpuint(sregs.efer, ==, 0);
    g_assert_cmpuint(sregs.cs.selector, ==, LAYOUT_SEL_CODE32);
    g_assert_cmpuint(sregs.cs.db, ==, 1);
    g_assert_cmpuint(sregs.cs.l, ==, 0);
    g_assert_cmpuint(sregs.cs.limit, ==, 0xffffffff);
    g_assert_cmpuint(sregs.cs.base, ==, 0);
    g_assert_cmpuint(sregs.ds.selector, ==, LAYOUT_SEL_DATA);
    g_assert_cmpuint(sregs.ss.type, ==, 3);
    g_assert_cmpuint(sregs.tr.type, ==, 11);
    g_assert_cmpuint(sregs.gdt.base, ==, LAYOUT_GDT);
}

static void test_linux64_state(void)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;

    memset(&sregs, 0, sizeof(sregs));
    cpu_setup_linux64(&regs, &sregs, 0x100200, 0x7000);
    g_assert_cmpuint(regs.rip, ==, 0x100200);
    g_assert_cmpuint(regs.rsi, ==, 0x7000);
    g_assert_cmpuint(sregs.cs.selector, ==, 0x10);
    g_assert_cmpuint(sregs.ds.selector, ==, 0x18);
    g_assert_cmpuint(sregs.cs.l, ==, 1);
    g_assert_cmpuint(sregs.cs.db, ==, 0);
    g_assert_cmpuint(sregs.efer & 0x500, ==, 0x500);
    g_assert_cmpuint(sregs.cr0 & 0x80000001u, ==, 0x80000001u);
    g_assert_cmpuint(sregs.cr4 & 0x20, ==, 0x20);
    g_assert_cmpuint(sregs.cr3, ==, LAYOUT_PML4);
}

static void test_page_tables(void)
{
    g_autofree uint8_t *pt = g_malloc(CPU_SETUP_PT_SIZE);
    const uint64_t *pml4, *pdpt, *pd;

    cpu_setup_page_tables(pt);
    pml4 = (const uint64_t *)pt;
    pdpt = pml4 + 512;
    pd = pdpt + 512;
    g_assert_cmpuint(pml4[0] & ~0xfffULL, ==, LAYOUT_PDPT);
    for (unsigned i = 0; i < 4; i++)
        g_assert_cmpuint(pdpt[i] & ~0xfffULL, ==, LAYOUT_PD + i * 4096);
    /* 2 MiB page n maps physical n * 2 MiB, present + writable + large */
    for (uint64_t n = 0; n < 2048; n += 511)
        g_assert_cmpuint(pd[n], ==, (n << 21) | 0x83);
}

static struct kvm_cpuid2 *fake_cpuid(void)
{
    /* like this AMD host's KVM: leaf 0xB lists only subleaf 0 */
    static const uint32_t funcs[][2] = { { 1, 0 }, { 4, 0 }, { 0xb, 0 }, { 0x40000001, 0 },
                                         { 0x80000008, 0 }, { 0x8000001e, 0 } };
    struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + G_N_ELEMENTS(funcs) * sizeof(c->entries[0]));

    c->nent = G_N_ELEMENTS(funcs);
    for (unsigned i = 0; i < c->nent; i++) {
        c->entries[i].function = funcs[i][0];
        c->entries[i].index = funcs[i][1];
        c->entries[i].ebx = 0x00000800; /* CLFLUSH size in leaf 1 */
        if (funcs[i][0] == 0x40000001) {
            c->entries[i].eax = 0x01ffffff; /* every KVM PV feature */
            c->entries[i].edx = 1;          /* KVM_HINTS_REALTIME */
        }
    }
    return c;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, uint32_t f, uint32_t i)
{
    for (unsigned n = 0; n < c->nent; n++)
        if (c->entries[n].function == f && c->entries[n].index == i)
            return &c->entries[n];
    g_assert_not_reached();
}

static void test_cpuid_topology(void)
{
    g_autofree struct kvm_cpuid2 *in = fake_cpuid();
    g_autofree struct kvm_cpuid2 *c = cpu_setup_cpuid(in, 3, 4);

    g_assert_cmpuint(leaf(c, 1, 0)->ebx >> 24, ==, 3);
    g_assert_cmpuint((leaf(c, 1, 0)->ebx >> 16) & 0xff, ==, 4);
    g_assert_cmpuint(leaf(c, 1, 0)->ebx & 0xffff, ==, 0x800);
    g_assert_true(leaf(c, 1, 0)->edx & (1u << 28));
    g_assert_true(leaf(c, 1, 0)->ecx & (1u << 31));
    g_assert_cmpuint(leaf(c, 4, 0)->eax >> 26, ==, 3);
    g_assert_cmpuint(leaf(c, 0xb, 0)->edx, ==, 3);
    g_assert_cmpuint(leaf(c, 0xb, 1)->ebx, ==, 4);
    g_assert_cmpuint(leaf(c, 0xb, 1)->eax, ==, 2);
    g_assert_cmpuint((leaf(c, 0xb, 1)->ecx >> 8) & 0xff, ==, 2);
    g_assert_cmpuint(leaf(c, 0xb, 2)->ebx, ==, 0);
    g_assert_cmpuint(leaf(c, 0xb, 2)->edx, ==, 3);
    g_assert_cmpuint(c->nent, ==, in->nent + 2);
    g_assert_cmpuint(leaf(c, 0x80000008, 0)->ecx & 0xff, ==, 3);
    g_assert_cmpuint(leaf(c, 0x8000001e, 0)->eax, ==, 3);
    /* only kvmclock, NOP_IO_DELAY and the stable bit: no hypercall features */
    g_assert_cmphex(leaf(c, 0x40000001, 0)->eax, ==, 0x0100000b);
    g_assert_cmphex(leaf(c, 0x40000001, 0)->edx, ==, 0);
    g_assert_cmpuint(cpu_setup_apic_id_bits(1), ==, 0);
    g_assert_cmpuint(cpu_setup_apic_id_bits(5), ==, 3);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpu-setup/pvh", test_pvh_state);
    g_test_add_func("/cpu-setup/linux64", test_linux64_state);
    g_test_add_func("/cpu-setup/page-tables", test_page_tables);
    g_test_add_func("/cpu-setup/cpuid", test_cpuid_topology);
    return g_test_run();
}
