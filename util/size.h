/*
 * Sizes as QEMU spells them on the command line: "128", "128M", "2G", "512k".
 */
#ifndef UTIL_SIZE_H
#define UTIL_SIZE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/*
 * Parse a decimal number with an optional K/M/G/T suffix (either case, an
 * optional trailing 'B').  A bare number is multiplied by @default_unit
 * (QEMU's -m takes MiB).  Overflow, junk and empty strings are errors.
 */
bool size_parse(const char *str, uint64_t default_unit, uint64_t *out, GError **errp);

/* "129 MiB", "2 GiB", "4096 B": the largest unit that divides @size. */
char *size_to_str(uint64_t size);

#endif
