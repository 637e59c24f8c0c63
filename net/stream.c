/*
 * -netdev stream: Ethernet frames over a stream socket to another Tern (or
 * QEMU), so two VMs can be wired together without root.
 *
 *   -netdev stream,id=N,server=on|off,addr.type=unix,addr.path=PATH
 *   -netdev stream,id=N,server=on|off,addr.type=inet,addr.host=H,addr.port=P
 *   -netdev socket,id=N,listen=[HOST]:PORT | connect=HOST:PORT   (the same)
 *
 * Wire format (QEMU's, for both -netdev stream and -netdev socket): each
 * frame is
 *
 *   offset 0   4 bytes  length L, big-endian, 1 <= L <= 65536 (NET_FRAME_MAX)
 *   offset 4   L bytes  the Ethernet frame: destination MAC, source MAC,
 *                       ethertype, payload; no virtio-net header, no FCS
 *
 * back to back, nothing else (no handshake, no padding).  E.g. a 60-byte
 * frame is 00 00 00 3c followed by its 60 bytes.  A length of 0 or above
 * 65536 from the other side cannot be resynchronised: the connection is
 * dropped with a log line ("bad frame length ...").
 *
 * Connection states, no reconnection (QEMU's reconnect= is not offered):
 *
 *   server:  LISTENING --accept--> CONNECTED --EOF/error/bad frame--> LISTENING
 *            (one client at a time; later ones wait in the backlog)
 *   client:  connect() in net_stream_open() --> CONNECTED --EOF...--> CLOSED
 *
 * The link is up exactly while CONNECTED.  Frames sent while not connected
 * are dropped (tx_dropped), as QEMU does.  A frame the socket cannot take
 * at all returns -EAGAIN; one it takes partly is finished from a G_IO_OUT
 * watch (at most one frame is buffered) and further sends return -EAGAIN
 * until it is out.  Thread context: net.h (reads, accepts and the output
 * watch run from @ctx's dispatch with the VM lock held).
 */
#include "net/net-int.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/container.h"
#include "util/error.h"
#include "util/fdio.h"
#include "util/keyval.h"

#define STREAM_HDR 4
#define STREAM_RX_BUDGET 64 /* frames per dispatch, so one peer cannot starve the loop */

struct net_stream {
    struct net_backend nb;
    char *where; /* "unix:PATH" / "tcp:H:P", for messages */
    bool server;
    int listen_fd; /* server; -1 otherwise */
    int fd;        /* the connection, or -1 */
    GSource *listen_watch;
    GSource *in_watch;
    GSource *out_watch;
    /* rx: a length word, then the frame; rx_have counts both. */
    uint8_t rx_buf[STREAM_HDR + NET_FRAME_MAX];
    size_t rx_have;
    /* tx: the unsent tail of one frame (empty: none). */
    GByteArray *tx_pending;
};

static struct net_stream *to_stream(struct net_backend *nb)
{
    return container_of(nb, struct net_stream, nb);
}

static void stream_watch_listen(struct net_stream *s);

static void stream_disconnect(struct net_stream *s, const char *why)
{
    fdio_source_drop(&s->in_watch);
    fdio_source_drop(&s->out_watch);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->rx_have = 0;
    g_byte_array_set_size(s->tx_pending, 0);
    if (why)
        net_backend_log(&s->nb, "%s: %s", s->where, why);
    net_backend_set_link(&s->nb, false);
    /* A blocked device must not wait forever: its frames now drop. */
    net_backend_tx_unblocked(&s->nb);
    if (s->server)
        stream_watch_listen(s);
}

/* The frame length in a complete header, or 0 when it is not acceptable. */
static uint32_t stream_frame_len(const uint8_t *hdr)
{
    uint32_t len = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];

    return len <= NET_FRAME_MAX ? len : 0;
}

static size_t stream_rx_want(struct net_stream *s)
{
    return s->rx_have < STREAM_HDR ? STREAM_HDR : STREAM_HDR + stream_frame_len(s->rx_buf);
}

/* Read and deliver what there is.  false: stop watching the fd (blocked by
 * the peer, or disconnected). */
static bool stream_pump(struct net_stream *s)
{
    for (unsigned budget = STREAM_RX_BUDGET; budget; budget--) {
        size_t want;
        ssize_t n;

        if (s->fd < 0 || !net_backend_peer_ready(&s->nb))
            return false;
        want = stream_rx_want(s);
        if (s->rx_have < want) {
            n = read(s->fd, s->rx_buf + s->rx_have, want - s->rx_have);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
            if (n <= 0) {
                stream_disconnect(s, n ? g_strerror(errno) : "connection closed by peer");
                return false;
            }
            s->rx_have += n;
            if (s->rx_have == STREAM_HDR && !stream_frame_len(s->rx_buf)) {
                const uint8_t *h = s->rx_buf;
                g_autofree char *why = g_strdup_printf(
                    "bad frame length %u from peer (must be 1..%d): dropping the connection",
                    (unsigned)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3], NET_FRAME_MAX);
                stream_disconnect(s, why);
                return false;
            }
            if (s->rx_have < stream_rx_want(s))
                continue;
        }
        /* A whole frame: hand it over, or keep it until rx_ready. */
        if (!net_backend_deliver(&s->nb, s->rx_buf + STREAM_HDR, s->rx_have - STREAM_HDR))
            return false;
        s->rx_have = 0;
    }
    return true;
}

static gboolean stream_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_stream *s = opaque;

    (void)fd, (void)cond;
    if (stream_pump(s))
        return G_SOURCE_CONTINUE;
    /* stream_disconnect() may already have dropped the watch. */
    fdio_source_drop(&s->in_watch);
    return G_SOURCE_REMOVE;
}

static void stream_watch_input(struct net_stream *s)
{
    if (s->fd < 0 || s->in_watch)
        return;
    s->in_watch = g_unix_fd_source_new(s->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(s->in_watch, (GSourceFunc)(void (*)(void))stream_readable, s, NULL);
    g_source_attach(s->in_watch, s->nb.ctx);
}

static void stream_rx_resume(struct net_backend *nb)
{
    struct net_stream *s = to_stream(nb);

    if (stream_pump(s))
        stream_watch_input(s);
}

static void stream_connected(struct net_stream *s, int fd)
{
    int one = 1;

    s->fd = fd;
    if (g_str_has_prefix(s->where, "tcp:"))
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    net_backend_set_link(&s->nb, true);
    stream_watch_input(s);
}

static gboolean stream_accept_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_stream *s = opaque;
    int c;

    (void)cond;
    c = sock_accept(fd);
    if (c < 0)
        return G_SOURCE_CONTINUE;
    /* One client at a time: the next waits in the backlog until this one
     * goes (stream_disconnect() listens again). */
    fdio_source_drop(&s->listen_watch);
    stream_connected(s, c);
    return G_SOURCE_REMOVE;
}

static void stream_watch_listen(struct net_stream *s)
{
    if (s->listen_fd < 0 || s->listen_watch)
        return;
    s->listen_watch = g_unix_fd_source_new(s->listen_fd, G_IO_IN);
    g_source_set_callback(s->listen_watch, (GSourceFunc)(void (*)(void))stream_accept_ready, s,
                          NULL);
    g_source_attach(s->listen_watch, s->nb.ctx);
}

/* Finish the partly written frame; then the owed tx_ready. */
static gboolean stream_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_stream *s = opaque;
    GByteArray *p = s->tx_pending;
    ssize_t n;

    (void)cond;
    n = fdio_write_some(fd, true, p->data, p->len);
    if (n < 0) {
        fdio_source_drop(&s->out_watch);
        stream_disconnect(s, g_strerror(errno));
        return G_SOURCE_REMOVE;
    }
    g_byte_array_remove_range(p, 0, n);
    if (p->len)
        return G_SOURCE_CONTINUE;
    fdio_source_drop(&s->out_watch);
    net_backend_tx_unblocked(&s->nb);
    return G_SOURCE_REMOVE;
}

static void stream_watch_output(struct net_stream *s)
{
    if (s->out_watch)
        return;
    s->out_watch = g_unix_fd_source_new(s->fd, G_IO_OUT);
    g_source_set_callback(s->out_watch, (GSourceFunc)(void (*)(void))stream_writable, s, NULL);
    g_source_attach(s->out_watch, s->nb.ctx);
}

/* Keep what writev() left of the header + frame. */
static void stream_keep_tail(struct net_stream *s, const struct iovec *v, int cnt, size_t done)
{
    for (int i = 0; i < cnt; i++) {
        if (done >= v[i].iov_len) {
            done -= v[i].iov_len;
            continue;
        }
        g_byte_array_append(s->tx_pending, (const uint8_t *)v[i].iov_base + done,
                            v[i].iov_len - done);
        done = 0;
    }
}

static ssize_t stream_send(struct net_backend *nb, const struct iovec *iov, int iovcnt,
                           size_t len)
{
    struct net_stream *s = to_stream(nb);
    uint8_t hdr[STREAM_HDR] = { len >> 24, len >> 16, len >> 8, len };
    g_autofree struct iovec *v = NULL;
    struct msghdr msg = { 0 };
    int cnt;
    ssize_t n;

    if (s->fd < 0) {
        nb->stats.tx_dropped++;
        return len;
    }
    if (s->tx_pending->len) {
        stream_watch_output(s);
        return -EAGAIN;
    }
    v = net_iov_prepend(hdr, sizeof(hdr), iov, iovcnt, &cnt);
    msg.msg_iov = v;
    msg.msg_iovlen = cnt;
    do {
        n = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        stream_watch_output(s);
        return -EAGAIN;
    }
    if (n < 0) {
        /* The reader is gone: the input side will see EOF and tidy up;
         * this frame is lost like any sent on a dead link. */
        nb->stats.tx_dropped++;
        return len;
    }
    nb->stats.tx_frames++;
    if ((size_t)n < len + STREAM_HDR) {
        stream_keep_tail(s, v, cnt, n);
        stream_watch_output(s);
    }
    return len;
}

static void stream_free(struct net_backend *nb)
{
    struct net_stream *s = to_stream(nb);

    fdio_source_drop(&s->listen_watch);
    fdio_source_drop(&s->in_watch);
    fdio_source_drop(&s->out_watch);
    if (s->fd >= 0)
        close(s->fd);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    g_byte_array_unref(s->tx_pending);
    g_free(s->where);
}

int net_stream_local_port(const struct net_backend *nb)
{
    if (nb->ops->type != NET_TYPE_STREAM)
        return 0;
    const struct net_stream *s = container_of(nb, const struct net_stream, nb);
    return s->listen_fd >= 0 ? sock_local_port(s->listen_fd) : 0;
}

static const struct net_backend_ops stream_ops = {
    .type = NET_TYPE_STREAM,
    .send = stream_send,
    .rx_resume = stream_rx_resume,
    .free = stream_free,
};

struct net_backend *net_stream_open(GMainContext *ctx, const struct net_options *o,
                                    GError **errp)
{
    struct net_stream *s = g_new0(struct net_stream, 1);
    int fd;

    net_backend_init(&s->nb, &stream_ops, o->id, ctx);
    s->where = sock_addr_to_str(&o->addr);
    s->server = o->server;
    s->listen_fd = s->fd = -1;
    s->tx_pending = g_byte_array_new();
    if (o->server) {
        s->listen_fd = sock_listen(&o->addr, 1, errp);
        if (s->listen_fd < 0)
            goto fail;
        stream_watch_listen(s);
        return &s->nb;
    }
    fd = sock_connect(&o->addr, errp);
    if (fd < 0)
        goto fail;
    if (!g_unix_set_fd_nonblocking(fd, TRUE, NULL)) {
        error_setg_errno(errp, errno, "%s", s->where);
        close(fd);
        goto fail;
    }
    stream_connected(s, fd);
    return &s->nb;
fail:
    net_backend_free(&s->nb);
    return NULL;
}

/* QEMU's addr.type=unix|inet, addr.path / addr.host + addr.port. */
bool net_stream_options_take(GHashTable *kv, struct net_options *o, GError **errp)
{
    g_autofree char *type = keyval_take_str(kv, "addr.type");
    char *path = keyval_take_str(kv, "addr.path");
    char *host = keyval_take_str(kv, "addr.host");
    char *port = keyval_take_str(kv, "addr.port");

    if (!keyval_take_bool(kv, "server", &o->server, errp))
        goto fail;
    if (!type) {
        error_setg(errp, "addr.type is required (unix or inet)");
        goto fail;
    }
    if (!strcmp(type, "unix")) {
        if (!path || host || port) {
            error_setg(errp, "addr.type=unix needs addr.path= (and no addr.host/addr.port)");
            goto fail;
        }
    } else if (!strcmp(type, "inet")) {
        if (path || !host || !port) {
            error_setg(errp, "addr.type=inet needs addr.host= and addr.port= (and no addr.path)");
            goto fail;
        }
    } else {
        error_setg(errp, "addr.type=%s is not supported (unix or inet)", type);
        goto fail;
    }
    return sock_addr_from_keys(&o->addr, path, host, port, errp);
fail:
    g_free(path);
    g_free(host);
    g_free(port);
    return false;
}
