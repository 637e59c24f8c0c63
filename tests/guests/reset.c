/*
 * reset: checks that a guest-initiated machine reset restarts the guest.
 *
 * A boot counter lives at physical 0x5000 (u32), valid while the u32 at
 * 0x5004 holds RESET_MAGIC.  It has to live outside the image, which the
 * VMM reloads on reset, and in RAM the VMM does not clear (guest-owned
 * scratch, 0x1000-0x5fff).
 *
 * Serial output and exit:
 *   reset: boot 1            then resets through the i8042 (0xfe -> 0x64)
 *   reset: i8042 reset ignored   if still running ~1 s later: exit 4
 *   reset: boot 2
 *   reset: done              exit 0
 *   reset: unexpected boot N     (N > 2) exit 5
 */
#include "cpu.h"
#include "debug_exit.h"
#include "guest.h"
#include "phys.h"
#include "pio.h"
#include "print.h"

#define RESET_COUNTER_ADDR 0x5000
#define RESET_MAGIC_ADDR 0x5004
#define RESET_MAGIC 0x7465726eu /* "tern" */
#define RESET_I8042_STATUS 0x64
#define RESET_I8042_COMMAND 0x64
#define RESET_I8042_INPUT_FULL 0x02
#define RESET_I8042_PULSE_RESET 0xfe
/*
 * How long to wait for the reset to take effect before calling it
 * ignored: a VMM may finish the current exit and run a few more guest
 * instructions first.  In TSC cycles, ~1 s at 1-4 GHz is plenty.
 */
#define RESET_GRACE_TSC 2000000000ull

static uint32_t reset_count_boot(void)
{
	volatile uint32_t *counter = phys_ptr(RESET_COUNTER_ADDR);
	volatile uint32_t *magic = phys_ptr(RESET_MAGIC_ADDR);

	if (*magic != RESET_MAGIC) {
		*counter = 0;
		*magic = RESET_MAGIC;
	}
	return ++*counter;
}

static void reset_via_i8042(void)
{
	uint64_t start;

	/* A real controller wants its input buffer empty; don't wait for
	 * ever on one that is absent (reads 0xff). */
	for (int i = 0; i < 1000; i++) {
		if (!(pio_inb(RESET_I8042_STATUS) & RESET_I8042_INPUT_FULL))
			break;
	}
	pio_outb(RESET_I8042_COMMAND, RESET_I8042_PULSE_RESET);
	start = cpu_rdtsc();
	while (cpu_rdtsc() - start < RESET_GRACE_TSC)
		cpu_pause();
}

void guest_main(const struct hvm_start_info *si)
{
	uint32_t boot = reset_count_boot();

	(void)si;
	print("reset: boot %u\n", boot);
	if (boot == 1) {
		reset_via_i8042();
		print("reset: i8042 reset ignored\n");
		debug_exit(4);
	}
	if (boot == 2) {
		print("reset: done\n");
		debug_exit(0);
	}
	print("reset: unexpected boot %u\n", boot);
	debug_exit(5);
}
