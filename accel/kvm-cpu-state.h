/*
 * One vCPU's guest-visible x86 state as the "cpu" migration section
 * (instance = vCPU index): read from KVM before saving, written back to KVM
 * after loading.  The state is plain integers in named fields (the vmdesc
 * and analyze-migration show regs.rip, sregs.cr3, ...); KVM's own structs
 * use types VMState cannot describe (__u64 is unsigned long long).
 *
 * Wire layout, "cpu" version 1 (STREAM-FORMAT.md, VMState payload):
 *   regs        struct: rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags,
 *               each be64
 *   sregs       struct: cs ds es fs gs ss tr ldt (segment: base be64,
 *               limit be32, selector be16, type present dpl db s l g avl
 *               unusable u8), gdt idt (dtable: base be64, limit be16),
 *               cr0 cr2 cr3 cr4 cr8 efer apic_base be64,
 *               interrupt_bitmap 4 x be64
 *   nxcrs       be32 (<= 16), then xcrs: nxcrs x (index be32, value be64)
 *   xsave_size  be32: the vCPU's XSAVE area size; must equal the loader's
 *   xsave       4096 bytes: the legacy area + header of struct kvm_xsave
 *   nmsrs       be32 (<= KVM_CPU_STATE_MAX_MSRS), then msrs: nmsrs x
 *               (index be32, value be64), only MSRs of kvm_cpu_state_msrs[]
 *   lapic       1024 bytes: struct kvm_lapic_state
 *   events      struct: struct kvm_vcpu_events member by member
 *   mp_state    be32
 *   debugregs   struct: db 4 x be64, dr6 be64, dr7 be64
 *   subsection "cpu/xsave_ext" (only when xsave_size > 4096, AMX hosts):
 *               xsave_ext, the rest of the area up to KVM_CPU_STATE_XSAVE_MAX
 *
 * Writing back follows QEMU's kvm_arch_put_registers(): regs, xsave, xcrs,
 * sregs, MSRs, MP state, LAPIC, TSC deadline (KVM ignores it unless the
 * LAPIC timer is in TSC-deadline mode), events, debug registers.  Anything
 * KVM refuses is an error naming the vCPU and the ioctl.
 *
 * Loading validates the plain state first (MSRs only from
 * kvm_cpu_state_msrs[]; counts and xsave_size by the VMState table), then
 * writes it to the vCPU.  A detached section (kvm_cpu_state_init_detached)
 * has no vCPU behind it: pre_save sends the state struct as it stands and
 * post_load validates it without any KVM call, so the stream-loader fuzzer
 * and unit tests load real "cpu" sections without /dev/kvm.
 *
 * Thread context: pre_save and post_load run as any VMState hook (the
 * migration thread or the incoming loader, VM lock held) and additionally
 * need this vCPU parked: the caller must have paused the vCPUs, and
 * cpus_pause() completes in-flight I/O first, so no half-done instruction
 * is saved.  @loaded runs at the end of a successful post_load, same
 * context.
 */
#ifndef ACCEL_KVM_CPU_STATE_H
#define ACCEL_KVM_CPU_STATE_H

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/kvm.h"
#include "migration/vmstate.h"

#define KVM_CPU_STATE_MAX_MSRS 64
#define KVM_CPU_STATE_MAX_XCRS 16
#define KVM_CPU_STATE_XSAVE_BASE 4096
#define KVM_CPU_STATE_XSAVE_MAX 16384

struct kvm_cpu_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g, avl, unusable;
};

struct kvm_cpu_dtable {
    uint64_t base;
    uint16_t limit;
};

struct kvm_cpu_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
};

struct kvm_cpu_sregs {
    struct kvm_cpu_segment cs, ds, es, fs, gs, ss, tr, ldt;
    struct kvm_cpu_dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
    uint64_t interrupt_bitmap[4];
};

/* An XCR or an MSR: index and value. */
struct kvm_cpu_reg {
    uint32_t index;
    uint64_t value;
};

struct kvm_cpu_events {
    uint8_t exception_injected, exception_nr, exception_has_error_code, exception_pending;
    uint32_t exception_error_code;
    uint8_t interrupt_injected, interrupt_nr, interrupt_soft, interrupt_shadow;
    uint8_t nmi_injected, nmi_pending, nmi_masked;
    uint32_t sipi_vector;
    uint32_t flags;
    uint8_t smi_smm, smi_pending, smi_inside_nmi, smi_latched_init;
    uint8_t exception_has_payload;
    uint64_t exception_payload;
};

struct kvm_cpu_debugregs {
    uint64_t db[4];
    uint64_t dr6, dr7;
};

/* Everything the "cpu" section carries. */
struct kvm_cpu_state {
    struct kvm_cpu_regs regs;
    struct kvm_cpu_sregs sregs;
    uint32_t nxcrs;
    struct kvm_cpu_reg xcrs[KVM_CPU_STATE_MAX_XCRS];
    uint32_t xsave_size;
    uint8_t xsave[KVM_CPU_STATE_XSAVE_MAX];
    uint32_t nmsrs;
    struct kvm_cpu_reg msrs[KVM_CPU_STATE_MAX_MSRS];
    uint8_t lapic[KVM_APIC_REG_SIZE];
    struct kvm_cpu_events events;
    uint32_t mp_state;
    struct kvm_cpu_debugregs debugregs;
};

/* One vCPU's section: the host context the hooks need, around the state
 * (registered with &section->s as the opaque). */
struct kvm_cpu_section {
    int fd; /* the vCPU, or -1: detached */
    unsigned index;
    uint32_t xsave_size;
    uint32_t msr_list[KVM_CPU_STATE_MAX_MSRS]; /* what this host migrates */
    unsigned nmsr_list;
    void (*loaded)(void *opaque);
    void *loaded_opaque;
    struct kvm_cpu_state s;
};

extern const struct vmstate_description kvm_cpu_state_vmstate;

/* Bind @c to vCPU @fd: the XSAVE size and the MSRs of kvm_cpu_state_msrs[]
 * that KVM_GET_MSR_INDEX_LIST names (MTRRs, which KVM always emulates but
 * does not list, when a read succeeds).  Main thread, vCPU not running. */
bool kvm_cpu_state_init(struct kvm_cpu_section *c, const struct kvm *kvm, int fd,
                        unsigned index, void (*loaded)(void *opaque), void *loaded_opaque,
                        GError **errp);

/* A section with no vCPU behind it, whose XSAVE area is @xsave_size bytes
 * (loads must match it): the state is only saved and loaded as data.
 * @loaded as for kvm_cpu_state_init(). */
bool kvm_cpu_state_init_detached(struct kvm_cpu_section *c, unsigned index,
                                 uint32_t xsave_size, void (*loaded)(void *opaque),
                                 void *loaded_opaque, GError **errp);

/* Read the state from KVM / write it back as it is (the section's
 * pre_save and post_load, which checks it first; also usable directly).
 * vCPU parked; not for detached sections. */
bool kvm_cpu_state_get(struct kvm_cpu_section *c, GError **errp);
bool kvm_cpu_state_put(struct kvm_cpu_section *c, GError **errp);

/* The checks post_load makes on loaded state before writing it anywhere. */
bool kvm_cpu_state_check(const struct kvm_cpu_section *c, GError **errp);

/* Is @index an MSR the "cpu" section may carry? */
bool kvm_cpu_state_msr_known(uint32_t index);

#endif
