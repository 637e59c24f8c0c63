/*
 * Writes the fuzzer's seed corpus: FIXTURE_SEEDS valid streams into DIR,
 * after checking that each one loads.  Usage: fuzz-seeds DIR
 */
#include <stdio.h>

#include "tests/fuzz/loadvm-fixture.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-seeds DIR\n");
        return 2;
    }
    for (unsigned n = 0; n < FIXTURE_SEEDS; n++) {
        g_autoptr(GByteArray) s = fixture_make_seed(n);
        g_autofree char *path = g_strdup_printf("%s/seed-%u.stream", argv[1], n);
        g_autoptr(GError) err = NULL;

        if (!fixture_load(s->data, s->len, &err)) {
            fprintf(stderr, "fuzz-seeds: seed %u does not load: %s\n", n, err->message);
            return 1;
        }
        if (!g_file_set_contents(path, (const char *)s->data, s->len, &err)) {
            fprintf(stderr, "fuzz-seeds: %s\n", err->message);
            return 1;
        }
    }
    return 0;
}
