/*
 * net/: the backend interface, -netdev stream over UNIX and TCP sockets
 * (two backends in one process, or a backend and a raw socket speaking
 * the wire format by hand), and -netdev tap in a fresh network namespace
 * when running as root with /dev/net/tun (skipped with the reason
 * otherwise).  Every wait is on a condition with a deadline; the test's own
 * GMainContext plays the main loop (single thread, so no VM lock).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <linux/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/announce.h"
#include "net/net.h"

#define DEADLINE_US (10 * G_USEC_PER_SEC)

/* A NIC stand-in: records what the backend hands it. */
struct peer {
    GPtrArray *frames; /* GBytes *, in arrival order */
    bool can;          /* can_receive's answer */
    int refuse;        /* receive() says false this many times */
    unsigned can_calls, tx_ready_calls, link_changes;
    bool link;
};

static bool peer_can_receive(void *opaque)
{
    struct peer *p = opaque;

    p->can_calls++;
    return p->can;
}

static bool peer_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
    struct peer *p = opaque;
    GByteArray *a = g_byte_array_new();

    if (p->refuse) {
        p->refuse--;
        g_byte_array_unref(a);
        return false;
    }
    for (int i = 0; i < iovcnt; i++)
        g_byte_array_append(a, iov[i].iov_base, iov[i].iov_len);
    g_ptr_array_add(p->frames, g_byte_array_free_to_bytes(a));
    return true;
}

static void peer_tx_ready(void *opaque)
{
    ((struct peer *)opaque)->tx_ready_calls++;
}

static void peer_link_changed(void *opaque, bool up)
{
    struct peer *p = opaque;

    p->link_changes++;
    p->link = up;
}

static const struct net_peer_ops peer_ops = {
    .can_receive = peer_can_receive,
    .receive = peer_receive,
    .tx_ready = peer_tx_ready,
    .link_changed = peer_link_changed,
};

static void peer_init(struct peer *p)
{
    memset(p, 0, sizeof(*p));
    p->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    p->can = true;
}

static void peer_clear(struct peer *p)
{
    g_ptr_array_unref(p->frames);
}

/* A main loop that wakes at least every 20 ms, so deadlines are checked. */
struct loop {
    GMainContext *ctx;
    GSource *tick;
};

static gboolean loop_tick(gpointer opaque)
{
    (void)opaque;
    return G_SOURCE_CONTINUE;
}

static void loop_init(struct loop *l)
{
    l->ctx = g_main_context_new();
    l->tick = g_timeout_source_new(20);
    g_source_set_callback(l->tick, loop_tick, NULL, NULL);
    g_source_attach(l->tick, l->ctx);
}

static void loop_clear(struct loop *l)
{
    g_source_destroy(l->tick);
    g_source_unref(l->tick);
    while (g_main_context_iteration(l->ctx, FALSE))
        ;
    g_main_context_unref(l->ctx);
}

#define WAIT_UNTIL(l, cond)                                                                    \
    do {                                                                                       \
        gint64 deadline_ = g_get_monotonic_time() + DEADLINE_US;                               \
        while (!(cond)) {                                                                      \
            g_assert_cmpint(g_get_monotonic_time(), <, deadline_);                             \
            g_main_context_iteration((l)->ctx, TRUE);                                          \
        }                                                                                      \
    } while (0)

/* Run whatever is ready now, without waiting. */
static void loop_drain(struct loop *l, unsigned rounds)
{
    for (unsigned i = 0; i < rounds; i++)
        g_main_context_iteration(l->ctx, FALSE);
}

/* A frame whose bytes are a function of (seq, len): checkable on arrival. */
static GBytes *make_frame(unsigned seq, size_t len)
{
    uint8_t *b = g_malloc(len);

    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(seq * 31 + i * 7 + (i >> 8));
    if (len >= 4) {
        b[0] = seq >> 24, b[1] = seq >> 16, b[2] = seq >> 8, b[3] = seq;
    }
    return g_bytes_new_take(b, len);
}

/* Send @f split into three segments (frame boundaries must not depend on
 * how the sender cut it). */
static ssize_t send_bytes(struct net_backend *nb, GBytes *f)
{
    gsize len;
    const uint8_t *d = g_bytes_get_data(f, &len);
    size_t a = len / 3, b = len / 2;
    struct iovec iov[3] = { { (void *)d, a }, { (void *)(d + a), b - a },
                            { (void *)(d + b), len - b } };

    return net_backend_send(nb, iov, 3);
}

static void assert_frame(struct peer *p, unsigned idx, GBytes *want)
{
    g_assert_cmpuint(idx, <, p->frames->len);
    g_assert_true(g_bytes_equal(p->frames->pdata[idx], want));
}

/* ---- a connected pair of stream backends ---- */

struct pair {
    struct loop loop;
    char *dir;
    struct net_options so, co;
    struct net_backend *server, *client;
    struct peer sp, cp;
};

static struct net_backend *open_or_die(struct pair *t, struct net_options *o)
{
    g_autoptr(GError) err = NULL;
    struct net_backend *nb = net_backend_open(t->loop.ctx, o, &err);

    g_assert_no_error(err);
    return nb;
}

static void pair_listen(struct pair *t, bool tcp)
{
    loop_init(&t->loop);
    peer_init(&t->sp);
    peer_init(&t->cp);
    net_options_init(&t->so);
    net_options_init(&t->co);
    t->so.type = t->co.type = NET_TYPE_STREAM;
    t->so.id = g_strdup("srv");
    t->co.id = g_strdup("cli");
    t->so.server = true;
    if (tcp) {
        t->so.addr = (struct sock_addr){ .kind = SOCK_TCP, .host = g_strdup("127.0.0.1"),
                                         .port = g_strdup("0") };
    } else {
        t->dir = g_dir_make_tmp("test-net-XXXXXX", NULL);
        t->so.addr = (struct sock_addr){ .kind = SOCK_UNIX,
                                         .path = g_build_filename(t->dir, "sock", NULL) };
    }
    t->server = open_or_die(t, &t->so);
    net_backend_set_peer(t->server, &peer_ops, &t->sp);
    g_assert_false(net_backend_link_up(t->server));
    sock_addr_copy(&t->co.addr, &t->so.addr);
    if (tcp) {
        g_free(t->co.addr.port);
        t->co.addr.port = g_strdup_printf("%d", net_stream_local_port(t->server));
        g_assert_cmpstr(t->co.addr.port, !=, "0");
    }
}

static void pair_connect(struct pair *t)
{
    t->client = open_or_die(t, &t->co);
    net_backend_set_peer(t->client, &peer_ops, &t->cp);
    g_assert_true(net_backend_link_up(t->client));
    WAIT_UNTIL(&t->loop, t->sp.link);
    g_assert_true(net_backend_link_up(t->server));
}

static void pair_open(struct pair *t, bool tcp)
{
    pair_listen(t, tcp);
    pair_connect(t);
}

static void pair_close(struct pair *t)
{
    net_backend_free(t->client);
    net_backend_free(t->server);
    loop_clear(&t->loop);
    net_options_clear(&t->so);
    net_options_clear(&t->co);
    peer_clear(&t->sp);
    peer_clear(&t->cp);
    if (t->dir) {
        g_autofree char *sock = g_build_filename(t->dir, "sock", NULL);
        g_unlink(sock);
        g_rmdir(t->dir);
        g_free(t->dir);
    }
}

/* Frames of awkward sizes both ways; each arrives whole and alone. */
static void stream_frames_both_ways(bool tcp)
{
    static const size_t sizes[] = { 1, 14, 60, 1514, 9000, 65535, NET_FRAME_MAX };
    struct pair t = { 0 };
    g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    unsigned n = G_N_ELEMENTS(sizes);

    pair_open(&t, tcp);
    for (unsigned i = 0; i < n; i++) {
        GBytes *f = make_frame(i, sizes[i]);
        struct net_backend *from = i % 2 ? t.server : t.client;

        g_assert_cmpint(send_bytes(from, f), ==, sizes[i]);
        g_ptr_array_add(sent, f);
    }
    WAIT_UNTIL(&t.loop, t.sp.frames->len + t.cp.frames->len == n);
    for (unsigned i = 0, s = 0, c = 0; i < n; i++)
        assert_frame(i % 2 ? &t.cp : &t.sp, i % 2 ? c++ : s++, sent->pdata[i]);
    g_assert_cmpuint(net_backend_stats(t.server).rx_frames, ==, (n + 1) / 2);
    g_assert_cmpuint(net_backend_stats(t.client).tx_frames, ==, (n + 1) / 2);
    g_assert_cmpuint(net_backend_stats(t.client).rx_frames, ==, n / 2);
    g_assert_null(net_backend_last_error(t.server));
    pair_close(&t);
}

static void test_stream_unix(void)
{
    stream_frames_both_ways(false);
}

static void test_stream_tcp(void)
{
    stream_frames_both_ways(true);
}

/* A raw socket on the other end: the bytes on the wire, both ways. */
static int raw_client(struct pair *t)
{
    g_autoptr(GError) err = NULL;
    int fd = sock_connect(&t->so.addr, &err);

    g_assert_no_error(err);
    WAIT_UNTIL(&t->loop, t->sp.link);
    return fd;
}

static void raw_write(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(write(fd, buf, len), ==, (ssize_t)len);
}

static void test_stream_wire_format(void)
{
    static const uint8_t frame[5] = { 0xff, 0x01, 0x02, 0x03, 0x04 };
    static const uint8_t golden[] = { 0x00, 0x00, 0x00, 0x05, 0xff, 0x01, 0x02, 0x03, 0x04 };
    static const uint8_t two[] = { 0, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0, 1, 0xcc };
    struct pair t = { 0 };
    struct iovec iov = { (void *)frame, sizeof(frame) };
    uint8_t buf[64];
    int fd;

    pair_listen(&t, false);
    fd = raw_client(&t);
    /* Out: be32 length, then the frame. */
    g_assert_cmpint(net_backend_send(t.server, &iov, 1), ==, 5);
    g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, sizeof(golden));
    g_assert_cmpmem(buf, sizeof(golden), golden, sizeof(golden));
    /* In: two frames in one write, then a frame a byte at a time. */
    raw_write(fd, two, sizeof(two));
    WAIT_UNTIL(&t.loop, t.sp.frames->len == 2);
    g_assert_cmpmem(g_bytes_get_data(t.sp.frames->pdata[0], NULL), 2, two + 4, 2);
    g_assert_cmpmem(g_bytes_get_data(t.sp.frames->pdata[1], NULL), 1, two + 10, 1);
    for (unsigned i = 0; i < sizeof(golden); i++) {
        raw_write(fd, golden + i, 1);
        loop_drain(&t.loop, 3);
    }
    WAIT_UNTIL(&t.loop, t.sp.frames->len == 3);
    g_assert_cmpmem(g_bytes_get_data(t.sp.frames->pdata[2], NULL), 5, frame, 5);
    close(fd);
    pair_close(&t);
}

/* can_receive false: nothing read (the watch is off, not spinning);
 * rx_ready: everything arrives, in order.  receive() refusing a frame:
 * that frame is kept and comes again after rx_ready. */
static void test_stream_backpressure(void)
{
    struct pair t = { 0 };
    g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    unsigned n = 40, calls; /* well under a socket buffer */

    pair_open(&t, false);
    t.sp.can = false;
    for (unsigned i = 0; i < n; i++) {
        g_ptr_array_add(sent, make_frame(i, 1000));
        g_assert_cmpint(send_bytes(t.client, sent->pdata[i]), ==, 1000);
    }
    WAIT_UNTIL(&t.loop, t.sp.can_calls > 0);
    loop_drain(&t.loop, 100);
    calls = t.sp.can_calls;
    loop_drain(&t.loop, 100);
    g_assert_cmpuint(t.sp.can_calls, ==, calls); /* the fd is not being polled */
    g_assert_cmpuint(t.sp.frames->len, ==, 0);
    g_assert_cmpuint(net_backend_stats(t.server).rx_frames, ==, 0);

    /* Room again, but receive() refuses frame 0, twice. */
    t.sp.can = true;
    t.sp.refuse = 1;
    net_backend_rx_ready(t.server);
    g_assert_cmpuint(t.sp.frames->len, ==, 0); /* never from inside rx_ready */
    WAIT_UNTIL(&t.loop, t.sp.refuse == 0);
    loop_drain(&t.loop, 50);
    g_assert_cmpuint(t.sp.frames->len, ==, 0); /* held, waiting for rx_ready */
    t.sp.refuse = 1;
    net_backend_rx_ready(t.server);
    WAIT_UNTIL(&t.loop, t.sp.refuse == 0);
    net_backend_rx_ready(t.server);
    g_assert_cmpuint(t.sp.frames->len, ==, 0); /* the held frame: not from inside */
    WAIT_UNTIL(&t.loop, t.sp.frames->len == n);
    for (unsigned i = 0; i < n; i++)
        assert_frame(&t.sp, i, sent->pdata[i]);
    pair_close(&t);
}

/* A peer that stopped input is replaced: the new one gets the frames. */
static void test_stream_new_peer(void)
{
    struct pair t = { 0 };
    struct peer other;
    g_autoptr(GBytes) f = make_frame(3, 200);

    pair_open(&t, false);
    t.sp.can = false;
    g_assert_cmpint(send_bytes(t.client, f), ==, 200);
    WAIT_UNTIL(&t.loop, t.sp.can_calls > 0);
    peer_init(&other);
    net_backend_set_peer(t.server, &peer_ops, &other);
    WAIT_UNTIL(&t.loop, other.frames->len == 1);
    assert_frame(&other, 0, f);
    g_assert_cmpuint(t.sp.frames->len, ==, 0);
    pair_close(&t);
    peer_clear(&other);
}

/* Fill the socket until send says -EAGAIN; exactly one tx_ready once the
 * other side drains; every frame taken arrives intact. */
static void test_stream_would_block(void)
{
    struct pair t = { 0 };
    g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    GBytes *f;
    unsigned i;

    pair_open(&t, false);
    t.sp.can = false;
    for (i = 0; i < 10000; i++) {
        f = make_frame(i, 60000);
        ssize_t r = send_bytes(t.client, f);
        if (r == -EAGAIN) {
            g_bytes_unref(f);
            break;
        }
        g_assert_cmpint(r, ==, 60000);
        g_ptr_array_add(sent, f);
    }
    g_assert_cmpuint(i, <, 10000);
    g_assert_cmpuint(sent->len, >, 0);
    f = make_frame(999999, 60);
    g_assert_cmpint(send_bytes(t.client, f), ==, -EAGAIN); /* still blocked */
    loop_drain(&t.loop, 20);
    g_assert_cmpuint(t.cp.tx_ready_calls, ==, 0);

    t.sp.can = true;
    net_backend_rx_ready(t.server);
    WAIT_UNTIL(&t.loop, t.cp.tx_ready_calls == 1);
    g_assert_cmpint(send_bytes(t.client, f), ==, 60);
    g_ptr_array_add(sent, f);
    WAIT_UNTIL(&t.loop, t.sp.frames->len == sent->len);
    for (i = 0; i < sent->len; i++)
        assert_frame(&t.sp, i, sent->pdata[i]);
    g_assert_cmpuint(t.cp.tx_ready_calls, ==, 1);
    pair_close(&t);
}

/* A blocked sender whose peer vanishes gets its tx_ready (then drops). */
static void test_stream_blocked_then_disconnect(void)
{
    struct pair t = { 0 };
    g_autoptr(GBytes) f = make_frame(1, 60000);
    unsigned i;

    pair_open(&t, false);
    t.sp.can = false;
    for (i = 0; i < 10000 && send_bytes(t.client, f) != -EAGAIN; i++)
        ;
    g_assert_cmpuint(i, <, 10000);
    net_backend_free(t.server);
    t.server = NULL;
    WAIT_UNTIL(&t.loop, t.cp.tx_ready_calls == 1 && !t.cp.link);
    g_assert_cmpint(send_bytes(t.client, f), ==, 60000);
    g_assert_cmpuint(net_backend_stats(t.client).tx_dropped, ==, 1);
    pair_close(&t);
}

/* The client goes: the server's link drops, its frames are dropped, and
 * it takes the next client.  The server goes: the client's link drops. */
static void test_stream_disconnect(void)
{
    struct pair t = { 0 };
    g_autoptr(GBytes) f = make_frame(7, 100);

    pair_open(&t, false);
    net_backend_free(t.client);
    t.client = NULL;
    WAIT_UNTIL(&t.loop, !t.sp.link);
    g_assert_cmpuint(t.sp.link_changes, ==, 2);
    g_assert_false(net_backend_link_up(t.server));
    g_assert_nonnull(strstr(net_backend_last_error(t.server), "connection closed by peer"));
    g_assert_cmpint(send_bytes(t.server, f), ==, 100);
    g_assert_cmpuint(net_backend_stats(t.server).tx_dropped, ==, 1);

    pair_connect(&t); /* a second client */
    g_assert_cmpint(send_bytes(t.server, f), ==, 100);
    WAIT_UNTIL(&t.loop, t.cp.frames->len == 1);
    assert_frame(&t.cp, 0, f);

    net_backend_free(t.server);
    t.server = NULL;
    WAIT_UNTIL(&t.loop, !t.cp.link);
    g_assert_cmpint(send_bytes(t.client, f), ==, 100);
    g_assert_cmpuint(net_backend_stats(t.client).tx_dropped, ==, 1);
    pair_close(&t);
}

/* Lengths the framing cannot carry: the connection is dropped with a
 * clear reason, nothing is delivered, and the server serves the next
 * client. */
static void stream_hostile(const uint8_t *bytes, size_t len, const char *reason)
{
    struct pair t = { 0 };
    uint8_t c;
    ssize_t n;
    int fd;

    pair_listen(&t, false);
    fd = raw_client(&t);
    raw_write(fd, bytes, len);
    WAIT_UNTIL(&t.loop, !t.sp.link);
    g_assert_cmpuint(t.sp.frames->len, ==, 0);
    g_assert_nonnull(strstr(net_backend_last_error(t.server), reason));
    /* Closed: EOF, or a reset for the bytes it never read. */
    n = read(fd, &c, 1);
    g_assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    close(fd);
    pair_connect(&t);
    pair_close(&t);
}

static void test_stream_hostile(void)
{
    static const uint8_t zero[] = { 0, 0, 0, 0, 0xaa };
    static const uint8_t big[] = { 0, 1, 0, 1, 0xaa };
    static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff };
    static const uint8_t truncated[] = { 0, 0, 0, 10, 1, 2, 3 };

    stream_hostile(zero, sizeof(zero), "bad frame length 0 from peer");
    stream_hostile(big, sizeof(big), "bad frame length 65537 from peer");
    stream_hostile(huge, sizeof(huge), "bad frame length 4294967295 from peer");
    /* A frame cut short by EOF is not delivered. */
    {
        struct pair t = { 0 };
        int fd;

        pair_listen(&t, false);
        fd = raw_client(&t);
        raw_write(fd, truncated, sizeof(truncated));
        close(fd);
        WAIT_UNTIL(&t.loop, !t.sp.link);
        g_assert_cmpuint(t.sp.frames->len, ==, 0);
        pair_close(&t);
    }
}

/* What no host could carry is dropped at once, not sent. */
static void test_send_malformed(void)
{
    struct pair t = { 0 };
    g_autofree uint8_t *big = g_malloc0(NET_FRAME_MAX + 1);
    struct iovec none = { big, 0 }, over = { big, NET_FRAME_MAX + 1 };
    g_autoptr(GError) err = NULL;

    pair_open(&t, false);
    g_assert_cmpint(net_backend_send(t.client, &none, 1), ==, 0);
    g_assert_cmpint(net_backend_send(t.client, &over, 1), ==, NET_FRAME_MAX + 1);
    g_assert_cmpuint(net_backend_stats(t.client).tx_dropped, ==, 2);
    g_assert_cmpuint(net_backend_stats(t.client).tx_frames, ==, 0);
    /* Headers: a stream has none to offer. */
    g_assert_false(net_backend_has_vnet_hdr(t.client));
    g_assert_false(net_backend_set_vnet_hdr_len(t.client, 12, &err));
    g_assert_nonnull(strstr(err->message, "cannot carry virtio-net headers"));
    g_clear_error(&err);
    g_assert_false(net_backend_set_vnet_hdr_len(t.client, 11, &err));
    g_assert_nonnull(strstr(err->message, "10 or 12 bytes"));
    g_assert_true(net_backend_set_vnet_hdr_len(t.client, 0, NULL));
    pair_close(&t);
}

static void test_stream_connect_refused(void)
{
    struct loop l;
    struct net_options o;
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-net-XXXXXX", NULL);

    loop_init(&l);
    net_options_init(&o);
    o.type = NET_TYPE_STREAM;
    o.id = g_strdup("n0");
    o.addr = (struct sock_addr){ .kind = SOCK_UNIX, .path = g_build_filename(dir, "none", NULL) };
    g_assert_null(net_backend_open(l.ctx, &o, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "none"));
    net_options_clear(&o);
    loop_clear(&l);
    g_rmdir(dir);
}

/* ---- tap ---- */

#define TEST_ETHERTYPE 0x88b5 /* IEEE local experimental: nothing else sends it */

static bool tap_usable(void)
{
    if (geteuid() != 0) {
        g_test_skip("tap needs root (or CAP_NET_ADMIN); running unprivileged");
        return false;
    }
    if (access("/dev/net/tun", R_OK | W_OK) < 0) {
        g_test_skip("/dev/net/tun is missing or not accessible");
        return false;
    }
    return true;
}

static void build_eth(uint8_t *f, size_t len, const char *payload)
{
    static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x01 }, src[6] = { 0x02, 0, 0, 0, 0, 2 };

    memset(f, 0, len);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = TEST_ETHERTYPE >> 8;
    f[13] = TEST_ETHERTYPE & 0xff;
    g_strlcpy((char *)f + 14, payload, len - 14);
}

static bool is_test_frame(const uint8_t *f, size_t len, const char *payload)
{
    return len >= 14 + strlen(payload) && f[12] == TEST_ETHERTYPE >> 8 &&
           f[13] == (TEST_ETHERTYPE & 0xff) && !memcmp(f + 14, payload, strlen(payload));
}

/* An AF_PACKET socket on the interface: the host's side of the wire. */
static int host_side(const char *ifname)
{
    struct ifreq ifr = { 0 };
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int p;

    g_strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
    g_assert_cmpint(ioctl(s, SIOCGIFFLAGS, &ifr), ==, 0);
    ifr.ifr_flags |= IFF_UP;
    g_assert_cmpint(ioctl(s, SIOCSIFFLAGS, &ifr), ==, 0);
    close(s);
    p = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    g_assert_cmpint(p, >=, 0);
    g_assert_cmpint(ioctl(p, SIOCGIFINDEX, &ifr), ==, 0);
    sll.sll_ifindex = ifr.ifr_ifindex;
    g_assert_cmpint(bind(p, (struct sockaddr *)&sll, sizeof(sll)), ==, 0);
    return p;
}

/* Wait for the test frame with @payload on the packet socket. */
static void host_expect(int p, const char *payload)
{
    gint64 deadline = g_get_monotonic_time() + DEADLINE_US;
    uint8_t buf[2048];

    for (;;) {
        struct pollfd pfd = { .fd = p, .events = POLLIN };
        ssize_t n;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        n = recv(p, buf, sizeof(buf), 0);
        if (n > 0 && is_test_frame(buf, n, payload))
            return;
    }
}

static bool peer_has_frame(struct peer *pr, size_t skip, const char *payload)
{
    for (unsigned i = 0; i < pr->frames->len; i++) {
        gsize len;
        const uint8_t *d = g_bytes_get_data(pr->frames->pdata[i], &len);

        if (len > skip && is_test_frame(d + skip, len - skip, payload))
            return true;
    }
    return false;
}

/* Frames both ways through one tap, bare and with a 12-byte header. */
static void tap_exchange(struct loop *l, struct net_backend *nb, struct peer *pr)
{
    uint8_t f[NET_VNET_HDR_MAX + 60];
    struct iovec iov;
    int p = host_side(net_tap_ifname(nb));

    build_eth(f, 60, "to-host-bare");
    iov = (struct iovec){ f, 60 };
    g_assert_cmpint(net_backend_send(nb, &iov, 1), ==, 60);
    host_expect(p, "to-host-bare");
    build_eth(f, 60, "to-peer-bare");
    g_assert_cmpint(send(p, f, 60, 0), ==, 60);
    WAIT_UNTIL(l, peer_has_frame(pr, 0, "to-peer-bare"));

    if (net_backend_has_vnet_hdr(nb)) {
        g_autoptr(GError) err = NULL;

        g_assert_true(net_backend_set_vnet_hdr_len(nb, 12, &err));
        g_assert_no_error(err);
        memset(f, 0, 12); /* flags 0, GSO_NONE, num_buffers 0 */
        build_eth(f + 12, 60, "to-host-hdr");
        iov = (struct iovec){ f, sizeof(f) };
        g_assert_cmpint(net_backend_send(nb, &iov, 1), ==, sizeof(f));
        host_expect(p, "to-host-hdr");
        build_eth(f, 60, "to-peer-hdr");
        g_assert_cmpint(send(p, f, 60, 0), ==, 60);
        WAIT_UNTIL(l, peer_has_frame(pr, 12, "to-peer-hdr"));
    }
    close(p);
}

static void tap_run(bool by_fd, enum net_vnet_hdr vnet)
{
    struct loop l;
    struct peer pr;
    struct net_options o;
    g_autoptr(GError) err = NULL;
    struct net_backend *nb;

    loop_init(&l);
    peer_init(&pr);
    net_options_init(&o);
    o.type = NET_TYPE_TAP;
    o.id = g_strdup("t0");
    o.vnet_hdr = vnet;
    if (by_fd) {
        struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };

        o.fd = open("/dev/net/tun", O_RDWR);
        g_assert_cmpint(o.fd, >=, 0);
        g_strlcpy(ifr.ifr_name, "terntapfd", sizeof(ifr.ifr_name));
        g_assert_cmpint(ioctl(o.fd, TUNSETIFF, &ifr), ==, 0);
    } else {
        o.ifname = g_strdup_printf("terntap%d", (int)(getpid() % 10000));
    }
    nb = net_backend_open(l.ctx, &o, &err);
    g_assert_no_error(err);
    g_assert_true(net_backend_link_up(nb));
    g_assert_cmpint(net_backend_has_vnet_hdr(nb), ==, vnet == NET_VNET_HDR_ON);
    if (!by_fd)
        g_assert_cmpstr(net_tap_ifname(nb), ==, o.ifname);
    net_backend_set_peer(nb, &peer_ops, &pr);
    tap_exchange(&l, nb, &pr);
    net_backend_free(nb);
    net_options_clear(&o);
    peer_clear(&pr);
    loop_clear(&l);
}

/* fd= opened with IFF_VNET_HDR but vnet_hdr=off: refused (bare frames on
 * it would be misread), and the fd stays the caller's. */
static void tap_fd_mismatch(void)
{
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
    struct net_options o;
    g_autoptr(GError) err = NULL;
    GMainContext *ctx = g_main_context_new();

    net_options_init(&o);
    o.type = NET_TYPE_TAP;
    o.vnet_hdr = NET_VNET_HDR_OFF;
    o.fd = open("/dev/net/tun", O_RDWR);
    g_strlcpy(ifr.ifr_name, "terntapvh", sizeof(ifr.ifr_name));
    g_assert_cmpint(ioctl(o.fd, TUNSETIFF, &ifr), ==, 0);
    g_assert_null(net_backend_open(ctx, &o, &err));
    g_assert_nonnull(strstr(err->message, "opened with IFF_VNET_HDR"));
    g_assert_cmpint(fcntl(o.fd, F_GETFD), >=, 0);
    close(o.fd);
    net_options_clear(&o);
    g_main_context_unref(ctx);
}

/* In a network namespace of its own, so no host interface is touched. */
static void test_tap(void)
{
    int orig;

    if (!tap_usable())
        return;
    orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(orig, >=, 0);
    if (unshare(CLONE_NEWNET) < 0) {
        g_test_skip("unshare(CLONE_NEWNET) failed: no network namespaces here");
        close(orig);
        return;
    }
    tap_run(false, NET_VNET_HDR_ON);
    tap_run(false, NET_VNET_HDR_OFF);
    tap_run(true, NET_VNET_HDR_AUTO); /* fd= without IFF_VNET_HDR: bare frames */
    tap_fd_mismatch();
    g_assert_cmpint(setns(orig, CLONE_NEWNET), ==, 0);
    close(orig);
}

static struct net_backend *tap_open_str(const char *ifname, int fd, GError **errp)
{
    struct net_options o;
    GMainContext *ctx = g_main_context_new();
    struct net_backend *nb;

    net_options_init(&o);
    o.type = NET_TYPE_TAP;
    o.ifname = g_strdup(ifname);
    o.fd = fd;
    nb = net_backend_open(ctx, &o, errp);
    net_options_clear(&o);
    g_main_context_unref(ctx);
    return nb;
}

/* The errors a user meets: not a tap, no permission. */
static void test_tap_errors(void)
{
    g_autoptr(GError) err = NULL;
    int pipefd[2];

    g_assert_cmpint(pipe(pipefd), ==, 0);
    g_assert_null(tap_open_str(NULL, pipefd[0], &err));
    g_assert_nonnull(strstr(err->message, "is not an open tap device"));
    close(pipefd[0]);
    close(pipefd[1]);
    if (!tap_usable())
        return;
    /* Without privileges (a child that drops to nobody). */
    if (g_test_subprocess()) {
        g_assert_cmpint(setresuid(65534, 65534, 65534), ==, 0);
        g_clear_error(&err);
        g_assert_null(tap_open_str("terntapx", -1, &err));
        g_print("%s\n", err->message);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("*needs root or CAP_NET_ADMIN*");
}

/* ---- net/announce.c ---- */

static void test_announce_frame(void)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    static const uint8_t want[ANNOUNCE_FRAME_LEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, /* dst, src */
        0x80, 0x35, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x03,             /* RARP */
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0,                         /* sender */
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0,                         /* target */
    };
    uint8_t frame[ANNOUNCE_FRAME_LEN];

    memset(frame, 0xaa, sizeof(frame));
    announce_rarp_frame(mac, frame);
    g_assert_cmpmem(frame, sizeof(frame), want, sizeof(want));
}

static void announce_count(void *opaque)
{
    (*(int *)opaque)++;
}

/* QEMU's defaults give 50, 150, 250, 350, 450 ms; the timer fires the
 * rounds asked for, then stops; a restart starts over. */
static void test_announce_timer(void)
{
    const struct announce_params def = { 50, 550, 5, 100 }, quick = { 1, 4, 4, 2 };
    const int64_t want[] = { 50, 150, 250, 350, 450, 550, 550 };
    struct announce_timer t = { 0 };
    GMainContext *ctx = g_main_context_new();
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    int fired = 0;

    for (unsigned i = 0; i < G_N_ELEMENTS(want); i++)
        g_assert_cmpint(announce_delay_ms(&def, i), ==, want[i]);
    announce_timer_start(&t, ctx, &quick, announce_count, &fired);
    while (t.src) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_main_context_iteration(ctx, TRUE);
    }
    g_assert_cmpint(fired, ==, 4);
    announce_timer_start(&t, ctx, &quick, announce_count, &fired);
    announce_timer_stop(&t);
    g_assert_null(t.src);
    while (g_main_context_iteration(ctx, FALSE))
        ;
    g_assert_cmpint(fired, ==, 4);
    g_main_context_unref(ctx);
}

/* "interfaces": no selection means every NIC; otherwise the bits set. */
static void test_announce_selects(void)
{
    const struct announce_params all = { 50, 550, 5, 100 };
    const struct announce_params some = { 50, 550, 5, 100, (1ULL << 1) | (1ULL << 3) };

    for (unsigned i = 0; i < 70; i++) {
        g_assert_true(announce_selects(&all, i));
        g_assert_cmpint(announce_selects(&some, i), ==, i == 1 || i == 3);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/announce/frame", test_announce_frame);
    g_test_add_func("/net/announce/timer", test_announce_timer);
    g_test_add_func("/net/announce/selects", test_announce_selects);
    g_test_add_func("/net/stream/unix", test_stream_unix);
    g_test_add_func("/net/stream/tcp", test_stream_tcp);
    g_test_add_func("/net/stream/wire-format", test_stream_wire_format);
    g_test_add_func("/net/stream/backpressure", test_stream_backpressure);
    g_test_add_func("/net/stream/new-peer", test_stream_new_peer);
    g_test_add_func("/net/stream/would-block", test_stream_would_block);
    g_test_add_func("/net/stream/blocked-then-disconnect", test_stream_blocked_then_disconnect);
    g_test_add_func("/net/stream/disconnect", test_stream_disconnect);
    g_test_add_func("/net/stream/hostile", test_stream_hostile);
    g_test_add_func("/net/stream/connect-refused", test_stream_connect_refused);
    g_test_add_func("/net/send-malformed", test_send_malformed);
    g_test_add_func("/net/tap/errors", test_tap_errors);
    g_test_add_func("/net/tap/namespace", test_tap);
    return g_test_run();
}
