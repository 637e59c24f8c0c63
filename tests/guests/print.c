#include "print.h"

#include <stdbool.h>
#include <stdint.h>

#include "serial.h"

struct print_spec {
	char pad;	/* ' ' or '0' */
	unsigned width;
	unsigned longs; /* number of 'l' modifiers */
};

static void print_str(const char *s, const struct print_spec *spec)
{
	size_t len = 0;

	while (s[len])
		len++;
	for (size_t i = len; i < spec->width; i++)
		serial_putc(' ');
	serial_write(s, len);
}

static void print_num(uint64_t v, bool negative, unsigned base,
		      const struct print_spec *spec)
{
	char buf[24];
	unsigned n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (negative && spec->pad == '0')
		serial_putc('-');
	for (unsigned i = n + negative; i < spec->width; i++)
		serial_putc(spec->pad);
	if (negative && spec->pad != '0')
		serial_putc('-');
	while (n)
		serial_putc(buf[--n]);
}

static uint64_t print_unsigned_arg(va_list *ap, unsigned longs)
{
	if (longs >= 2)
		return va_arg(*ap, unsigned long long);
	if (longs == 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static int64_t print_signed_arg(va_list *ap, unsigned longs)
{
	if (longs >= 2)
		return va_arg(*ap, long long);
	if (longs == 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

/* Prints one conversion; returns false if @conv is not supported. */
static bool print_conv(char conv, const struct print_spec *spec, va_list *ap)
{
	int64_t s;

	switch (conv) {
	case 'c':
		serial_putc((char)va_arg(*ap, int));
		return true;
	case 's':
		print_str(va_arg(*ap, const char *), spec);
		return true;
	case 'd':
		s = print_signed_arg(ap, spec->longs);
		print_num(s < 0 ? -(uint64_t)s : (uint64_t)s, s < 0, 10, spec);
		return true;
	case 'u':
		print_num(print_unsigned_arg(ap, spec->longs), false, 10, spec);
		return true;
	case 'x':
		print_num(print_unsigned_arg(ap, spec->longs), false, 16, spec);
		return true;
	case 'p':
		serial_write("0x", 2);
		print_num((uintptr_t)va_arg(*ap, void *), false, 16, spec);
		return true;
	case '%':
		serial_putc('%');
		return true;
	}
	return false;
}

void print_v(const char *fmt, va_list ap)
{
	va_list args;

	/* A copy, so the helpers can take it by pointer portably. */
	va_copy(args, ap);
	while (*fmt) {
		const char *start = fmt;
		struct print_spec spec = { .pad = ' ' };

		if (*fmt != '%') {
			serial_putc(*fmt++);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			spec.pad = *fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			spec.width = spec.width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l') {
			spec.longs++;
			fmt++;
		}
		if (!*fmt || !print_conv(*fmt, &spec, &args)) {
			serial_write(start, (size_t)(fmt - start));
			continue;
		}
		fmt++;
	}
	va_end(args);
}

void print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_v(fmt, ap);
	va_end(ap);
}
