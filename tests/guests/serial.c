/*
 * COM1 transmit, 16550 style: wait for Transmitter Holding Register Empty
 * (LSR bit 5) and write THR.  The UART is left as the VMM reset it; no
 * baud rate or line setup, since an emulated UART ignores it.
 *
 * The THRE wait is bounded: a VMM whose UART never reports THRE (or has
 * no UART: reads give 0xff, which has THRE set anyway) must not hang the
 * guest, it only loses the pacing.
 */
#include "serial.h"

#include "cpu.h"
#include "pio.h"

#define SERIAL_COM1 0x3f8
#define SERIAL_THR 0
#define SERIAL_LSR 5
#define SERIAL_LSR_THRE 0x20
#define SERIAL_THRE_TRIES 100000

void serial_putc(char c)
{
	for (int i = 0; i < SERIAL_THRE_TRIES; i++) {
		if (pio_inb(SERIAL_COM1 + SERIAL_LSR) & SERIAL_LSR_THRE)
			break;
		cpu_pause();
	}
	pio_outb(SERIAL_COM1 + SERIAL_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		serial_putc(s[i]);
}
