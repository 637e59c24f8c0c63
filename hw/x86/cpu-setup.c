#include "hw/x86/cpu-setup.h"

#include <glib.h>
#include <stdbool.h>
#include <string.h>

enum {
    CR0_PE = 1u << 0, CR0_ET = 1u << 4, CR0_PG = 1u << 31, CR4_PAE = 1u << 5,
    EFER_LME = 1u << 8, EFER_LMA = 1u << 10,
    PTE_P = 1u << 0, PTE_RW = 1u << 1, PTE_PS = 1u << 7,
};

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
    return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
           ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
           (limit & 0xffffu);
}

void cpu_setup_gdt(uint64_t gdt[LAYOUT_GDT_ENTRIES])
{
    memset(gdt, 0, sizeof(uint64_t) * LAYOUT_GDT_ENTRIES);
    gdt[LAYOUT_SEL_CODE64 / 8] = gdt_entry(0xa09b, 0, 0xfffff);
    gdt[LAYOUT_SEL_DATA / 8] = gdt_entry(0xc093, 0, 0xfffff);
    gdt[LAYOUT_SEL_CODE32 / 8] = gdt_entry(0xc09b, 0, 0xfffff);
    gdt[LAYOUT_SEL_TSS / 8] = gdt_entry(0x808b, 0, 0xfffff);
}

/* The hidden part of a segment register, as the CPU would load it. */
static struct kvm_segment segment_from_gdt(uint64_t e, uint16_t selector)
{
    struct kvm_segment s = {
        .base = ((e >> 16) & 0xffffff) | (((e >> 56) & 0xff) << 24),
        .limit = (uint32_t)((e & 0xffff) | ((e >> 32) & 0xf0000)),
        .selector = selector,
        .type = (e >> 40) & 0xf,
        .present = (e >> 47) & 1,
        .dpl = (e >> 45) & 3,
        .db = (e >> 54) & 1,
        .s = (e >> 44) & 1,
        .l = (e >> 53) & 1,
        .g = (e >> 55) & 1,
        .avl = (e >> 52) & 1,
    };

    if (s.g)
        s.limit = (s.limit << 12) | 0xfff;
    s.unusable = !s.present;
    return s;
}

static void cpu_setup_segments(struct kvm_sregs *sregs, uint16_t code_sel)
{
    uint64_t gdt[LAYOUT_GDT_ENTRIES];
    struct kvm_segment data;

    cpu_setup_gdt(gdt);
    data = segment_from_gdt(gdt[LAYOUT_SEL_DATA / 8], LAYOUT_SEL_DATA);
    sregs->cs = segment_from_gdt(gdt[code_sel / 8], code_sel);
    sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
    sregs->tr = segment_from_gdt(gdt[LAYOUT_SEL_TSS / 8], LAYOUT_SEL_TSS);
    sregs->gdt.base = LAYOUT_GDT;
    sregs->gdt.limit = sizeof(gdt) - 1;
    sregs->idt.base = LAYOUT_IDT;
    sregs->idt.limit = 0;
}

void cpu_setup_page_tables(uint8_t *buf)
{
    uint64_t *pml4 = (uint64_t *)buf, *pdpt = pml4 + 512, *pd = pdpt + 512;

    memset(buf, 0, CPU_SETUP_PT_SIZE);
    pml4[0] = LAYOUT_PDPT | PTE_P | PTE_RW;
    for (unsigned i = 0; i < 4; i++)
        pdpt[i] = (LAYOUT_PD + i * 4096) | PTE_P | PTE_RW;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
}

void cpu_setup_pvh(struct kvm_regs *regs, struct kvm_sregs *sregs, uint32_t entry,
                   uint32_t start_info)
{
    memset(regs, 0, sizeof(*regs));
    regs->rflags = 0x2;
    regs->rip = entry;
    regs->rbx = start_info;
    cpu_setup_segments(sregs, LAYOUT_SEL_CODE32);
    sregs->cr0 = CR0_PE | CR0_ET;
    sregs->cr3 = 0;
    sregs->cr4 = 0;
    sregs->efer = 0;
}

void cpu_setup_linux64(struct kvm_regs *regs, struct kvm_sregs *sregs, uint64_t entry,
                       uint64_t zero_page)
{
    memset(regs, 0, sizeof(*regs));
    regs->rflags = 0x2;
    regs->rip = entry;
    regs->rsi = zero_page;
    cpu_setup_segments(sregs, LAYOUT_SEL_CODE64);
    sregs->cr3 = LAYOUT_PML4;
    sregs->cr4 = CR4_PAE;
    sregs->cr0 = CR0_PE | CR0_ET | CR0_PG;
    sregs->efer = EFER_LME | EFER_LMA;
}

void cpu_setup_fpu(struct kvm_fpu *fpu)
{
    memset(fpu, 0, sizeof(*fpu));
    fpu->fcw = 0x37f;
    fpu->mxcsr = 0x1f80;
}

unsigned cpu_setup_apic_id_bits(unsigned n)
{
    unsigned bits = 0;

    while ((1u << bits) < n)
        bits++;
    return bits;
}

/*
 * KVM paravirtual features offered to the guest (CPUID 0x40000001 EAX): the
 * set QEMU enables for its named CPU models minus async page faults, steal
 * time and PV EOI (more guest MSR state to migrate for little gain here).
 * Hypercall-based features (PV unhalt/spinlocks, PV IPIs, PV TLB flush,
 * sched yield) stay off: besides needing them to be migrated, an emulated
 * guest on kvm_pvm hosts spins forever on their hypercalls, hanging SMP
 * Linux at CPU bring-up.
 */
#define KVM_FEATURE_CLOCKSOURCE (1u << 0)
#define KVM_FEATURE_NOP_IO_DELAY (1u << 1)
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT (1u << 24)
#define CPU_SETUP_KVM_FEATURES                                                                    \
    (KVM_FEATURE_CLOCKSOURCE | KVM_FEATURE_NOP_IO_DELAY | KVM_FEATURE_CLOCKSOURCE2 |              \
     KVM_FEATURE_CLOCKSOURCE_STABLE_BIT)

static void cpuid_topology_leaf(struct kvm_cpuid_entry2 *e, unsigned index, unsigned ncpus)
{
    /* Leaves 0xB/0x1F: level 0 = SMT (1 thread), level 1 = core (ncpus). */
    e->edx = index;
    switch (e->index) {
    case 0:
        e->eax = 0;
        e->ebx = 1;
        e->ecx = (1 << 8) | 0;
        break;
    case 1:
        e->eax = cpu_setup_apic_id_bits(ncpus);
        e->ebx = ncpus;
        e->ecx = (2 << 8) | 1;
        break;
    default:
        e->eax = e->ebx = 0;
        e->ecx = e->index;
        break;
    }
}

static void cpuid_adjust(struct kvm_cpuid_entry2 *e, unsigned index, unsigned ncpus)
{
    switch (e->function) {
    case 1:
        e->ebx = (e->ebx & 0xffff) | (index << 24) | ((ncpus > 1 ? ncpus : 1) << 16);
        if (ncpus > 1)
            e->edx |= 1u << 28; /* HTT: the logical count in EBX is valid */
        e->ecx |= 1u << 31;     /* running under a hypervisor */
        break;
    case 4:
        e->eax = (e->eax & 0x03ffffff) | ((ncpus - 1) << 26);
        break;
    case 0xb:
    case 0x1f:
        cpuid_topology_leaf(e, index, ncpus);
        break;
    case 0x40000001:
        e->eax &= CPU_SETUP_KVM_FEATURES;
        e->edx = 0; /* no KVM_HINTS_REALTIME */
        break;
    case 0x80000008:
        e->ecx = (e->ecx & ~0xf0ffu) | (cpu_setup_apic_id_bits(ncpus) << 12) | (ncpus - 1);
        break;
    case 0x8000001e:
        e->eax = index;
        e->ebx = index & 0xff; /* core id, one thread per core */
        e->ecx = 0;
        break;
    default:
        break;
    }
}

static bool cpuid_has(const struct kvm_cpuid2 *c, uint32_t function, uint32_t index)
{
    for (unsigned i = 0; i < c->nent; i++)
        if (c->entries[i].function == function && c->entries[i].index == index)
            return true;
    return false;
}

struct kvm_cpuid2 *cpu_setup_cpuid(const struct kvm_cpuid2 *supported, unsigned index,
                                   unsigned ncpus)
{
    /* room for leaf 0xB subleaves 1 and 2 if KVM left them out */
    struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + (supported->nent + 2) * sizeof(c->entries[0]));

    memcpy(c, supported, sizeof(*c) + supported->nent * sizeof(c->entries[0]));
    if (cpuid_has(c, 0xb, 0)) {
        for (uint32_t sub = 1; sub <= 2; sub++) {
            if (!cpuid_has(c, 0xb, sub))
                c->entries[c->nent++] = (struct kvm_cpuid_entry2){
                    .function = 0xb, .index = sub, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX
                };
        }
    }
    for (unsigned i = 0; i < c->nent; i++)
        cpuid_adjust(&c->entries[i], index, ncpus);
    return c;
}
