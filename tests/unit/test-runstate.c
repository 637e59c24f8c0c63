/* system/runstate.c: names and the transition table. */
#include <glib.h>
#include <string.h>

#include "system/runstate.h"

static void test_names(void)
{
    for (unsigned i = 0; i < RUNSTATE__MAX; i++) {
        enum runstate s;

        g_assert_true(runstate_from_name(runstate_name(i), &s));
        g_assert_cmpint(s, ==, i);
    }
    g_assert_cmpstr(runstate_name(RUNSTATE_PRELAUNCH), ==, "prelaunch");
    g_assert_cmpstr(runstate_name(RUNSTATE_INTERNAL_ERROR), ==, "internal-error");
    g_assert_cmpstr(runstate_name(RUNSTATE__MAX), ==, "invalid");
}

static void test_transitions(void)
{
    enum runstate s = RUNSTATE_PRELAUNCH;
    g_autoptr(GError) err = NULL;

    g_assert_true(runstate_set(&s, RUNSTATE_RUNNING, &err));
    g_assert_true(runstate_set(&s, RUNSTATE_PAUSED, &err));
    g_assert_true(runstate_set(&s, RUNSTATE_RUNNING, &err));
    g_assert_true(runstate_set(&s, RUNSTATE_FINISH_MIGRATE, &err));
    g_assert_true(runstate_set(&s, RUNSTATE_POSTMIGRATE, &err));
    g_assert_no_error(err);
    /* a migrated-away source cannot jump back into inmigrate */
    g_assert_false(runstate_set(&s, RUNSTATE_INMIGRATE, &err));
    g_assert_cmpint(s, ==, RUNSTATE_POSTMIGRATE);
    g_assert_nonnull(strstr(err->message, "'postmigrate' -> 'inmigrate'"));
}

static void test_table_properties(void)
{
    /* every state can stay where it is and none may run from shutdown
     * except through a reset; prelaunch is reachable only by reset paths */
    for (unsigned i = 0; i < RUNSTATE__MAX; i++)
        g_assert_true(runstate_can_transition(i, i));
    g_assert_false(runstate_can_transition(RUNSTATE_INTERNAL_ERROR, RUNSTATE_RUNNING));
    g_assert_false(runstate_can_transition(RUNSTATE_INMIGRATE, RUNSTATE_POSTMIGRATE));
    g_assert_true(runstate_can_transition(RUNSTATE_INMIGRATE, RUNSTATE_RUNNING));
    g_assert_false(runstate_can_transition(RUNSTATE__MAX, RUNSTATE_RUNNING));
    g_assert_true(runstate_is_running(RUNSTATE_RUNNING));
    g_assert_false(runstate_is_running(RUNSTATE_PAUSED));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/runstate/names", test_names);
    g_test_add_func("/runstate/transitions", test_transitions);
    g_test_add_func("/runstate/table", test_table_properties);
    return g_test_run();
}
