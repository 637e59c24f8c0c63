/*
 * doorbell: the guest for tests/kvm/test-notify.c (ioeventfd doorbells
 * and level-triggered interrupts through irqfd).
 *
 * A minimal virtio-mmio driver for whatever device sits at base=ADDR: it
 * negotiates VIRTIO_F_VERSION_1, makes queue 0 ready (4 entries, rings in
 * the image, never used) and sets DRIVER_OK.  Then:
 *
 * 1. Doorbells.  kicks=N times: write 0 to QueueNotify (4 bytes), then
 *    bump `sent`, then wait until the host has counted it in `acked`.  The
 *    write comes before `sent`, so a host that sees sent = i knows the
 *    i-th doorbell has been rung.  Then one write of 1 (queue 1, never
 *    ready) to QueueNotify, which no ioeventfd matches, and phase = 2.
 * 2. Interrupts.  IOAPIC pin irq=P (default 7) -> vector 0x30, level,
 *    active high, to this CPU; the 8259 and LINT0 masked; interrupts on.
 *    The handler counts in `irqs`; for the first rings=R - 1 interrupts it
 *    only EOIs, so the line is still high and the interrupt must come
 *    again; at the R-th it reads InterruptStatus, writes it to
 *    InterruptACK (the line drops), records `irqs` in `ack_at` and EOIs.
 *    After that the guest counts on for about 0.15 s of TSC time (400M
 *    cycles) to show whether more interrupts arrive, then phase = 3 and it
 *    halts (debug-exit 0).  An interrupt after the acknowledgement reads
 *    InterruptStatus 0 and acknowledges nothing.
 *
 * Mailbox: 32-bit words at physical 0x4000 (guest scratch): [0] magic
 * 0x6c6c6264 ("dbll"), [1] phase, [2] sent, [3] acked (written by the
 * host), [4] irqs, [5] InterruptStatus read at the acknowledgement,
 * [6] ack_at.
 */
#include "cmdline.h"
#include "cpu.h"
#include "debug_exit.h"
#include "guest.h"
#include "lapic.h"
#include "phys.h"
#include "pio.h"

#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC 0x080
#define MMIO_QUEUE_DRIVER 0x090
#define MMIO_QUEUE_DEVICE 0x0a0

#define IOAPIC_BASE 0xfec00000u
#define IOAPIC_LEVEL (1u << 15)
#define VECTOR 0x30
#define QSIZE 4

#define MAILBOX 0x4000
#define MAILBOX_MAGIC 0x6c6c6264
enum { MB_MAGIC, MB_PHASE, MB_SENT, MB_ACKED, MB_IRQS, MB_ISR, MB_ACK_AT };

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t zero;
};

struct interrupt_frame;

static struct idt_gate idt[256] __attribute__((aligned(16)));
/* Descriptor table 16, avail ring 2, used ring 4-byte aligned. */
static uint8_t rings[4096] __attribute__((aligned(4096)));
static uintptr_t base;
static uint32_t rings_wanted;

static volatile uint32_t *mailbox(void)
{
	return phys_ptr(MAILBOX);
}

static uint32_t mmio_read(uint32_t reg)
{
	return *(volatile uint32_t *)phys_ptr(base + reg);
}

static void mmio_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)phys_ptr(base + reg) = v;
}

static void mmio_write64(uint32_t reg, uint64_t v)
{
	mmio_write(reg, (uint32_t)v);
	mmio_write(reg + 4, (uint32_t)(v >> 32));
}

static void virtio_setup(void)
{
	uint64_t r = (uintptr_t)rings;

	mmio_write(MMIO_STATUS, 0);
	mmio_write(MMIO_STATUS, 1 | 2); /* ACKNOWLEDGE | DRIVER */
	mmio_write(MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_write(MMIO_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1 (bit 32) */
	mmio_write(MMIO_STATUS, 1 | 2 | 8);  /* FEATURES_OK */
	mmio_write(MMIO_QUEUE_SEL, 0);
	mmio_write(MMIO_QUEUE_NUM, QSIZE);
	mmio_write64(MMIO_QUEUE_DESC, r);
	mmio_write64(MMIO_QUEUE_DRIVER, r + 1024);
	mmio_write64(MMIO_QUEUE_DEVICE, r + 2048);
	mmio_write(MMIO_QUEUE_READY, 1);
	mmio_write(MMIO_STATUS, 1 | 2 | 8 | 4); /* DRIVER_OK */
}

static void ring_doorbells(uint32_t kicks)
{
	volatile uint32_t *mb = mailbox();

	for (uint32_t i = 1; i <= kicks; i++) {
		mmio_write(MMIO_QUEUE_NOTIFY, 0);
		mb[MB_SENT] = i;
		while (mb[MB_ACKED] < i)
			cpu_pause();
	}
	mmio_write(MMIO_QUEUE_NOTIFY, 1);
}

__attribute__((interrupt)) static void doorbell_irq(struct interrupt_frame *frame)
{
	volatile uint32_t *mb = mailbox();

	(void)frame;
	mb[MB_IRQS]++;
	if (mb[MB_IRQS] == rings_wanted) {
		uint32_t isr = mmio_read(MMIO_INTERRUPT_STATUS);

		mb[MB_ISR] = isr;
		mb[MB_ACK_AT] = mb[MB_IRQS];
		mmio_write(MMIO_INTERRUPT_ACK, isr);
	}
	lapic_eoi();
}

/* The LAPIC's spurious vector: no EOI. */
__attribute__((interrupt)) static void spurious_irq(struct interrupt_frame *frame)
{
	(void)frame;
}

static void idt_set(unsigned vector, void (*fn)(struct interrupt_frame *))
{
	uint64_t a = (uintptr_t)fn;

	idt[vector] = (struct idt_gate){
		.offset_lo = (uint16_t)a,
		.selector = 0x08, /* entry.S's 64-bit code segment */
		.type = 0x8e,     /* present, DPL 0, interrupt gate */
		.offset_mid = (uint16_t)(a >> 16),
		.offset_hi = (uint32_t)(a >> 32),
	};
}

static void idt_load(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)phys_ptr(IOAPIC_BASE) = reg;
	*(volatile uint32_t *)phys_ptr(IOAPIC_BASE + 0x10) = v;
}

static void interrupts_setup(uint32_t pin)
{
	idt_set(VECTOR, doorbell_irq);
	idt_set(0xff, spurious_irq);
	idt_load();
	pio_outb(0x21, 0xff); /* 8259s: everything masked */
	pio_outb(0xa1, 0xff);
	lapic_enable();
	lapic_mask_lint0();
	ioapic_write(0x11 + 2 * pin, (uint32_t)lapic_id() << 24);
	ioapic_write(0x10 + 2 * pin, VECTOR | IOAPIC_LEVEL); /* fixed, physical, unmasked */
}

static void wait_interrupts(void)
{
	volatile uint32_t *mb = mailbox();
	uint64_t quiet;

	/* sti's one-instruction shadow: no interrupt between check and hlt. */
	while (mb[MB_IRQS] < rings_wanted)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	/* Nothing more may come once the line is acknowledged. */
	__asm__ volatile("sti" : : : "memory");
	quiet = cpu_rdtsc() + 400000000ull;
	while (cpu_rdtsc() < quiet)
		cpu_pause();
	__asm__ volatile("cli" : : : "memory");
}

void guest_main(const struct hvm_start_info *si)
{
	const char *cmdline = pvh_cmdline(si);
	volatile uint32_t *mb = mailbox();

	base = (uintptr_t)cmdline_u64(cmdline, "base", 0xd0000000);
	rings_wanted = (uint32_t)cmdline_u64(cmdline, "rings", 3);
	for (unsigned i = 0; i < 8; i++)
		mb[i] = 0;
	mb[MB_MAGIC] = MAILBOX_MAGIC;
	mb[MB_PHASE] = 1;
	virtio_setup();
	ring_doorbells((uint32_t)cmdline_u64(cmdline, "kicks", 8));
	interrupts_setup((uint32_t)cmdline_u64(cmdline, "irq", 7));
	mb[MB_PHASE] = 2;
	wait_interrupts();
	mb[MB_PHASE] = 3;
	debug_exit(0);
}
