/*
 * The contract between the shared PVH entry stub (entry.S) and a guest.
 *
 * entry.S switches to 64-bit long mode with 0-4 GiB identity-mapped by
 * 2 MiB pages, a 16 KiB stack in the image and a zeroed .bss, then calls
 * guest_main() with the start_info pointer the VMM passed in %ebx.
 * Interrupts stay off for the whole life of every guest: nothing here
 * installs an IDT, so an interrupt or exception would triple-fault
 * (doorbell.c, the exception, installs its own).
 */
#ifndef GUEST_H
#define GUEST_H

#include "pvh.h"

/* Each guest defines this; returning from it halts the vCPU. */
void guest_main(const struct hvm_start_info *si);

#endif
