/*
 * Outgoing live migration: the migration thread, its state machine, the
 * parameters and capabilities QEMU's monitor commands set, and the
 * statistics query-migrate reports.
 *
 * States (QEMU's names; every change is a compare-and-swap from the state
 * the changer expects, so a cancel and the thread never both win):
 *
 *   none/completed/failed/cancelled --migrate--> setup
 *   setup --channel open, START sections sent--> active
 *   active --pending fits bandwidth x downtime-limit, first pass done,
 *            guest stopped--> device
 *            (with pause-before-switchover: --guest stopped--> pre-switchover
 *            --migrate-continue--> device)
 *   device --END sections, devices, EOF sent; SHUT(0) acknowledged--> completed
 *   setup/active/device --error, no acknowledgement--> failed
 *   setup/active/pre-switchover/device --migrate_cancel--> cancelling
 *            --thread ends--> cancelled
 *
 * On failed and cancelled the guest runs again if it ran before; only
 * completed leaves the source stopped (postmigrate).
 *
 * The thread (one per migration):
 *   open the channel; header, OPEN_RETURN_PATH on sockets, START sections
 *   loop: pending = sum of state_pending (exact, after a dirty sync, once
 *         it looks small enough); switch over when the first pass is done
 *         and pending <= bandwidth x downtime-limit; otherwise one
 *         PART per handler (as much as the 100 ms rate-limit window allows),
 *         flush, sleep out the window
 *   stop the guest (VM lock), END sections (no lock: nothing runs), device
 *   sections into memory (VM lock), then onto the stream without the lock,
 *   flush, wait for the destination's SHUT on the return path
 *
 * Return path (sockets): a second thread reads be16 type, be16 len, data
 * from the same connection (STREAM-FORMAT.md); SHUT carries the
 * destination's load status.  A non-zero SHUT or a closed connection
 * before SHUT ends the migration as failed.  Tern's destination sends
 * MIG_RP_MSG_TERN_ERROR (its error message) just before a SHUT(1), and the
 * source reports that message; a QEMU source would take the unknown type
 * as a failure, which the SHUT(1) following it means anyway.
 *
 * A cancel signals @cancel_fd (an eventfd) as well as shutting the
 * channel down, so a connect still in progress gives up too.
 *
 * Thread and lock context: migration_start/cancel/query/set_* run on the
 * main thread with the VM lock held.  The migration thread takes the VM
 * lock to change state, call the VM hooks and publish statistics; it sends
 * RAM without the lock.  The VM hooks are called on the migration thread
 * with the VM lock held.
 */
#ifndef MIGRATION_MIGRATION_H
#define MIGRATION_MIGRATION_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/block.h"
#include "migration/channel.h"
#include "migration/ram.h"
#include "migration/savevm.h"

enum migration_status {
    MIGRATION_STATUS_NONE,
    MIGRATION_STATUS_SETUP,
    MIGRATION_STATUS_CANCELLING,
    MIGRATION_STATUS_CANCELLED,
    MIGRATION_STATUS_ACTIVE,
    MIGRATION_STATUS_DEVICE,
    MIGRATION_STATUS_COMPLETED,
    MIGRATION_STATUS_FAILED,
    MIGRATION_STATUS_PRE_SWITCHOVER,
    MIGRATION_STATUS__MAX,
};

const char *migration_status_name(enum migration_status s);
/* The MIGRATION event's data: {"status": NAME}. */
JsonObject *migration_status_event(enum migration_status s);
/* setup, active, pre-switchover, device or cancelling: a thread is at work. */
bool migration_status_is_active(enum migration_status s);

/* migrate-set-parameters; QEMU's defaults and limits. */
struct migration_params {
    int64_t max_bandwidth;  /* bytes per second */
    int64_t downtime_limit; /* ms */
    int64_t announce_initial, announce_max, announce_rounds, announce_step; /* ms, count */
};

#define MIGRATION_MAX_BANDWIDTH_DEFAULT (128ll << 20)
#define MIGRATION_DOWNTIME_LIMIT_DEFAULT 300
#define MIGRATION_DOWNTIME_LIMIT_MAX 2000000 /* ms: QEMU's 2000 s */
#define MIGRATION_ACK_TIMEOUT_S 60

/* Return-path messages: be16 type, be16 len, data. */
#define MIG_RP_MSG_SHUT 1    /* be32 status: 0 loaded and running, else failed */
#define MIG_RP_MSG_PONG 2    /* be32 the PING's value */
#define MIG_RP_MSG_TERN_ERROR 0x7e01 /* Tern: the load's error message, UTF-8 */
#define MIG_RP_ERROR_MAX 1024        /* longest message sent (bytes) */

/* Capabilities Tern implements; every other QEMU 7.2 name is listed by
 * query-migrate-capabilities as false and refuses to be switched on. */
enum migration_cap {
    MIGRATION_CAP_EVENTS,
    MIGRATION_CAP_RETURN_PATH,
    MIGRATION_CAP_PAUSE_BEFORE_SWITCHOVER,
    MIGRATION_CAP_X_VERIFY_RAM, /* Tern: send "ram-verify" (ram.h) */
    MIGRATION_CAP_BLOCK,        /* copy the disks (block.h), as migrate -b */
    MIGRATION_CAP__MAX,
};

/* What the migration needs from the VM.  Migration thread, VM lock held. */
struct migration_vm_ops {
    /* Switch-over: park the vCPUs and enter finish-migrate. */
    bool (*stop)(void *opaque, GError **errp);
    /* After a failure or cancel once stop() ran: back to where it was. */
    void (*resume)(void *opaque);
    /* Completed: postmigrate. */
    void (*completed)(void *opaque);
    /* A QMP event (data taken, may be NULL); any thread, VM lock held. */
    void (*event)(void *opaque, const char *name, JsonObject *data);
    /* Wake the main thread to join the finished migration thread (any
     * thread, lock held): it must call migration_reap() soon. */
    void (*finished)(void *opaque);
};

/* Published by the thread under the VM lock for query-migrate. */
struct migration_stats {
    int64_t start_us;     /* monotonic, at migrate */
    int64_t setup_ms;
    int64_t total_ms;     /* at the end (while running: computed) */
    int64_t stop_us;      /* monotonic, when the guest stopped */
    int64_t downtime_ms;
    int64_t expected_downtime_ms;
    uint64_t transferred; /* bytes on the stream */
    uint64_t ram_transferred; /* of which RAM pages' (ram_stats.bytes) */
    uint64_t remaining;   /* RAM bytes still to send (disks: block_mig stats) */
    double mbps;
    uint64_t bandwidth;   /* bytes per second, measured */
    uint64_t dirty_pages_rate;
    uint64_t pages_per_second;
    uint64_t dirty_sync_count;
};

struct migration {
    GMutex *lock; /* the VM lock */
    struct savevm *sv;
    struct ram_state *rs;
    /* The VM's disks for block migration, or NULL (no writable disk
     * support); set by the VM glue after migration_init().  Its stats are
     * published under the VM lock; query-migrate shows them as "disk"
     * while a migration that copies the disks runs and after it. */
    struct block_mig *bm;
    const struct migration_vm_ops *vm;
    void *vm_opaque;
    mig_fd_lookup_fn fd_lookup;
    void *fd_lookup_opaque;

    struct migration_params params;
    bool caps[MIGRATION_CAP__MAX];

    gint status; /* enum migration_status, atomic CAS */
    char *error_desc;
    struct migration_stats stats;

    /* one migration: */
    struct mig_uri uri;
    struct mig_channel ch;      /* fd published under the lock */
    QEMUFile *f;
    GThread *thread;
    bool thread_done;           /* the thread no longer needs the lock */
    bool vm_stopped;            /* stop() ran: resume() on failure */
    /* The destination has the guest (SHUT(0), or a stream without return
     * path closed cleanly): from here on nothing resumes the source. */
    bool committed;
    GCond wake;                 /* cancel, continue, return path -> thread */
    int cancel_fd;              /* eventfd: signalled by a cancel */
    /* return path */
    GThread *rp_thread;
    int rp_fd;
    bool rp_shut_seen;
    bool rp_closed;
    char *rp_error;
    char *rp_dest_error;        /* MIG_RP_MSG_TERN_ERROR's text */
};

void migration_init(struct migration *ms, GMutex *lock, struct savevm *sv,
                    struct ram_state *rs, const struct migration_vm_ops *vm, void *vm_opaque);
/* Cancel a running migration and wait for its thread.  Lock held. */
void migration_destroy(struct migration *ms);

/* "migrate URI": start the thread.  Refused while one is active. */
bool migration_start(struct migration *ms, const char *uri, GError **errp);
/* The same with QMP migrate's "blk" and "inc" (HMP -b, -i): @blk copies
 * the disks in this migration, as the "block" capability does for every
 * migration; either needs ms->bm with at least one disk.  @inc (QEMU's
 * incremental copy over a shared base image) is refused. */
bool migration_start_block(struct migration *ms, const char *uri, bool blk, bool inc,
                           GError **errp);
/* "migrate_cancel": no-op unless active. */
void migration_cancel(struct migration *ms);
/* "migrate-continue STATE": leave pre-switchover.  Lock held. */
bool migration_continue(struct migration *ms, const char *state, GError **errp);
/* Join a finished thread (main thread, lock held; dropped while joining). */
void migration_reap(struct migration *ms);
enum migration_status migration_get_status(struct migration *ms);

/* query-migrate's result for the outgoing side. */
JsonObject *migration_query(struct migration *ms);

/* Parameters and capabilities by QEMU name, validated. */
bool migration_set_parameter(struct migration *ms, const char *name, JsonNode *value,
                             GError **errp);
/* Is @v in the range of parameter @name (for announce-self's arguments)? */
bool migration_check_parameter(const char *name, int64_t v, GError **errp);
JsonObject *migration_query_parameters(const struct migration *ms);
bool migration_set_capability(struct migration *ms, const char *name, bool on, GError **errp);
JsonArray *migration_query_capabilities(const struct migration *ms);

/* The parameter names, for HMP's migrate_set_parameter. */
extern const char *const migration_param_names[];

#endif
