/*
 * Intel MultiProcessor Specification 1.4 tables, so a guest without ACPI
 * (Linux built without it, the smp test guest) finds every vCPU, the IOAPIC
 * and the ISA interrupt routing.
 *
 * Layout written at LAYOUT_MPTABLE (found by the BIOS-area scan of
 * 0xf0000-0xfffff):
 *   +0   floating pointer, 16 bytes: "_MP_", u32 config table address,
 *        u8 length (1), u8 spec rev (4), u8 checksum, 5 feature bytes (0:
 *        virtual-wire mode, config table present)
 *   +16  config table header, 44 bytes: "PCMP", u16 base table length,
 *        u8 spec rev, u8 checksum, char oem[8], char product[12],
 *        u32 oem table 0, u16 oem size 0, u16 entry count,
 *        u32 local APIC address, u16 ext length, u8 ext checksum, u8 rsvd
 *   then entries: one processor (20 bytes, type 0) per vCPU with APIC id =
 *        vCPU index; bus 0 "ISA" (8, type 1); IOAPIC id ncpus at
 *        0xfec00000 (8, type 2); 16 I/O interrupts ISA IRQ n -> IOAPIC pin
 *        n (8, type 3; KVM's default GSI routing is the identity; flags 0,
 *        bus default, except level/active-high 0x0d for the virtio-mmio
 *        IRQs in LAYOUT_LEVEL_IRQS); ExtINT on
 *        LINT0 and NMI on LINT1 (8 each, type 4).
 * Both checksums make their structure's bytes sum to zero.
 */
#ifndef HW_X86_MPTABLE_H
#define HW_X86_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes the table takes for @ncpus. */
size_t mptable_size(unsigned ncpus);

/* Build the table for placement at guest address @base into @buf (at least
 * mptable_size() bytes).  Returns the size written. */
size_t mptable_build(uint8_t *buf, uint64_t base, unsigned ncpus);

/* Sum of @len bytes, mod 256 (0 for a valid table). */
uint8_t mptable_checksum(const uint8_t *buf, size_t len);

#endif
