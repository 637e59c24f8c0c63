/*
 * libFuzzer target: the incoming stream loader (savevm_load) against the
 * tern-1.0 devices, a virtio-blk disk and the "block" and "ram" iterative
 * sections (loadvm-fixture.h).  Any crash, sanitizer report or trap is a
 * bug; a rejected stream is the normal outcome.
 *   build-fuzz/tests/fuzz/fuzz-loadvm CORPUS_DIR -max_total_time=60 -max_len=4194304
 * (a "block" record with data is 1 MiB: without -max_len, libFuzzer cuts
 * inputs at the largest seed, or at 1 MiB).
 */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/loadvm-fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The main loop thread and the disk, for the whole process: libFuzzer's
 * entry points take no context, and starting a thread per input would
 * cost more than the load. */
static struct fixture_host *fuzz_host;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_host = fixture_host_new();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *err = NULL;

    fixture_load(fuzz_host, data, size, &err);
    g_clear_error(&err);
    return 0;
}
