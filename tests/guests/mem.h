/*
 * The four functions GCC may emit calls to even in freestanding code
 * (struct initialisation and copies), so every guest links them.  They
 * keep their standard names for that reason.
 */
#ifndef MEM_H
#define MEM_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
