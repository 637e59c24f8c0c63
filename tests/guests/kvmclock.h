/*
 * KVM's paravirtual clock (Documentation/virt/kvm/x86/msr.rst).
 *
 * Detection: CPUID 0x40000000 (or 0x40000100 when Hyper-V leaves come
 * first) returns "KVMKVMKVM\0\0\0" in EBX/ECX/EDX, and leaf base+1 EAX
 * bit 3 (KVM_FEATURE_CLOCKSOURCE2) advertises MSR_KVM_SYSTEM_TIME_NEW
 * (0x4b564d01).  Writing (physical address | 1) of a per-vCPU
 * pvclock_vcpu_time_info to that MSR makes the hypervisor keep it up to
 * date.  The version field is odd while the hypervisor is rewriting it:
 * a reader retries until it sees the same even version before and after.
 */
#ifndef KVMCLOCK_H
#define KVMCLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* pvclock_vcpu_time_info; 32 bytes, must not cross a page boundary. */
struct kvmclock_pvti {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time; /* ns */
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((aligned(32)));

_Static_assert(sizeof(struct kvmclock_pvti) == 32, "pvclock layout");

/* True if the hypervisor offers MSR_KVM_SYSTEM_TIME_NEW. */
bool kvmclock_detect(void);

/* Registers @pvti for the calling vCPU (it must stay valid forever). */
void kvmclock_enable(struct kvmclock_pvti *pvti);

/* Nanoseconds of kvmclock time, read with the version protocol. */
uint64_t kvmclock_ns(const struct kvmclock_pvti *pvti);

/* The TSC frequency implied by the current scale factors, in Hz. */
uint64_t kvmclock_tsc_hz(const struct kvmclock_pvti *pvti);

#endif
