#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "monitor/hmp.h"
#include "monitor/qmp-cmds.h"
#include "monitor/qmp.h"
#include "system/vm.h"
#include "util/error.h"
#include "util/fdio.h"

/* How long monitors_free() keeps trying to deliver queued output (the reply
 * to "quit", the SHUTDOWN event) to clients that are slow to read. */
#define MONITOR_FLUSH_MS 2000
#define MONITOR_ACCEPT_RETRY_MS 100
#define MONITOR_MAX_PASSED_FDS 4

struct mon_endpoint {
    struct monitors *mons;
    bool control, pretty, stdio, server;
    struct sock_addr addr;
    char *what;       /* "unix:/tmp/q", for messages */
    int listen_fd;
    GSource *listen_watch;
    GSource *retry;   /* accept failed for lack of descriptors: try later */
    unsigned nclients;
    unsigned accepted; /* clients ever taken, for the startup wait */
};

struct mon_client {
    struct mon_endpoint *ep;
    int in_fd, out_fd;
    bool socket;
    int stdout_flags; /* stdio: stdout's file flags before we made it non-blocking */
    bool dead;
    GSource *in_watch, *out_watch;
    GByteArray *out;
    int passed_fd; /* the latest descriptor the client sent (SCM_RIGHTS), or -1 */
    struct mon_ctx ctx;
    struct qmp_session qmp;
    struct hmp_session hmp;
};

struct monitors {
    struct vm *vm;
    struct mon_ctx ctx;
    GPtrArray *endpoints; /* struct mon_endpoint * */
    GPtrArray *clients;   /* live struct mon_client * */
    GPtrArray *dead;      /* closed, freed from an idle callback */
    GSource *reap;        /* that callback, while pending */
};

static void mon_client_watch_input(struct mon_client *c);
static void mon_endpoint_watch_listen(struct mon_endpoint *ep);

static void mon_client_free(struct mon_client *c)
{
    if (c->ep->control)
        qmp_session_destroy(&c->qmp);
    else
        hmp_session_destroy(&c->hmp);
    g_byte_array_unref(c->out);
    if (c->passed_fd >= 0)
        close(c->passed_fd);
    g_free(c);
}

static gboolean mon_reap(gpointer opaque)
{
    struct monitors *m = opaque;

    fdio_source_drop(&m->reap);
    while (m->dead->len)
        mon_client_free(g_ptr_array_steal_index(m->dead, m->dead->len - 1));
    return G_SOURCE_REMOVE;
}

/* The client is gone (EOF, error, too much unread output): stop all I/O
 * now, free it later (we may be inside one of its callbacks). */
static void mon_client_close(struct mon_client *c)
{
    struct monitors *m = c->ep->mons;

    if (c->dead)
        return;
    c->dead = true;
    fdio_source_drop(&c->in_watch);
    fdio_source_drop(&c->out_watch);
    if (c->socket)
        close(c->in_fd);
    else
        fcntl(STDOUT_FILENO, F_SETFL, c->stdout_flags);
    c->in_fd = c->out_fd = -1;
    g_ptr_array_remove(m->clients, c);
    g_ptr_array_add(m->dead, c);
    if (!m->reap) {
        m->reap = g_idle_source_new();
        g_source_set_callback(m->reap, mon_reap, m, NULL);
        g_source_attach(m->reap, m->vm->loop.ctx);
    }
    c->ep->nclients--;
    mon_endpoint_watch_listen(c->ep); /* room for the next one */
}

static ssize_t mon_client_write_some(struct mon_client *c, const uint8_t *buf, size_t len)
{
    return fdio_write_some(c->out_fd, c->socket, buf, len);
}

static gboolean mon_client_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct mon_client *c = opaque;
    ssize_t n = mon_client_write_some(c, c->out->data, c->out->len);

    (void)fd, (void)cond;
    if (n < 0) {
        mon_client_close(c);
        return G_SOURCE_REMOVE;
    }
    g_byte_array_remove_range(c->out, 0, n);
    if (c->out->len < MONITOR_OUT_THROTTLE)
        mon_client_watch_input(c);
    if (c->out->len)
        return G_SOURCE_CONTINUE;
    g_source_unref(c->out_watch);
    c->out_watch = NULL;
    return G_SOURCE_REMOVE;
}

static void mon_client_send(void *opaque, const char *buf, size_t len)
{
    struct mon_client *c = opaque;
    ssize_t n = 0;

    if (c->dead || c->out_fd < 0)
        return;
    if (!c->out->len) {
        n = mon_client_write_some(c, (const uint8_t *)buf, len);
        if (n < 0) {
            mon_client_close(c);
            return;
        }
    }
    if ((size_t)n == len)
        return;
    if (c->out->len + (len - n) > MONITOR_OUT_MAX) {
        mon_client_close(c); /* never reads: dropped alone */
        return;
    }
    g_byte_array_append(c->out, (const uint8_t *)buf + n, len - n);
    if (!c->out_watch) {
        c->out_watch = g_unix_fd_source_new(c->out_fd, G_IO_OUT | G_IO_ERR | G_IO_HUP);
        g_source_set_callback(c->out_watch, (GSourceFunc)(void (*)(void))mon_client_writable, c,
                              NULL);
        g_source_attach(c->out_watch, c->ep->mons->vm->loop.ctx);
    }
}

/* Read from a socket, keeping a descriptor that came along (getfd). */
static ssize_t mon_client_recv(struct mon_client *c, int fd, char *buf, size_t len)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * MONITOR_MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = { buf, len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = sizeof(control.buf) };
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);

    if (n < 0)
        return n;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int fds[MONITOR_MAX_PASSED_FDS];

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        memcpy(fds, CMSG_DATA(cm), nfds * sizeof(int));
        /* As QEMU: the last one counts. */
        for (size_t i = 0; i < nfds; i++) {
            if (c->passed_fd >= 0)
                close(c->passed_fd);
            c->passed_fd = fds[i];
        }
    }
    return n;
}

static int mon_client_take_fd(void *opaque)
{
    struct mon_client *c = opaque;
    int fd = c->passed_fd;

    c->passed_fd = -1;
    return fd;
}

static gboolean mon_client_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct mon_client *c = opaque;
    char buf[65536];
    ssize_t n;

    (void)cond;
    n = c->socket ? mon_client_recv(c, fd, buf, sizeof(buf)) : read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        if (c->socket) {
            mon_client_close(c);
        } else {
            /* stdin at EOF: no more commands, but keep sending events */
            g_source_unref(c->in_watch);
            c->in_watch = NULL;
            c->in_fd = -1;
        }
        return G_SOURCE_REMOVE;
    }
    if (c->ep->control)
        qmp_session_feed(&c->qmp, buf, n);
    else
        hmp_session_feed(&c->hmp, buf, n);
    if (c->dead)
        return G_SOURCE_REMOVE; /* the watch is already destroyed */
    if (c->out->len >= MONITOR_OUT_THROTTLE) {
        /* Not reading its replies: stop reading its requests until it does. */
        g_source_unref(c->in_watch);
        c->in_watch = NULL;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void mon_client_watch_input(struct mon_client *c)
{
    if (c->dead || c->in_fd < 0 || c->in_watch)
        return;
    c->in_watch = g_unix_fd_source_new(c->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(c->in_watch, (GSourceFunc)(void (*)(void))mon_client_readable, c,
                          NULL);
    g_source_attach(c->in_watch, c->ep->mons->vm->loop.ctx);
}

static struct mon_client *mon_client_new(struct mon_endpoint *ep, int in_fd, int out_fd,
                                         bool socket)
{
    struct monitors *m = ep->mons;
    struct mon_client *c = g_new0(struct mon_client, 1);

    c->ep = ep;
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->socket = socket;
    c->passed_fd = -1;
    c->out = g_byte_array_new();
    g_ptr_array_add(m->clients, c);
    ep->nclients++;
    ep->accepted++;
    c->ctx = m->ctx;
    c->ctx.client = c;
    c->ctx.take_fd = mon_client_take_fd;
    if (ep->control) {
        qmp_session_init(&c->qmp, &c->ctx, ep->pretty, mon_client_send, c);
        qmp_session_greet(&c->qmp);
    } else {
        hmp_session_init(&c->hmp, &c->ctx, m->vm->loop.ctx, mon_client_send, c);
        hmp_session_greet(&c->hmp);
    }
    mon_client_watch_input(c);
    return c;
}

static gboolean mon_endpoint_retry(gpointer opaque)
{
    struct mon_endpoint *ep = opaque;

    g_source_unref(ep->retry);
    ep->retry = NULL;
    mon_endpoint_watch_listen(ep);
    return G_SOURCE_REMOVE;
}

static gboolean mon_endpoint_acceptable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct mon_endpoint *ep = opaque;

    (void)cond;
    while (ep->nclients < MONITOR_MAX_CLIENTS) {
        int c = sock_accept(fd);

        if (c < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                      errno == ENOMEM)) {
            /* The pending client stays pending, so the socket stays
             * readable: back off instead of spinning. */
            g_source_unref(ep->listen_watch);
            ep->listen_watch = NULL;
            ep->retry = g_timeout_source_new(MONITOR_ACCEPT_RETRY_MS);
            g_source_set_callback(ep->retry, mon_endpoint_retry, ep, NULL);
            g_source_attach(ep->retry, ep->mons->vm->loop.ctx);
            return G_SOURCE_REMOVE;
        }
        if (c < 0)
            return G_SOURCE_CONTINUE;
        mon_client_new(ep, c, c, true);
    }
    /* Full: the rest wait in the backlog until a client leaves. */
    g_source_unref(ep->listen_watch);
    ep->listen_watch = NULL;
    return G_SOURCE_REMOVE;
}

static void mon_endpoint_watch_listen(struct mon_endpoint *ep)
{
    if (ep->listen_fd < 0 || ep->listen_watch || ep->retry ||
        ep->nclients >= MONITOR_MAX_CLIENTS)
        return;
    ep->listen_watch = g_unix_fd_source_new(ep->listen_fd, G_IO_IN);
    g_source_set_callback(ep->listen_watch,
                          (GSourceFunc)(void (*)(void))mon_endpoint_acceptable, ep, NULL);
    g_source_attach(ep->listen_watch, ep->mons->vm->loop.ctx);
}

static void mon_endpoint_free(struct mon_endpoint *ep)
{
    fdio_source_drop(&ep->listen_watch);
    fdio_source_drop(&ep->retry);
    if (ep->listen_fd >= 0) {
        close(ep->listen_fd);
        if (ep->addr.kind == SOCK_UNIX)
            unlink(ep->addr.path);
    }
    sock_addr_clear(&ep->addr);
    g_free(ep->what);
    g_free(ep);
}

static bool mon_endpoint_open(struct mon_endpoint *ep, GError **errp)
{
    int fd;

    if (ep->stdio) {
        struct mon_client *c = mon_client_new(ep, STDIN_FILENO, STDOUT_FILENO, false);
        c->stdout_flags = fcntl(STDOUT_FILENO, F_GETFL);
        fcntl(STDOUT_FILENO, F_SETFL, c->stdout_flags | O_NONBLOCK);
        return true;
    }
    if (ep->server) {
        ep->listen_fd = sock_listen(&ep->addr, 16, errp);
        if (ep->listen_fd < 0)
            return false;
        mon_endpoint_watch_listen(ep);
        return true;
    }
    fd = sock_connect(&ep->addr, errp);
    if (fd < 0)
        return false;
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    mon_client_new(ep, fd, fd, true);
    return true;
}

static struct mon_endpoint *mon_endpoint_new(struct monitors *m,
                                             const struct monitor_config *cfg)
{
    struct mon_endpoint *ep = g_new0(struct mon_endpoint, 1);

    ep->mons = m;
    ep->control = cfg->control;
    ep->pretty = cfg->pretty;
    ep->stdio = cfg->stdio;
    ep->server = cfg->server;
    ep->listen_fd = -1;
    if (!cfg->stdio)
        sock_addr_copy(&ep->addr, &cfg->addr);
    ep->what = cfg->stdio ? g_strdup("stdio") : sock_addr_to_str(&cfg->addr);
    return ep;
}

/* Without nowait: run the main loop (signals, other monitors) until the
 * endpoint has had a client, as QEMU blocks startup for it. */
static void mon_endpoint_wait(struct mon_endpoint *ep)
{
    struct vm *vm = ep->mons->vm;

    fprintf(stderr, "tern: waiting for connection on: %s,server\n", ep->what);
    while (!ep->accepted && !vm->exit_requested)
        main_loop_iterate(&vm->loop, -1);
}

/* vm->event: broadcast to every negotiated QMP client. */
static void mon_event(void *opaque, const char *name, JsonObject *data)
{
    struct monitors *m = opaque;
    gint64 now = g_get_real_time();
    char *text[2] = { NULL, NULL }; /* compact, pretty */

    for (guint i = 0; i < m->clients->len; i++) {
        struct mon_client *c = m->clients->pdata[i];
        bool pretty = c->ep->pretty;

        if (!c->ep->control || !c->qmp.negotiated)
            continue;
        if (!text[pretty])
            text[pretty] = qmp_event_format(name, data, now, pretty);
        mon_client_send(c, text[pretty], strlen(text[pretty]));
        if (c->dead)
            i--; /* removed from m->clients */
    }
    g_free(text[0]);
    g_free(text[1]);
    if (data)
        json_object_unref(data);
}

struct monitors *monitors_new(struct vm *vm, GPtrArray *configs, GError **errp)
{
    struct monitors *m = g_new0(struct monitors, 1);

    m->vm = vm;
    m->ctx.vm = vm;
    m->ctx.table = qmp_commands;
    m->endpoints = g_ptr_array_new();
    m->clients = g_ptr_array_new();
    m->dead = g_ptr_array_new();
    vm->event = mon_event;
    vm->event_opaque = m;
    for (guint i = 0; configs && i < configs->len; i++) {
        const struct monitor_config *cfg = configs->pdata[i];
        struct mon_endpoint *ep = mon_endpoint_new(m, cfg);
        g_autoptr(GError) err = NULL;

        g_ptr_array_add(m->endpoints, ep);
        if (!mon_endpoint_open(ep, &err)) {
            error_setg(errp, "%s %s: %s", cfg->control ? "-qmp" : "-monitor", cfg->spec,
                       err->message);
            monitors_free(m);
            return NULL;
        }
    }
    for (guint i = 0; i < m->endpoints->len; i++) {
        struct mon_endpoint *ep = m->endpoints->pdata[i];
        const struct monitor_config *cfg = configs->pdata[i];

        if (cfg->server && cfg->wait)
            mon_endpoint_wait(ep);
    }
    return m;
}

/* Last chance for queued output: poll each client for up to the deadline. */
static void mon_client_flush(struct mon_client *c, gint64 deadline)
{
    while (!c->dead && c->out->len) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };
        ssize_t n;

        if (left <= 0 || poll(&p, 1, left) <= 0)
            return;
        n = mon_client_write_some(c, c->out->data, c->out->len);
        if (n < 0)
            return;
        g_byte_array_remove_range(c->out, 0, n);
    }
}

void monitors_free(struct monitors *m)
{
    gint64 deadline = g_get_monotonic_time() + MONITOR_FLUSH_MS * 1000;

    if (!m)
        return;
    if (m->vm->event_opaque == m) {
        m->vm->event = NULL;
        m->vm->event_opaque = NULL;
    }
    while (m->clients->len) {
        struct mon_client *c = m->clients->pdata[0];

        mon_client_flush(c, deadline);
        mon_client_close(c);
    }
    mon_reap(m);
    for (guint i = 0; i < m->endpoints->len; i++)
        mon_endpoint_free(m->endpoints->pdata[i]);
    g_ptr_array_unref(m->endpoints);
    g_ptr_array_unref(m->clients);
    g_ptr_array_unref(m->dead);
    g_free(m);
}
