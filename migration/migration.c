#include "migration/migration.h"

#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

#define US_PER_MS 1000
#define BANDWIDTH_PERIOD_US 100000 /* measure over at least one window */
#define MIGRATION_REASON_WAIT_MS 2000

static const char *const migration_status_names[MIGRATION_STATUS__MAX] = {
    [MIGRATION_STATUS_NONE] = "none",           [MIGRATION_STATUS_SETUP] = "setup",
    [MIGRATION_STATUS_CANCELLING] = "cancelling", [MIGRATION_STATUS_CANCELLED] = "cancelled",
    [MIGRATION_STATUS_ACTIVE] = "active",       [MIGRATION_STATUS_DEVICE] = "device",
    [MIGRATION_STATUS_COMPLETED] = "completed", [MIGRATION_STATUS_FAILED] = "failed",
    [MIGRATION_STATUS_PRE_SWITCHOVER] = "pre-switchover",
};

const char *migration_status_name(enum migration_status s)
{
    return s < MIGRATION_STATUS__MAX ? migration_status_names[s] : "unknown";
}

bool migration_status_is_active(enum migration_status s)
{
    return s == MIGRATION_STATUS_SETUP || s == MIGRATION_STATUS_ACTIVE ||
           s == MIGRATION_STATUS_PRE_SWITCHOVER || s == MIGRATION_STATUS_DEVICE ||
           s == MIGRATION_STATUS_CANCELLING;
}

enum migration_status migration_get_status(struct migration *ms)
{
    return g_atomic_int_get(&ms->status);
}

static int64_t migration_now_us(void)
{
    return g_get_monotonic_time();
}

/* ---- events and state changes (VM lock held) ---- */

static void migration_event(struct migration *ms, const char *name, JsonObject *data)
{
    if (ms->caps[MIGRATION_CAP_EVENTS] && ms->vm->event)
        ms->vm->event(ms->vm_opaque, name, data);
    else if (data)
        json_object_unref(data);
}

JsonObject *migration_status_event(enum migration_status s)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "status", migration_status_name(s));
    return o;
}

static void migration_event_status(struct migration *ms, enum migration_status s)
{
    migration_event(ms, "MIGRATION", migration_status_event(s));
}

/* The one way the state changes: from @from only. */
static bool migration_set_state(struct migration *ms, enum migration_status from,
                                enum migration_status to)
{
    if (!g_atomic_int_compare_and_exchange(&ms->status, from, to))
        return false;
    migration_event_status(ms, to);
    return true;
}

/* ---- life cycle ---- */

void migration_init(struct migration *ms, GMutex *lock, struct savevm *sv,
                    struct ram_state *rs, const struct migration_vm_ops *vm, void *vm_opaque)
{
    memset(ms, 0, sizeof(*ms));
    ms->lock = lock;
    ms->sv = sv;
    ms->rs = rs;
    ms->vm = vm;
    ms->vm_opaque = vm_opaque;
    ms->params = (struct migration_params){
        .max_bandwidth = MIGRATION_MAX_BANDWIDTH_DEFAULT,
        .downtime_limit = MIGRATION_DOWNTIME_LIMIT_DEFAULT,
        .announce_initial = 50,
        .announce_max = 550,
        .announce_rounds = 5,
        .announce_step = 100,
    };
    ms->caps[MIGRATION_CAP_RETURN_PATH] = true; /* used on sockets only */
    mig_channel_init(&ms->ch);
    g_cond_init(&ms->wake);
    ms->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ms->cancel_fd < 0)
        g_error("eventfd: %s", g_strerror(errno));
}

void migration_reap(struct migration *ms)
{
    GThread *t = ms->thread;

    if (!t || !ms->thread_done)
        return;
    ms->thread = NULL;
    g_mutex_unlock(ms->lock);
    g_thread_join(t);
    g_mutex_lock(ms->lock);
}

void migration_destroy(struct migration *ms)
{
    migration_cancel(ms);
    /* Wait for the thread to let go of the lock, then join it. */
    while (ms->thread && !ms->thread_done)
        g_cond_wait(&ms->wake, ms->lock);
    migration_reap(ms);
    mig_uri_clear(&ms->uri);
    g_free(ms->error_desc);
    g_free(ms->rp_error);
    g_free(ms->rp_dest_error);
    g_cond_clear(&ms->wake);
    close(ms->cancel_fd);
}

void migration_cancel(struct migration *ms)
{
    /* Too late: the destination owns the guest now. */
    if (ms->committed)
        return;
    for (;;) {
        enum migration_status s = migration_get_status(ms);

        if (!migration_status_is_active(s) || s == MIGRATION_STATUS_CANCELLING)
            return;
        if (migration_set_state(ms, s, MIGRATION_STATUS_CANCELLING))
            break;
    }
    /* Unblock a connect, read or write in progress; the thread sees the
     * state. */
    eventfd_write(ms->cancel_fd, 1);
    mig_channel_cancel(&ms->ch);
    g_cond_broadcast(&ms->wake);
}

bool migration_continue(struct migration *ms, const char *state, GError **errp)
{
    enum migration_status s = migration_get_status(ms);

    if (strcmp(state, migration_status_name(s)) || s != MIGRATION_STATUS_PRE_SWITCHOVER ||
        !migration_set_state(ms, s, MIGRATION_STATUS_DEVICE)) {
        error_setg(errp, "Migration not in expected state: %s", migration_status_name(s));
        return false;
    }
    g_cond_broadcast(&ms->wake);
    return true;
}

/* ---- return path ---- */

/* Record why the migration cannot complete and wake the thread (lock held). */
static void migration_rp_fail(struct migration *ms, char *why)
{
    if (!ms->rp_error)
        ms->rp_error = why;
    else
        g_free(why);
    mig_channel_cancel(&ms->ch);
}

static bool migration_rp_message(struct migration *ms, uint16_t type, const uint8_t *data,
                                 uint16_t len)
{
    uint32_t status;

    if (type == MIG_RP_MSG_PONG)
        return true;
    if (type == MIG_RP_MSG_TERN_ERROR) {
        g_mutex_lock(ms->lock);
        g_free(ms->rp_dest_error);
        ms->rp_dest_error = g_utf8_make_valid((const char *)data, len);
        g_mutex_unlock(ms->lock);
        return true;
    }
    if (type != MIG_RP_MSG_SHUT || len != 4) {
        g_mutex_lock(ms->lock);
        migration_rp_fail(ms, g_strdup_printf("return path: unexpected message type %u, "
                                              "length %u", type, len));
        g_mutex_unlock(ms->lock);
        return false;
    }
    status = (uint32_t)data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3];
    g_mutex_lock(ms->lock);
    ms->rp_shut_seen = true;
    /* SHUT(0): the destination runs the guest; no cancel may resume ours. */
    ms->committed = status == 0 && !ms->rp_error;
    if (status && ms->rp_dest_error)
        migration_rp_fail(ms, g_strdup_printf("the destination failed to load the "
                                              "migration stream: %s", ms->rp_dest_error));
    else if (status)
        migration_rp_fail(ms, g_strdup_printf("the destination failed to load the "
                                              "migration stream (status %u)",
                                              status));
    g_cond_broadcast(&ms->wake);
    g_mutex_unlock(ms->lock);
    return true;
}

/* Reads acknowledgements until the connection closes. */
static gpointer migration_rp_thread(gpointer opaque)
{
    struct migration *ms = opaque;
    uint8_t hdr[4], data[MIG_RP_ERROR_MAX];

    for (;;) {
        uint16_t type, len;

        if (!mig_channel_read_all(ms->rp_fd, hdr, sizeof(hdr), NULL))
            break;
        type = hdr[0] << 8 | hdr[1];
        len = hdr[2] << 8 | hdr[3];
        if (len > sizeof(data)) {
            g_mutex_lock(ms->lock);
            migration_rp_fail(ms, g_strdup_printf("return path: message of %u bytes", len));
            g_mutex_unlock(ms->lock);
            break;
        }
        if (!mig_channel_read_all(ms->rp_fd, data, len, NULL) ||
            !migration_rp_message(ms, type, data, len))
            break;
    }
    g_mutex_lock(ms->lock);
    ms->rp_closed = true;
    g_cond_broadcast(&ms->wake);
    g_mutex_unlock(ms->lock);
    return NULL;
}

/* ---- the migration thread ---- */

static bool migration_cancelled(GError **errp)
{
    error_setg(errp, "migration cancelled");
    return false;
}

static bool migration_open(struct migration *ms, GError **errp)
{
    struct mig_channel ch;
    bool cancelled;

    mig_channel_init(&ch);
    if (!mig_channel_open_out(&ch, &ms->uri, NULL, NULL, ms->cancel_fd, errp)) {
        mig_channel_close(&ch, NULL);
        return false;
    }
    g_mutex_lock(ms->lock);
    ms->ch = ch;
    cancelled = migration_get_status(ms) != MIGRATION_STATUS_SETUP;
    qemu_file_set_rate_limit(ms->f = qemu_file_new_fd_output(ch.fd), ms->params.max_bandwidth);
    /* A cancel shuts a socket down; a pipe whose reader stalls needs the
     * writer to wait for room and the cancel at once. */
    if (!ch.socket && g_unix_set_fd_nonblocking(ch.fd, TRUE, NULL))
        qemu_file_set_cancel_fd(ms->f, ms->cancel_fd);
    g_mutex_unlock(ms->lock);
    if (cancelled)
        return migration_cancelled(errp);
    return true;
}

static bool migration_setup(struct migration *ms, GError **errp)
{
    bool ok;

    savevm_write_header(ms->sv, ms->f);
    if (ms->ch.socket && ms->caps[MIGRATION_CAP_RETURN_PATH]) {
        savevm_write_command(ms->f, MIG_CMD_OPEN_RETURN_PATH, NULL, 0);
        ms->rp_fd = ms->ch.fd;
        ms->rp_thread = g_thread_new("mig-return", migration_rp_thread, ms);
    }
    g_mutex_lock(ms->lock);
    ok = savevm_save_setup(ms->sv, ms->f, errp);
    g_mutex_unlock(ms->lock);
    qemu_file_flush(ms->f);
    if (!ok || !qemu_file_take_error(ms->f, errp))
        return false;
    g_mutex_lock(ms->lock);
    ms->stats.setup_ms = (migration_now_us() - ms->stats.start_us) / US_PER_MS;
    ok = migration_set_state(ms, MIGRATION_STATUS_SETUP, MIGRATION_STATUS_ACTIVE);
    g_mutex_unlock(ms->lock);
    return ok || migration_cancelled(errp);
}

/* Bandwidth and rates, measured over periods of at least one window. */
struct migration_meter {
    int64_t period_start;
    uint64_t period_bytes;
    uint64_t period_pages;
    int64_t sync_time;
    uint64_t sync_count;
};

static uint64_t migration_pages_sent(const struct ram_state *rs)
{
    return rs ? rs->stats.normal_pages + rs->stats.zero_pages : 0;
}

static void migration_measure(struct migration *ms, struct migration_meter *m, int64_t now)
{
    int64_t dt = now - m->period_start;
    uint64_t bytes = qemu_file_transferred(ms->f), pages = migration_pages_sent(ms->rs);

    if (dt < BANDWIDTH_PERIOD_US)
        return;
    ms->stats.bandwidth = (bytes - m->period_bytes) * G_USEC_PER_SEC / dt;
    ms->stats.mbps = (double)(bytes - m->period_bytes) * 8.0 / (double)dt;
    ms->stats.pages_per_second = (pages - m->period_pages) * G_USEC_PER_SEC / dt;
    m->period_start = now;
    m->period_bytes = bytes;
    m->period_pages = pages;
}

/* The byte counts query-migrate shows: the whole stream's (the rates are
 * over it) and RAM's alone, as QEMU's ram "transferred" (lock held). */
static void migration_count_bytes(struct migration *ms)
{
    ms->stats.transferred = qemu_file_transferred(ms->f);
    ms->stats.ram_transferred = ms->rs ? ms->rs->stats.bytes : 0;
}

/* Publish the figures query-migrate shows and the pass events (lock held). */
static void migration_publish(struct migration *ms, struct migration_meter *m, uint64_t pending,
                              int64_t now)
{
    struct ram_state *rs = ms->rs;

    migration_count_bytes(ms);
    ms->stats.remaining = pending;
    if (ms->bm && ms->bm->enabled) {
        /* savevm_pending() just asked the disks too: RAM is the rest */
        block_mig_publish(ms->bm);
        ms->stats.remaining -= MIN(pending, ms->bm->stats.remaining);
    }
    ms->stats.expected_downtime_ms =
        ms->stats.bandwidth ? (int64_t)(pending * 1000 / ms->stats.bandwidth)
                            : ms->params.downtime_limit;
    if (!rs || rs->stats.dirty_sync_count == m->sync_count)
        return;
    if (now > m->sync_time && m->sync_count)
        ms->stats.dirty_pages_rate =
            rs->stats.dirty_pages_last_sync * G_USEC_PER_SEC / (now - m->sync_time);
    m->sync_time = now;
    m->sync_count = ms->stats.dirty_sync_count = rs->stats.dirty_sync_count;
    JsonObject *o = json_object_new();
    json_object_set_int_member(o, "pass", m->sync_count);
    migration_event(ms, "MIGRATION_PASS", o);
}

/* Sleep until the rate-limit window reopens, or a cancel. */
static void migration_wait_window(struct migration *ms)
{
    int64_t ns = qemu_file_window_wait_ns(ms->f);

    if (ns <= 0)
        return;
    g_mutex_lock(ms->lock);
    if (migration_get_status(ms) == MIGRATION_STATUS_ACTIVE)
        g_cond_wait_until(&ms->wake, ms->lock, migration_now_us() + ns / 1000 + 1);
    g_mutex_unlock(ms->lock);
}

/* Pre-copy passes until the rest fits in the downtime budget. */
static bool migration_iterate(struct migration *ms, GError **errp)
{
    int64_t start = migration_now_us();
    struct migration_meter m = { .period_start = start };
    uint64_t start_bytes = qemu_file_transferred(ms->f);

    for (;;) {
        int64_t now = migration_now_us();
        uint64_t pending, bw, budget;
        bool first_pass;

        if (migration_get_status(ms) != MIGRATION_STATUS_ACTIVE)
            return migration_cancelled(errp);
        first_pass = savevm_first_pass_done(ms->sv);
        g_mutex_lock(ms->lock);
        migration_measure(ms, &m, now);
        /* Before the first full period: the average so far. */
        bw = ms->stats.bandwidth ? ms->stats.bandwidth
             : now > start       ? (qemu_file_transferred(ms->f) - start_bytes) *
                                     G_USEC_PER_SEC / (now - start)
                                 : 0;
        budget = bw * ms->params.downtime_limit / 1000;
        qemu_file_set_rate_limit(ms->f, ms->params.max_bandwidth);
        g_mutex_unlock(ms->lock);
        pending = savevm_pending(ms->sv, budget); /* may sync: no lock */
        g_mutex_lock(ms->lock);
        migration_publish(ms, &m, pending, now);
        g_mutex_unlock(ms->lock);
        if (first_pass && pending <= budget)
            return true;
        if (savevm_save_iterate(ms->sv, ms->f, errp) < 0)
            return false;
        qemu_file_flush(ms->f);
        if (!qemu_file_take_error(ms->f, errp))
            return false;
        if (!qemu_file_may_send(ms->f))
            migration_wait_window(ms);
    }
}

/* Stop the guest; with pause-before-switchover, wait in pre-switchover
 * for migrate-continue (or a cancel) with the guest stopped.  Lock held. */
static bool migration_stop(struct migration *ms, GError **errp)
{
    bool pause = ms->caps[MIGRATION_CAP_PAUSE_BEFORE_SWITCHOVER];

    if (migration_get_status(ms) != MIGRATION_STATUS_ACTIVE)
        return migration_cancelled(errp);
    /* Stopped first, then announced (QEMU's order): whoever sees
     * pre-switchover or device sees a stopped guest.  A cancel meanwhile
     * wins the state, and the guest resumes. */
    ms->stats.stop_us = migration_now_us();
    ms->vm_stopped = ms->vm->stop(ms->vm_opaque, errp);
    if (!ms->vm_stopped)
        return false;
    if (!migration_set_state(ms, MIGRATION_STATUS_ACTIVE,
                             pause ? MIGRATION_STATUS_PRE_SWITCHOVER : MIGRATION_STATUS_DEVICE))
        return migration_cancelled(errp);
    while (migration_get_status(ms) == MIGRATION_STATUS_PRE_SWITCHOVER)
        g_cond_wait(&ms->wake, ms->lock);
    return migration_get_status(ms) == MIGRATION_STATUS_DEVICE || migration_cancelled(errp);
}

/* Stop the guest, send what is left and every device. */
static bool migration_switchover(struct migration *ms, GError **errp)
{
    QEMUFile *dev;
    bool ok;

    g_mutex_lock(ms->lock);
    ok = migration_stop(ms, errp);
    g_mutex_unlock(ms->lock);
    if (!ok)
        return false;
    qemu_file_set_rate_limit(ms->f, 0); /* the guest is down: full speed */
    if (!savevm_save_complete_live(ms->sv, ms->f, errp))
        return false;
    /* Device state is read under the lock into memory, sent without it. */
    dev = qemu_file_new_mem_output();
    g_mutex_lock(ms->lock);
    ok = savevm_save_devices(ms->sv, dev, errp);
    g_mutex_unlock(ms->lock);
    if (ok) {
        const GByteArray *b = qemu_file_mem_data(dev);

        qemu_file_put_buffer(ms->f, b->data, b->len);
        qemu_file_flush(ms->f);
        ok = qemu_file_take_error(ms->f, errp);
        g_mutex_lock(ms->lock);
        migration_count_bytes(ms);
        g_mutex_unlock(ms->lock);
    }
    qemu_file_close(dev, NULL);
    return ok;
}

/* Sockets: wait for the destination's SHUT.  Others: close cleanly. */
static bool migration_wait_ack(struct migration *ms, GError **errp)
{
    gint64 deadline = migration_now_us() + MIGRATION_ACK_TIMEOUT_S * G_USEC_PER_SEC;
    bool ok = true;

    if (!ms->rp_thread) {
        /* The channel stays published while an exec child is waited
         * for, so a cancel can still signal it. */
        bool closed = qemu_file_close(ms->f, errp);

        ms->f = NULL;
        ok = mig_channel_close(&ms->ch, closed ? errp : NULL) && closed;
        g_mutex_lock(ms->lock);
        ms->committed = ok && migration_get_status(ms) == MIGRATION_STATUS_DEVICE;
        ok = ms->committed || (ok && migration_cancelled(errp));
        g_mutex_unlock(ms->lock);
        return ok;
    }
    g_mutex_lock(ms->lock);
    while (!ms->rp_shut_seen && !ms->rp_closed && !ms->rp_error &&
           migration_get_status(ms) == MIGRATION_STATUS_DEVICE) {
        if (!g_cond_wait_until(&ms->wake, ms->lock, deadline))
            break;
    }
    if (ms->committed)
        ok = true;
    else if (migration_get_status(ms) != MIGRATION_STATUS_DEVICE)
        ok = migration_cancelled(errp);
    else if (ms->rp_error)
        ok = false, error_setg(errp, "%s", ms->rp_error);
    else if (!ms->rp_shut_seen)
        ok = false, error_setg(errp, ms->rp_closed ? "the destination closed the connection "
                                                     "before acknowledging the migration"
                                                   : "no acknowledgement from the destination "
                                                     "within %d s",
                               MIGRATION_ACK_TIMEOUT_S);
    g_mutex_unlock(ms->lock);
    return ok;
}

static bool migration_run(struct migration *ms, GError **errp)
{
    return migration_open(ms, errp) && migration_setup(ms, errp) &&
           migration_iterate(ms, errp) && migration_switchover(ms, errp) &&
           migration_wait_ack(ms, errp);
}

/* Close the stream and the channel, stop the return path (no lock). */
static void migration_teardown(struct migration *ms)
{
    struct mig_channel ch;

    g_mutex_lock(ms->lock);
    mig_channel_cancel(&ms->ch); /* wakes the return-path reader */
    g_mutex_unlock(ms->lock);
    if (ms->rp_thread)
        g_thread_join(ms->rp_thread);
    ms->rp_thread = NULL;
    if (ms->f)
        qemu_file_close(ms->f, NULL);
    ms->f = NULL;
    g_mutex_lock(ms->lock);
    ch = ms->ch;
    mig_channel_init(&ms->ch);
    g_mutex_unlock(ms->lock);
    mig_channel_close(&ch, NULL);
}

/* The end state, with the lock held. */
static void migration_finish(struct migration *ms, bool ok, const GError *err)
{
    int64_t now = migration_now_us();
    enum migration_status s = migration_get_status(ms);

    ms->stats.total_ms = (now - ms->stats.start_us) / US_PER_MS;
    if (ok && ms->committed && migration_set_state(ms, s, MIGRATION_STATUS_COMPLETED)) {
        int64_t transfer_us = now - ms->stats.start_us - ms->stats.setup_ms * US_PER_MS;

        ms->stats.downtime_ms = (now - ms->stats.stop_us) / US_PER_MS;
        ms->stats.remaining = 0;
        /* As QEMU's migration_calculate_complete(): the whole migration's
         * rate, not the last period's (none, for one shorter than that). */
        if (transfer_us > 0)
            ms->stats.mbps = (double)ms->stats.transferred * 8.0 / (double)transfer_us;
        if (ms->bm && ms->bm->enabled)
            block_mig_publish(ms->bm);
        ms->vm->completed(ms->vm_opaque);
        return;
    }
    if (s == MIGRATION_STATUS_CANCELLING) {
        migration_set_state(ms, s, MIGRATION_STATUS_CANCELLED);
    } else {
        const char *why = ms->rp_error ? ms->rp_error : err ? err->message : "migration failed";
        struct stat st;

        g_free(ms->error_desc);
        /* A file cut short stays, as in QEMU; say what is in it. */
        if (ms->uri.kind == MIG_TRANSPORT_FILE && stat(ms->uri.arg, &st) == 0)
            ms->error_desc = g_strdup_printf("%s (the partial file %s of %lld bytes is not a "
                                             "usable snapshot)",
                                             why, ms->uri.arg, (long long)st.st_size);
        else
            ms->error_desc = g_strdup(why);
        migration_set_state(ms, s, MIGRATION_STATUS_FAILED);
    }
    if (ms->vm_stopped)
        ms->vm->resume(ms->vm_opaque);
    ms->vm_stopped = false;
}

/* A failed write usually means that the destination gave up; its reason
 * may be on the return path already.  Give the reader a moment to take it
 * (it ends at the connection's end, or at SHUT). */
static void migration_await_reason(struct migration *ms)
{
    gint64 deadline = migration_now_us() + MIGRATION_REASON_WAIT_MS * US_PER_MS;

    g_mutex_lock(ms->lock);
    while (ms->rp_thread && !ms->rp_closed && !ms->rp_shut_seen &&
           migration_get_status(ms) != MIGRATION_STATUS_CANCELLING) {
        if (!g_cond_wait_until(&ms->wake, ms->lock, deadline))
            break;
    }
    g_mutex_unlock(ms->lock);
}

static gpointer migration_thread(gpointer opaque)
{
    struct migration *ms = opaque;
    g_autoptr(GError) err = NULL;
    bool ok = migration_run(ms, &err);

    if (!ok)
        migration_await_reason(ms);

    migration_teardown(ms);
    g_mutex_lock(ms->lock);
    savevm_save_cleanup(ms->sv); /* dirty logging off, whatever happened */
    migration_finish(ms, ok, err);
    ms->thread_done = true;
    g_cond_broadcast(&ms->wake);
    if (ms->vm->finished)
        ms->vm->finished(ms->vm_opaque);
    g_mutex_unlock(ms->lock);
    return NULL;
}

/* blk / inc / the "block" capability: can the disks be copied? */
static bool migration_check_block(struct migration *ms, bool blk, bool inc, GError **errp)
{
    if (inc) {
        error_setg(errp, "Tern does not implement incremental block migration ('inc', -i: "
                         "copying only what differs from a shared base image); use 'blk' "
                         "(-b) to copy the whole disks");
        return false;
    }
    if ((blk || ms->caps[MIGRATION_CAP_BLOCK]) && (!ms->bm || !block_mig_disk_count(ms->bm))) {
        error_setg(errp, "Block migration was requested (%s) but this VM has no writable disk "
                         "to copy",
                   blk ? "'blk'" : "capability 'block'");
        return false;
    }
    return true;
}

bool migration_start(struct migration *ms, const char *uri, GError **errp)
{
    return migration_start_block(ms, uri, false, false, errp);
}

bool migration_start_block(struct migration *ms, const char *uri, bool blk, bool inc,
                           GError **errp)
{
    struct mig_uri u;

    if (migration_status_is_active(migration_get_status(ms)) || (ms->thread && !ms->thread_done)) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    if (!migration_check_block(ms, blk, inc, errp) || !mig_uri_parse(uri, &u, errp))
        return false;
    /* fd:NAME: take the descriptor now, on the monitor's thread (QEMU
     * consumes it too); the thread then uses it as fd:N. */
    if (u.kind == MIG_TRANSPORT_FD && !g_ascii_isdigit(u.arg[0])) {
        int fd = ms->fd_lookup ? ms->fd_lookup(ms->fd_lookup_opaque, u.arg, errp) : -1;

        if (fd < 0) {
            if (!ms->fd_lookup)
                error_setg(errp, "fd:%s: no descriptor of that name", u.arg);
            mig_uri_clear(&u);
            return false;
        }
        g_free(u.arg);
        u.arg = g_strdup_printf("%d", fd);
    }
    migration_reap(ms);
    mig_uri_clear(&ms->uri);
    ms->uri = u;
    g_clear_pointer(&ms->error_desc, g_free);
    g_clear_pointer(&ms->rp_error, g_free);
    g_clear_pointer(&ms->rp_dest_error, g_free);
    memset(&ms->stats, 0, sizeof(ms->stats));
    eventfd_read(ms->cancel_fd, &(eventfd_t){ 0 }); /* an old cancel's signal */
    if (ms->rs)
        ms->rs->verify = ms->caps[MIGRATION_CAP_X_VERIFY_RAM];
    if (ms->bm)
        block_mig_set_enabled(ms->bm, blk || ms->caps[MIGRATION_CAP_BLOCK]);
    ms->stats.start_us = migration_now_us();
    ms->rp_shut_seen = ms->rp_closed = false;
    ms->vm_stopped = ms->thread_done = ms->committed = false;
    g_atomic_int_set(&ms->status, MIGRATION_STATUS_SETUP);
    migration_event_status(ms, MIGRATION_STATUS_SETUP);
    ms->thread = g_thread_new("migration", migration_thread, ms);
    return true;
}

/* ---- query-migrate ---- */

static JsonObject *migration_query_ram(struct migration *ms)
{
    JsonObject *o = json_object_new();
    const struct migration_stats *st = &ms->stats;
    uint64_t normal = ms->rs ? ms->rs->stats.normal_pages : 0;
    uint64_t zero = ms->rs ? ms->rs->stats.zero_pages : 0;

    json_object_set_int_member(o, "transferred", st->ram_transferred);
    json_object_set_int_member(o, "remaining", st->remaining);
    json_object_set_int_member(o, "total", ms->rs ? ms->rs->total : 0);
    json_object_set_int_member(o, "duplicate", zero);
    json_object_set_int_member(o, "skipped", 0);
    json_object_set_int_member(o, "normal", normal);
    json_object_set_int_member(o, "normal-bytes", normal * RAM_PAGE_SIZE);
    json_object_set_int_member(o, "dirty-pages-rate", st->dirty_pages_rate);
    json_object_set_double_member(o, "mbps", st->mbps);
    json_object_set_int_member(o, "dirty-sync-count", st->dirty_sync_count);
    json_object_set_int_member(o, "postcopy-requests", 0);
    json_object_set_int_member(o, "page-size", RAM_PAGE_SIZE);
    json_object_set_int_member(o, "multifd-bytes", 0);
    json_object_set_int_member(o, "pages-per-second", st->pages_per_second);
    json_object_set_int_member(o, "precopy-bytes", st->ram_transferred);
    json_object_set_int_member(o, "downtime-bytes", 0);
    json_object_set_int_member(o, "postcopy-bytes", 0);
    return o;
}

JsonObject *migration_query(struct migration *ms)
{
    JsonObject *o = json_object_new();
    enum migration_status s = migration_get_status(ms);
    const struct migration_stats *st = &ms->stats;

    if (s == MIGRATION_STATUS_NONE)
        return o; /* QEMU: {} before the first migration */
    json_object_set_string_member(o, "status", migration_status_name(s));
    if (s == MIGRATION_STATUS_FAILED && ms->error_desc)
        json_object_set_string_member(o, "error-desc", ms->error_desc);
    /* As QEMU: figures only while running and once completed. */
    if (s == MIGRATION_STATUS_SETUP || s == MIGRATION_STATUS_CANCELLING ||
        s == MIGRATION_STATUS_CANCELLED || s == MIGRATION_STATUS_FAILED)
        return o;
    if (migration_status_is_active(s)) {
        json_object_set_int_member(o, "total-time",
                                   (migration_now_us() - st->start_us) / US_PER_MS);
        json_object_set_int_member(o, "expected-downtime", st->expected_downtime_ms);
    } else {
        json_object_set_int_member(o, "total-time", st->total_ms);
    }
    if (s == MIGRATION_STATUS_COMPLETED)
        json_object_set_int_member(o, "downtime", st->downtime_ms);
    json_object_set_int_member(o, "setup-time", st->setup_ms);
    json_object_set_object_member(o, "ram", migration_query_ram(ms));
    if (ms->bm && ms->bm->enabled) {
        JsonObject *d = json_object_new();

        json_object_set_int_member(d, "transferred", ms->bm->stats.transferred);
        json_object_set_int_member(d, "remaining", ms->bm->stats.remaining);
        json_object_set_int_member(d, "total", ms->bm->stats.total);
        json_object_set_object_member(o, "disk", d);
    }
    return o;
}

/* ---- parameters ---- */

static const struct migration_param {
    const char *name;
    size_t offset;
    int64_t min, max;
    const char *unit;
} migration_params_table[] = {
    { "announce-initial", G_STRUCT_OFFSET(struct migration_params, announce_initial), 0, 100000,
      "ms" },
    { "announce-max", G_STRUCT_OFFSET(struct migration_params, announce_max), 0, 100000, "ms" },
    { "announce-rounds", G_STRUCT_OFFSET(struct migration_params, announce_rounds), 0, 1000,
      "rounds" },
    { "announce-step", G_STRUCT_OFFSET(struct migration_params, announce_step), 1, 10000, "ms" },
    { "max-bandwidth", G_STRUCT_OFFSET(struct migration_params, max_bandwidth), 0, INT64_MAX,
      "bytes/second" },
    { "downtime-limit", G_STRUCT_OFFSET(struct migration_params, downtime_limit), 0,
      MIGRATION_DOWNTIME_LIMIT_MAX, "ms" },
};

const char *const migration_param_names[] = {
    "announce-initial", "announce-max", "announce-rounds", "announce-step",
    "max-bandwidth",    "downtime-limit", NULL,
};

static int64_t *migration_param_ptr(struct migration_params *p, const struct migration_param *d)
{
    return (int64_t *)((char *)p + d->offset);
}

bool migration_check_parameter(const char *name, int64_t v, GError **errp)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(migration_params_table); i++) {
        const struct migration_param *d = &migration_params_table[i];

        if (strcmp(d->name, name))
            continue;
        if (v < d->min || v > d->max) {
            error_setg(errp, "Parameter '%s' expects an integer in the range of %" G_GINT64_FORMAT
                             " to %" G_GINT64_FORMAT " %s",
                       name, d->min, d->max, d->unit);
            return false;
        }
        return true;
    }
    error_setg(errp, "Invalid parameter '%s'", name);
    return false;
}

bool migration_set_parameter(struct migration *ms, const char *name, JsonNode *value,
                             GError **errp)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(migration_params_table); i++) {
        const struct migration_param *d = &migration_params_table[i];
        int64_t v;

        if (strcmp(d->name, name))
            continue;
        if (!value || JSON_NODE_TYPE(value) != JSON_NODE_VALUE ||
            json_node_get_value_type(value) != G_TYPE_INT64) {
            error_setg(errp, "Parameter '%s' expects an integer", name);
            return false;
        }
        v = json_node_get_int(value);
        if (!migration_check_parameter(name, v, errp))
            return false;
        *migration_param_ptr(&ms->params, d) = v;
        return true;
    }
    error_setg(errp, "Invalid parameter '%s'", name);
    return false;
}

JsonObject *migration_query_parameters(const struct migration *ms)
{
    JsonObject *o = json_object_new();
    struct migration_params p = ms->params;

    for (unsigned i = 0; i < G_N_ELEMENTS(migration_params_table); i++)
        json_object_set_int_member(o, migration_params_table[i].name,
                                   *migration_param_ptr(&p, &migration_params_table[i]));
    return o;
}

/* ---- capabilities ---- */

/* QEMU 7.2's list; those Tern implements map to enum migration_cap. */
static const struct {
    const char *name;
    int cap; /* -1: not implemented */
} migration_caps_table[] = {
    { "xbzrle", -1 },
    { "rdma-pin-all", -1 },
    { "auto-converge", -1 },
    { "zero-blocks", -1 },
    { "compress", -1 },
    { "events", MIGRATION_CAP_EVENTS },
    { "postcopy-ram", -1 },
    { "x-colo", -1 },
    { "release-ram", -1 },
    { "block", MIGRATION_CAP_BLOCK },
    { "return-path", MIGRATION_CAP_RETURN_PATH },
    { "pause-before-switchover", MIGRATION_CAP_PAUSE_BEFORE_SWITCHOVER },
    { "multifd", -1 },
    { "dirty-bitmaps", -1 },
    { "postcopy-blocktime", -1 },
    { "late-block-activate", -1 },
    { "x-ignore-shared", -1 },
    { "validate-uuid", -1 },
    { "background-snapshot", -1 },
    { "zero-copy-send", -1 },
    { "postcopy-preempt", -1 },
    { "x-verify-ram", MIGRATION_CAP_X_VERIFY_RAM }, /* Tern */
};

bool migration_set_capability(struct migration *ms, const char *name, bool on, GError **errp)
{
    if (migration_status_is_active(migration_get_status(ms))) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(migration_caps_table); i++) {
        if (strcmp(migration_caps_table[i].name, name))
            continue;
        if (migration_caps_table[i].cap < 0) {
            if (!on)
                return true;
            error_setg(errp, "Tern does not implement the migration capability '%s'", name);
            return false;
        }
        ms->caps[migration_caps_table[i].cap] = on;
        return true;
    }
    error_setg(errp, "Invalid parameter '%s'", name);
    return false;
}

JsonArray *migration_query_capabilities(const struct migration *ms)
{
    JsonArray *a = json_array_new();

    for (unsigned i = 0; i < G_N_ELEMENTS(migration_caps_table); i++) {
        JsonObject *o = json_object_new();
        int cap = migration_caps_table[i].cap;

        json_object_set_string_member(o, "capability", migration_caps_table[i].name);
        json_object_set_boolean_member(o, "state", cap >= 0 && ms->caps[cap]);
        json_array_add_object_element(a, o);
    }
    return a;
}
