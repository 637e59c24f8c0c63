#include "accel/kvm-x86.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accel/kvm.h"
#include "hw/x86/cpu-setup.h"
#include "util/error.h"

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

/* KVM paravirtual MSRs that make KVM write into guest memory; a reset must
 * turn them off or the next boot's RAM gets clobbered. */
static const uint32_t kvm_x86_pv_msrs[] = {
    0x4b564d00, /* MSR_KVM_WALL_CLOCK_NEW */
    0x4b564d01, /* MSR_KVM_SYSTEM_TIME_NEW */
    0x4b564d02, /* MSR_KVM_ASYNC_PF_EN */
    0x4b564d03, /* MSR_KVM_STEAL_TIME */
    0x4b564d04, /* MSR_KVM_PV_EOI_EN */
    0x11,       /* MSR_KVM_WALL_CLOCK */
    0x12,       /* MSR_KVM_SYSTEM_TIME */
};

static bool kvm_x86_ioctl(int fd, unsigned long req, void *arg, const char *name, GError **errp)
{
    if (ioctl(fd, req, arg) < 0) {
        error_setg_errno(errp, errno, "%s", name);
        return false;
    }
    return true;
}

#define KVM_X86_IOCTL(fd, req, arg, errp) kvm_x86_ioctl(fd, req, arg, #req, errp)

static void lapic_set_reg(struct kvm_lapic_state *l, unsigned off, uint32_t v)
{
    memcpy(&l->regs[off], &v, sizeof(v));
}

static uint32_t lapic_get_reg(const struct kvm_lapic_state *l, unsigned off)
{
    uint32_t v;

    memcpy(&v, &l->regs[off], sizeof(v));
    return v;
}

bool kvm_x86_vcpu_setup(int fd, const struct kvm_cpuid2 *supported, unsigned index,
                        unsigned ncpus, GError **errp)
{
    g_autofree struct kvm_cpuid2 *cpuid = cpu_setup_cpuid(supported, index, ncpus);
    struct kvm_fpu fpu;
    struct kvm_lapic_state lapic;

    cpu_setup_fpu(&fpu);
    if (!KVM_X86_IOCTL(fd, KVM_SET_CPUID2, cpuid, errp) ||
        !KVM_X86_IOCTL(fd, KVM_SET_FPU, &fpu, errp) ||
        !KVM_X86_IOCTL(fd, KVM_GET_LAPIC, &lapic, errp))
        return false;
    /* Virtual-wire mode, as firmware leaves it: PIC on LINT0, NMI on LINT1. */
    lapic_set_reg(&lapic, APIC_LVT0, (lapic_get_reg(&lapic, APIC_LVT0) & ~0x10700u) |
                                         (APIC_MODE_EXTINT << 8));
    lapic_set_reg(&lapic, APIC_LVT1, (lapic_get_reg(&lapic, APIC_LVT1) & ~0x10700u) |
                                         (APIC_MODE_NMI << 8));
    return KVM_X86_IOCTL(fd, KVM_SET_LAPIC, &lapic, errp);
}

bool kvm_x86_save_reset_state(int fd, struct kvm_x86_reset_state *s, GError **errp)
{
    memset(s, 0, sizeof(*s));
    return KVM_X86_IOCTL(fd, KVM_GET_REGS, &s->regs, errp) &&
           KVM_X86_IOCTL(fd, KVM_GET_SREGS, &s->sregs, errp) &&
           KVM_X86_IOCTL(fd, KVM_GET_FPU, &s->fpu, errp) &&
           KVM_X86_IOCTL(fd, KVM_GET_LAPIC, &s->lapic, errp) &&
           KVM_X86_IOCTL(fd, KVM_GET_VCPU_EVENTS, &s->events, errp) &&
           KVM_X86_IOCTL(fd, KVM_GET_MP_STATE, &s->mp_state, errp) &&
           KVM_X86_IOCTL(fd, KVM_GET_XCRS, &s->xcrs, errp);
}

static bool kvm_x86_clear_pv_msrs(int fd, GError **errp)
{
    /* One at a time: KVM_SET_MSRS stops at the first MSR it rejects (one
     * this host lacks), which would leave the ones after it set. */
    for (unsigned i = 0; i < G_N_ELEMENTS(kvm_x86_pv_msrs); i++) {
        struct kvm_msrs_one msr = { .nmsrs = 1, .e.index = kvm_x86_pv_msrs[i] };

        if (ioctl(fd, KVM_SET_MSRS, &msr) < 0) {
            error_setg_errno(errp, errno, "KVM_SET_MSRS 0x%x", kvm_x86_pv_msrs[i]);
            return false;
        }
    }
    return true;
}

bool kvm_x86_load_reset_state(int fd, const struct kvm_x86_reset_state *s, GError **errp)
{
    struct kvm_x86_reset_state c = *s; /* the ioctls take non-const pointers */

    /* Order as KVM requires: sregs before regs; LAPIC after sregs (APIC base
     * MSR lives in sregs); MP state last. */
    return KVM_X86_IOCTL(fd, KVM_SET_SREGS, &c.sregs, errp) &&
           KVM_X86_IOCTL(fd, KVM_SET_REGS, &c.regs, errp) &&
           KVM_X86_IOCTL(fd, KVM_SET_FPU, &c.fpu, errp) &&
           KVM_X86_IOCTL(fd, KVM_SET_XCRS, &c.xcrs, errp) &&
           kvm_x86_clear_pv_msrs(fd, errp) &&
           KVM_X86_IOCTL(fd, KVM_SET_LAPIC, &c.lapic, errp) &&
           KVM_X86_IOCTL(fd, KVM_SET_VCPU_EVENTS, &c.events, errp) &&
           KVM_X86_IOCTL(fd, KVM_SET_MP_STATE, &c.mp_state, errp);
}

bool kvm_x86_set_boot_entry(int fd, const struct boot_entry *entry, GError **errp)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;

    if (!KVM_X86_IOCTL(fd, KVM_GET_SREGS, &sregs, errp))
        return false;
    if (entry->mode == BOOT_PVH)
        cpu_setup_pvh(&regs, &sregs, entry->entry, entry->arg);
    else
        cpu_setup_linux64(&regs, &sregs, entry->entry, entry->arg);
    return KVM_X86_IOCTL(fd, KVM_SET_SREGS, &sregs, errp) &&
           KVM_X86_IOCTL(fd, KVM_SET_REGS, &regs, errp);
}

char *kvm_x86_describe_regs(int fd)
{
    struct kvm_regs r;
    struct kvm_sregs s;

    if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0)
        return g_strdup("(registers unavailable)");
    return g_strdup_printf("RIP=%016llx RSP=%016llx RAX=%016llx RBX=%016llx RCX=%016llx "
                           "RDX=%016llx RFLAGS=%08llx CS=%04x CR0=%08llx CR3=%08llx "
                           "CR4=%08llx EFER=%08llx",
                           r.rip, r.rsp, r.rax, r.rbx, r.rcx, r.rdx, r.rflags, s.cs.selector,
                           s.cr0, s.cr3, s.cr4, s.efer);
}

/* QEMU's packed descriptor flags (cpu.h DESC_*_SHIFT) for one segment. */
static uint32_t kvm_x86_seg_flags(const struct kvm_segment *sg)
{
    return (uint32_t)sg->type << 8 | (uint32_t)sg->s << 12 | (uint32_t)sg->dpl << 13 |
           (uint32_t)sg->present << 15 | (uint32_t)sg->avl << 20 | (uint32_t)sg->l << 21 |
           (uint32_t)sg->db << 22 | (uint32_t)sg->g << 23;
}

/* One segment line as QEMU's cpu_x86_dump_seg_cache() prints it. */
static void kvm_x86_dump_seg(GString *out, const char *name, const struct kvm_segment *sg,
                             bool lma, bool wide)
{
    static const char *const sys64[16] = {
        "<hiword>", "Reserved", "LDT", "Reserved", "Reserved", "Reserved", "Reserved",
        "Reserved", "Reserved", "TSS64-avl", "Reserved", "TSS64-busy", "CallGate64",
        "Reserved", "IntGate64", "TrapGate64",
    };
    static const char *const sys32[16] = {
        "Reserved", "TSS16-avl", "LDT", "TSS16-busy", "CallGate16", "TaskGate",
        "IntGate16", "TrapGate16", "Reserved", "TSS32-avl", "Reserved", "TSS32-busy",
        "CallGate32", "Reserved", "IntGate32", "TrapGate32",
    };

    if (wide)
        g_string_append_printf(out, "%-3s=%04x %016llx %08x %08x", name, sg->selector,
                               (unsigned long long)sg->base, sg->limit,
                               kvm_x86_seg_flags(sg));
    else
        g_string_append_printf(out, "%-3s=%04x %08x %08x %08x", name, sg->selector,
                               (uint32_t)sg->base, sg->limit, kvm_x86_seg_flags(sg));
    if (!sg->present)
        goto done;
    g_string_append_printf(out, " DPL=%d ", sg->dpl);
    if (sg->s) {
        if (sg->type & 8) {
            g_string_append(out, sg->l ? "CS64" : sg->db ? "CS32" : "CS16");
            g_string_append_printf(out, " [%c%c", sg->type & 4 ? 'C' : '-',
                                   sg->type & 2 ? 'R' : '-');
        } else {
            g_string_append(out, sg->db || lma ? "DS  " : "DS16");
            g_string_append_printf(out, " [%c%c", sg->type & 4 ? 'E' : '-',
                                   sg->type & 2 ? 'W' : '-');
        }
        g_string_append_printf(out, "%c]", sg->type & 1 ? 'A' : '-');
    } else {
        g_string_append(out, (lma ? sys64 : sys32)[sg->type & 15]);
    }
done:
    g_string_append_c(out, '\n');
}

static void kvm_x86_dump_gprs(GString *out, const struct kvm_regs *r, bool wide)
{
    const unsigned long long v[16] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
                                       r->rbp, r->rsp, r->r8, r->r9, r->r10, r->r11,
                                       r->r12, r->r13, r->r14, r->r15 };
    static const char *const n64[16] = { "RAX", "RBX", "RCX", "RDX", "RSI", "RDI",
                                         "RBP", "RSP", "R8 ", "R9 ", "R10", "R11",
                                         "R12", "R13", "R14", "R15" };
    static const char *const n32[8] = { "EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP",
                                        "ESP" };

    for (unsigned i = 0; i < (wide ? 16u : 8u); i++) {
        if (wide)
            g_string_append_printf(out, "%s=%016llx", n64[i], v[i]);
        else
            g_string_append_printf(out, "%s=%08x", n32[i], (uint32_t)v[i]);
        g_string_append_c(out, i % 4 == 3 ? '\n' : ' ');
    }
}

/* QEMU's x86_cpu_dump_state() without the FPU part: 64-bit widths when the
 * CPU is in long mode with a 64-bit CS, 32-bit ones otherwise. */
bool kvm_x86_dump_state(int fd, GString *out, GError **errp)
{
    static const char *const segnames[6] = { "ES", "CS", "SS", "DS", "FS", "GS" };
    struct kvm_regs r;
    struct kvm_sregs s;
    struct kvm_mp_state mp = { 0 };
    struct kvm_vcpu_events ev = { 0 };
    struct kvm_debugregs dr = { 0 };
    unsigned long long fl;
    bool lma, wide;

    if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0) {
        error_setg_errno(errp, errno, "cannot read the vCPU registers");
        return false;
    }
    ioctl(fd, KVM_GET_MP_STATE, &mp);
    ioctl(fd, KVM_GET_VCPU_EVENTS, &ev);
    ioctl(fd, KVM_GET_DEBUGREGS, &dr);
    lma = s.efer & (1u << 10);
    wide = lma && s.cs.l;
    fl = r.rflags;
    kvm_x86_dump_gprs(out, &r, wide);
    if (wide)
        g_string_append_printf(out, "RIP=%016llx RFL=%08x", r.rip, (uint32_t)fl);
    else
        g_string_append_printf(out, "EIP=%08x EFL=%08x", (uint32_t)r.rip, (uint32_t)fl);
    g_string_append_printf(out, " [%c%c%c%c%c%c%c] CPL=%d II=%d A20=1 SMM=0 HLT=%d\n",
                           fl & 0x400 ? 'D' : '-', fl & 0x800 ? 'O' : '-',
                           fl & 0x80 ? 'S' : '-', fl & 0x40 ? 'Z' : '-', fl & 0x10 ? 'A' : '-',
                           fl & 0x4 ? 'P' : '-', fl & 0x1 ? 'C' : '-', s.ss.dpl,
                           ev.interrupt.shadow ? 1 : 0, mp.mp_state == KVM_MP_STATE_HALTED);
    const struct kvm_segment *segs[6] = { &s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs };
    for (unsigned i = 0; i < 6; i++)
        kvm_x86_dump_seg(out, segnames[i], segs[i], lma, wide);
    kvm_x86_dump_seg(out, "LDT", &s.ldt, lma, wide);
    kvm_x86_dump_seg(out, "TR", &s.tr, lma, wide);
    if (wide)
        g_string_append_printf(out,
                               "GDT=     %016llx %08x\nIDT=     %016llx %08x\n"
                               "CR0=%08x CR2=%016llx CR3=%016llx CR4=%08x\n"
                               "DR0=%016llx DR1=%016llx DR2=%016llx DR3=%016llx \n"
                               "DR6=%016llx DR7=%016llx\n",
                               s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit, (uint32_t)s.cr0,
                               s.cr2, s.cr3, (uint32_t)s.cr4, dr.db[0], dr.db[1], dr.db[2],
                               dr.db[3], dr.dr6, dr.dr7);
    else
        g_string_append_printf(out,
                               "GDT=     %08x %08x\nIDT=     %08x %08x\n"
                               "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n"
                               "DR0=%08x DR1=%08x DR2=%08x DR3=%08x \nDR6=%08x DR7=%08x\n",
                               (uint32_t)s.gdt.base, s.gdt.limit, (uint32_t)s.idt.base,
                               s.idt.limit, (uint32_t)s.cr0, (uint32_t)s.cr2, (uint32_t)s.cr3,
                               (uint32_t)s.cr4, (uint32_t)dr.db[0], (uint32_t)dr.db[1],
                               (uint32_t)dr.db[2], (uint32_t)dr.db[3], (uint32_t)dr.dr6,
                               (uint32_t)dr.dr7);
    g_string_append_printf(out, "EFER=%016llx\n", s.efer);
    return true;
}
