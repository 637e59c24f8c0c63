#include "util/sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/error.h"

static bool sock_parse_tcp(const char *s, struct sock_addr *a, GError **errp)
{
    const char *colon;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':') {
            error_setg(errp, "tcp:%s: expected [IPV6]:PORT", s);
            return false;
        }
        a->host = g_strndup(s + 1, end - s - 1);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) {
            error_setg(errp, "tcp:%s: expected HOST:PORT", s);
            return false;
        }
        a->host = g_strndup(s, colon - s);
    }
    a->port = g_strdup(colon + 1);
    if (!*a->port) {
        error_setg(errp, "tcp:%s: missing port", s);
        return false;
    }
    return true;
}

bool sock_addr_parse(const char *str, struct sock_addr *a, GError **errp)
{
    memset(a, 0, sizeof(*a));
    if (g_str_has_prefix(str, "unix:"))
        return sock_addr_from_keys(a, g_strdup(str + 5), NULL, NULL, errp);
    if (g_str_has_prefix(str, "tcp:")) {
        a->kind = SOCK_TCP;
        if (sock_parse_tcp(str + 4, a, errp))
            return true;
        sock_addr_clear(a);
        return false;
    }
    error_setg(errp, "'%s': expected unix:PATH or tcp:HOST:PORT", str);
    return false;
}

/* Takes @path, @host and @port. */
bool sock_addr_from_keys(struct sock_addr *a, char *path, char *host, char *port,
                         GError **errp)
{
    memset(a, 0, sizeof(*a));
    if (path && (host || port)) {
        error_setg(errp, "give either path= or host= and port=, not both");
        goto fail;
    }
    if (path) {
        a->kind = SOCK_UNIX;
        a->path = path;
        if (!*path) {
            error_setg(errp, "unix: missing socket path");
            goto fail_clear;
        }
        if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            error_setg(errp, "unix:%s: socket path too long", path);
            goto fail_clear;
        }
        return true;
    }
    if (!port) {
        error_setg(errp, "a socket needs path= or port=");
        goto fail;
    }
    a->kind = SOCK_TCP;
    a->host = host;
    a->port = port;
    return true;
fail:
    g_free(path);
    g_free(host);
    g_free(port);
    return false;
fail_clear:
    sock_addr_clear(a);
    return false;
}

void sock_addr_copy(struct sock_addr *dst, const struct sock_addr *src)
{
    dst->kind = src->kind;
    dst->path = g_strdup(src->path);
    dst->host = g_strdup(src->host);
    dst->port = g_strdup(src->port);
}

void sock_addr_clear(struct sock_addr *a)
{
    g_free(a->path);
    g_free(a->host);
    g_free(a->port);
    memset(a, 0, sizeof(*a));
}

char *sock_addr_to_str(const struct sock_addr *a)
{
    if (a->kind == SOCK_UNIX)
        return g_strdup_printf("unix:%s", a->path);
    if (a->host && strchr(a->host, ':'))
        return g_strdup_printf("tcp:[%s]:%s", a->host, a->port);
    return g_strdup_printf("tcp:%s:%s", a->host ? a->host : "", a->port);
}

static const char *sock_tcp_host(const struct sock_addr *a)
{
    /* QEMU: "tcp::4444" and "tcp:0:4444" listen on every address. */
    if (!a->host || !*a->host || !strcmp(a->host, "0"))
        return NULL;
    return a->host;
}

/* Connect @fd; while it is in progress, give up (ECANCELED) as soon as
 * @cancel_fd (-1: never) is readable.  A UNIX listener whose backlog is
 * full refuses at once (EAGAIN) where a blocking connect would wait: retry
 * every 20 ms, as patiently. */
static int sock_connect_fd(int fd, const struct sockaddr *sa, socklen_t len, int cancel_fd)
{
    int rc, err = 0;
    socklen_t elen = sizeof(err);

    if (cancel_fd < 0) {
        while ((rc = connect(fd, sa, len)) < 0 && errno == EINTR)
            ;
        return rc;
    }
    if (!g_unix_set_fd_nonblocking(fd, TRUE, NULL))
        return -1;
    for (;;) {
        struct pollfd p[2] = { { .fd = fd, .events = POLLOUT },
                               { .fd = cancel_fd, .events = POLLIN } };
        bool again;

        if (connect(fd, sa, len) == 0)
            break;
        if (errno == EINTR)
            continue;
        again = errno == EAGAIN;
        if (!again && errno != EINPROGRESS)
            return -1;
        if (poll(again ? &p[1] : p, again ? 1 : 2, again ? 20 : -1) < 0 && errno != EINTR)
            return -1;
        if (p[1].revents) {
            errno = ECANCELED;
            return -1;
        }
        if (again || !p[0].revents)
            continue;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            return -1;
        if (err) {
            errno = err;
            return -1;
        }
        break;
    }
    return g_unix_set_fd_nonblocking(fd, FALSE, NULL) ? 0 : -1;
}

static int sock_tcp_open(const struct sock_addr *a, bool listening, int backlog,
                         int cancel_fd, GError **errp)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = listening ? AI_PASSIVE : 0 };
    struct addrinfo *res, *ai;
    g_autofree char *what = sock_addr_to_str(a);
    int rc, fd = -1, err = 0;

    rc = getaddrinfo(sock_tcp_host(a), a->port, &hints, &res);
    if (rc) {
        error_setg(errp, "%s: %s", what, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int one = 1;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (listening) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
                break;
        } else if (sock_connect_fd(fd, ai->ai_addr, ai->ai_addrlen, cancel_fd) == 0) {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
        if (err == ECANCELED)
            break; /* no further addresses */
    }
    freeaddrinfo(res);
    if (fd < 0)
        error_setg_errno(errp, err, "%s: cannot %s", what, listening ? "listen" : "connect");
    return fd;
}

static int sock_unix_open(const struct sock_addr *a, bool listening, int backlog,
                          int cancel_fd, GError **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        error_setg_errno(errp, errno, "socket");
        return -1;
    }
    g_strlcpy(sa.sun_path, a->path, sizeof(sa.sun_path));
    if (listening) {
        unlink(a->path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, backlog) == 0)
            return fd;
    } else if (sock_connect_fd(fd, (struct sockaddr *)&sa, sizeof(sa), cancel_fd) == 0) {
        return fd;
    }
    error_setg_errno(errp, errno, "unix:%s: cannot %s", a->path,
                     listening ? "listen" : "connect");
    close(fd);
    return -1;
}

int sock_listen(const struct sock_addr *a, int backlog, GError **errp)
{
    int fd = a->kind == SOCK_UNIX ? sock_unix_open(a, true, backlog, -1, errp)
                                  : sock_tcp_open(a, true, backlog, -1, errp);

    if (fd >= 0 && !g_unix_set_fd_nonblocking(fd, TRUE, NULL)) {
        close(fd);
        error_setg(errp, "cannot make the listening socket non-blocking");
        return -1;
    }
    return fd;
}

int sock_connect_cancellable(const struct sock_addr *a, int cancel_fd, GError **errp)
{
    return a->kind == SOCK_UNIX ? sock_unix_open(a, false, 0, cancel_fd, errp)
                                : sock_tcp_open(a, false, 0, cancel_fd, errp);
}

int sock_connect(const struct sock_addr *a, GError **errp)
{
    return sock_connect_cancellable(a, -1, errp);
}

int sock_accept(int listen_fd)
{
    int fd;

    do {
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    } while (fd < 0 && errno == EINTR);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on UNIX */
    }
    return fd;
}

bool sock_local_addr(int fd, struct sock_addr *a)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN];
    unsigned port;

    memset(a, 0, sizeof(*a));
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return false;
    if (ss.ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;

        a->kind = SOCK_UNIX;
        a->path = g_strndup(un->sun_path, len - offsetof(struct sockaddr_un, sun_path));
        return true;
    }
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    } else {
        return false;
    }
    a->kind = SOCK_TCP;
    a->host = g_strdup(host);
    a->port = g_strdup_printf("%u", port);
    return true;
}

int sock_local_port(int fd)
{
    struct sock_addr a;
    int port = 0;

    if (sock_local_addr(fd, &a) && a.kind == SOCK_TCP)
        port = atoi(a.port);
    sock_addr_clear(&a);
    return port;
}
