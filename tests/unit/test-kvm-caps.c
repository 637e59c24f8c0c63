/* accel/kvm.c: the required-capability table, probed through a fake. */
#include <glib.h>
#include <linux/kvm.h>
#include <string.h>

#include "accel/kvm.h"

static int missing_cap;

static int fake_check(void *opaque, int cap)
{
    (void)opaque;
    return cap == missing_cap ? 0 : 1;
}

static void test_all_present(void)
{
    g_autoptr(GError) err = NULL;

    missing_cap = -1;
    g_assert_true(kvm_check_caps(fake_check, NULL, &err));
    g_assert_no_error(err);
}

static void test_missing_named(void)
{
    static const struct {
        int cap;
        const char *name;
    } cases[] = { { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
                  { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
                  { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
                  { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" } };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;

        missing_cap = cases[i].cap;
        g_assert_false(kvm_check_caps(fake_check, NULL, &err));
        g_assert_nonnull(strstr(err->message, cases[i].name));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm-caps/all-present", test_all_present);
    g_test_add_func("/kvm-caps/missing", test_missing_named);
    return g_test_run();
}
