/*
 * dirty-ram: the RAM invariant guest for migration tests, after QEMU's
 * tests/migration/i386/a-b-bootblock.S.
 *
 * Prints "A" once, then for ever adds 1 to the first byte of every 4 KiB
 * page in [2 MiB, 2 MiB + mb MiB) and prints "B" after each full pass
 * (no newlines).  The range is clamped to the end of the memory map's
 * RAM region holding 2 MiB, and to 4 GiB (the end of the identity map).
 * Nothing is initialised first: a fresh VM's RAM is zero, and a copy of
 * a paused VM has to hold whatever the source held.
 *
 * Invariant, for a paused VM: walking the range, the first bytes never
 * increase (mod 256), except that there is at most one place where the
 * value drops by exactly 1 (the pages before it were already
 * incremented in the current pass).  Any other pattern means a page was
 * lost or duplicated by migration.
 *
 * Command line: mb=N (default 32); passes=N (N > 0: debug-exit 0 after
 * N passes); idle=1 (with passes=N: print "I" and halt instead of exiting,
 * leaving N passes' worth of data in RAM: an idle guest for downtime and
 * bandwidth tests).
 */
#include "cmdline.h"
#include "debug_exit.h"
#include "guest.h"
#include "serial.h"

#define DIRTY_RAM_START (2ull << 20)
#define DIRTY_RAM_MAPPED_LIMIT (4ull << 30)
#define DIRTY_RAM_PAGE 4096

static uint64_t dirty_ram_end(const struct hvm_start_info *si, uint64_t mb)
{
	uint64_t end = DIRTY_RAM_START + (mb << 20);
	uint64_t ram_end = pvh_ram_end(si, DIRTY_RAM_START);

	/* No memory map (PVH start_info version 0): trust mb=. */
	if (ram_end && end > ram_end)
		end = ram_end;
	if (end > DIRTY_RAM_MAPPED_LIMIT)
		end = DIRTY_RAM_MAPPED_LIMIT;
	return end;
}

/* The hot loop: one read-modify-write of one byte per page. */
static void dirty_ram_pass(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end; a += DIRTY_RAM_PAGE)
		(*(volatile uint8_t *)(uintptr_t)a)++;
}

void guest_main(const struct hvm_start_info *si)
{
	const char *cmdline = pvh_cmdline(si);
	uint64_t passes = cmdline_u64(cmdline, "passes", 0);
	uint64_t idle = cmdline_u64(cmdline, "idle", 0);
	uint64_t end = dirty_ram_end(si, cmdline_u64(cmdline, "mb", 32));

	serial_putc('A');
	for (uint64_t n = 1;; n++) {
		dirty_ram_pass(DIRTY_RAM_START, end);
		serial_putc('B');
		if (passes && n == passes && idle) {
			serial_putc('I');
			cpu_halt_forever();
		}
		if (passes && n == passes)
			debug_exit(0);
	}
}
