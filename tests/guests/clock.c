#include "clock.h"

#include "cpu.h"

static uint64_t clock_cpuid_tsc_hz(const char **source)
{
	uint32_t max = cpu_cpuid(0, 0).eax;
	struct cpu_cpuid r;

	if (max >= 0x15) {
		/* TSC = crystal (ECX Hz) * EBX / EAX */
		r = cpu_cpuid(0x15, 0);
		if (r.eax && r.ebx && r.ecx) {
			*source = "cpuid 0x15";
			return (uint64_t)r.ecx * r.ebx / r.eax;
		}
	}
	if (max >= 0x16) {
		r = cpu_cpuid(0x16, 0); /* EAX: base frequency, MHz */
		if (r.eax & 0xffff) {
			*source = "cpuid 0x16";
			return (uint64_t)(r.eax & 0xffff) * 1000000;
		}
	}
	*source = "assumed";
	return CLOCK_ASSUMED_TSC_HZ;
}

void clock_init(struct clock *c)
{
	c->kvmclock = kvmclock_detect();
	if (c->kvmclock) {
		kvmclock_enable(&c->pvti);
		c->tsc_hz = kvmclock_tsc_hz(&c->pvti);
		c->tsc_hz_source = "kvmclock";
		if (c->tsc_hz)
			return;
		/* Registered but never written: not a usable clock. */
		c->kvmclock = false;
	}
	c->tsc_hz = clock_cpuid_tsc_hz(&c->tsc_hz_source);
}

uint64_t clock_ns(const struct clock *c)
{
	uint64_t tsc;

	if (c->kvmclock)
		return kvmclock_ns(&c->pvti);
	/* Split so the product fits in 64 bits for any TSC below 18 GHz. */
	tsc = cpu_rdtsc();
	return tsc / c->tsc_hz * 1000000000ull +
	       tsc % c->tsc_hz * 1000000000ull / c->tsc_hz;
}

void clock_delay_ns(const struct clock *c, uint64_t ns)
{
	uint64_t end = clock_ns(c) + ns;

	while (clock_ns(c) < end)
		cpu_pause();
}
