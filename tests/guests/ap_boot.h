/*
 * Starting application processors: the real-mode trampoline and the
 * mailbox the BSP fills in before each INIT-SIPI-SIPI.
 *
 * The trampoline is copied to AP_BOOT_TRAMP_ADDR (guest-owned scratch
 * memory below 0x6000), so the SIPI vector is AP_BOOT_SIPI_VECTOR and
 * the AP starts at CS = 0x0100, IP = 0.  It goes 16-bit real mode ->
 * 32-bit protected mode (its own GDT inside the copied page) ->
 * entry_long_mode in entry.S, which loads the shared page tables and
 * GDT -> ap_boot_entry64 -> mailbox.entry(mailbox.arg) on
 * mailbox.stack_top.  If entry returns, the AP halts.
 *
 * The mailbox holds one AP's start-up data at a time: the BSP must not
 * rewrite it until that AP has reported in (by then it runs on its own
 * stack and has read entry and arg).
 */
#ifndef AP_BOOT_H
#define AP_BOOT_H

#define AP_BOOT_TRAMP_ADDR 0x1000
#define AP_BOOT_SIPI_VECTOR (AP_BOOT_TRAMP_ADDR >> 12)
#define AP_BOOT_MAX_CPUS 64	/* including the BSP, whose slot is unused */
#define AP_BOOT_STACK_SIZE 4096

/* Byte offsets into the mailbox, for ap_boot.S. */
#define AP_BOOT_MB_STACK_TOP 0
#define AP_BOOT_MB_ENTRY 8
#define AP_BOOT_MB_ARG 16

#ifndef __ASSEMBLER__
#include <stdint.h>

struct ap_boot_mailbox {
	uint64_t stack_top;
	uint64_t entry;	/* void (*)(void *) */
	uint64_t arg;
};

_Static_assert(__builtin_offsetof(struct ap_boot_mailbox, stack_top) ==
		       AP_BOOT_MB_STACK_TOP, "mailbox layout");
_Static_assert(__builtin_offsetof(struct ap_boot_mailbox, entry) ==
		       AP_BOOT_MB_ENTRY, "mailbox layout");
_Static_assert(__builtin_offsetof(struct ap_boot_mailbox, arg) ==
		       AP_BOOT_MB_ARG, "mailbox layout");

/* Copies the trampoline to AP_BOOT_TRAMP_ADDR; once, before any SIPI. */
void ap_boot_install(void);

/*
 * Points the mailbox at the stack of slot @cpu (1 .. AP_BOOT_MAX_CPUS-1)
 * and at @entry(@arg), for the next AP to be started.
 */
void ap_boot_prepare(unsigned cpu, void (*entry)(void *), void *arg);
#endif

#endif
