/*
 * Just enough xAPIC (MMIO at 0xfee00000) to wake application processors,
 * and for the one guest that takes interrupts (doorbell), EOI and masking
 * LINT0.  No timer.
 */
#ifndef LAPIC_H
#define LAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* This CPU's APIC id as the local APIC reports it (ID register). */
uint8_t lapic_id(void);

/* Sets the software-enable bit, as the SDM asks before sending IPIs. */
void lapic_enable(void);

/* INIT and STARTUP IPIs; false if the ICR never went idle. */
bool lapic_send_init(uint8_t apic_id);
bool lapic_send_sipi(uint8_t apic_id, uint8_t vector);

/* End of interrupt for the vector in service (for a level-triggered
 * IOAPIC vector, KVM passes it on to the IOAPIC). */
void lapic_eoi(void);

/* Mask LINT0, which KVM resets to ExtINT on the boot CPU (virtual wire):
 * nothing from the 8259 reaches this CPU then. */
void lapic_mask_lint0(void);

#endif
