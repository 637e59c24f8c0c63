#include "ap_boot.h"

#include <stdint.h>

#include "mem.h"
#include "phys.h"

/* Defined in ap_boot.S. */
extern const char ap_boot_tramp_start[], ap_boot_tramp_end[];
extern struct ap_boot_mailbox ap_boot_mailbox;
extern uint8_t ap_boot_stacks[AP_BOOT_MAX_CPUS][AP_BOOT_STACK_SIZE];

void ap_boot_install(void)
{
	memcpy(phys_ptr(AP_BOOT_TRAMP_ADDR), ap_boot_tramp_start,
	       (size_t)(ap_boot_tramp_end - ap_boot_tramp_start));
}

void ap_boot_prepare(unsigned cpu, void (*entry)(void *), void *arg)
{
	ap_boot_mailbox.stack_top =
		(uintptr_t)(ap_boot_stacks[cpu] + AP_BOOT_STACK_SIZE) & ~15ul;
	ap_boot_mailbox.entry = (uintptr_t)entry;
	ap_boot_mailbox.arg = (uintptr_t)arg;
	/* The AP reads the mailbox only after our ICR writes (MMIO, which
	 * KVM orders after these stores); the barrier keeps GCC in line. */
	__asm__ volatile("" : : : "memory");
}
