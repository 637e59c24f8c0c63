/*
 * Reading the Intel MultiProcessor Specification 1.4 tables a BIOS (or
 * Tern) leaves in low memory, to learn how many CPUs there are and their
 * local APIC ids.
 *
 * Floating pointer (16 bytes, 16-byte aligned, in the first KiB of the
 * EBDA, in 0x9fc00-0x9ffff or in 0xf0000-0xfffff):
 *   0 "_MP_"  4 u32 config table address  8 u8 length in 16-byte units
 *   9 u8 spec rev  10 u8 checksum (all bytes sum to 0)  11 u8 features[0]
 *   (non-zero: a default configuration, no table; treated as "none")
 * Config table header (44 bytes), then entry_count entries:
 *   0 "PCMP"  4 u16 base table length  6 u8 spec rev  7 u8 checksum
 *   (base table bytes sum to 0)  ...  34 u16 entry count
 *   36 u32 local APIC address
 * Processor entry (type 0, 20 bytes): 1 u8 local APIC id, 2 u8 version,
 *   3 u8 flags (bit 0 enabled, bit 1 bootstrap processor), ...
 * Other base entries (bus, I/O APIC, interrupt) are 8 bytes.
 */
#ifndef MPTABLE_H
#define MPTABLE_H

#include <stdbool.h>
#include <stdint.h>

struct mptable {
	const uint8_t *config; /* the validated PCMP table */
};

struct mptable_cpu {
	uint8_t apic_id;
	bool bsp;
};

/* Finds and validates the tables; false if there is no valid table. */
bool mptable_find(struct mptable *mp);

/*
 * Stores up to @max enabled processors, in table order, in @cpus and
 * returns how many enabled processors the table lists (may exceed @max).
 */
unsigned mptable_cpus(const struct mptable *mp, struct mptable_cpu *cpus,
		      unsigned max);

#endif
