#include "migration/channel.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"

/* "tcp:H:P,to=P2": split off the ",to=" option QEMU allows on tcp. */
static bool mig_uri_parse_tcp(const char *uri, struct mig_uri *u, GError **errp)
{
    g_autofree char *addr = g_strdup(uri);
    char *opt = strchr(addr, ',');

    if (opt) {
        *opt++ = '\0';
        if (strncmp(opt, "to=", 3) || !opt[3] || strspn(opt + 3, "0123456789") != strlen(opt + 3)) {
            error_setg(errp, "'%s': unknown option '%s' (tcp takes only to=PORT)", uri, opt);
            return false;
        }
        u->port_to = g_strdup(opt + 3);
    }
    return sock_addr_parse(addr, &u->addr, errp);
}

bool mig_uri_parse(const char *uri, struct mig_uri *u, GError **errp)
{
    static const struct {
        const char *prefix;
        enum mig_transport kind;
    } kinds[] = {
        { "tcp:", MIG_TRANSPORT_TCP },   { "unix:", MIG_TRANSPORT_UNIX },
        { "exec:", MIG_TRANSPORT_EXEC }, { "fd:", MIG_TRANSPORT_FD },
        { "file:", MIG_TRANSPORT_FILE },
    };

    memset(u, 0, sizeof(*u));
    for (unsigned i = 0; i < G_N_ELEMENTS(kinds); i++) {
        const char *rest = uri + strlen(kinds[i].prefix);

        if (strncmp(uri, kinds[i].prefix, strlen(kinds[i].prefix)))
            continue;
        u->kind = kinds[i].kind;
        if (u->kind == MIG_TRANSPORT_TCP) {
            if (mig_uri_parse_tcp(uri, u, errp))
                return true;
            mig_uri_clear(u);
            return false;
        }
        if (u->kind == MIG_TRANSPORT_UNIX)
            return sock_addr_parse(uri, &u->addr, errp);
        if (!*rest) {
            error_setg(errp, "'%s': missing %s", uri,
                       u->kind == MIG_TRANSPORT_EXEC ? "command"
                       : u->kind == MIG_TRANSPORT_FD ? "descriptor number or name"
                                                     : "file name");
            return false;
        }
        u->arg = g_strdup(rest);
        return true;
    }
    error_setg(errp, "unknown migration protocol: '%s' (use tcp:, unix:, exec:, fd: or file:)",
               uri);
    return false;
}

void mig_uri_clear(struct mig_uri *u)
{
    sock_addr_clear(&u->addr);
    g_free(u->port_to);
    g_free(u->arg);
    memset(u, 0, sizeof(*u));
}

void mig_channel_init(struct mig_channel *ch)
{
    memset(ch, 0, sizeof(*ch));
    ch->fd = -1;
}

static bool mig_fd_is_socket(int fd)
{
    int type = 0;
    socklen_t len = sizeof(type);

    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

/* fd:N (inherited, taken over) or fd:NAME (from getfd, a copy). */
static int mig_channel_take_fd(const char *arg, mig_fd_lookup_fn lookup, void *opaque,
                               GError **errp)
{
    char *end;
    long n;

    if (g_ascii_isdigit(arg[0])) {
        n = strtol(arg, &end, 10);
        if (*end || n < 0 || n > INT32_MAX || fcntl((int)n, F_GETFD) < 0) {
            error_setg(errp, "fd:%s: not an open file descriptor", arg);
            return -1;
        }
        fcntl((int)n, F_SETFD, FD_CLOEXEC);
        return (int)n;
    }
    if (!lookup) {
        error_setg(errp, "fd:%s: no descriptor named '%s' (pass one with getfd)", arg, arg);
        return -1;
    }
    return lookup(opaque, arg, errp);
}

/* In the child: its own process group, so a cancel reaches the whole
 * pipeline ("exec:gzip | ssh ..."), not just the shell. */
static void mig_channel_child_setup(gpointer data)
{
    (void)data;
    setpgid(0, 0);
}

/* sh -c CMD with our end of a pipe on its stdin (@out) or stdout. */
static bool mig_channel_spawn(struct mig_channel *ch, const char *cmd, bool out, GError **errp)
{
    char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
    g_autoptr(GError) err = NULL;
    int fd = -1;

    if (!g_spawn_async_with_pipes(NULL, argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CLOEXEC_PIPES,
                                  mig_channel_child_setup, NULL,
                                  &ch->pid, out ? &fd : NULL, out ? NULL : &fd, NULL, &err)) {
        error_setg(errp, "exec:%s: %s", cmd, err->message);
        return false;
    }
    ch->fd = fd;
    return true;
}

static bool mig_channel_open_file(struct mig_channel *ch, const char *path, bool out,
                                  GError **errp)
{
    ch->fd = out ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                 : open(path, O_RDONLY | O_CLOEXEC);
    if (ch->fd < 0) {
        error_setg_errno(errp, errno, "file:%s", path);
        return false;
    }
    return true;
}

/* exec, fd, file: the same for both directions but the pipe's end. */
static bool mig_channel_open_direct(struct mig_channel *ch, const struct mig_uri *u, bool out,
                                    mig_fd_lookup_fn lookup, void *opaque, GError **errp)
{
    switch (u->kind) {
    case MIG_TRANSPORT_EXEC:
        return mig_channel_spawn(ch, u->arg, out, errp);
    case MIG_TRANSPORT_FILE:
        return mig_channel_open_file(ch, u->arg, out, errp);
    case MIG_TRANSPORT_FD:
        ch->fd = mig_channel_take_fd(u->arg, lookup, opaque, errp);
        ch->socket = ch->fd >= 0 && mig_fd_is_socket(ch->fd);
        return ch->fd >= 0;
    default:
        error_setg(errp, "%s needs a listener", ch->desc);
        return false;
    }
}

static void mig_channel_set_desc(struct mig_channel *ch, const struct mig_uri *u)
{
    g_free(ch->desc);
    if (u->kind == MIG_TRANSPORT_TCP || u->kind == MIG_TRANSPORT_UNIX)
        ch->desc = sock_addr_to_str(&u->addr);
    else
        ch->desc = g_strdup_printf("%s:%s", u->kind == MIG_TRANSPORT_EXEC ? "exec"
                                            : u->kind == MIG_TRANSPORT_FD ? "fd"
                                                                          : "file",
                                   u->arg);
}

bool mig_channel_open_out(struct mig_channel *ch, const struct mig_uri *u,
                          mig_fd_lookup_fn lookup, void *lookup_opaque, int cancel_fd,
                          GError **errp)
{
    mig_channel_set_desc(ch, u);
    if (u->kind == MIG_TRANSPORT_TCP || u->kind == MIG_TRANSPORT_UNIX) {
        ch->fd = sock_connect_cancellable(&u->addr, cancel_fd, errp);
        ch->socket = ch->fd >= 0;
        return ch->fd >= 0;
    }
    return mig_channel_open_direct(ch, u, true, lookup, lookup_opaque, errp);
}

bool mig_channel_open_in(struct mig_channel *ch, const struct mig_uri *u,
                         mig_fd_lookup_fn lookup, void *lookup_opaque, GError **errp)
{
    mig_channel_set_desc(ch, u);
    return mig_channel_open_direct(ch, u, false, lookup, lookup_opaque, errp);
}

int mig_channel_listen(const struct mig_uri *u, GError **errp)
{
    struct sock_addr a;
    long first, last;
    int fd = -1;

    if (u->kind != MIG_TRANSPORT_TCP || !u->port_to)
        return sock_listen(&u->addr, 1, errp);
    first = strtol(u->addr.port, NULL, 10);
    last = strtol(u->port_to, NULL, 10);
    if (first <= 0 || last < first || last > 65535) {
        error_setg(errp, "tcp port range %s..%s is not valid", u->addr.port, u->port_to);
        return -1;
    }
    /* QEMU's to=: the first free port of the range. */
    sock_addr_copy(&a, &u->addr);
    for (long p = first; p <= last && fd < 0; p++) {
        g_clear_error(errp);
        g_free(a.port);
        a.port = g_strdup_printf("%ld", p);
        fd = sock_listen(&a, 1, errp);
    }
    sock_addr_clear(&a);
    return fd;
}

void mig_channel_cancel(struct mig_channel *ch)
{
    if (ch->fd >= 0 && ch->socket)
        shutdown(ch->fd, SHUT_RDWR);
    if (ch->pid > 0)
        kill(-ch->pid, SIGTERM);
    ch->cancelled = true;
}

/* waitpid that, after a cancel, stops waiting for a command that ignores
 * SIGTERM: its whole process group gets SIGKILL. */
static pid_t mig_channel_wait(struct mig_channel *ch, int *status)
{
    gint64 deadline = g_get_monotonic_time() + MIG_CHANNEL_KILL_AFTER_MS * 1000ll;
    pid_t r = 0;

    while (ch->cancelled && (r = waitpid(ch->pid, status, WNOHANG)) == 0) {
        if (g_get_monotonic_time() > deadline) {
            kill(-ch->pid, SIGKILL);
            break;
        }
        g_usleep(10000);
    }
    if (ch->cancelled && r != 0)
        return r;
    while ((r = waitpid(ch->pid, status, 0)) < 0 && errno == EINTR)
        ;
    return r;
}

bool mig_channel_close(struct mig_channel *ch, GError **errp)
{
    bool ok = true;
    int status = 0;

    if (ch->fd >= 0)
        close(ch->fd);
    ch->fd = -1;
    if (ch->pid > 0) {
        mig_channel_wait(ch, &status); /* if not ours to reap: reports nothing */
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            ok = false;
            if (WIFSIGNALED(status))
                error_setg(errp, "%s: command killed by signal %d", ch->desc, WTERMSIG(status));
            else
                error_setg(errp, "%s: command exited with status %d", ch->desc,
                           WEXITSTATUS(status));
        }
        g_spawn_close_pid(ch->pid);
        ch->pid = 0;
    }
    g_clear_pointer(&ch->desc, g_free);
    return ok;
}

bool mig_channel_write_all(int fd, const void *buf, size_t len, GError **errp)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            error_setg_errno(errp, n < 0 ? errno : EPIPE, "return path");
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

bool mig_channel_read_all(int fd, void *buf, size_t len, GError **errp)
{
    char *p = buf;

    while (len) {
        ssize_t n = read(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                error_setg(errp, "return path: connection closed");
            else
                error_setg_errno(errp, errno, "return path");
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}
