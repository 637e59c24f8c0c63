/*
 * libFuzzer target: the incoming stream loader (savevm_load) against the
 * tern-1.0 devices and a RAM-like iterative section.  Any crash, sanitizer
 * report or trap is a bug; a rejected stream is the normal outcome.
 *   build-fuzz/tests/fuzz/fuzz-loadvm CORPUS_DIR -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/loadvm-fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *err = NULL;

    fixture_load(data, size, &err);
    g_clear_error(&err);
    return 0;
}
