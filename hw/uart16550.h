/*
 * 16550A UART (the PC's COM1 at 0x3f8, IRQ 4) in front of a chardev.
 *
 * Register map (offset from the base port; DLAB = LCR bit 7):
 *   0  read: RBR (rx FIFO)        write: THR (tx)      DLAB=1: DLL
 *   1  IER  (rx data, THR empty, line status, modem status)   DLAB=1: DLM
 *   2  read: IIR (pending interrupt id, FIFO enabled bits)   write: FCR
 *   3  LCR   4 MCR (bit 4: loopback, bit 3: OUT2)
 *   5  LSR  (DR, OE, THRE, TEMT)   6 MSR   7 SCR (scratch)
 *
 * Transmission is instantaneous (the byte goes to the chardev as it is
 * written), so THRE/TEMT are set again at once and a THR-empty interrupt is
 * pending whenever IER asks for it and the guest has not read IIR since.
 *
 * The guest-visible state is struct uart16550_state: plain data, the part a
 * migration will carry.  Thread context: all entry points with the VM lock
 * held (register access from vCPU threads, input from the main loop).
 */
#ifndef HW_UART16550_H
#define HW_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#include "chardev/chardev.h"
#include "hw/irq.h"
#include "migration/vmstate.h"
#include "system/iomap.h"

#define UART16550_FIFO_SIZE 16

struct uart16550_state {
    uint16_t divider;
    uint8_t rbr; /* last byte read, returned when the FIFO is empty */
    uint8_t ier;
    uint8_t iir;
    uint8_t fcr;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t lsr;
    uint8_t msr;
    uint8_t scr;
    bool thr_ipending; /* THR-empty interrupt pending until IIR is read */
    uint8_t rx_fifo[UART16550_FIFO_SIZE];
    uint8_t rx_head;   /* index of the oldest byte */
    uint8_t rx_count;
};

struct uart16550 {
    struct uart16550_state s;
    struct irq_line irq;
    struct chardev *chr; /* may be NULL: output dropped */
};

extern const struct iomap_ops uart16550_ops;
/* Describes struct uart16550_state (the opaque is &uart->s). */
extern const struct vmstate_description uart16550_vmstate;

void uart16550_init(struct uart16550 *u, struct chardev *chr, struct irq_line irq);
void uart16550_reset(struct uart16550 *u);
uint64_t uart16550_read(void *opaque, uint64_t offset, unsigned size);
void uart16550_write(void *opaque, uint64_t offset, uint64_t value, unsigned size);

#endif
