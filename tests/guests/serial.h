/* Output on COM1, the only channel the tests read. */
#ifndef SERIAL_H
#define SERIAL_H

#include <stddef.h>

void serial_putc(char c);
void serial_write(const char *s, size_t len);

#endif
