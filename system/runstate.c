#include "system/runstate.h"

#include <string.h>

#include "util/error.h"

static const char *const runstate_names[RUNSTATE__MAX] = {
    [RUNSTATE_PRELAUNCH] = "prelaunch",
    [RUNSTATE_RUNNING] = "running",
    [RUNSTATE_PAUSED] = "paused",
    [RUNSTATE_SHUTDOWN] = "shutdown",
    [RUNSTATE_INTERNAL_ERROR] = "internal-error",
    [RUNSTATE_INMIGRATE] = "inmigrate",
    [RUNSTATE_FINISH_MIGRATE] = "finish-migrate",
    [RUNSTATE_POSTMIGRATE] = "postmigrate",
    [RUNSTATE_RESTORE_VM] = "restore-vm",
    [RUNSTATE_SAVE_VM] = "save-vm",
    [RUNSTATE_GUEST_PANICKED] = "guest-panicked",
    [RUNSTATE_DEBUG] = "debug",
};

/* Allowed transitions, as QEMU's runstate_transitions_def (trimmed to the
 * states Tern has).  Every state may also move to itself. */
static const struct {
    enum runstate from, to;
} runstate_transitions[] = {
    { RUNSTATE_PRELAUNCH, RUNSTATE_RUNNING },
    { RUNSTATE_PRELAUNCH, RUNSTATE_PAUSED },
    { RUNSTATE_PRELAUNCH, RUNSTATE_INMIGRATE },
    { RUNSTATE_PRELAUNCH, RUNSTATE_FINISH_MIGRATE },
    { RUNSTATE_PRELAUNCH, RUNSTATE_SHUTDOWN },

    { RUNSTATE_RUNNING, RUNSTATE_PAUSED },
    { RUNSTATE_RUNNING, RUNSTATE_SHUTDOWN },
    { RUNSTATE_RUNNING, RUNSTATE_INTERNAL_ERROR },
    { RUNSTATE_RUNNING, RUNSTATE_FINISH_MIGRATE },
    { RUNSTATE_RUNNING, RUNSTATE_SAVE_VM },
    { RUNSTATE_RUNNING, RUNSTATE_RESTORE_VM },
    { RUNSTATE_RUNNING, RUNSTATE_GUEST_PANICKED },
    { RUNSTATE_RUNNING, RUNSTATE_DEBUG },
    { RUNSTATE_RUNNING, RUNSTATE_PRELAUNCH }, /* system_reset while running */

    { RUNSTATE_PAUSED, RUNSTATE_RUNNING },
    { RUNSTATE_PAUSED, RUNSTATE_SHUTDOWN },
    { RUNSTATE_PAUSED, RUNSTATE_FINISH_MIGRATE },
    { RUNSTATE_PAUSED, RUNSTATE_SAVE_VM },
    { RUNSTATE_PAUSED, RUNSTATE_RESTORE_VM },
    { RUNSTATE_PAUSED, RUNSTATE_PRELAUNCH },

    { RUNSTATE_SHUTDOWN, RUNSTATE_PAUSED },
    { RUNSTATE_SHUTDOWN, RUNSTATE_FINISH_MIGRATE },
    { RUNSTATE_SHUTDOWN, RUNSTATE_PRELAUNCH },
    { RUNSTATE_SHUTDOWN, RUNSTATE_RUNNING }, /* guest reset with a monitor */

    { RUNSTATE_INTERNAL_ERROR, RUNSTATE_PAUSED },
    { RUNSTATE_INTERNAL_ERROR, RUNSTATE_FINISH_MIGRATE },
    { RUNSTATE_INTERNAL_ERROR, RUNSTATE_PRELAUNCH },
    { RUNSTATE_INTERNAL_ERROR, RUNSTATE_SHUTDOWN },

    { RUNSTATE_INMIGRATE, RUNSTATE_RUNNING },
    { RUNSTATE_INMIGRATE, RUNSTATE_PAUSED },
    { RUNSTATE_INMIGRATE, RUNSTATE_SHUTDOWN },
    { RUNSTATE_INMIGRATE, RUNSTATE_INTERNAL_ERROR },
    { RUNSTATE_INMIGRATE, RUNSTATE_PRELAUNCH },
    { RUNSTATE_INMIGRATE, RUNSTATE_FINISH_MIGRATE },

    { RUNSTATE_FINISH_MIGRATE, RUNSTATE_POSTMIGRATE },
    { RUNSTATE_FINISH_MIGRATE, RUNSTATE_PAUSED },
    { RUNSTATE_FINISH_MIGRATE, RUNSTATE_RUNNING }, /* failed migration: resume */
    { RUNSTATE_FINISH_MIGRATE, RUNSTATE_SHUTDOWN },
    { RUNSTATE_FINISH_MIGRATE, RUNSTATE_PRELAUNCH },
    /* a failed migration goes back to where it started */
    { RUNSTATE_FINISH_MIGRATE, RUNSTATE_INTERNAL_ERROR },
    { RUNSTATE_FINISH_MIGRATE, RUNSTATE_GUEST_PANICKED },
    { RUNSTATE_FINISH_MIGRATE, RUNSTATE_DEBUG },

    { RUNSTATE_POSTMIGRATE, RUNSTATE_RUNNING },
    { RUNSTATE_POSTMIGRATE, RUNSTATE_PAUSED },
    { RUNSTATE_POSTMIGRATE, RUNSTATE_FINISH_MIGRATE },
    { RUNSTATE_POSTMIGRATE, RUNSTATE_PRELAUNCH },
    { RUNSTATE_POSTMIGRATE, RUNSTATE_SHUTDOWN },

    { RUNSTATE_RESTORE_VM, RUNSTATE_RUNNING },
    { RUNSTATE_RESTORE_VM, RUNSTATE_PRELAUNCH },
    { RUNSTATE_SAVE_VM, RUNSTATE_RUNNING },
    { RUNSTATE_SAVE_VM, RUNSTATE_PAUSED },

    { RUNSTATE_GUEST_PANICKED, RUNSTATE_PAUSED },
    { RUNSTATE_GUEST_PANICKED, RUNSTATE_FINISH_MIGRATE },
    { RUNSTATE_GUEST_PANICKED, RUNSTATE_PRELAUNCH },
    { RUNSTATE_GUEST_PANICKED, RUNSTATE_SHUTDOWN },

    { RUNSTATE_DEBUG, RUNSTATE_RUNNING },
    { RUNSTATE_DEBUG, RUNSTATE_FINISH_MIGRATE },
    { RUNSTATE_DEBUG, RUNSTATE_PRELAUNCH },
    { RUNSTATE_DEBUG, RUNSTATE_SHUTDOWN },
};

const char *runstate_name(enum runstate s)
{
    return (unsigned)s < RUNSTATE__MAX ? runstate_names[s] : "invalid";
}

bool runstate_from_name(const char *name, enum runstate *out)
{
    for (unsigned i = 0; i < RUNSTATE__MAX; i++) {
        if (!strcmp(name, runstate_names[i])) {
            *out = i;
            return true;
        }
    }
    return false;
}

bool runstate_can_transition(enum runstate from, enum runstate to)
{
    if ((unsigned)from >= RUNSTATE__MAX || (unsigned)to >= RUNSTATE__MAX)
        return false;
    if (from == to)
        return true;
    for (unsigned i = 0; i < G_N_ELEMENTS(runstate_transitions); i++) {
        if (runstate_transitions[i].from == from && runstate_transitions[i].to == to)
            return true;
    }
    return false;
}

bool runstate_is_running(enum runstate s)
{
    return s == RUNSTATE_RUNNING;
}

bool runstate_set(enum runstate *state, enum runstate to, GError **errp)
{
    if (!runstate_can_transition(*state, to)) {
        error_setg(errp, "invalid run state transition: '%s' -> '%s'", runstate_name(*state),
                   runstate_name(to));
        return false;
    }
    *state = to;
    return true;
}
