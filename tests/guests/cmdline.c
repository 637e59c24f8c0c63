#include "cmdline.h"

#include <stdbool.h>
#include <stddef.h>

static bool cmdline_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* If @word starts with "key=", the text after the '='; else NULL. */
static const char *cmdline_match(const char *word, const char *key)
{
	while (*key && *word == *key) {
		word++;
		key++;
	}
	return !*key && *word == '=' ? word + 1 : NULL;
}

const char *cmdline_find(const char *cmdline, const char *key)
{
	const char *p = cmdline;

	while (*p) {
		const char *value;

		while (cmdline_is_space(*p))
			p++;
		value = cmdline_match(p, key);
		if (value)
			return value;
		while (*p && !cmdline_is_space(*p))
			p++;
	}
	return NULL;
}

static int cmdline_digit(char c, unsigned base)
{
	int d = -1;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	return d >= 0 && (unsigned)d < base ? d : -1;
}

uint64_t cmdline_u64(const char *cmdline, const char *key, uint64_t fallback)
{
	const char *p = cmdline_find(cmdline, key);
	unsigned base = 10;
	uint64_t v = 0;

	if (!p)
		return fallback;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (cmdline_digit(*p, base) < 0)
		return fallback;
	for (int d; (d = cmdline_digit(*p, base)) >= 0; p++)
		v = v * base + (unsigned)d;
	return *p && !cmdline_is_space(*p) ? fallback : v;
}
