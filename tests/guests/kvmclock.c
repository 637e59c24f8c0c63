#include "kvmclock.h"

#include "cpu.h"

#define KVMCLOCK_CPUID_HYPERVISOR (1u << 31) /* CPUID.1:ECX */
#define KVMCLOCK_FEATURE_CLOCKSOURCE2 (1u << 3)
#define KVMCLOCK_MSR_SYSTEM_TIME_NEW 0x4b564d01
#define KVMCLOCK_ENABLE 1

static bool kvmclock_is_kvm(uint32_t base)
{
	struct cpu_cpuid r = cpu_cpuid(base, 0);

	/* "KVMKVMKVM\0\0\0" as little-endian EBX, ECX, EDX */
	return r.ebx == 0x4b4d564b && r.ecx == 0x564b4d56 &&
	       r.edx == 0x0000004d && r.eax >= base + 1;
}

bool kvmclock_detect(void)
{
	static const uint32_t bases[] = { 0x40000000, 0x40000100 };

	if (!(cpu_cpuid(1, 0).ecx & KVMCLOCK_CPUID_HYPERVISOR))
		return false;
	for (unsigned i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (kvmclock_is_kvm(bases[i]))
			return cpu_cpuid(bases[i] + 1, 0).eax &
			       KVMCLOCK_FEATURE_CLOCKSOURCE2;
	}
	return false;
}

void kvmclock_enable(struct kvmclock_pvti *pvti)
{
	cpu_wrmsr(KVMCLOCK_MSR_SYSTEM_TIME_NEW,
		  (uint64_t)(uintptr_t)pvti | KVMCLOCK_ENABLE);
}

static uint64_t kvmclock_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t kvmclock_ns(const struct kvmclock_pvti *pvti)
{
	const volatile struct kvmclock_pvti *p = pvti;
	uint32_t version;
	uint64_t ns;

	do {
		version = p->version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		ns = p->system_time +
		     kvmclock_scale(cpu_rdtsc() - p->tsc_timestamp,
				    p->tsc_to_system_mul, p->tsc_shift);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((version & 1) || version != p->version);
	return ns;
}

uint64_t kvmclock_tsc_hz(const struct kvmclock_pvti *pvti)
{
	const volatile struct kvmclock_pvti *p = pvti;
	uint32_t mul = p->tsc_to_system_mul;
	int8_t shift = p->tsc_shift;
	uint64_t hz;

	if (!mul)
		return 0;
	/*
	 * ns = (tsc << shift) * mul / 2^32, so hz = 1e9 * 2^32 / mul >> shift.
	 * 1e9 * 2^32 still fits in 64 bits, which keeps this a 64-bit
	 * division (a 128-bit one would need libgcc).
	 */
	hz = (1000000000ull << 32) / mul;
	return shift < 0 ? hz << -shift : hz >> shift;
}
