#include "lapic.h"

#include "cpu.h"
#include "phys.h"

#define LAPIC_BASE 0xfee00000u
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_MASKED 0x10000
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_SPURIOUS_VECTOR 0xff
#define LAPIC_ICR_INIT 0x00000500
#define LAPIC_ICR_STARTUP 0x00000600
#define LAPIC_ICR_ASSERT 0x00004000
#define LAPIC_ICR_BUSY 0x00001000 /* delivery status: send pending */
#define LAPIC_ICR_TRIES 100000

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)phys_ptr(LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)phys_ptr(LAPIC_BASE + reg) = v;
}

uint8_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_enable(void)
{
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
}

/* KVM delivers IPIs synchronously, but a VMM may not: wait, bounded. */
static bool lapic_send_ipi(uint8_t apic_id, uint32_t icr_lo)
{
	lapic_write(LAPIC_ICR_HI, (uint32_t)apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	for (int i = 0; i < LAPIC_ICR_TRIES; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & LAPIC_ICR_BUSY))
			return true;
		cpu_pause();
	}
	return false;
}

bool lapic_send_init(uint8_t apic_id)
{
	return lapic_send_ipi(apic_id, LAPIC_ICR_INIT | LAPIC_ICR_ASSERT);
}

bool lapic_send_sipi(uint8_t apic_id, uint8_t vector)
{
	return lapic_send_ipi(apic_id,
			      LAPIC_ICR_STARTUP | LAPIC_ICR_ASSERT | vector);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

void lapic_mask_lint0(void)
{
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
}
