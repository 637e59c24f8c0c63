/*
 * smp: checks a VMM's multiprocessor plumbing: the MP table, CPUID
 * topology (initial APIC ids), and INIT-SIPI-SIPI through the local APIC.
 *
 * Serial output (K = CPU index: 0 is the BSP, then the other enabled
 * processors in MP table order; X = CPUID.1:EBX[31:24] read on that CPU):
 *   smp: mptable lists N cpus
 *   cpu 0: online (apic id X)
 *   cpu K: online (apic id X)            one per AP, in order
 *   smp: all N cpus online               exit 0
 * Failures:
 *   smp: no mptable                      exit 2
 *   smp: timeout waiting for cpu K       exit 3
 *   smp: bsp apic id X not in mptable    exit 5
 *   smp: mptable lists N cpus, more than the M supported   exit 6
 * Diagnostic, printed only if CPUID and the MP table disagree:
 *   cpu K: cpuid apic id X != mptable apic id Y
 *
 * APs are started one at a time, so the lines come out in order; each
 * AP halts after reporting.  Command line: timeout=S seconds to wait for
 * each AP (default 30; guest code may be emulated, and slow).
 */
#include "ap_boot.h"
#include "clock.h"
#include "cmdline.h"
#include "cpu.h"
#include "debug_exit.h"
#include "guest.h"
#include "lapic.h"
#include "mptable.h"
#include "print.h"
#include "spinlock.h"

#define SMP_NS_PER_S 1000000000ull
#define SMP_INIT_DELAY_NS 10000000ull /* 10 ms, as the MP spec asks */
#define SMP_SIPI_DELAY_NS 200000ull   /* 200 us */

struct smp_cpu {
	unsigned index;
	uint8_t apic_id; /* from the MP table */
	uint32_t online;
	struct spinlock *print_lock;
};

/* Lives on the BSP's stack; guest_main never returns. */
struct smp {
	struct spinlock print_lock;
	struct clock clock;
	unsigned n;
	struct smp_cpu cpus[AP_BOOT_MAX_CPUS];
};

static void smp_report_online(struct smp_cpu *cpu)
{
	uint8_t id = cpu_initial_apic_id();

	spinlock_lock(cpu->print_lock);
	print("cpu %u: online (apic id %u)\n", cpu->index, id);
	if (id != cpu->apic_id)
		print("cpu %u: cpuid apic id %u != mptable apic id %u\n",
		      cpu->index, id, cpu->apic_id);
	spinlock_unlock(cpu->print_lock);
}

static void smp_ap_main(void *arg)
{
	struct smp_cpu *cpu = arg;

	smp_report_online(cpu);
	__atomic_store_n(&cpu->online, 1, __ATOMIC_RELEASE);
	cpu_halt_forever();
}

/* Table order, with the BSP moved to index 0. */
static void smp_read_cpus(struct smp *s, const struct mptable *mp)
{
	struct mptable_cpu table[AP_BOOT_MAX_CPUS];
	uint8_t bsp_id = lapic_id();
	unsigned next = 1;
	bool bsp_found = false;

	s->n = mptable_cpus(mp, table, AP_BOOT_MAX_CPUS);
	print("smp: mptable lists %u cpus\n", s->n);
	if (s->n > AP_BOOT_MAX_CPUS) {
		print("smp: mptable lists %u cpus, more than the %u supported\n",
		      s->n, AP_BOOT_MAX_CPUS);
		debug_exit(6);
	}
	for (unsigned i = 0; i < s->n; i++) {
		struct smp_cpu *cpu;

		if (table[i].apic_id == bsp_id && !bsp_found) {
			bsp_found = true;
			cpu = &s->cpus[0];
		} else if (next < s->n) {
			cpu = &s->cpus[next++];
		} else {
			break;
		}
		cpu->apic_id = table[i].apic_id;
		cpu->print_lock = &s->print_lock;
	}
	if (!bsp_found) {
		print("smp: bsp apic id %u not in mptable\n", bsp_id);
		debug_exit(5);
	}
	for (unsigned i = 0; i < s->n; i++)
		s->cpus[i].index = i;
}

static bool smp_wait_online(const struct smp *s, const struct smp_cpu *cpu,
			    uint64_t deadline)
{
	while (!__atomic_load_n(&cpu->online, __ATOMIC_ACQUIRE)) {
		if (clock_ns(&s->clock) >= deadline)
			return false;
		cpu_pause();
	}
	return true;
}

/* INIT, SIPI, and a second SIPI only if the first did not take. */
static bool smp_start_ap(struct smp *s, struct smp_cpu *cpu,
			 uint64_t timeout_ns)
{
	ap_boot_prepare(cpu->index, smp_ap_main, cpu);
	lapic_send_init(cpu->apic_id);
	clock_delay_ns(&s->clock, SMP_INIT_DELAY_NS);
	lapic_send_sipi(cpu->apic_id, AP_BOOT_SIPI_VECTOR);
	clock_delay_ns(&s->clock, SMP_SIPI_DELAY_NS);
	if (!__atomic_load_n(&cpu->online, __ATOMIC_ACQUIRE))
		lapic_send_sipi(cpu->apic_id, AP_BOOT_SIPI_VECTOR);
	return smp_wait_online(s, cpu, clock_ns(&s->clock) + timeout_ns);
}

void guest_main(const struct hvm_start_info *si)
{
	uint64_t timeout_ns =
		cmdline_u64(pvh_cmdline(si), "timeout", 30) * SMP_NS_PER_S;
	struct smp s = { 0 };
	struct mptable mp;

	if (!mptable_find(&mp)) {
		print("smp: no mptable\n");
		debug_exit(2);
	}
	smp_read_cpus(&s, &mp);
	smp_report_online(&s.cpus[0]);
	clock_init(&s.clock);
	lapic_enable();
	/*
	 * Only now: the trampoline page is guest scratch under Tern, but
	 * QEMU's PVH option ROM keeps start_info, the command line and the
	 * memory map in 0x500-0x2300, all of which we are done with.
	 */
	ap_boot_install();
	for (unsigned i = 1; i < s.n; i++) {
		if (!smp_start_ap(&s, &s.cpus[i], timeout_ns)) {
			spinlock_lock(&s.print_lock);
			print("smp: timeout waiting for cpu %u\n", i);
			debug_exit(3);
		}
	}
	print("smp: all %u cpus online\n", s.n);
	debug_exit(0);
}
