#include "migration/incoming.h"

#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fdio.h"

static void incoming_event_status(struct incoming *in, enum migration_status s)
{
    if (*in->events && in->vm->event)
        in->vm->event(in->vm_opaque, "MIGRATION", migration_status_event(s));
}

static void incoming_set_status(struct incoming *in, enum migration_status s)
{
    g_atomic_int_set(&in->status, s);
    incoming_event_status(in, s);
}

void incoming_init(struct incoming *in, GMutex *lock, GMainContext *ctx, struct savevm *sv,
                   const struct incoming_vm_ops *vm, void *vm_opaque, const bool *events)
{
    memset(in, 0, sizeof(*in));
    in->lock = lock;
    in->ctx = ctx;
    in->sv = sv;
    in->vm = vm;
    in->vm_opaque = vm_opaque;
    in->events = events;
    in->listen_fd = -1;
    in->exit_on_error = true;
    mig_channel_init(&in->ch);
}

static void incoming_stop_listening(struct incoming *in)
{
    fdio_source_drop(&in->listen_src);
    if (in->listen_fd >= 0)
        close(in->listen_fd);
    in->listen_fd = -1;
}

/* Main thread, lock held: the loader has finished. */
static gboolean incoming_done(gpointer opaque)
{
    struct incoming *in = opaque;
    GThread *t = in->thread;

    in->thread = NULL;
    g_mutex_unlock(in->lock);
    g_thread_join(t);
    g_mutex_lock(in->lock);
    g_clear_pointer(&in->done_src, g_source_unref);
    mig_channel_close(&in->ch, NULL);
    in->total_ms = (g_get_monotonic_time() - in->start_us) / 1000;
    if (in->load_ok) {
        incoming_set_status(in, MIGRATION_STATUS_COMPLETED);
    } else {
        in->error_desc = g_strdup(in->load_err->message);
        incoming_set_status(in, MIGRATION_STATUS_FAILED);
    }
    in->vm->done(in->vm_opaque, in->load_ok, in->load_err);
    g_clear_error(&in->load_err);
    return G_SOURCE_REMOVE;
}

static bool incoming_rp_send(struct incoming *in, uint16_t type, const void *data, size_t len,
                             GError **errp)
{
    const uint8_t hdr[4] = { type >> 8, type & 0xff, len >> 8, len & 0xff };

    return mig_channel_write_all(in->ch.fd, hdr, sizeof(hdr), errp) &&
           mig_channel_write_all(in->ch.fd, data, len, errp);
}

/* Tell the source how the load went, when it asked: on failure first the
 * reason (MIG_RP_MSG_TERN_ERROR), then SHUT.  A failure is told on any
 * socket, also before the stream asked for a return path (a bad header):
 * a source that does not read it loses nothing, and Tern's reads it. */
static bool incoming_acknowledge(struct incoming *in, const GError *load_err, GError **errp)
{
    const uint8_t status[4] = { 0, 0, 0, load_err ? 1 : 0 };

    if (!in->ch.socket || (!load_err && !in->sv->return_path_requested))
        return true;
    if ((!load_err || incoming_rp_send(in, MIG_RP_MSG_TERN_ERROR, load_err->message,
                                       MIN(strlen(load_err->message), MIG_RP_ERROR_MAX),
                                       errp)) &&
        incoming_rp_send(in, MIG_RP_MSG_SHUT, status, sizeof(status), errp))
        return true;
    g_prefix_error(errp, "cannot acknowledge the migration to the source: ");
    return false;
}

static gpointer incoming_thread(gpointer opaque)
{
    struct incoming *in = opaque;
    QEMUFile *f = qemu_file_new_fd_input(in->ch.fd);
    GError *err = NULL;
    bool ok = savevm_load(in->sv, f, &err);

    qemu_file_close(f, NULL);
    if (ok && in->vm->activate) {
        g_mutex_lock(in->lock);
        ok = in->vm->activate(in->vm_opaque, &err);
        g_mutex_unlock(in->lock);
    }
    /* A failed load still answers, so the source resumes at once. */
    if (!incoming_acknowledge(in, err, ok ? &err : NULL))
        ok = false;
    /* Close (and reap an exec command) here, not on the main thread. */
    mig_channel_close(&in->ch, NULL);
    in->load_ok = ok;
    in->load_err = err;
    in->done_src = g_idle_source_new();
    g_source_set_callback(in->done_src, incoming_done, in, NULL);
    g_source_attach(in->done_src, in->ctx);
    return NULL;
}

static void incoming_start_loader(struct incoming *in)
{
    int flags = fcntl(in->ch.fd, F_GETFL);

    if (flags >= 0)
        fcntl(in->ch.fd, F_SETFL, flags & ~O_NONBLOCK); /* QEMUFile blocks */
    in->start_us = g_get_monotonic_time();
    incoming_set_status(in, MIGRATION_STATUS_ACTIVE);
    in->thread = g_thread_new("mig-incoming", incoming_thread, in);
}

/* The listener: one connection is the migration. */
static gboolean incoming_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    struct incoming *in = opaque;
    int c = sock_accept(fd);

    (void)cond;
    if (c < 0)
        return G_SOURCE_CONTINUE;
    in->ch.fd = c;
    in->ch.socket = true;
    incoming_stop_listening(in);
    incoming_start_loader(in);
    return G_SOURCE_REMOVE;
}

static bool incoming_listen(struct incoming *in, const struct mig_uri *u, GError **errp)
{
    in->listen_fd = mig_channel_listen(u, errp);
    if (in->listen_fd < 0)
        return false;
    sock_addr_clear(&in->local);
    sock_local_addr(in->listen_fd, &in->local);
    in->listen_src = g_unix_fd_source_new(in->listen_fd, G_IO_IN);
    g_source_set_callback(in->listen_src, G_SOURCE_FUNC(incoming_accept), in, NULL);
    g_source_attach(in->listen_src, in->ctx);
    incoming_set_status(in, MIGRATION_STATUS_SETUP);
    return true;
}

bool incoming_start(struct incoming *in, const char *uri, GError **errp)
{
    struct mig_uri u;
    bool ok;

    if (!strcmp(uri, "defer")) {
        in->deferred = true;
        return true;
    }
    if (g_atomic_int_get(&in->status) != MIGRATION_STATUS_NONE) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    if (!mig_uri_parse(uri, &u, errp))
        return false;
    g_free(in->desc);
    in->desc = g_strdup(uri);
    if (u.kind == MIG_TRANSPORT_TCP || u.kind == MIG_TRANSPORT_UNIX) {
        ok = incoming_listen(in, &u, errp);
    } else {
        ok = mig_channel_open_in(&in->ch, &u, in->fd_lookup, in->fd_lookup_opaque, errp);
        if (ok)
            incoming_start_loader(in);
    }
    mig_uri_clear(&u);
    if (ok)
        in->deferred = false;
    return ok;
}

void incoming_destroy(struct incoming *in)
{
    incoming_stop_listening(in);
    if (in->thread) {
        GThread *t = in->thread;

        in->thread = NULL;
        mig_channel_cancel(&in->ch);
        g_mutex_unlock(in->lock);
        g_thread_join(t);
        g_mutex_lock(in->lock);
        /* Its result was posted to a loop that will not run again. */
        fdio_source_drop(&in->done_src);
        g_clear_error(&in->load_err);
    }
    mig_channel_close(&in->ch, NULL);
    g_free(in->error_desc);
    g_free(in->desc);
    in->error_desc = in->desc = NULL;
    sock_addr_clear(&in->local);
}

JsonObject *incoming_query(struct incoming *in)
{
    JsonObject *o = json_object_new();
    enum migration_status s = g_atomic_int_get(&in->status);

    if (s == MIGRATION_STATUS_NONE)
        return o;
    json_object_set_string_member(o, "status", migration_status_name(s));
    if (s == MIGRATION_STATUS_COMPLETED || s == MIGRATION_STATUS_FAILED)
        json_object_set_int_member(o, "total-time", in->total_ms);
    if (s == MIGRATION_STATUS_FAILED && in->error_desc)
        json_object_set_string_member(o, "error-desc", in->error_desc);
    if (in->local.host || in->local.path) {
        /* As QEMU's (SocketAddress: the port a string), e.g. for port 0. */
        JsonArray *list = json_array_new();
        JsonObject *a = json_object_new();

        if (in->local.path) {
            json_object_set_string_member(a, "type", "unix");
            json_object_set_string_member(a, "path", in->local.path);
        } else {
            json_object_set_string_member(a, "type", "inet");
            json_object_set_string_member(a, "host", in->local.host);
            json_object_set_string_member(a, "port", in->local.port);
        }
        json_array_add_object_element(list, a);
        json_object_set_array_member(o, "socket-address", list);
    }
    return o;
}
