/*
 * In-process VMs (needs /dev/kvm): the pause/resume handshake against the
 * dirty-ram guest's RAM invariant, -S, system reset, and two VMs in one
 * process (nothing global).
 */
#include <glib.h>
#include <string.h>

#include "system/vm.h"

#define DIRTY_START (2ULL << 20)
#define DIRTY_MB 16
#define PAGE 4096ULL

static struct vm *vm_boot(const char *guest, const char *append, bool paused, bool debug_exit)
{
    g_autofree char *kernel = g_strdup_printf("%s/%s.elf", TERN_GUESTS_DIR, guest);
    char *argv[] = { "tern", "-m", "64M", "-kernel", kernel, "-append", (char *)append,
                     "-serial", "null", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                     paused ? "-S" : NULL, NULL };
    int argc = paused ? 12 : 11;
    g_autoptr(GError) err = NULL;
    struct options o;
    struct vm *vm;

    if (!debug_exit)
        argc -= 2, argv[9] = argv[11], argv[10] = NULL;
    g_assert_true(options_parse(&o, argc, argv, &err));
    vm = vm_new(&o, &err);
    options_clear(&o);
    g_assert_no_error(err);
    vm_lock(vm);
    g_assert_true(vm_start(vm, &err));
    vm_unlock(vm);
    return vm;
}

static const uint8_t *dirty_page(struct vm *vm, unsigned i)
{
    return memory_gpa_to_hva(&vm->mem, DIRTY_START + i * PAGE, 1);
}

/* Iterate the main loop (lock held) until cond or a generous deadline. */
static bool vm_wait(struct vm *vm, bool (*cond)(struct vm *vm, void *arg), void *arg,
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

static bool page_reached(struct vm *vm, void *arg)
{
    unsigned want = GPOINTER_TO_UINT(arg);

    return *dirty_page(vm, DIRTY_MB * 256 - 1) >= want;
}

/* QEMU's migration-test check: first bytes non-increasing by at most one
 * step of exactly 1 across the range (pages already done in this pass). */
static void check_invariant(struct vm *vm)
{
    unsigned drops = 0;
    uint8_t prev = *dirty_page(vm, 0);

    for (unsigned i = 1; i < DIRTY_MB * 256; i++) {
        uint8_t b = *dirty_page(vm, i);

        if (b == prev)
            continue;
        if ((uint8_t)(prev - 1) != b || ++drops > 1)
            g_error("RAM invariant broken at page %u: %u after %u", i, b, prev);
        prev = b;
    }
}

static void test_pause_resume_invariant(void)
{
    struct vm *vm = vm_boot("dirty-ram", "mb=16", false, true);
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *snap = g_malloc(DIRTY_MB * 256);

    vm_lock(vm);
    g_assert_true(vm_wait(vm, page_reached, GUINT_TO_POINTER(2), 120));
    for (unsigned round = 0; round < 20; round++) {
        uint8_t before;

        g_assert_true(vm_pause(vm, &err));
        g_assert_cmpint(vm->runstate, ==, RUNSTATE_PAUSED);
        g_assert_true(cpus_all_parked(&vm->cpus));
        check_invariant(vm);
        for (unsigned i = 0; i < DIRTY_MB * 256; i++)
            snap[i] = *dirty_page(vm, i);
        /* paused for real: a few main-loop rounds change nothing */
        for (unsigned i = 0; i < 5; i++)
            main_loop_iterate(&vm->loop, 2);
        for (unsigned i = 0; i < DIRTY_MB * 256; i++)
            g_assert_cmpuint(snap[i], ==, *dirty_page(vm, i));
        before = *dirty_page(vm, DIRTY_MB * 256 - 1);
        g_assert_true(vm_resume(vm, &err));
        g_assert_true(vm_wait(vm, page_reached, GUINT_TO_POINTER(before + 1), 120));
    }
    vm_unlock(vm);
    vm_free(vm);
}

static bool first_page_nonzero(struct vm *vm, void *arg)
{
    (void)arg;
    return *dirty_page(vm, 0) != 0;
}

static bool all_parked(struct vm *vm, void *arg)
{
    (void)arg;
    return cpus_all_parked(&vm->cpus);
}

static void test_start_paused(void)
{
    struct vm *vm = vm_boot("dirty-ram", "mb=16", true, true);
    g_autoptr(GError) err = NULL;

    vm_lock(vm);
    g_assert_cmpint(vm->runstate, ==, RUNSTATE_PRELAUNCH);
    g_assert_true(vm_wait(vm, all_parked, NULL, 30));
    for (unsigned i = 0; i < 10; i++)
        main_loop_iterate(&vm->loop, 2);
    g_assert_cmpuint(*dirty_page(vm, 0), ==, 0);
    g_assert_true(vm_resume(vm, &err));
    g_assert_cmpint(vm->runstate, ==, RUNSTATE_RUNNING);
    g_assert_true(vm_wait(vm, first_page_nonzero, NULL, 120));
    vm_unlock(vm);
    vm_free(vm);
}

static void test_system_reset(void)
{
    struct vm *vm = vm_boot("reset", "", false, true);
    int status;

    vm_lock(vm);
    status = vm_run(vm);
    g_assert_cmpint(status, ==, 1); /* reset guest: debug-exit 0 on its 2nd boot */
    g_assert_cmpuint(vm->resets, ==, 1);
    vm_unlock(vm);
    vm_free(vm);
}

static bool both_progress(struct vm *vm, void *arg)
{
    struct vm *other = arg;

    main_loop_iterate(&other->loop, 0);
    return *dirty_page(vm, 0) >= 3 && *dirty_page(other, 0) >= 3;
}

static void test_two_vms(void)
{
    struct vm *a = vm_boot("dirty-ram", "mb=4", false, true);
    struct vm *b = vm_boot("dirty-ram", "mb=4", false, true);
    g_autoptr(GError) err = NULL;
    uint8_t frozen;

    g_assert_true(a->mem.base != b->mem.base);
    vm_lock(a);
    vm_lock(b);
    g_assert_true(vm_wait(a, both_progress, b, 120));
    g_assert_true(vm_pause(a, &err));
    frozen = *dirty_page(a, 0);
    {
        uint8_t start = *dirty_page(b, 0);
        gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
        while (*dirty_page(b, 0) == start && g_get_monotonic_time() < deadline)
            main_loop_iterate(&b->loop, 5);
        g_assert_cmpuint(*dirty_page(b, 0), !=, start);
    }
    g_assert_cmpuint(*dirty_page(a, 0), ==, frozen);
    vm_unlock(b);
    vm_unlock(a);
    vm_free(a);
    vm_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vm/pause-resume-invariant", test_pause_resume_invariant);
    g_test_add_func("/vm/start-paused", test_start_paused);
    g_test_add_func("/vm/system-reset", test_system_reset);
    g_test_add_func("/vm/two-vms", test_two_vms);
    return g_test_run();
}
