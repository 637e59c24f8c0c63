/*
 * The fuzzer's seed corpus.
 *   fuzz-seeds DIR             write FIXTURE_SEEDS valid streams into DIR,
 *                              after checking that each one loads
 *   fuzz-seeds --check PATH... load every file (PATH or the files in
 *                              directory PATH) into the fixture; fails,
 *                              naming each, if any does not load (streams
 *                              written by tern itself, see tern-streams.py)
 */
#include <stdio.h>
#include <string.h>

#include "tests/fuzz/loadvm-fixture.h"

static int fuzz_seeds_write(struct fixture_host *h, const char *dir)
{
    for (unsigned n = 0; n < FIXTURE_SEEDS; n++) {
        g_autoptr(GByteArray) s = fixture_make_seed(h, n);
        g_autofree char *path = g_strdup_printf("%s/seed-%u.stream", dir, n);
        g_autoptr(GError) err = NULL;

        if (!fixture_load(h, s->data, s->len, &err)) {
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

/* 0 when @path loads, else 1 with the reason on stderr. */
static int fuzz_seeds_check_file(struct fixture_host *h, const char *path)
{
    g_autofree char *data = NULL;
    gsize len;
    g_autoptr(GError) err = NULL;

    if (!g_file_get_contents(path, &data, &len, &err) ||
        !fixture_load(h, (const uint8_t *)data, len, &err)) {
        fprintf(stderr, "fuzz-seeds: %s: %s\n", path, err->message);
        return 1;
    }
    printf("%s: loads (%" G_GSIZE_FORMAT " bytes)\n", path, len);
    return 0;
}

static int fuzz_seeds_check(struct fixture_host *h, char **paths, int n)
{
    int bad = 0, checked = 0;

    for (int i = 0; i < n; i++) {
        g_autoptr(GDir) dir = g_dir_open(paths[i], 0, NULL);
        const char *name;

        if (!dir) {
            bad += fuzz_seeds_check_file(h, paths[i]);
            checked++;
            continue;
        }
        while ((name = g_dir_read_name(dir))) {
            g_autofree char *path = g_build_filename(paths[i], name, NULL);

            bad += fuzz_seeds_check_file(h, path);
            checked++;
        }
    }
    if (!checked) {
        fprintf(stderr, "fuzz-seeds: nothing to check\n");
        return 1;
    }
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct fixture_host *h;
    int ret;

    if (!(argc >= 3 && !strcmp(argv[1], "--check")) && (argc != 2 || argv[1][0] == '-')) {
        fprintf(stderr, "usage: fuzz-seeds DIR | fuzz-seeds --check PATH...\n");
        return 2;
    }
    h = fixture_host_new();
    if (argc >= 3 && !strcmp(argv[1], "--check"))
        ret = fuzz_seeds_check(h, argv + 2, argc - 2);
    else
        ret = fuzz_seeds_write(h, argv[1]);
    fixture_host_free(h);
    return ret;
}
