/*
 * AP trampoline (copied to AP_BOOT_TRAMP_ADDR and run from there) and
 * the 64-bit AP entry.  See ap_boot.h for the whole path.
 *
 * The trampoline is position-dependent only on AP_BOOT_TRAMP_ADDR: every
 * reference inside it is an offset from ap_boot_tramp_start, every
 * reference out of it is an absolute address in the image (linked at
 * 1 MiB, reachable once in protected mode).
 */
#include "ap_boot.h"

#define TRAMP(sym) (AP_BOOT_TRAMP_ADDR + (sym) - ap_boot_tramp_start)

	.text
	.code16
	.p2align 4
	.globl ap_boot_tramp_start
ap_boot_tramp_start:
	cli
	cld
	mov	%cs, %ax		/* CS = 0x0100 from the SIPI vector */
	mov	%ax, %ds
	lgdtl	tramp_gdtr - ap_boot_tramp_start
	mov	%cr0, %eax
	or	$1, %eax		/* PE */
	mov	%eax, %cr0
	ljmpl	$0x18, $TRAMP(tramp32)

	.code32
tramp32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	ap_boot_mailbox + AP_BOOT_MB_STACK_TOP, %esp
	mov	$ap_boot_entry64, %esi
	mov	$entry_long_mode, %eax
	jmp	*%eax			/* absolute: we run from the copy */

	/* Same selectors as entry.S's GDT; only 0x10 and 0x18 are used. */
	.p2align 3
tramp_gdt:
	.quad	0
	.quad	0x00af9a000000ffff
	.quad	0x00cf92000000ffff
	.quad	0x00cf9a000000ffff
tramp_gdtr:
	.word	tramp_gdtr - tramp_gdt - 1
	.long	TRAMP(tramp_gdt)
	.globl ap_boot_tramp_end
ap_boot_tramp_end:

	.code64
ap_boot_entry64:
	mov	ap_boot_mailbox + AP_BOOT_MB_STACK_TOP(%rip), %rsp
	mov	ap_boot_mailbox + AP_BOOT_MB_ARG(%rip), %rdi
	call	*ap_boot_mailbox + AP_BOOT_MB_ENTRY(%rip)
1:	cli
	hlt
	jmp	1b

	.data
	.p2align 3
	.globl ap_boot_mailbox
ap_boot_mailbox:
	.quad	0, 0, 0

	.section .stack, "aw", @nobits
	.p2align 12
	.globl ap_boot_stacks
ap_boot_stacks:
	.space	AP_BOOT_MAX_CPUS * AP_BOOT_STACK_SIZE

	.section .note.GNU-stack, "", @progbits
