/*
 * Incoming migration: -incoming URI (or "defer" and then migrate_incoming),
 * a listener or channel, and the loader thread.
 *
 *   none --start (listen)--> setup --connection--> active --load ok--> completed
 *                              |                      \--load failed--> failed
 *   none --start (exec, fd, file)--> active ...
 *
 * The stream is loaded on its own thread (RAM without the VM lock; each
 * device section under it, see savevm.device_lock), so the monitor keeps
 * answering.  When the source asked for a return path, the loader answers
 * SHUT (be16 1, be16 4, be32 status: 0 loaded, 1 failed) before reporting;
 * a load whose acknowledgement cannot be sent counts as failed, so a guest
 * the source may resume never starts here too.
 *
 * Thread and lock context: incoming_start/destroy/query on the main thread
 * with the VM lock held; the listener callback on the main loop (lock
 * held); the loader thread takes the VM lock only through device_lock and
 * to post its result; done() runs on the main thread with the lock held.
 */
#ifndef MIGRATION_INCOMING_H
#define MIGRATION_INCOMING_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

#include "migration/channel.h"
#include "migration/migration.h"
#include "migration/savevm.h"

struct incoming_vm_ops {
    /* Optional: the whole stream loaded; take over what the source let go
     * of (the disks' write locks) before the source is told it may stop.
     * Loader thread, VM lock held.  False: the load fails with @errp. */
    bool (*activate)(void *opaque, GError **errp);
    /* The load ended (main thread, lock held); @err is NULL when @ok. */
    void (*done)(void *opaque, bool ok, const GError *err);
    /* A QMP event (data taken); lock held. */
    void (*event)(void *opaque, const char *name, JsonObject *data);
};

struct incoming {
    GMutex *lock;
    GMainContext *ctx;
    struct savevm *sv;
    const struct incoming_vm_ops *vm;
    void *vm_opaque;
    mig_fd_lookup_fn fd_lookup;
    void *fd_lookup_opaque;
    const bool *events; /* the "events" capability (shared with outgoing) */

    gint status;        /* enum migration_status */
    bool deferred;      /* -incoming defer, waiting for migrate_incoming */
    bool exit_on_error; /* a failed load ends the process (default) */
    char *error_desc;
    char *desc;         /* the URI, for messages */
    int listen_fd;
    struct sock_addr local; /* tcp, unix: where it listens (port 0 resolved) */
    GSource *listen_src;
    struct mig_channel ch;
    GThread *thread;
    GSource *done_src;  /* the loader's result, posted to the main loop */
    bool load_ok;
    GError *load_err;
    int64_t start_us;
    int64_t total_ms;
};

void incoming_init(struct incoming *in, GMutex *lock, GMainContext *ctx, struct savevm *sv,
                   const struct incoming_vm_ops *vm, void *vm_opaque, const bool *events);
/* Listen on / open @uri and load what arrives.  "defer" only records that
 * migrate_incoming will follow. */
bool incoming_start(struct incoming *in, const char *uri, GError **errp);
/* Stop listening; wait for a loader thread (lock dropped meanwhile). */
void incoming_destroy(struct incoming *in);
/* query-migrate's result on the destination. */
JsonObject *incoming_query(struct incoming *in);

#endif
