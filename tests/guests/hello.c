/*
 * hello: the smallest end-to-end check of a VMM's boot path: PVH entry,
 * start_info and its command line, COM1 output and debug-exit.
 *
 * Serial output:
 *   Hello from the tern hello guest
 *   cmdline: <command line>
 * then debug-exit with exit=N from the command line (default 0).
 */
#include "cmdline.h"
#include "debug_exit.h"
#include "guest.h"
#include "print.h"

void guest_main(const struct hvm_start_info *si)
{
	const char *cmdline = pvh_cmdline(si);

	print("Hello from the tern hello guest\n");
	print("cmdline: %s\n", cmdline);
	debug_exit((uint32_t)cmdline_u64(cmdline, "exit", 0));
}
