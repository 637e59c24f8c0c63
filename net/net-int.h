/*
 * Inside the network layer: what a backend (tap.c, stream.c) embeds and the
 * helpers it calls.  net.c keeps the rules of net.h (when the peer is asked,
 * the one tx_ready per -EAGAIN, the deferred rx restart); a backend only
 * reads and writes its fd.  Every helper runs on @ctx's thread or with the
 * VM lock held, like the public functions.
 */
#ifndef NET_NET_INT_H
#define NET_NET_INT_H

#include "net/net.h"

struct net_backend_ops {
    enum net_type type;
    /* Write one frame of @len bytes (vnet header included when set):
     * @len, or -EAGAIN with nothing consumed (the backend then watches for
     * room and calls net_backend_tx_unblocked()).  Any thread, lock held. */
    ssize_t (*send)(struct net_backend *nb, const struct iovec *iov, int iovcnt, size_t len);
    /* The peer has room again: deliver the held frame, read on.  @ctx. */
    void (*rx_resume)(struct net_backend *nb);
    /* NULL: no vnet header support. */
    bool (*set_vnet_hdr_len)(struct net_backend *nb, unsigned len, GError **errp);
    /* Release fds and sources; net.c frees the struct's common part. */
    void (*free)(struct net_backend *nb);
};

struct net_backend {
    const struct net_backend_ops *ops;
    char *id;
    GMainContext *ctx;
    const struct net_peer_ops *peer;
    void *peer_opaque;
    GSource *resume;   /* the deferred rx_resume after rx_ready */
    bool rx_blocked;   /* the peer said no; rx_ready owed */
    bool tx_blocked;   /* send said -EAGAIN; tx_ready owed */
    bool has_vnet_hdr; /* the fd speaks IFF_VNET_HDR */
    bool link_up;
    unsigned vnet_hdr_len; /* what the peer's frames carry: 0, 10, 12 */
    struct net_stats stats;
    char *last_error;
};

void net_backend_init(struct net_backend *nb, const struct net_backend_ops *ops, const char *id,
                      GMainContext *ctx);

/* Before reading a frame: may one be delivered now?  false marks the
 * backend blocked (it must stop reading until ops->rx_resume). */
bool net_backend_peer_ready(struct net_backend *nb);
/* Hand a frame to the peer.  false: refused; keep it, stop reading. */
bool net_backend_deliver(struct net_backend *nb, const void *buf, size_t len);

/* The fd has room again: the owed tx_ready, if any. */
void net_backend_tx_unblocked(struct net_backend *nb);
void net_backend_set_link(struct net_backend *nb, bool up);
/* One line on stderr, "tern: netdev ID: ...", kept as last_error. */
void net_backend_log(struct net_backend *nb, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

size_t net_iov_size(const struct iovec *iov, int iovcnt);
/* A new array: @head (if @head_len) followed by @iov. */
struct iovec *net_iov_prepend(const void *head, size_t head_len, const struct iovec *iov,
                              int iovcnt, int *outcnt);

/* Backends. */
struct net_backend *net_tap_open(GMainContext *ctx, const struct net_options *o,
                                 GError **errp);
bool net_tap_options_take(GHashTable *kv, struct net_options *o, GError **errp);
struct net_backend *net_stream_open(GMainContext *ctx, const struct net_options *o,
                                    GError **errp);
bool net_stream_options_take(GHashTable *kv, struct net_options *o, GError **errp);

#endif
