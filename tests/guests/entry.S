/*
 * PVH entry stub shared by every test guest.
 *
 * The VMM finds pvh_entry through the Xen ELF note below
 * (XEN_ELFNOTE_PHYS32_ENTRY, type 18) and enters it in 32-bit protected
 * mode with paging off, flat 4 GiB segments, interrupts off and %ebx =
 * physical address of struct hvm_start_info.  The stub zeroes .bss, goes
 * to long mode and calls guest_main(start_info) on a stack in the image.
 *
 * The page tables are built by the assembler, not at run time: guest
 * code here is emulated (~1-2 M instructions/s), and 2048 stores in a
 * loop are a noticeable part of a boot that should take microseconds.
 * They identity-map 0-4 GiB with 2 MiB pages; the top GiB (LAPIC,
 * IOAPIC, PCI holes) is mapped uncached as real hardware would want.
 *
 * entry_long_mode is also the way in for application processors (see
 * ap_boot.S): it is entered with a jmp in 32-bit protected mode, flat
 * segments, a usable stack and %esi = the 64-bit code to continue at.
 * It clobbers %eax, %ecx and %edx and keeps every other register, which
 * is how %ebx survives to guest_main.
 *
 * Selectors: 0x08 64-bit code, 0x10 flat data, 0x18 flat 32-bit code.
 */

#define CR0_PE 0x00000001
#define CR0_NW 0x20000000
#define CR0_CD 0x40000000
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define PTE_P_RW 0x003
#define PDE_2M 0x083		/* present, writable, 2 MiB page */
#define PDE_2M_UC 0x09b		/* ...plus PWT|PCD */
#define BSP_STACK_SIZE 16384

	.section .note.Xen, "a", @note
	.p2align 2
	.long 4			/* namesz: "Xen\0" */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_entry

	.section .text.entry, "ax", @progbits
	.code32
	.globl pvh_entry
pvh_entry:
	cli
	cld
	/* A VMM that reloads the image on reset may not clear .bss again. */
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb
	mov	$entry_bsp_stack_top, %esp
	mov	$entry_bsp64, %esi
	jmp	entry_long_mode

	.globl entry_long_mode
entry_long_mode:
	lgdt	entry_gdtr
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	mov	$entry_pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	and	$~(CR0_CD | CR0_NW), %eax
	or	$(CR0_PG | CR0_PE), %eax
	mov	%eax, %cr0
	/* Now in compatibility mode; a far return loads the 64-bit CS. */
	push	$0x08
	push	%esi
	lret

	.code64
entry_bsp64:
	mov	%ebx, %edi		/* zero-extends: start_info is < 4 GiB */
	call	guest_main
1:	cli
	hlt
	jmp	1b

	.data
	.p2align 3
entry_gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: flat data */
	.quad	0x00cf9a000000ffff	/* 0x18: flat 32-bit code */
entry_gdt_end:
	.p2align 3
entry_gdtr:
	.word	entry_gdt_end - entry_gdt - 1
	.quad	entry_gdt

	.p2align 12
entry_pml4:
	.quad	entry_pdpt + PTE_P_RW
	.fill	511, 8, 0
entry_pdpt:
	.quad	entry_pd + 0x0000 + PTE_P_RW
	.quad	entry_pd + 0x1000 + PTE_P_RW
	.quad	entry_pd + 0x2000 + PTE_P_RW
	.quad	entry_pd + 0x3000 + PTE_P_RW
	.fill	508, 8, 0
entry_pd:
	.set	entry_addr, 0
	.rept	3 * 512
	.quad	entry_addr + PDE_2M
	.set	entry_addr, entry_addr + 0x200000
	.endr
	.rept	512
	.quad	entry_addr + PDE_2M_UC
	.set	entry_addr, entry_addr + 0x200000
	.endr

	.section .stack, "aw", @nobits
	.p2align 4
	.space	BSP_STACK_SIZE
entry_bsp_stack_top:

	.section .note.GNU-stack, "", @progbits
