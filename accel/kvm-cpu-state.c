#include "accel/kvm-cpu-state.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "util/container.h"
#include "util/error.h"

#define MSR_IA32_TSC_DEADLINE 0x6e0

/* The MSRs a "cpu" section may carry (QEMU's kvm_put_msrs() set for a
 * 64-bit guest with kvmclock).  @probe: KVM emulates it for every guest
 * but KVM_GET_MSR_INDEX_LIST does not name it, so a read decides. */
static const struct {
    uint32_t index;
    bool probe;
} kvm_cpu_state_msrs[] = {
    { 0x10 },       /* IA32_TSC */
    { 0x174 },      /* IA32_SYSENTER_CS */
    { 0x175 },      /* IA32_SYSENTER_ESP */
    { 0x176 },      /* IA32_SYSENTER_EIP */
    { 0xc0000081 }, /* STAR */
    { 0xc0000082 }, /* LSTAR */
    { 0xc0000083 }, /* CSTAR */
    { 0xc0000084 }, /* FMASK */
    { 0xc0000102 }, /* KERNEL_GS_BASE */
    { 0xc0000103 }, /* TSC_AUX */
    { 0x277 },      /* IA32_PAT */
    { 0x1a0 },      /* IA32_MISC_ENABLE */
    { 0x3b },       /* IA32_TSC_ADJUST */
    { 0x4b564d01 }, /* KVM_SYSTEM_TIME_NEW */
    { 0x4b564d00 }, /* KVM_WALL_CLOCK_NEW */
    { 0x4b564d02 }, /* KVM_ASYNC_PF_EN */
    { 0x4b564d04 }, /* KVM_PV_EOI_EN */
    { 0x4b564d03 }, /* KVM_STEAL_TIME */
    { 0x2ff, true }, /* MTRRdefType */
    { 0x250, true }, /* MTRRfix64K_00000 */
    { 0x258, true }, /* MTRRfix16K_80000 */
    { 0x259, true }, /* MTRRfix16K_A0000 */
    { 0x268, true }, { 0x269, true }, { 0x26a, true }, { 0x26b, true }, /* MTRRfix4K_* */
    { 0x26c, true }, { 0x26d, true }, { 0x26e, true }, { 0x26f, true },
    { 0x200, true }, { 0x201, true }, { 0x202, true }, { 0x203, true }, /* MTRRphysBase/Mask */
    { 0x204, true }, { 0x205, true }, { 0x206, true }, { 0x207, true },
    { 0x208, true }, { 0x209, true }, { 0x20a, true }, { 0x20b, true },
    { 0x20c, true }, { 0x20d, true }, { 0x20e, true }, { 0x20f, true },
    { MSR_IA32_TSC_DEADLINE }, /* written back after the LAPIC */
};

G_STATIC_ASSERT(G_N_ELEMENTS(kvm_cpu_state_msrs) <= KVM_CPU_STATE_MAX_MSRS);

/* ---- the VMState description ---- */

#define KVM_CPU_REGS(X)                                                                           \
    X(rax) X(rbx) X(rcx) X(rdx) X(rsi) X(rdi) X(rsp) X(rbp) X(r8) X(r9) X(r10) X(r11) X(r12)     \
    X(r13) X(r14) X(r15) X(rip) X(rflags)
#define KVM_CPU_SEGMENT(X) X(base) X(limit) X(selector) X(type) X(present) X(dpl) X(db) X(s) X(l) \
    X(g) X(avl) X(unusable)
#define KVM_CPU_SEGMENTS(X) X(cs) X(ds) X(es) X(fs) X(gs) X(ss) X(tr) X(ldt)
#define KVM_CPU_CRS(X) X(cr0) X(cr2) X(cr3) X(cr4) X(cr8) X(efer) X(apic_base)
/* plain field, member of struct kvm_vcpu_events */
#define KVM_CPU_EVENTS(X)                                                                         \
    X(exception_injected, exception.injected) X(exception_nr, exception.nr)                      \
    X(exception_has_error_code, exception.has_error_code)                                        \
    X(exception_pending, exception.pending) X(exception_error_code, exception.error_code)        \
    X(interrupt_injected, interrupt.injected) X(interrupt_nr, interrupt.nr)                      \
    X(interrupt_soft, interrupt.soft) X(interrupt_shadow, interrupt.shadow)                      \
    X(nmi_injected, nmi.injected) X(nmi_pending, nmi.pending) X(nmi_masked, nmi.masked)          \
    X(sipi_vector, sipi_vector) X(flags, flags) X(smi_smm, smi.smm)                              \
    X(smi_pending, smi.pending) X(smi_inside_nmi, smi.smm_inside_nmi)                            \
    X(smi_latched_init, smi.latched_init) X(exception_has_payload, exception_has_payload)        \
    X(exception_payload, exception_payload)

#define REG_FIELD(f) VMSTATE_FIELD(struct kvm_cpu_regs, f),
static const struct vmstate_field kvm_cpu_regs_fields[] = {
    KVM_CPU_REGS(REG_FIELD) VMSTATE_END_OF_LIST(),
};
static const struct vmstate_description kvm_cpu_regs_vmsd = {
    .name = "cpu/regs", .version_id = 1, .minimum_version_id = 1, .fields = kvm_cpu_regs_fields,
};

#define SEG_FIELD(f) VMSTATE_FIELD(struct kvm_cpu_segment, f),
static const struct vmstate_field kvm_cpu_segment_fields[] = {
    KVM_CPU_SEGMENT(SEG_FIELD) VMSTATE_END_OF_LIST(),
};
static const struct vmstate_description kvm_cpu_segment_vmsd = {
    .name = "cpu/segment", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_cpu_segment_fields,
};

static const struct vmstate_field kvm_cpu_dtable_fields[] = {
    VMSTATE_FIELD(struct kvm_cpu_dtable, base),
    VMSTATE_FIELD(struct kvm_cpu_dtable, limit),
    VMSTATE_END_OF_LIST(),
};
static const struct vmstate_description kvm_cpu_dtable_vmsd = {
    .name = "cpu/dtable", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_cpu_dtable_fields,
};

#define SREGS_SEG_FIELD(f) VMSTATE_STRUCT(struct kvm_cpu_sregs, f, kvm_cpu_segment_vmsd),
#define SREGS_CR_FIELD(f) VMSTATE_FIELD(struct kvm_cpu_sregs, f),
static const struct vmstate_field kvm_cpu_sregs_fields[] = {
    KVM_CPU_SEGMENTS(SREGS_SEG_FIELD)
    VMSTATE_STRUCT(struct kvm_cpu_sregs, gdt, kvm_cpu_dtable_vmsd),
    VMSTATE_STRUCT(struct kvm_cpu_sregs, idt, kvm_cpu_dtable_vmsd),
    KVM_CPU_CRS(SREGS_CR_FIELD)
    VMSTATE_ARRAY(struct kvm_cpu_sregs, interrupt_bitmap),
    VMSTATE_END_OF_LIST(),
};
static const struct vmstate_description kvm_cpu_sregs_vmsd = {
    .name = "cpu/sregs", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_cpu_sregs_fields,
};

static const struct vmstate_field kvm_cpu_reg_fields[] = {
    VMSTATE_FIELD(struct kvm_cpu_reg, index),
    VMSTATE_FIELD(struct kvm_cpu_reg, value),
    VMSTATE_END_OF_LIST(),
};
static const struct vmstate_description kvm_cpu_reg_vmsd = {
    .name = "cpu/reg", .version_id = 1, .minimum_version_id = 1, .fields = kvm_cpu_reg_fields,
};

#define EVENT_FIELD(f, k) VMSTATE_FIELD(struct kvm_cpu_events, f),
static const struct vmstate_field kvm_cpu_events_fields[] = {
    KVM_CPU_EVENTS(EVENT_FIELD) VMSTATE_END_OF_LIST(),
};
static const struct vmstate_description kvm_cpu_events_vmsd = {
    .name = "cpu/events", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_cpu_events_fields,
};

static const struct vmstate_field kvm_cpu_debugregs_fields[] = {
    VMSTATE_ARRAY(struct kvm_cpu_debugregs, db),
    VMSTATE_FIELD(struct kvm_cpu_debugregs, dr6),
    VMSTATE_FIELD(struct kvm_cpu_debugregs, dr7),
    VMSTATE_END_OF_LIST(),
};
static const struct vmstate_description kvm_cpu_debugregs_vmsd = {
    .name = "cpu/debugregs", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_cpu_debugregs_fields,
};

/* The XSAVE area beyond 4096 bytes, on hosts whose guests have AMX. */
static bool kvm_cpu_xsave_ext_needed(void *opaque)
{
    const struct kvm_cpu_state *s = opaque;

    return s->xsave_size > KVM_CPU_STATE_XSAVE_BASE;
}

static const struct vmstate_field kvm_cpu_xsave_ext_fields[] = {
    { .name = "xsave_ext", .kind = VMS_BUFFER,
      .offset = offsetof(struct kvm_cpu_state, xsave) + KVM_CPU_STATE_XSAVE_BASE,
      .size = KVM_CPU_STATE_XSAVE_MAX - KVM_CPU_STATE_XSAVE_BASE, .num = 1 },
    VMSTATE_END_OF_LIST(),
};
static const struct vmstate_description kvm_cpu_xsave_ext_vmsd = {
    .name = "cpu/xsave_ext", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_cpu_xsave_ext_fields, .needed = kvm_cpu_xsave_ext_needed,
};
static const struct vmstate_description *const kvm_cpu_subsections[] = {
    &kvm_cpu_xsave_ext_vmsd, NULL,
};

static const struct vmstate_field kvm_cpu_state_fields[] = {
    VMSTATE_STRUCT(struct kvm_cpu_state, regs, kvm_cpu_regs_vmsd),
    VMSTATE_STRUCT(struct kvm_cpu_state, sregs, kvm_cpu_sregs_vmsd),
    VMSTATE_FIELD(struct kvm_cpu_state, nxcrs),
    VMSTATE_STRUCT_VARRAY(struct kvm_cpu_state, xcrs, nxcrs, kvm_cpu_reg_vmsd),
    VMSTATE_EQUAL(struct kvm_cpu_state, xsave_size),
    { .name = "xsave", .kind = VMS_BUFFER, .offset = offsetof(struct kvm_cpu_state, xsave),
      .size = KVM_CPU_STATE_XSAVE_BASE, .num = 1 },
    VMSTATE_FIELD(struct kvm_cpu_state, nmsrs),
    VMSTATE_STRUCT_VARRAY(struct kvm_cpu_state, msrs, nmsrs, kvm_cpu_reg_vmsd),
    VMSTATE_BUFFER(struct kvm_cpu_state, lapic),
    VMSTATE_STRUCT(struct kvm_cpu_state, events, kvm_cpu_events_vmsd),
    VMSTATE_FIELD(struct kvm_cpu_state, mp_state),
    VMSTATE_STRUCT(struct kvm_cpu_state, debugregs, kvm_cpu_debugregs_vmsd),
    VMSTATE_END_OF_LIST(),
};

static bool kvm_cpu_state_detached(const struct kvm_cpu_section *c)
{
    return c->fd < 0;
}

static bool kvm_cpu_state_pre_save(void *opaque, GError **errp)
{
    struct kvm_cpu_section *c = container_of(opaque, struct kvm_cpu_section, s);

    return kvm_cpu_state_detached(c) || kvm_cpu_state_get(c, errp);
}

static bool kvm_cpu_state_post_load(void *opaque, int version_id, GError **errp)
{
    struct kvm_cpu_section *c = container_of(opaque, struct kvm_cpu_section, s);

    (void)version_id;
    if (!kvm_cpu_state_check(c, errp))
        return false;
    if (!kvm_cpu_state_detached(c) && !kvm_cpu_state_put(c, errp))
        return false;
    if (c->loaded)
        c->loaded(c->loaded_opaque);
    return true;
}

const struct vmstate_description kvm_cpu_state_vmstate = {
    .name = "cpu",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = kvm_cpu_state_fields,
    .subsections = kvm_cpu_subsections,
    .pre_save = kvm_cpu_state_pre_save,
    .post_load = kvm_cpu_state_post_load,
};

/* ---- KVM <-> plain state ---- */

static bool kvm_cpu_ioctl(const struct kvm_cpu_section *c, unsigned long req, void *arg,
                          const char *name, GError **errp)
{
    if (ioctl(c->fd, req, arg) < 0) {
        error_setg_errno(errp, errno, "cpu %u: %s", c->index, name);
        return false;
    }
    return true;
}

#define CPU_IOCTL(c, req, arg, errp) kvm_cpu_ioctl(c, req, arg, #req, errp)

#define COPY(f) d->f = k->f;
static void kvm_cpu_segment_from_kvm(struct kvm_cpu_segment *d, const struct kvm_segment *k)
{
    KVM_CPU_SEGMENT(COPY)
}

static void kvm_cpu_segment_to_kvm(struct kvm_segment *d, const struct kvm_cpu_segment *k)
{
    KVM_CPU_SEGMENT(COPY)
}

static void kvm_cpu_regs_from_kvm(struct kvm_cpu_regs *d, const struct kvm_regs *k)
{
    KVM_CPU_REGS(COPY)
}

static void kvm_cpu_regs_to_kvm(struct kvm_regs *d, const struct kvm_cpu_regs *k)
{
    KVM_CPU_REGS(COPY)
}

#define SEG_FROM(f) kvm_cpu_segment_from_kvm(&d->f, &k->f);
#define SEG_TO(f) kvm_cpu_segment_to_kvm(&d->f, &k->f);
static void kvm_cpu_sregs_from_kvm(struct kvm_cpu_sregs *d, const struct kvm_sregs *k)
{
    KVM_CPU_SEGMENTS(SEG_FROM)
    KVM_CPU_CRS(COPY)
    d->gdt.base = k->gdt.base;
    d->gdt.limit = k->gdt.limit;
    d->idt.base = k->idt.base;
    d->idt.limit = k->idt.limit;
    for (unsigned i = 0; i < G_N_ELEMENTS(d->interrupt_bitmap); i++)
        d->interrupt_bitmap[i] = k->interrupt_bitmap[i];
}

static void kvm_cpu_sregs_to_kvm(struct kvm_sregs *d, const struct kvm_cpu_sregs *k)
{
    memset(d, 0, sizeof(*d));
    KVM_CPU_SEGMENTS(SEG_TO)
    KVM_CPU_CRS(COPY)
    d->gdt.base = k->gdt.base;
    d->gdt.limit = k->gdt.limit;
    d->idt.base = k->idt.base;
    d->idt.limit = k->idt.limit;
    for (unsigned i = 0; i < G_N_ELEMENTS(k->interrupt_bitmap); i++)
        d->interrupt_bitmap[i] = k->interrupt_bitmap[i];
}

#define EVENT_FROM(f, m) d->f = k->m;
#define EVENT_TO(f, m) d->m = k->f;
static void kvm_cpu_events_from_kvm(struct kvm_cpu_events *d, const struct kvm_vcpu_events *k)
{
    KVM_CPU_EVENTS(EVENT_FROM)
}

/* Only the parts KVM accepts without optional capabilities (no payload,
 * no triple fault): NMI and SIPI state always, shadow and SMM as saved. */
static void kvm_cpu_events_to_kvm(struct kvm_vcpu_events *d, const struct kvm_cpu_events *k)
{
    memset(d, 0, sizeof(*d));
    KVM_CPU_EVENTS(EVENT_TO)
    d->flags = (k->flags & (KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM)) |
               KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    d->exception_has_payload = 0;
    d->exception_payload = 0;
}

/* ---- get ---- */

static bool kvm_cpu_get_xcrs(struct kvm_cpu_section *c, GError **errp)
{
    struct kvm_xcrs x;

    if (!CPU_IOCTL(c, KVM_GET_XCRS, &x, errp))
        return false;
    c->s.nxcrs = MIN(x.nr_xcrs, KVM_CPU_STATE_MAX_XCRS);
    for (unsigned i = 0; i < c->s.nxcrs; i++) {
        c->s.xcrs[i].index = x.xcrs[i].xcr;
        c->s.xcrs[i].value = x.xcrs[i].value;
    }
    return true;
}

static bool kvm_cpu_get_xsave(struct kvm_cpu_section *c, GError **errp)
{
    g_autofree uint8_t *area = g_malloc0(c->xsave_size);
    bool ok = c->xsave_size > KVM_CPU_STATE_XSAVE_BASE
                  ? CPU_IOCTL(c, KVM_GET_XSAVE2, area, errp)
                  : CPU_IOCTL(c, KVM_GET_XSAVE, area, errp);

    memset(c->s.xsave, 0, sizeof(c->s.xsave));
    memcpy(c->s.xsave, area, c->xsave_size);
    c->s.xsave_size = c->xsave_size;
    return ok;
}

static struct kvm_msrs *kvm_cpu_msrs_new(void)
{
    return g_malloc0(sizeof(struct kvm_msrs) +
                     KVM_CPU_STATE_MAX_MSRS * sizeof(struct kvm_msr_entry));
}

static bool kvm_cpu_get_msrs(struct kvm_cpu_section *c, GError **errp)
{
    g_autofree struct kvm_msrs *m = kvm_cpu_msrs_new();
    int r;

    m->nmsrs = c->nmsr_list;
    for (unsigned i = 0; i < c->nmsr_list; i++)
        m->entries[i].index = c->msr_list[i];
    r = ioctl(c->fd, KVM_GET_MSRS, m);
    if (r < 0) {
        error_setg_errno(errp, errno, "cpu %u: KVM_GET_MSRS", c->index);
        return false;
    }
    if ((unsigned)r < m->nmsrs) {
        error_setg(errp, "cpu %u: KVM_GET_MSRS: cannot read MSR 0x%x", c->index,
                   m->entries[r].index);
        return false;
    }
    c->s.nmsrs = m->nmsrs;
    for (unsigned i = 0; i < m->nmsrs; i++) {
        c->s.msrs[i].index = m->entries[i].index;
        c->s.msrs[i].value = m->entries[i].data;
    }
    return true;
}

static bool kvm_cpu_get_small(struct kvm_cpu_section *c, GError **errp)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events ev;
    struct kvm_mp_state mp;
    struct kvm_debugregs dr;

    if (!CPU_IOCTL(c, KVM_GET_REGS, &regs, errp) || !CPU_IOCTL(c, KVM_GET_SREGS, &sregs, errp) ||
        !CPU_IOCTL(c, KVM_GET_LAPIC, &lapic, errp) ||
        !CPU_IOCTL(c, KVM_GET_VCPU_EVENTS, &ev, errp) ||
        !CPU_IOCTL(c, KVM_GET_MP_STATE, &mp, errp) ||
        !CPU_IOCTL(c, KVM_GET_DEBUGREGS, &dr, errp))
        return false;
    kvm_cpu_regs_from_kvm(&c->s.regs, &regs);
    kvm_cpu_sregs_from_kvm(&c->s.sregs, &sregs);
    memcpy(c->s.lapic, lapic.regs, sizeof(c->s.lapic));
    kvm_cpu_events_from_kvm(&c->s.events, &ev);
    c->s.mp_state = mp.mp_state;
    for (unsigned i = 0; i < 4; i++)
        c->s.debugregs.db[i] = dr.db[i];
    c->s.debugregs.dr6 = dr.dr6;
    c->s.debugregs.dr7 = dr.dr7;
    return true;
}

bool kvm_cpu_state_get(struct kvm_cpu_section *c, GError **errp)
{
    return kvm_cpu_get_small(c, errp) && kvm_cpu_get_xcrs(c, errp) &&
           kvm_cpu_get_xsave(c, errp) && kvm_cpu_get_msrs(c, errp);
}

/* ---- put ---- */

bool kvm_cpu_state_msr_known(uint32_t index)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(kvm_cpu_state_msrs); i++) {
        if (kvm_cpu_state_msrs[i].index == index)
            return true;
    }
    return false;
}

/* A stream may not set MSRs Tern does not migrate (EFER, feature control,
 * ...) through the MSR list. */
bool kvm_cpu_state_check(const struct kvm_cpu_section *c, GError **errp)
{
    for (unsigned i = 0; i < c->s.nmsrs; i++) {
        if (!kvm_cpu_state_msr_known(c->s.msrs[i].index)) {
            error_setg(errp, "cpu %u: MSR 0x%x is not one Tern migrates", c->index,
                       c->s.msrs[i].index);
            return false;
        }
    }
    return true;
}

/* KVM_SET_MSRS of the saved MSRs, the TSC deadline alone (@deadline) or
 * all the others. */
static bool kvm_cpu_put_msrs(const struct kvm_cpu_section *c, bool deadline, GError **errp)
{
    g_autofree struct kvm_msrs *m = kvm_cpu_msrs_new();
    int r;

    for (unsigned i = 0; i < c->s.nmsrs; i++) {
        if ((c->s.msrs[i].index == MSR_IA32_TSC_DEADLINE) != deadline)
            continue;
        m->entries[m->nmsrs].index = c->s.msrs[i].index;
        m->entries[m->nmsrs++].data = c->s.msrs[i].value;
    }
    if (!m->nmsrs)
        return true;
    r = ioctl(c->fd, KVM_SET_MSRS, m);
    if (r < 0) {
        error_setg_errno(errp, errno, "cpu %u: KVM_SET_MSRS", c->index);
        return false;
    }
    if ((unsigned)r < m->nmsrs) {
        error_setg(errp, "cpu %u: KVM_SET_MSRS: KVM refused MSR 0x%x = 0x%" G_GINT64_MODIFIER
                         "x", c->index, m->entries[r].index, (uint64_t)m->entries[r].data);
        return false;
    }
    return true;
}

static bool kvm_cpu_put_xsave(const struct kvm_cpu_section *c, GError **errp)
{
    g_autofree uint8_t *area = g_malloc0(MAX(c->xsave_size, sizeof(struct kvm_xsave)));

    memcpy(area, c->s.xsave, c->xsave_size);
    return CPU_IOCTL(c, KVM_SET_XSAVE, area, errp);
}

static bool kvm_cpu_put_xcrs(const struct kvm_cpu_section *c, GError **errp)
{
    struct kvm_xcrs x = { .nr_xcrs = c->s.nxcrs };

    for (unsigned i = 0; i < c->s.nxcrs; i++) {
        x.xcrs[i].xcr = c->s.xcrs[i].index;
        x.xcrs[i].value = c->s.xcrs[i].value;
    }
    return CPU_IOCTL(c, KVM_SET_XCRS, &x, errp);
}

static void kvm_cpu_debugregs_to_kvm(struct kvm_debugregs *d, const struct kvm_cpu_debugregs *k)
{
    memset(d, 0, sizeof(*d));
    for (unsigned i = 0; i < 4; i++)
        d->db[i] = k->db[i];
    d->dr6 = k->dr6;
    d->dr7 = k->dr7;
}

bool kvm_cpu_state_put(struct kvm_cpu_section *c, GError **errp)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events ev;
    struct kvm_mp_state mp = { .mp_state = c->s.mp_state };
    struct kvm_debugregs dr;

    kvm_cpu_regs_to_kvm(&regs, &c->s.regs);
    kvm_cpu_sregs_to_kvm(&sregs, &c->s.sregs);
    memcpy(lapic.regs, c->s.lapic, sizeof(lapic.regs));
    kvm_cpu_events_to_kvm(&ev, &c->s.events);
    kvm_cpu_debugregs_to_kvm(&dr, &c->s.debugregs);
    /* QEMU's kvm_arch_put_registers() order. */
    return CPU_IOCTL(c, KVM_SET_REGS, &regs, errp) && kvm_cpu_put_xsave(c, errp) &&
           kvm_cpu_put_xcrs(c, errp) && CPU_IOCTL(c, KVM_SET_SREGS, &sregs, errp) &&
           kvm_cpu_put_msrs(c, false, errp) && CPU_IOCTL(c, KVM_SET_MP_STATE, &mp, errp) &&
           CPU_IOCTL(c, KVM_SET_LAPIC, &lapic, errp) && kvm_cpu_put_msrs(c, true, errp) &&
           CPU_IOCTL(c, KVM_SET_VCPU_EVENTS, &ev, errp) &&
           CPU_IOCTL(c, KVM_SET_DEBUGREGS, &dr, errp);
}

/* ---- init ---- */

static bool kvm_cpu_msr_readable(int fd, uint32_t index)
{
    struct kvm_msrs_one m = { .nmsrs = 1, .e.index = index };

    return ioctl(fd, KVM_GET_MSRS, &m) == 1;
}

bool kvm_cpu_state_init_detached(struct kvm_cpu_section *c, unsigned index,
                                 uint32_t xsave_size, void (*loaded)(void *opaque),
                                 void *loaded_opaque, GError **errp)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->index = index;
    c->loaded = loaded;
    c->loaded_opaque = loaded_opaque;
    c->xsave_size = xsave_size;
    if (xsave_size > KVM_CPU_STATE_XSAVE_MAX) {
        error_setg(errp, "cpu %u: KVM_CAP_XSAVE2: an XSAVE area of %u bytes is larger than the "
                         "%u bytes Tern migrates", index, xsave_size, KVM_CPU_STATE_XSAVE_MAX);
        return false;
    }
    if (xsave_size < KVM_CPU_STATE_XSAVE_BASE) {
        error_setg(errp, "cpu %u: an XSAVE area of %u bytes is smaller than struct kvm_xsave",
                   index, xsave_size);
        return false;
    }
    c->s.xsave_size = xsave_size; /* loads must match it */
    return true;
}

bool kvm_cpu_state_init(struct kvm_cpu_section *c, const struct kvm *kvm, int fd,
                        unsigned index, void (*loaded)(void *opaque), void *loaded_opaque,
                        GError **errp)
{
    if (!kvm_cpu_state_init_detached(c, index, kvm->xsave_size, loaded, loaded_opaque, errp))
        return false;
    c->fd = fd;
    for (unsigned i = 0; i < G_N_ELEMENTS(kvm_cpu_state_msrs); i++) {
        uint32_t msr = kvm_cpu_state_msrs[i].index;

        if (kvm_has_msr(kvm, msr) || (kvm_cpu_state_msrs[i].probe && kvm_cpu_msr_readable(fd, msr)))
            c->msr_list[c->nmsr_list++] = msr;
    }
    return true;
}
