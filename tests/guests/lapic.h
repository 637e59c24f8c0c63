/*
 * Just enough xAPIC (MMIO at 0xfee00000) to wake application processors.
 * The guests never take interrupts, so no timer, EOI or LVT handling.
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

#endif
