/*
 * QEMU-style option strings: "driver,key=value,flag,noflag".
 *
 * keyval_parse("isa-debug-exit,iobase=0xf4", "driver") gives
 * { driver: "isa-debug-exit", iobase: "0xf4" }.  A bare word after the first
 * is a boolean flag: "server" -> server=on, "nowait" -> wait=off.  Consumers
 * take the keys they know with keyval_take_*() and then call
 * keyval_check_empty(), so a misspelt key is an error, never ignored.
 */
#ifndef UTIL_KEYVAL_H
#define UTIL_KEYVAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* @implied_key names a first word without '=' (NULL: not allowed). */
GHashTable *keyval_parse(const char *str, const char *implied_key, GError **errp);

/* Remove @key and return its value (owned by the caller) or NULL. */
char *keyval_take_str(GHashTable *kv, const char *key);
/* Remove @key; parse as an unsigned integer (decimal or 0x hex) <= @max. */
bool keyval_take_uint(GHashTable *kv, const char *key, uint64_t max, uint64_t *out, bool *present,
                      GError **errp);
/* Remove @key; "on"/"off"/"yes"/"no"/"true"/"false". */
bool keyval_take_bool(GHashTable *kv, const char *key, bool *out, GError **errp);
/* Error naming the first key nobody took. */
bool keyval_check_empty(GHashTable *kv, const char *what, GError **errp);

/* Parse an unsigned integer (decimal or 0x hex), whole string. */
bool keyval_parse_uint(const char *str, uint64_t max, uint64_t *out);

#endif
