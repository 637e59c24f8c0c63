/*
 * The VM's run state, with QEMU's names (query-status reports them).
 *
 *   prelaunch --start--> running <--stop/cont--> paused
 *       |                  |  \__ guest reset/debug-exit/signal --> shutdown
 *       |-- -incoming --> inmigrate --load ok--> running (or paused with -S)
 *   running --migration switch-over--> finish-migrate --> postmigrate
 *   running --KVM internal error--> internal-error
 *
 * The complete table is runstate_transitions[] in runstate.c; anything not
 * in it is refused, so a bug shows up as an error instead of a VM in a state
 * no code expects.  The state lives in struct vm and is changed only with
 * the VM lock held.
 */
#ifndef SYSTEM_RUNSTATE_H
#define SYSTEM_RUNSTATE_H

#include <glib.h>
#include <stdbool.h>

enum runstate {
    RUNSTATE_PRELAUNCH,
    RUNSTATE_RUNNING,
    RUNSTATE_PAUSED,
    RUNSTATE_SHUTDOWN,
    RUNSTATE_INTERNAL_ERROR,
    RUNSTATE_INMIGRATE,
    RUNSTATE_FINISH_MIGRATE,
    RUNSTATE_POSTMIGRATE,
    RUNSTATE_RESTORE_VM,
    RUNSTATE_SAVE_VM,
    RUNSTATE_GUEST_PANICKED,
    RUNSTATE_DEBUG,
    RUNSTATE__MAX,
};

const char *runstate_name(enum runstate s);
/* Parse a QEMU run-state name; false if unknown. */
bool runstate_from_name(const char *name, enum runstate *out);
bool runstate_can_transition(enum runstate from, enum runstate to);
/* vCPUs execute guest code only in RUNNING. */
bool runstate_is_running(enum runstate s);

/* Move *state to @to if the table allows it; otherwise an error naming both. */
bool runstate_set(enum runstate *state, enum runstate to, GError **errp);

#endif
