/* Single x86 instructions the guests need, wrapped for C. */
#ifndef CPU_H
#define CPU_H

#include <stdint.h>

struct cpu_cpuid {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpu_cpuid cpu_cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpu_cpuid r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/* The initial APIC id the VMM's CPUID reports for this vCPU. */
static inline uint8_t cpu_initial_apic_id(void)
{
	return cpu_cpuid(1, 0).ebx >> 24;
}

static inline uint64_t cpu_rdtsc(void)
{
	uint32_t lo, hi;

	/* No lfence: the guests only need a monotonic-enough counter. */
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t cpu_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void cpu_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* Spin-wait hint; also keeps busy loops from starving the other vCPU. */
static inline void cpu_pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

/* Stop this vCPU for good: interrupts are off, so hlt never returns. */
__attribute__((noreturn)) static inline void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

#endif
