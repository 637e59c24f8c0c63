/*
 * Network backends ("netdevs"): the host side of one NIC.  A backend moves
 * whole Ethernet frames between the host (a tap device, a socket to another
 * Tern) and exactly one peer, the NIC model (virtio-net) that sits on it.
 *
 *   nb = net_backend_open(ctx, &opts, &err);        // -netdev tap|stream,...
 *   net_backend_set_peer(nb, &my_peer_ops, dev);
 *   net_backend_set_vnet_hdr_len(nb, 12, &err);      // optional, tap only
 *   n = net_backend_send(nb, iov, iovcnt);            // guest -> host
 *   ... later, from @ctx:  peer->can_receive(dev), peer->receive(dev, iov, n)
 *   net_backend_free(nb);
 *
 * Threads and the lock.  Like the block layer (block/block.h): every
 * function here is called either on the thread that dispatches @ctx (the
 * main loop) or with the VM lock held, which excludes that thread's dispatch
 * (system/main-loop.h).  A device typically calls net_backend_send() and
 * net_backend_rx_ready() from a vCPU thread handling a queue notify, lock
 * held.  Every peer callback runs from @ctx's dispatch -- on the main thread
 * with the VM lock held -- and NEVER from inside a net_backend_*() call, so
 * a device may call in while its own state is half-updated.
 *
 * Receiving (host -> guest), with back-pressure instead of queues.  Before
 * it reads a frame from its fd the backend asks can_receive(); false means
 * the peer has no room (no rx buffers posted): the backend stops watching
 * its fd, so frames stay in the kernel (tap's queue, the socket buffer) and
 * the sender eventually sees its own back-pressure or drops.  receive() may
 * still refuse one frame (returns false: e.g. it does not fit the buffers
 * posted); the backend then keeps that one frame and stops reading too.  In
 * both cases the peer calls net_backend_rx_ready() once it has room; the
 * backend resumes from @ctx (held frame first).  At most one frame is ever
 * held, so memory is bounded; nothing is lost.  Frames arriving while no
 * peer is attached are dropped (counted in rx_dropped), as in QEMU.
 *
 * Sending (guest -> host).  net_backend_send() returns the frame's length
 * when the frame was taken (sent, or dropped because the link is down, the
 * frame is malformed or the host refused it: counted in tx_dropped), or
 * -EAGAIN when the host cannot take it now: nothing was consumed; the
 * device stops popping its tx queue and the backend calls peer->tx_ready()
 * exactly once when a retry may succeed (every net_backend_send() until
 * then returns -EAGAIN without trying).
 *
 * Virtio-net headers.  By default frames in both directions are bare
 * Ethernet frames.  A tap opened with IFF_VNET_HDR (net_backend_has_vnet_hdr)
 * can carry a struct virtio_net_hdr in front of each frame, so checksum and
 * segmentation offloads pass through; once the device calls
 * net_backend_set_vnet_hdr_len(nb, 10 or 12), every frame it sends must
 * start with a header of that size and every frame it receives starts with
 * one.  0 goes back to bare frames (the tap then adds and strips a zero
 * header itself).  Offload negotiation (TUNSETOFFLOAD) is not here yet.
 *
 * Link.  A stream backend's link is up while a connection exists; tap's is
 * always up.  link_changed() (optional) tells the peer, from @ctx.
 */
#ifndef NET_NET_H
#define NET_NET_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "util/sockets.h"

/* The largest frame a backend carries (a 64 KiB GSO frame), not counting
 * a virtio-net header. */
#define NET_FRAME_MAX 65536
#define NET_VNET_HDR_MAX 12 /* struct virtio_net_hdr_mrg_rxbuf / v1 header */

struct net_backend;

/* Callbacks from the backend to its peer: @ctx's thread, VM lock held. */
struct net_peer_ops {
    /* May the peer take a frame now?  false: the backend stops reading
     * until net_backend_rx_ready(). */
    bool (*can_receive)(void *opaque);
    /* One whole frame (led by a virtio-net header when one was set).  true:
     * taken (delivered, or deliberately dropped by the peer); false: no
     * room after all -- the backend keeps it and waits for rx_ready. */
    bool (*receive)(void *opaque, const struct iovec *iov, int iovcnt);
    /* A net_backend_send() that returned -EAGAIN may be retried now. */
    void (*tx_ready)(void *opaque);
    /* Optional (NULL): the link went up (connected) or down. */
    void (*link_changed)(void *opaque, bool up);
};

struct net_stats {
    uint64_t rx_frames, rx_dropped; /* host -> peer */
    uint64_t tx_frames, tx_dropped; /* peer -> host */
};

/* ---- options (-netdev TYPE,id=ID,...; parsed by system/netdevs.c) ---- */

enum net_type {
    NET_TYPE_TAP,
    NET_TYPE_STREAM,
};

enum net_vnet_hdr {
    NET_VNET_HDR_AUTO, /* use IFF_VNET_HDR when the kernel has it */
    NET_VNET_HDR_ON,   /* required: error if unavailable */
    NET_VNET_HDR_OFF,
};

struct net_options {
    enum net_type type;
    char *id;
    /* tap */
    char *ifname;  /* NULL: the kernel picks tapN */
    int fd;        /* an open tap fd to use (fd=N), or -1 */
    enum net_vnet_hdr vnet_hdr;
    /* stream */
    bool server;           /* listen at addr, one client at a time */
    struct sock_addr addr; /* unix path or TCP host:port */
};

/* "tap", "stream"; false for anything else. */
bool net_type_parse(const char *name, enum net_type *type);
const char *net_type_name(enum net_type type);
/* Take @type's keys from a parsed -netdev string (not type= or id=);
 * leaves the others.  @o->type must be set. */
bool net_options_take(GHashTable *kv, struct net_options *o, GError **errp);
void net_options_init(struct net_options *o);
void net_options_clear(struct net_options *o);

/* ---- backends ---- */

/* Open the host side (create/attach the tap, listen or connect).  Reads
 * and completions run from @ctx's dispatch. */
struct net_backend *net_backend_open(GMainContext *ctx, const struct net_options *o,
                                     GError **errp);
/* Close the fds; no callback runs after this.  NULL ok. */
void net_backend_free(struct net_backend *nb);

/* Attach the peer (NULL ops: detach; frames are dropped meanwhile). */
void net_backend_set_peer(struct net_backend *nb, const struct net_peer_ops *ops, void *opaque);

/* See "Sending": the frame's length, or -EAGAIN (tx_ready follows). */
ssize_t net_backend_send(struct net_backend *nb, const struct iovec *iov, int iovcnt);
/* The peer has room again after can_receive() or receive() said no. */
void net_backend_rx_ready(struct net_backend *nb);

bool net_backend_has_vnet_hdr(const struct net_backend *nb);
/* 0 (bare frames), 10 or 12; needs has_vnet_hdr for a non-zero length. */
bool net_backend_set_vnet_hdr_len(struct net_backend *nb, unsigned len, GError **errp);
unsigned net_backend_vnet_hdr_len(const struct net_backend *nb);

bool net_backend_link_up(const struct net_backend *nb);
const char *net_backend_id(const struct net_backend *nb);
enum net_type net_backend_type(const struct net_backend *nb);
struct net_stats net_backend_stats(const struct net_backend *nb);
/* A stream server on TCP: the port it listens on (addr.port=0 picks
 * one); 0 for anything else. */
int net_stream_local_port(const struct net_backend *nb);
/* A tap: its interface name (the kernel's choice without ifname=); "" for
 * anything else. */
const char *net_tap_ifname(const struct net_backend *nb);
/* The last problem logged (a dropped connection, a bad frame), or NULL. */
const char *net_backend_last_error(const struct net_backend *nb);

#endif
