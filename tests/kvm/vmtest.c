#include "tests/kvm/vmtest.h"

#include <string.h>

struct vm *vmtest_new(const char *guest, const char *append, const char *mem, unsigned smp)
{
    g_autofree char *kernel = g_strdup_printf("%s/%s.elf", TERN_GUESTS_DIR, guest);
    g_autofree char *smps = g_strdup_printf("%u", smp);
    char *argv[] = { "tern", "-m", (char *)mem, "-smp", smps, "-kernel", kernel,
                     "-append", (char *)append, "-serial", "null", NULL };
    g_autoptr(GError) err = NULL;
    struct options o;
    struct vm *vm;

    g_assert_true(options_parse(&o, G_N_ELEMENTS(argv) - 1, argv, &err));
    vm = vm_new(&o, &err);
    options_clear(&o);
    g_assert_no_error(err);
    return vm;
}

struct vm *vmtest_boot(const char *guest, const char *append, const char *mem, unsigned smp)
{
    struct vm *vm = vmtest_new(guest, append, mem, smp);
    g_autoptr(GError) err = NULL;

    vm_lock(vm);
    g_assert_true(vm_start(vm, &err));
    vm_unlock(vm);
    return vm;
}

bool vmtest_wait(struct vm *vm, bool (*cond)(struct vm *vm, void *arg), void *arg,
                 double seconds)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);

    while (!cond(vm, arg)) {
        if (g_get_monotonic_time() > deadline)
            return false;
        main_loop_iterate(&vm->loop, 5);
    }
    return true;
}

uint8_t vmtest_dirty_byte(struct vm *vm, unsigned i)
{
    return *(const uint8_t *)memory_gpa_to_hva(&vm->mem, VMTEST_DIRTY_START + i * VMTEST_PAGE,
                                                1);
}

/* QEMU's migration-test check: first bytes non-increasing by at most one
 * step of exactly 1 across the range (pages already done in this pass). */
bool vmtest_invariant(struct vm *vm, unsigned mb, char **why)
{
    unsigned drops = 0;
    uint8_t prev = vmtest_dirty_byte(vm, 0);

    for (unsigned i = 1; i < mb * 256; i++) {
        uint8_t b = vmtest_dirty_byte(vm, i);

        if (b == prev)
            continue;
        if ((uint8_t)(prev - 1) != b || ++drops > 1) {
            if (why)
                *why = g_strdup_printf("page %u: %u after %u", i, b, prev);
            return false;
        }
        prev = b;
    }
    return true;
}
