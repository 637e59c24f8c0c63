/*
 * The guests' command lines are space-separated words; the ones that
 * matter are key=value.  Unknown words are ignored, so one test can pass
 * the same line to several guests.
 */
#ifndef CMDLINE_H
#define CMDLINE_H

#include <stdint.h>

/*
 * The value of the first word "key=value" (up to the next space or the
 * end), or NULL if no word starts with "key=".
 */
const char *cmdline_find(const char *cmdline, const char *key);

/*
 * The value of "key=N" as a number (decimal, or hex with 0x), or
 * @fallback if the key is absent or its value is not a number.
 */
uint64_t cmdline_u64(const char *cmdline, const char *key, uint64_t fallback);

#endif
