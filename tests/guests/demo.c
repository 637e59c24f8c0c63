/*
 * demo: something to watch in scripts/demo: a banner, then one line per
 * second of guest time, with a bar that fills every ten seconds.
 *
 * Serial output:
 *   tern demo guest: N vCPU(s), M MiB RAM
 *   demo: clock kvmclock, tsc S MHz (from SOURCE)
 *   tick 1  guest clock 1.004 s  tsc 123456789  [#.........]
 *   ...
 *   demo: done                           after ticks=N ticks; exit 0
 * N comes from the MP table (1 without one), M is the RAM in the PVH
 * memory map rounded up to a MiB ("?" without a memory map): the legacy
 * hole below 1 MiB and firmware reservations (SeaBIOS keeps 132 KiB at
 * the top) would otherwise turn -m 128M into 127.  Without kvmclock the
 * clock line reads "demo: clock tsc at S MHz (SOURCE)" and guest time is
 * TSC / that frequency.  The guest clock counts from the banner, so tick
 * K shows K seconds and a bit; a jump (say, across a migration) shows.
 *
 * Command line: ticks=N (default 0: run for ever).
 */
#include <stddef.h>

#include "clock.h"
#include "cmdline.h"
#include "cpu.h"
#include "debug_exit.h"
#include "guest.h"
#include "mptable.h"
#include "print.h"

#define DEMO_NS_PER_S 1000000000ull
#define DEMO_BAR_WIDTH 10

static unsigned demo_cpu_count(void)
{
	struct mptable mp;
	unsigned n;

	if (!mptable_find(&mp))
		return 1;
	n = mptable_cpus(&mp, NULL, 0);
	return n ? n : 1;
}

static void demo_banner(const struct hvm_start_info *si, const struct clock *c)
{
	uint64_t ram = pvh_ram_bytes(si);
	unsigned cpus = demo_cpu_count();

	if (ram)
		print("tern demo guest: %u vCPU(s), %lu MiB RAM\n", cpus,
		      (unsigned long)((ram + (1 << 20) - 1) >> 20));
	else
		print("tern demo guest: %u vCPU(s), ? MiB RAM\n", cpus);
	if (c->kvmclock)
		print("demo: clock kvmclock, tsc %lu MHz (from kvmclock)\n",
		      (unsigned long)(c->tsc_hz / 1000000));
	else
		print("demo: clock tsc at %lu MHz (%s)\n",
		      (unsigned long)(c->tsc_hz / 1000000), c->tsc_hz_source);
}

static void demo_tick(uint64_t tick, uint64_t ns)
{
	char bar[DEMO_BAR_WIDTH + 1];
	unsigned filled = (unsigned)((tick - 1) % DEMO_BAR_WIDTH) + 1;

	for (unsigned i = 0; i < DEMO_BAR_WIDTH; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[DEMO_BAR_WIDTH] = '\0';
	print("tick %lu  guest clock %lu.%03lu s  tsc %lu  [%s]\n",
	      (unsigned long)tick, (unsigned long)(ns / DEMO_NS_PER_S),
	      (unsigned long)(ns % DEMO_NS_PER_S / 1000000),
	      (unsigned long)cpu_rdtsc(), bar);
}

void guest_main(const struct hvm_start_info *si)
{
	uint64_t ticks = cmdline_u64(pvh_cmdline(si), "ticks", 0);
	struct clock clock;
	uint64_t t0;

	clock_init(&clock);
	demo_banner(si, &clock);
	t0 = clock_ns(&clock);
	for (uint64_t tick = 1;; tick++) {
		uint64_t now;

		while ((now = clock_ns(&clock)) < t0 + tick * DEMO_NS_PER_S)
			cpu_pause();
		demo_tick(tick, now - t0);
		if (ticks && tick == ticks) {
			print("demo: done\n");
			debug_exit(0);
		}
	}
}
