/*
 * The destination the stream-loader fuzzer attacks, and the seed streams it
 * starts from: the tern-1.0 machine's real device sections (through
 * machine_register_vmstate) plus the real "ram" handler (migration/ram.c)
 * over a small RAM block, whose records carry lengths and offsets the
 * loader must check.
 */
#ifndef TESTS_FUZZ_LOADVM_FIXTURE_H
#define TESTS_FUZZ_LOADVM_FIXTURE_H

#include <glib.h>

#include "hw/x86/machine.h"
#include "migration/ram.h"
#include "migration/savevm.h"

#define FIXTURE_RAM_SIZE (64 * 1024)

struct fixture {
    struct savevm sv;
    struct machine machine;
    struct ram_state rs;
    uint8_t *ram; /* FIXTURE_RAM_SIZE bytes */
};

void fixture_init(struct fixture *fx);
void fixture_destroy(struct fixture *fx);
/* A valid stream for seed @n (0..FIXTURE_SEEDS-1): different device values,
 * RAM contents and numbers of iterations. */
#define FIXTURE_SEEDS 6
GByteArray *fixture_make_seed(unsigned n);
/* Load @data into a fresh fixture; returns whether it loaded. */
bool fixture_load(const uint8_t *data, size_t len, GError **errp);

#endif
