/*
 * Migration between two VMs in one process (needs /dev/kvm): the whole VM
 * state (RAM, vCPUs, kvmclock, irqchip, PIT, devices) through a memory
 * stream, with the dirty-ram guest's RAM invariant on the destination.
 *
 *   stop-and-copy       A paused, savevm_save_all, load into a fresh B in
 *                       inmigrate; RAM equal byte for byte; B runs on
 *   live                pre-copy while A's guest runs (KVM dirty logging),
 *                       then stop and complete; then a second live
 *                       migration of A from scratch after save_cleanup
 *   live-no-dirty-log   the same without the dirty log: RAM must differ,
 *                       proving the live test can fail
 *   smp                 -smp 2: both vCPUs' state round-trips, B runs on
 *   bad-ram-size        a 64M stream into a 128M VM: an error naming sizes
 *   bad-cpu-section     out-of-range MSR count, an MSR Tern does not
 *                       migrate: errors, no crash
 */
#include <glib.h>
#include <string.h>

#include "tests/kvm/vmtest.h"

#define MB 16
#define APPEND "mb=16"

static uint8_t passes(struct vm *vm)
{
    return vmtest_dirty_byte(vm, MB * 256 - 1);
}

/* Two more full passes than @arg (the pass count then; it wraps at 256). */
static bool two_more_passes(struct vm *vm, void *arg)
{
    return (uint8_t)(passes(vm) - GPOINTER_TO_UINT(arg)) >= 2;
}

static void assert_invariant(struct vm *vm)
{
    g_autofree char *why = NULL;

    if (!vmtest_invariant(vm, MB, &why))
        g_error("RAM invariant broken: %s", why);
}

static GByteArray *stream_take(QEMUFile *f)
{
    GByteArray *out = g_byte_array_new();

    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    qemu_file_close(f, NULL);
    return out;
}

/* Whole stream of a paused VM. */
static GByteArray *save_paused(struct vm *a)
{
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;

    g_assert_true(savevm_save_all(&a->savevm, f, &err));
    g_assert_no_error(err);
    g_assert_false(a->kvm.dirty_logging);
    return stream_take(f);
}

/* A fresh destination in inmigrate loads @s; lock held on return. */
static struct vm *load_new(const GByteArray *s, const char *mem, unsigned smp, GError **errp)
{
    struct vm *b = vmtest_new("dirty-ram", APPEND, mem, smp);
    g_autoptr(GError) err = NULL;
    QEMUFile *f;
    bool ok;

    vm_lock(b);
    g_assert_true(vm_prepare_incoming(b, &err));
    g_assert_cmpint(b->runstate, ==, RUNSTATE_INMIGRATE);
    f = qemu_file_new_mem_input(s->data, s->len);
    vm_unlock(b); /* the loader takes it for device sections (device_lock) */
    ok = savevm_load(&b->savevm, f, errp);
    vm_lock(b);
    qemu_file_close(f, NULL);
    g_assert_true(ok == (errp == NULL || *errp == NULL));
    return b;
}

/* B holds A's RAM; it runs on from there and keeps the invariant. */
static void check_destination(struct vm *a, struct vm *b)
{
    g_autoptr(GError) err = NULL;
    uint8_t last;

    g_assert_cmpuint(a->mem.size, ==, b->mem.size);
    g_assert_true(memcmp(a->mem.base, b->mem.base, a->mem.size) == 0);
    assert_invariant(b);
    last = passes(b);
    g_assert_true(vm_incoming_finish(b, &err));
    g_assert_cmpint(b->runstate, ==, RUNSTATE_RUNNING);
    g_assert_true(vmtest_wait(b, two_more_passes, GUINT_TO_POINTER(last), 120));
    g_assert_true(vm_pause(b, &err));
    assert_invariant(b);
}

static void test_stop_and_copy(void)
{
    struct vm *a = vmtest_boot("dirty-ram", APPEND, "64M", 1);
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) s = NULL;
    struct vm *b;

    vm_lock(a);
    g_assert_true(vmtest_wait(a, two_more_passes, GUINT_TO_POINTER(0), 120));
    g_assert_true(vm_pause(a, &err));
    assert_invariant(a);
    s = save_paused(a);
    b = load_new(s, "64M", 1, NULL);
    check_destination(a, b);
    vm_unlock(b);
    vm_unlock(a);
    vm_free(b);
    vm_free(a);
}

/* Pre-copy while A's guest runs until the first pass is done and the guest
 * has rewritten every page twice since, then stop and complete. */
static GByteArray *save_live(struct vm *a)
{
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;
    gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
    unsigned iterations = 0;
    int first_pass_at = -1; /* guest's pass count when ours completed */

    savevm_write_header(&a->savevm, f);
    g_assert_true(savevm_save_setup(&a->savevm, f, &err));
    vm_unlock(a); /* iterate runs without the VM lock, guest running */
    for (;;) {
        g_assert_cmpint(savevm_save_iterate(&a->savevm, f, &err), >=, 0);
        iterations++;
        if (ram_first_pass_done(&a->ram) && first_pass_at < 0)
            first_pass_at = passes(a);
        if (first_pass_at >= 0 && two_more_passes(a, GINT_TO_POINTER(first_pass_at)) &&
            (savevm_pending(&a->savevm, 0) < 64 * VMTEST_PAGE || iterations >= 4))
            break;
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
    vm_lock(a);
    g_assert_true(a->kvm.dirty_logging || a->ram.sync == NULL);
    g_assert_true(vm_pause(a, &err));
    g_assert_true(savevm_save_complete(&a->savevm, f, &err));
    g_assert_no_error(err);
    savevm_save_cleanup(&a->savevm);
    g_assert_false(a->kvm.dirty_logging);
    g_test_message("live: %u iterations, %u KiB", iterations,
                   (unsigned)(qemu_file_mem_data(f)->len >> 10));
    return stream_take(f);
}

static void test_live(void)
{
    struct vm *a = vmtest_boot("dirty-ram", APPEND, "64M", 1);
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) s1 = NULL;
    g_autoptr(GByteArray) s2 = NULL;
    struct vm *b, *c;

    vm_lock(a);
    g_assert_true(vmtest_wait(a, two_more_passes, GUINT_TO_POINTER(0), 120));
    s1 = save_live(a);
    b = load_new(s1, "64M", 1, NULL);
    check_destination(a, b);
    vm_unlock(b);
    vm_free(b);

    /* Dirty logging is off again and the sender starts from scratch. */
    g_assert_true(vm_resume(a, &err));
    s2 = save_live(a);
    c = load_new(s2, "64M", 1, NULL);
    check_destination(a, c);
    vm_unlock(c);
    vm_free(c);
    vm_unlock(a);
    vm_free(a);
}

/* Without KVM's dirty log the pages the guest rewrote after they were sent
 * are stale on the destination: the live test above can fail. */
static void test_live_without_dirty_log(void)
{
    struct vm *a = vmtest_boot("dirty-ram", APPEND, "64M", 1);
    g_autoptr(GByteArray) s = NULL;
    struct vm *b;

    vm_lock(a);
    a->ram.sync = NULL;
    g_assert_true(vmtest_wait(a, two_more_passes, GUINT_TO_POINTER(0), 120));
    s = save_live(a);
    b = load_new(s, "64M", 1, NULL);
    g_assert_false(memcmp(a->mem.base, b->mem.base, a->mem.size) == 0);
    vm_unlock(b);
    vm_free(b);
    vm_unlock(a);
    vm_free(a);
}

/* What KVM holds for a vCPU, after a load, equals what the source saved
 * (the TSC and other clocks moved on, so MSRs and the LAPIC timer count
 * are left out). */
static void check_cpu_state(struct vm *a, struct vm *b, unsigned i)
{
    const struct kvm_cpu_state *sa = &a->cpus.vcpu[i].state.s;
    struct kvm_cpu_section *cb = &b->cpus.vcpu[i].state;
    g_autoptr(GError) err = NULL;

    g_assert_true(kvm_cpu_state_get(cb, &err));
    g_assert_cmpmem(&sa->regs, sizeof(sa->regs), &cb->s.regs, sizeof(cb->s.regs));
    g_assert_cmpmem(&sa->sregs, sizeof(sa->sregs), &cb->s.sregs, sizeof(cb->s.sregs));
    g_assert_cmpuint(sa->mp_state, ==, cb->s.mp_state);
    g_assert_cmpuint(sa->nxcrs, ==, cb->s.nxcrs);
    g_assert_cmpmem(sa->xcrs, sizeof(sa->xcrs), cb->s.xcrs, sizeof(cb->s.xcrs));
    g_assert_cmpmem(sa->xsave, 512, cb->s.xsave, 512); /* legacy FPU/SSE area */
    g_assert_cmpuint(sa->nmsrs, ==, cb->s.nmsrs);
}

static void test_smp(void)
{
    struct vm *a = vmtest_boot("dirty-ram", APPEND, "64M", 2);
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) s = NULL;
    struct vm *b;

    vm_lock(a);
    g_assert_true(vmtest_wait(a, two_more_passes, GUINT_TO_POINTER(0), 120));
    g_assert_true(vm_pause(a, &err));
    s = save_paused(a);
    g_assert_nonnull(savevm_find(&a->savevm, "cpu", 1));
    b = load_new(s, "64M", 2, NULL);
    for (unsigned i = 0; i < 2; i++)
        check_cpu_state(a, b, i);
    /* This guest never starts the AP: it still waits for INIT. */
    g_assert_cmpuint(b->cpus.vcpu[1].state.s.mp_state, ==, KVM_MP_STATE_UNINITIALIZED);
    check_destination(a, b);
    vm_unlock(b);
    vm_unlock(a);
    vm_free(b);
    vm_free(a);
}

static GByteArray *paused_stream(const char *mem, struct vm **ap)
{
    struct vm *a = vmtest_boot("dirty-ram", APPEND, mem, 1);
    g_autoptr(GError) err = NULL;
    GByteArray *s;

    vm_lock(a);
    g_assert_true(vmtest_wait(a, two_more_passes, GUINT_TO_POINTER(0), 120));
    g_assert_true(vm_pause(a, &err));
    s = save_paused(a);
    vm_unlock(a);
    *ap = a;
    return s;
}

static void expect_load_error(const GByteArray *s, const char *mem, const char *fragment)
{
    g_autoptr(GError) err = NULL;
    struct vm *b = load_new(s, mem, 1, &err);

    g_assert_nonnull(err);
    g_test_message("want '%s', got '%s'", fragment, err->message);
    g_assert_nonnull(strstr(err->message, fragment));
    g_assert_cmpint(b->runstate, ==, RUNSTATE_INMIGRATE); /* never runs */
    vm_unlock(b);
    vm_free(b);
}

static void test_bad_ram_size(void)
{
    struct vm *a;
    g_autoptr(GByteArray) s = paused_stream("64M", &a);

    expect_load_error(s, "128M", "the stream has 64 MiB of RAM, this VM 128 MiB");
    vm_free(a);
}

/* Offset of "cpu" 0's nmsrs in @s: after the FULL header, regs (144
 * bytes), sregs (8 segments of 23, 2 tables of 10, 7 x 8, 4 x 8), nxcrs,
 * the xcrs, xsave_size and the 4096-byte XSAVE area. */
static size_t cpu_nmsrs_offset(const GByteArray *s)
{
    static const uint8_t hdr[] = { 3, 'c', 'p', 'u', 0, 0, 0, 0, 0, 0, 0, 1 };
    const uint8_t *p = memmem(s->data, s->len, hdr, sizeof(hdr));
    size_t off, nxcrs;

    g_assert_nonnull(p);
    off = (size_t)(p - s->data) + sizeof(hdr) + 144 + 8 * 23 + 2 * 10 + 7 * 8 + 4 * 8;
    nxcrs = (size_t)s->data[off] << 24 | s->data[off + 1] << 16 | s->data[off + 2] << 8 |
            s->data[off + 3];
    return off + 4 + nxcrs * 12 + 4 + 4096;
}

static void test_bad_cpu_section(void)
{
    struct vm *a;
    g_autoptr(GByteArray) s = paused_stream("64M", &a);
    g_autoptr(GByteArray) bad = g_byte_array_new();
    size_t off = cpu_nmsrs_offset(s);
    uint32_t nmsrs = GUINT32_FROM_BE(*(uint32_t *)(s->data + off));

    g_assert_cmpuint(nmsrs, ==, a->cpus.vcpu[0].state.s.nmsrs);
    g_byte_array_append(bad, s->data, s->len);
    bad->data[off + 3] = KVM_CPU_STATE_MAX_MSRS + 1;
    bad->data[off + 2] = 0;
    expect_load_error(bad, "64M", "65 elements exceed the capacity of 64");
    memcpy(bad->data, s->data, s->len);
    bad->data[off + 4] = 0xc0; /* first MSR: 0x00000010 (TSC) -> 0xc0000010 */
    expect_load_error(bad, "64M", "MSR 0xc0000010 is not one Tern migrates");
    memcpy(bad->data, s->data, s->len);
    bad->data[off] = 0xff; /* a count far beyond */
    expect_load_error(bad, "64M", "exceed the capacity");
    vm_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migrate/stop-and-copy", test_stop_and_copy);
    g_test_add_func("/migrate/live", test_live);
    g_test_add_func("/migrate/live-without-dirty-log-fails", test_live_without_dirty_log);
    g_test_add_func("/migrate/smp", test_smp);
    g_test_add_func("/migrate/bad-ram-size", test_bad_ram_size);
    g_test_add_func("/migrate/bad-cpu-section", test_bad_cpu_section);
    return g_test_run();
}
