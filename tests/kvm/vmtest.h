/*
 * Helpers for the in-process VM tests (tests/kvm): boot a test guest from
 * an argv-style option list, wait on a condition with a deadline while
 * iterating the VM's main loop, and the dirty-ram guest's RAM invariant.
 * Main thread; the VM lock is taken and released as each helper says.
 */
#ifndef TESTS_KVM_VMTEST_H
#define TESTS_KVM_VMTEST_H

#include <glib.h>
#include <stdbool.h>

#include "system/vm.h"

#define VMTEST_DIRTY_START (2ULL << 20)
#define VMTEST_PAGE 4096ULL

/* vm_new() for @guest (a tests/guests name) with -m @mem -smp @smp
 * -append @append -serial null; not started.  Lock not held on return. */
struct vm *vmtest_new(const char *guest, const char *append, const char *mem, unsigned smp);
/* The same, then vm_start(). */
struct vm *vmtest_boot(const char *guest, const char *append, const char *mem, unsigned smp);

/* Iterate the main loop (lock held) until @cond or @seconds pass. */
bool vmtest_wait(struct vm *vm, bool (*cond)(struct vm *vm, void *arg), void *arg,
                 double seconds);

/* First byte of dirty-ram page @i. */
uint8_t vmtest_dirty_byte(struct vm *vm, unsigned i);
/* Does the dirty-ram invariant hold over @mb MiB?  On failure, @why says
 * where (may be NULL).  VM paused. */
bool vmtest_invariant(struct vm *vm, unsigned mb, char **why);

#endif
