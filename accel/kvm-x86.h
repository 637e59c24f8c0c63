/*
 * x86 vCPU state through KVM: CPUID and the power-on state at creation, the
 * boot entry of the first vCPU, and a power-on snapshot that a system reset
 * restores (KVM has no "reset vCPU" ioctl; QEMU likewise puts back a reset
 * state).  The snapshot is taken right after creation, so it is exactly
 * KVM's own reset state plus Tern's LINT0/LINT1 wiring.
 *
 * Thread context: on the main thread with the vCPU's thread parked (or not
 * yet started), VM lock held.
 */
#ifndef ACCEL_KVM_X86_H
#define ACCEL_KVM_X86_H

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>

#include "hw/x86/boot.h"

struct kvm_x86_reset_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp_state;
    struct kvm_xcrs xcrs;
};

bool kvm_x86_vcpu_setup(int fd, const struct kvm_cpuid2 *supported, unsigned index,
                        unsigned ncpus, GError **errp);
bool kvm_x86_save_reset_state(int fd, struct kvm_x86_reset_state *s, GError **errp);
bool kvm_x86_load_reset_state(int fd, const struct kvm_x86_reset_state *s, GError **errp);
bool kvm_x86_set_boot_entry(int fd, const struct boot_entry *entry, GError **errp);
/* Registers for an error report: "RIP=... RSP=... CR0=...". */
char *kvm_x86_describe_regs(int fd);
/* HMP "info registers": QEMU's x86_cpu_dump_state() layout.  Parked vCPU. */
bool kvm_x86_dump_state(int fd, GString *out, GError **errp);

#endif
