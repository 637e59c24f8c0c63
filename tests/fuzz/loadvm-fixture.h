/*
 * The destination the stream-loader fuzzer attacks, and the seed streams it
 * starts from: the machine `tern -m 2M -smp 2 -device
 * isa-debug-exit,iobase=0xf4,iosize=4` is, with every section it registers
 * (the loader refuses a stream that lacks one), the real
 * VMStateDescriptions, in the order system/vm.c registers them, but with
 * no KVM behind them (detached sections: post_load validates, nothing is
 * written to a vCPU):
 *
 *   ram, ram-verify   the real handler and digest (migration/ram.c), one
 *                     "pc.ram" block of FIXTURE_RAM_SIZE in a memfd, as
 *                     tern's
 *   cpu 0, 1          XSAVE area of 4096 bytes, as on every host Tern runs
 *                     on (it never asks for AMX permission)
 *   kvmclock, i8259 0/1, ioapic, i8254   (accel/kvm-vm-state.c)
 *   serial, i8042, isa-debug-exit (iobase 0xf4, iosize 4)
 *
 * So streams written by that tern load here (tests/fuzz/tern-streams.py),
 * as do the seeds below.
 */
#ifndef TESTS_FUZZ_LOADVM_FIXTURE_H
#define TESTS_FUZZ_LOADVM_FIXTURE_H

#include <glib.h>

#include "accel/kvm-cpu-state.h"
#include "accel/kvm-vm-state.h"
#include "hw/x86/machine.h"
#include "migration/ram.h"
#include "migration/savevm.h"

#define FIXTURE_RAM_SIZE (2u << 20) /* -m 2M, the least tern accepts */
#define FIXTURE_CPUS 2
#define FIXTURE_XSAVE_SIZE 4096
#define FIXTURE_DEBUG_EXIT_BASE 0xf4
#define FIXTURE_DEBUG_EXIT_SIZE 4

struct fixture {
    struct savevm sv;
    struct ram_state rs;
    struct kvm_cpu_section cpu[FIXTURE_CPUS];
    unsigned cpus_loaded; /* post_loads of "cpu" sections that passed */
    struct kvm_vm_state vm_state;
    struct machine machine;
    uint8_t *ram; /* FIXTURE_RAM_SIZE bytes of ram_fd, a memfd */
    int ram_fd;
};

void fixture_init(struct fixture *fx);
void fixture_destroy(struct fixture *fx);
/* A stream that loads, for seed @n (0..FIXTURE_SEEDS-1): different device
 * values, RAM contents, numbers of iterations and commands; every kind of
 * section, every RAM record kind (MEM_SIZE, ZERO, PAGE, with and without
 * CONTINUE, EOS); "ram-verify" when n % 3 == 0; for odd n, cpu 1 also
 * carries the cpu/xsave_ext subsection (see fixture_add_xsave_ext). */
#define FIXTURE_SEEDS 6
GByteArray *fixture_make_seed(unsigned n);
/* Put a cpu/xsave_ext subsection (@fill for its first 64 bytes) at the end
 * of @s's "cpu" 1 section: what an AMX host sends.  Tern's writer never
 * sends it from a 4096-byte XSAVE area, but the loader takes any known
 * subsection, so this is how the fuzzer reaches it from a fixture that
 * also loads tern's own streams. */
void fixture_add_xsave_ext(GByteArray *s, uint8_t fill);
/* Load @data into a fresh fixture; returns whether it loaded. */
bool fixture_load(const uint8_t *data, size_t len, GError **errp);

#endif
