/*
 * -netdev tap: a Linux tap device (/dev/net/tun, IFF_TAP | IFF_NO_PI), so
 * the guest's NIC is a host interface that can join a bridge.
 *
 *   -netdev tap,id=N[,ifname=NAME][,script=no][,downscript=no]
 *               [,vnet_hdr=on|off][,fd=FD]
 *
 * Creating or attaching a tap needs root or CAP_NET_ADMIN (or a persistent
 * tap owned by this user, made with "ip tuntap add ... user U").  Tern runs
 * no ifup/ifdown scripts: the interface is configured from outside (ip
 * link set ... master br0 up), so script= and downscript= must be "no" (or
 * absent).  fd=FD uses an already open tap descriptor (Tern owns it once
 * the open succeeds; its IFF_VNET_HDR flag must agree with vnet_hdr=).
 *
 * Each read() of the tap fd is one frame and each write() sends one frame.
 * With IFF_VNET_HDR (vnet_hdr=on, or auto when the kernel supports it)
 * every frame on the fd is led by a struct virtio_net_hdr of
 * TUNSETVNETHDRSZ bytes (10 by default, 12 for mergeable rx buffers /
 * virtio 1.0).  While the peer wants bare frames (vnet_hdr_len 0) this file
 * adds a zero header (no checksum or GSO work asked of the kernel) to what
 * it writes and strips the header from what it reads; once the peer sets a
 * length, headers pass through untouched.  Without TUNSETOFFLOAD the kernel
 * hands us only complete, checksummed frames.
 *
 * The fd is non-blocking and read from a GSource on @ctx; writes that the
 * kernel refuses with EAGAIN return -EAGAIN and a G_IO_OUT watch calls the
 * peer's tx_ready.  Thread context: net.h.
 */
#include "net/net-int.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/container.h"
#include "util/error.h"
#include "util/fdio.h"
#include "util/keyval.h"

#define TAP_RX_BUDGET 64
#define TAP_DEFAULT_HDR_LEN 10 /* struct virtio_net_hdr */

struct net_tap {
    struct net_backend nb;
    int fd;
    char ifname[IFNAMSIZ];
    unsigned hdr_len; /* TUNSETVNETHDRSZ, with IFF_VNET_HDR */
    bool read_failed; /* logged once; input stopped */
    GSource *in_watch;
    GSource *out_watch;
    /* One frame as read, possibly held for the peer (rx_len != 0). */
    uint8_t rx_buf[NET_VNET_HDR_MAX + NET_FRAME_MAX];
    size_t rx_len, rx_off;
};

static struct net_tap *to_tap(struct net_backend *nb)
{
    return container_of(nb, struct net_tap, nb);
}

/* Header bytes this file adds/strips: the tap has them, the peer does not. */
static unsigned tap_hidden_hdr(const struct net_tap *t)
{
    return t->nb.has_vnet_hdr && !t->nb.vnet_hdr_len ? t->hdr_len : 0;
}

/* false: stop watching the fd. */
static bool tap_pump(struct net_tap *t)
{
    for (unsigned budget = TAP_RX_BUDGET; budget; budget--) {
        if (!net_backend_peer_ready(&t->nb))
            return false;
        if (!t->rx_len) {
            ssize_t n = read(t->fd, t->rx_buf, sizeof(t->rx_buf));

            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
            if (n <= 0) {
                net_backend_log(&t->nb, "tap %s: read: %s; no more input from it", t->ifname,
                                n ? g_strerror(errno) : "end of file");
                t->read_failed = true;
                return false;
            }
            t->rx_off = tap_hidden_hdr(t);
            if ((size_t)n <= t->rx_off) {
                t->nb.stats.rx_dropped++;
                continue;
            }
            t->rx_len = n;
        }
        if (!net_backend_deliver(&t->nb, t->rx_buf + t->rx_off, t->rx_len - t->rx_off))
            return false;
        t->rx_len = 0;
    }
    return true;
}

static gboolean tap_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_tap *t = opaque;

    (void)fd, (void)cond;
    if (tap_pump(t))
        return G_SOURCE_CONTINUE;
    fdio_source_drop(&t->in_watch);
    return G_SOURCE_REMOVE;
}

static void tap_watch_input(struct net_tap *t)
{
    if (t->in_watch || t->read_failed)
        return;
    t->in_watch = g_unix_fd_source_new(t->fd, G_IO_IN);
    g_source_set_callback(t->in_watch, (GSourceFunc)(void (*)(void))tap_readable, t, NULL);
    g_source_attach(t->in_watch, t->nb.ctx);
}

static void tap_rx_resume(struct net_backend *nb)
{
    struct net_tap *t = to_tap(nb);

    if (!t->read_failed && tap_pump(t))
        tap_watch_input(t);
}

static gboolean tap_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_tap *t = opaque;

    (void)fd, (void)cond;
    fdio_source_drop(&t->out_watch);
    net_backend_tx_unblocked(&t->nb);
    return G_SOURCE_REMOVE;
}

static ssize_t tap_send(struct net_backend *nb, const struct iovec *iov, int iovcnt, size_t len)
{
    static const uint8_t zero_hdr[NET_VNET_HDR_MAX];
    struct net_tap *t = to_tap(nb);
    g_autofree struct iovec *v = NULL;
    int cnt;
    ssize_t n;

    v = net_iov_prepend(zero_hdr, tap_hidden_hdr(t), iov, iovcnt, &cnt);
    do {
        n = writev(t->fd, v, cnt);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) {
        if (!t->out_watch) {
            t->out_watch = g_unix_fd_source_new(t->fd, G_IO_OUT);
            g_source_set_callback(t->out_watch, (GSourceFunc)(void (*)(void))tap_writable, t,
                                  NULL);
            g_source_attach(t->out_watch, nb->ctx);
        }
        return -EAGAIN;
    }
    if (n < 0)
        nb->stats.tx_dropped++; /* e.g. EIO: the interface is down */
    else
        nb->stats.tx_frames++;
    return len;
}

static bool tap_set_vnet_hdr_len(struct net_backend *nb, unsigned len, GError **errp)
{
    struct net_tap *t = to_tap(nb);
    int sz = len ? len : TAP_DEFAULT_HDR_LEN;

    if (ioctl(t->fd, TUNSETVNETHDRSZ, &sz) < 0) {
        error_setg_errno(errp, errno, "tap %s: cannot set the virtio-net header size to %d",
                         t->ifname, sz);
        return false;
    }
    t->hdr_len = sz;
    return true;
}

static void tap_free(struct net_backend *nb)
{
    struct net_tap *t = to_tap(nb);

    fdio_source_drop(&t->in_watch);
    fdio_source_drop(&t->out_watch);
    if (t->fd >= 0)
        close(t->fd);
}

static const struct net_backend_ops tap_ops = {
    .type = NET_TYPE_TAP,
    .send = tap_send,
    .rx_resume = tap_rx_resume,
    .set_vnet_hdr_len = tap_set_vnet_hdr_len,
    .free = tap_free,
};

static const char *tap_permission_hint(int err)
{
    return err == EPERM || err == EACCES
               ? " (a tap needs root or CAP_NET_ADMIN, or a persistent tap owned by this user)"
               : "";
}

static int tap_open_tun(GError **errp)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    int err = errno;

    if (fd >= 0)
        return fd;
    if (err == ENOENT || err == ENODEV || err == ENXIO)
        error_setg(errp, "tap: /dev/net/tun: %s (is the tun module loaded? modprobe tun)",
                   g_strerror(err));
    else
        error_setg(errp, "tap: cannot open /dev/net/tun: %s%s", g_strerror(err),
                   tap_permission_hint(err));
    return -1;
}

/* Decide IFF_VNET_HDR from vnet_hdr= and what the kernel offers. */
static bool tap_want_vnet_hdr(int fd, enum net_vnet_hdr want, bool *on, GError **errp)
{
    unsigned features = 0;

    if (ioctl(fd, TUNGETFEATURES, &features) < 0)
        features = 0;
    *on = want != NET_VNET_HDR_OFF && (features & IFF_VNET_HDR);
    if (want == NET_VNET_HDR_ON && !*on) {
        error_setg(errp, "tap: vnet_hdr=on, but this kernel's tun driver has no IFF_VNET_HDR");
        return false;
    }
    return true;
}

static bool tap_create(struct net_tap *t, const struct net_options *o, GError **errp)
{
    struct ifreq ifr = { 0 };
    bool vnet;

    t->fd = tap_open_tun(errp);
    if (t->fd < 0 || !tap_want_vnet_hdr(t->fd, o->vnet_hdr, &vnet, errp))
        return false;
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
    if (o->ifname)
        g_strlcpy(ifr.ifr_name, o->ifname, sizeof(ifr.ifr_name));
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        int err = errno;
        error_setg(errp, "tap: cannot create or attach tap '%s': %s%s",
                   o->ifname ? o->ifname : "tap%d", g_strerror(err),
                   err == EBUSY ? " (another process has it open)" : tap_permission_hint(err));
        return false;
    }
    g_strlcpy(t->ifname, ifr.ifr_name, sizeof(t->ifname));
    t->nb.has_vnet_hdr = vnet;
    return true;
}

/* fd=N: an open tap; check what it is.  The fd becomes ours only if this
 * succeeds (on failure it stays the caller's). */
static bool tap_adopt_fd(struct net_tap *t, const struct net_options *o, GError **errp)
{
    struct ifreq ifr = { 0 };
    bool vnet;

    if (ioctl(o->fd, TUNGETIFF, &ifr) < 0) {
        error_setg_errno(errp, errno, "tap: fd=%d is not an open tap device", o->fd);
        return false;
    }
    if ((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI)) != (IFF_TAP | IFF_NO_PI)) {
        error_setg(errp, "tap: fd=%d must be a tap (IFF_TAP) opened with IFF_NO_PI", o->fd);
        return false;
    }
    vnet = ifr.ifr_flags & IFF_VNET_HDR;
    if (o->vnet_hdr == NET_VNET_HDR_ON && !vnet) {
        error_setg(errp, "tap: vnet_hdr=on, but fd=%d was opened without IFF_VNET_HDR", o->fd);
        return false;
    }
    if (o->vnet_hdr == NET_VNET_HDR_OFF && vnet) {
        error_setg(errp, "tap: vnet_hdr=off, but fd=%d was opened with IFF_VNET_HDR", o->fd);
        return false;
    }
    if (!g_unix_set_fd_nonblocking(o->fd, TRUE, NULL) || fcntl(o->fd, F_SETFD, FD_CLOEXEC) < 0) {
        error_setg_errno(errp, errno, "tap: fd=%d", o->fd);
        return false;
    }
    t->fd = o->fd;
    t->nb.has_vnet_hdr = vnet;
    g_strlcpy(t->ifname, ifr.ifr_name, sizeof(t->ifname));
    return true;
}

struct net_backend *net_tap_open(GMainContext *ctx, const struct net_options *o, GError **errp)
{
    struct net_tap *t = g_new0(struct net_tap, 1);

    net_backend_init(&t->nb, &tap_ops, o->id, ctx);
    t->fd = -1;
    if (!(o->fd >= 0 ? tap_adopt_fd(t, o, errp) : tap_create(t, o, errp)))
        goto fail;
    t->hdr_len = TAP_DEFAULT_HDR_LEN;
    if (t->nb.has_vnet_hdr && !tap_set_vnet_hdr_len(&t->nb, 0, errp))
        goto fail;
    t->nb.link_up = true;
    tap_watch_input(t);
    return &t->nb;
fail:
    net_backend_free(&t->nb);
    return NULL;
}

const char *net_tap_ifname(const struct net_backend *nb)
{
    if (nb->ops->type != NET_TYPE_TAP)
        return "";
    return container_of(nb, const struct net_tap, nb)->ifname;
}

static bool tap_check_script(GHashTable *kv, const char *key, GError **errp)
{
    g_autofree char *v = keyval_take_str(kv, key);

    if (v && strcmp(v, "no") && strcmp(v, "")) {
        error_setg(errp, "%s=%s: Tern runs no scripts; set the tap up beforehand "
                         "(ip link set IF master BRIDGE up) and use %s=no", key, v, key);
        return false;
    }
    return true;
}

bool net_tap_options_take(GHashTable *kv, struct net_options *o, GError **errp)
{
    uint64_t fd;
    bool has_fd;

    if (!tap_check_script(kv, "script", errp) || !tap_check_script(kv, "downscript", errp))
        return false;
    if (!keyval_take_uint(kv, "fd", INT32_MAX, &fd, &has_fd, errp))
        return false;
    o->fd = has_fd ? (int)fd : -1;
    o->ifname = keyval_take_str(kv, "ifname");
    if (o->ifname && (!*o->ifname || strlen(o->ifname) >= IFNAMSIZ)) {
        error_setg(errp, "ifname=%s: an interface name is 1 to %d characters", o->ifname,
                   IFNAMSIZ - 1);
        return false;
    }
    if (o->ifname && has_fd) {
        error_setg(errp, "ifname= and fd= cannot both be given");
        return false;
    }
    if (g_hash_table_contains(kv, "vnet_hdr")) {
        bool on = false;

        if (!keyval_take_bool(kv, "vnet_hdr", &on, errp))
            return false;
        o->vnet_hdr = on ? NET_VNET_HDR_ON : NET_VNET_HDR_OFF;
    }
    return true;
}
