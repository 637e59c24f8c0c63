/*
 * printf-style output to COM1.  Supported: %% %c %s %d %u %x %p with an
 * optional '0' flag, a width and the l / ll length modifiers.  Anything
 * else is printed literally so a bad format shows up in the log instead
 * of eating arguments.
 */
#ifndef PRINT_H
#define PRINT_H

#include <stdarg.h>

__attribute__((format(printf, 1, 2))) void print(const char *fmt, ...);
void print_v(const char *fmt, va_list ap);

#endif
