/*
 * Guest time for timeouts and the demo's ticks: kvmclock when the
 * hypervisor offers it, else the TSC at a frequency taken from CPUID
 * leaf 0x15 or 0x16, else an assumed CLOCK_ASSUMED_TSC_HZ.  Only the
 * calling vCPU's kvmclock is registered.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "kvmclock.h"

#define CLOCK_ASSUMED_TSC_HZ 2000000000ull

struct clock {
	struct kvmclock_pvti pvti; /* written by the hypervisor */
	bool kvmclock;
	uint64_t tsc_hz;
	const char *tsc_hz_source; /* "kvmclock", "cpuid 0x15", ... */
};

/* @c must stay valid for as long as the guest runs (kvmclock writes it). */
void clock_init(struct clock *c);
uint64_t clock_ns(const struct clock *c);
void clock_delay_ns(const struct clock *c, uint64_t ns);

#endif
