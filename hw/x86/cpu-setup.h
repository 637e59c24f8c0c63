/*
 * The x86 vCPU state a boot needs, built as plain KVM uAPI structures: the
 * boot GDT, segment registers for the PVH (32-bit, paging off) and Linux
 * 64-bit entries, the identity page tables, and the CPUID each vCPU sees.
 * Nothing here calls KVM; accel/kvm-x86.c applies the results.
 */
#ifndef HW_X86_CPU_SETUP_H
#define HW_X86_CPU_SETUP_H

#include <linux/kvm.h>
#include <stdint.h>

#include "hw/x86/layout.h"

/* GDT image for LAYOUT_GDT: null, null, code64, data, code32, TSS, 0, 0. */
void cpu_setup_gdt(uint64_t gdt[LAYOUT_GDT_ENTRIES]);

/* Identity map of 0-4 GiB with 2 MiB pages: 6 pages (PML4, PDPT, 4 PDs) to be
 * placed at LAYOUT_PML4. */
#define CPU_SETUP_PT_SIZE (6 * 4096)
void cpu_setup_page_tables(uint8_t *buf);

/* PVH entry: 32-bit flat protected mode, paging off, %ebx = start info. */
void cpu_setup_pvh(struct kvm_regs *regs, struct kvm_sregs *sregs, uint32_t entry,
                   uint32_t start_info);
/* Linux 64-bit entry: long mode on the identity map, %rsi = zero page. */
void cpu_setup_linux64(struct kvm_regs *regs, struct kvm_sregs *sregs, uint64_t entry,
                       uint64_t zero_page);

/* x87/SSE control words as after FNINIT / reset. */
void cpu_setup_fpu(struct kvm_fpu *fpu);

/*
 * The CPUID of vCPU @index of @ncpus, from KVM's supported CPUID: APIC ids,
 * logical processor counts and the extended topology leaves (one socket,
 * one thread per core, @ncpus cores; leaf 0xB gets its SMT and core
 * subleaves even where KVM lists only subleaf 0), the hypervisor bit, and
 * the KVM PV features Tern offers.  Returns a new g_malloc'd table.
 */
struct kvm_cpuid2 *cpu_setup_cpuid(const struct kvm_cpuid2 *supported, unsigned index,
                                   unsigned ncpus);

/* Number of APIC-id bits needed for @n cpus (0 for 1). */
unsigned cpu_setup_apic_id_bits(unsigned n);

#endif
