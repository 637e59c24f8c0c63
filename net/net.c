/*
 * The backend-independent half of net.h: the peer protocol (when the peer
 * is asked, the one tx_ready owed per -EAGAIN, rx_ready deferred to @ctx so
 * that no peer callback ever runs inside a call from the peer) and the
 * options shared by every backend type.  Threads: see net.h.
 */
#include "net/net-int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/fdio.h"

static const char *const net_type_names[] = {
    [NET_TYPE_TAP] = "tap",
    [NET_TYPE_STREAM] = "stream",
};

bool net_type_parse(const char *name, enum net_type *type)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(net_type_names); i++) {
        if (!strcmp(name, net_type_names[i])) {
            *type = i;
            return true;
        }
    }
    return false;
}

const char *net_type_name(enum net_type type)
{
    return net_type_names[type];
}

void net_options_init(struct net_options *o)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
}

void net_options_clear(struct net_options *o)
{
    g_free(o->id);
    g_free(o->ifname);
    sock_addr_clear(&o->addr);
    net_options_init(o);
}

bool net_options_take(GHashTable *kv, struct net_options *o, GError **errp)
{
    switch (o->type) {
    case NET_TYPE_TAP:
        return net_tap_options_take(kv, o, errp);
    case NET_TYPE_STREAM:
        return net_stream_options_take(kv, o, errp);
    }
    g_assert_not_reached();
}

struct net_backend *net_backend_open(GMainContext *ctx, const struct net_options *o,
                                     GError **errp)
{
    switch (o->type) {
    case NET_TYPE_TAP:
        return net_tap_open(ctx, o, errp);
    case NET_TYPE_STREAM:
        return net_stream_open(ctx, o, errp);
    }
    g_assert_not_reached();
}

void net_backend_init(struct net_backend *nb, const struct net_backend_ops *ops, const char *id,
                      GMainContext *ctx)
{
    nb->ops = ops;
    nb->id = g_strdup(id ? id : "");
    nb->ctx = ctx;
}

void net_backend_free(struct net_backend *nb)
{
    if (!nb)
        return;
    fdio_source_drop(&nb->resume);
    nb->ops->free(nb);
    g_free(nb->id);
    g_free(nb->last_error);
    g_free(nb);
}

void net_backend_set_peer(struct net_backend *nb, const struct net_peer_ops *ops, void *opaque)
{
    nb->peer = ops;
    nb->peer_opaque = ops ? opaque : NULL;
    /* A new peer starts with a clean slate: if the old one had stopped
     * input, ask the new one (from @ctx, as always). */
    net_backend_rx_ready(nb);
}

size_t net_iov_size(const struct iovec *iov, int iovcnt)
{
    size_t len = 0;

    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    return len;
}

struct iovec *net_iov_prepend(const void *head, size_t head_len, const struct iovec *iov,
                              int iovcnt, int *outcnt)
{
    struct iovec *v = g_new(struct iovec, iovcnt + 1);
    int n = 0;

    if (head_len)
        v[n++] = (struct iovec){ (void *)head, head_len };
    memcpy(v + n, iov, iovcnt * sizeof(*iov));
    *outcnt = n + iovcnt;
    return v;
}

ssize_t net_backend_send(struct net_backend *nb, const struct iovec *iov, int iovcnt)
{
    size_t len = net_iov_size(iov, iovcnt);
    ssize_t ret;

    if (nb->tx_blocked)
        return -EAGAIN;
    if (len <= nb->vnet_hdr_len || len - nb->vnet_hdr_len > NET_FRAME_MAX) {
        nb->stats.tx_dropped++; /* a guest bug; nothing a host could carry */
        return len;
    }
    ret = nb->ops->send(nb, iov, iovcnt, len);
    if (ret == -EAGAIN)
        nb->tx_blocked = true;
    return ret;
}

void net_backend_tx_unblocked(struct net_backend *nb)
{
    if (!nb->tx_blocked)
        return;
    nb->tx_blocked = false;
    if (nb->peer && nb->peer->tx_ready)
        nb->peer->tx_ready(nb->peer_opaque);
}

bool net_backend_peer_ready(struct net_backend *nb)
{
    if (nb->rx_blocked)
        return false;
    if (nb->peer && nb->peer->can_receive && !nb->peer->can_receive(nb->peer_opaque)) {
        nb->rx_blocked = true;
        return false;
    }
    return true;
}

bool net_backend_deliver(struct net_backend *nb, const void *buf, size_t len)
{
    struct iovec iov = { (void *)buf, len };

    if (!nb->peer) {
        nb->stats.rx_dropped++;
        return true;
    }
    if (!nb->peer->receive(nb->peer_opaque, &iov, 1)) {
        nb->rx_blocked = true;
        return false;
    }
    nb->stats.rx_frames++;
    return true;
}

static gboolean net_backend_resume_cb(gpointer opaque)
{
    struct net_backend *nb = opaque;

    fdio_source_drop(&nb->resume);
    nb->ops->rx_resume(nb);
    return G_SOURCE_REMOVE;
}

void net_backend_rx_ready(struct net_backend *nb)
{
    if (!nb->rx_blocked || nb->resume)
        return;
    nb->rx_blocked = false;
    /* Never call the peer back from inside its own call: resume from @ctx. */
    nb->resume = g_idle_source_new();
    /* Not idle priority: a busy loop (migration, other fds) must not
     * starve the guest's input. */
    g_source_set_priority(nb->resume, G_PRIORITY_DEFAULT);
    g_source_set_callback(nb->resume, net_backend_resume_cb, nb, NULL);
    g_source_attach(nb->resume, nb->ctx);
}

bool net_backend_has_vnet_hdr(const struct net_backend *nb)
{
    return nb->has_vnet_hdr;
}

bool net_backend_set_vnet_hdr_len(struct net_backend *nb, unsigned len, GError **errp)
{
    if (len != 0 && len != 10 && len != 12) {
        error_setg(errp, "netdev %s: a virtio-net header is 10 or 12 bytes, not %u", nb->id,
                   len);
        return false;
    }
    if (len && !nb->has_vnet_hdr) {
        error_setg(errp, "netdev %s: this backend cannot carry virtio-net headers", nb->id);
        return false;
    }
    if (nb->ops->set_vnet_hdr_len && !nb->ops->set_vnet_hdr_len(nb, len, errp))
        return false;
    nb->vnet_hdr_len = len;
    return true;
}

unsigned net_backend_vnet_hdr_len(const struct net_backend *nb)
{
    return nb->vnet_hdr_len;
}

void net_backend_set_link(struct net_backend *nb, bool up)
{
    if (nb->link_up == up)
        return;
    nb->link_up = up;
    if (nb->peer && nb->peer->link_changed)
        nb->peer->link_changed(nb->peer_opaque, up);
}

bool net_backend_link_up(const struct net_backend *nb)
{
    return nb->link_up;
}

const char *net_backend_id(const struct net_backend *nb)
{
    return nb->id;
}

enum net_type net_backend_type(const struct net_backend *nb)
{
    return nb->ops->type;
}

struct net_stats net_backend_stats(const struct net_backend *nb)
{
    return nb->stats;
}

const char *net_backend_last_error(const struct net_backend *nb)
{
    return nb->last_error;
}

void net_backend_log(struct net_backend *nb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_free(nb->last_error);
    nb->last_error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "tern: netdev %s: %s\n", nb->id, nb->last_error);
}
