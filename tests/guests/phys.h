/*
 * Turning a guest-physical address into a pointer.
 *
 * The entry stub identity-maps 0-4 GiB, so a physical address below
 * 4 GiB is its own virtual address.  The empty asm hides the constant
 * from GCC, which otherwise treats a pointer made from a small integer
 * (the BIOS data area at 0x40e, the reset counter at 0x5000) as pointing
 * to a zero-sized object and warns about every access (-Warray-bounds).
 */
#ifndef PHYS_H
#define PHYS_H

#include <stdint.h>

static inline void *phys_ptr(uint64_t addr)
{
	void *p = (void *)(uintptr_t)addr;

	__asm__("" : "+r"(p));
	return p;
}

#endif
