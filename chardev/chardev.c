#include "chardev/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fdio.h"
#include "util/keyval.h"

enum chardev_kind {
    CHARDEV_NULL,
    CHARDEV_STDIO,
    CHARDEV_FILE,
    CHARDEV_UNIX_SERVER,
    CHARDEV_UNIX_CLIENT,
};

struct chardev {
    enum chardev_kind kind;
    char *spec;
    char *path; /* file or socket path */
    GMainContext *ctx;
    int in_fd;      /* -1: no input */
    int out_fd;     /* -1: output dropped */
    int listen_fd;  /* servers only */
    bool wait_client; /* server without nowait: block for the first client */
    bool owns_fds;  /* false for stdio */
    bool tty_saved; /* stdio on a terminal: restore this at the end */
    struct termios tty;
    GSource *in_watch;
    GSource *listen_watch;
    GSource *out_watch;  /* socket output waiting for room */
    GByteArray *out_queue;
    chardev_can_receive_fn can_receive;
    chardev_receive_fn receive;
    void *opaque;
};

static void chardev_watch_input(struct chardev *chr);
static void chardev_watch_listen(struct chardev *chr);

static void chardev_disconnect(struct chardev *chr)
{
    fdio_source_drop(&chr->in_watch);
    fdio_source_drop(&chr->out_watch);
    g_byte_array_set_size(chr->out_queue, 0);
    if (chr->kind == CHARDEV_UNIX_SERVER || chr->kind == CHARDEV_UNIX_CLIENT) {
        if (chr->in_fd >= 0)
            close(chr->in_fd);
        chr->in_fd = chr->out_fd = -1;
        chardev_watch_listen(chr); /* take the next client from the backlog */
    } else {
        chr->in_fd = -1; /* stdin at EOF: stop reading, keep writing */
    }
}

static gboolean chardev_input_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    struct chardev *chr = opaque;
    uint8_t buf[256];
    size_t want = sizeof(buf);
    ssize_t n;

    (void)cond;
    if (chr->can_receive) {
        want = MIN(want, chr->can_receive(chr->opaque));
        if (want == 0) {
            /* Frontend is full; chardev_accept_input() re-arms the watch. */
            g_source_unref(chr->in_watch);
            chr->in_watch = NULL;
            return G_SOURCE_REMOVE;
        }
    }
    n = read(fd, buf, want);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        g_source_unref(chr->in_watch);
        chr->in_watch = NULL;
        chardev_disconnect(chr);
        return G_SOURCE_REMOVE;
    }
    if (chr->receive)
        chr->receive(chr->opaque, buf, n);
    return G_SOURCE_CONTINUE;
}

static void chardev_watch_input(struct chardev *chr)
{
    if (chr->in_fd < 0 || chr->in_watch || !chr->receive)
        return;
    chr->in_watch = g_unix_fd_source_new(chr->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(chr->in_watch, (GSourceFunc)(void (*)(void))chardev_input_ready, chr,
                          NULL);
    g_source_attach(chr->in_watch, chr->ctx);
}

static gboolean chardev_accept_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    struct chardev *chr = opaque;
    int c;

    (void)cond;
    c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
        return G_SOURCE_CONTINUE;
    chr->in_fd = chr->out_fd = c;
    chardev_watch_input(chr);
    /* One client at a time, as QEMU's socket chardev: stop listening until
     * this one goes away; later clients wait in the backlog. */
    g_source_unref(chr->listen_watch);
    chr->listen_watch = NULL;
    return G_SOURCE_REMOVE;
}

static void chardev_watch_listen(struct chardev *chr)
{
    if (chr->listen_fd < 0 || chr->listen_watch)
        return;
    chr->listen_watch = g_unix_fd_source_new(chr->listen_fd, G_IO_IN);
    g_source_set_callback(chr->listen_watch, (GSourceFunc)(void (*)(void))chardev_accept_ready,
                          chr, NULL);
    g_source_attach(chr->listen_watch, chr->ctx);
}

static bool chardev_parse_unix(struct chardev *chr, const char *rest, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(rest, "path", errp);
    bool server = false, wait = true;

    if (!kv)
        return false;
    chr->path = keyval_take_str(kv, "path");
    if (!keyval_take_bool(kv, "server", &server, errp) ||
        !keyval_take_bool(kv, "wait", &wait, errp) ||
        !keyval_check_empty(kv, "unix socket backend", errp))
        return false;
    if (!chr->path || !*chr->path) {
        error_setg(errp, "unix: missing socket path");
        return false;
    }
    if (strlen(chr->path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        error_setg(errp, "unix:%s: socket path too long", chr->path);
        return false;
    }
    chr->kind = server ? CHARDEV_UNIX_SERVER : CHARDEV_UNIX_CLIENT;
    if (server && !wait)
        return true;
    if (server) {
        fprintf(stderr, "tern: waiting for connection on: unix:%s,server\n", chr->path);
        chr->wait_client = true;
    }
    return true;
}

static bool chardev_open_unix(struct chardev *chr, GError **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        error_setg_errno(errp, errno, "socket");
        return false;
    }
    strcpy(sa.sun_path, chr->path);
    if (chr->kind == CHARDEV_UNIX_CLIENT) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            error_setg_errno(errp, errno, "unix:%s: cannot connect", chr->path);
            close(fd);
            return false;
        }
        g_unix_set_fd_nonblocking(fd, TRUE, NULL);
        chr->in_fd = chr->out_fd = fd;
        return true;
    }
    unlink(chr->path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
        error_setg_errno(errp, errno, "unix:%s: cannot listen", chr->path);
        close(fd);
        return false;
    }
    chr->listen_fd = fd;
    if (chr->wait_client) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c >= 0) {
            chr->in_fd = chr->out_fd = c;
            return true;
        }
    }
    chardev_watch_listen(chr);
    return true;
}

static bool chardev_parse(struct chardev *chr, const char *spec, GError **errp)
{
    if (!strcmp(spec, "null") || !strcmp(spec, "none")) {
        chr->kind = CHARDEV_NULL;
    } else if (!strcmp(spec, "stdio")) {
        chr->kind = CHARDEV_STDIO;
    } else if (g_str_has_prefix(spec, "file:")) {
        chr->kind = CHARDEV_FILE;
        chr->path = g_strdup(spec + 5);
        if (!*chr->path) {
            error_setg(errp, "file: missing path");
            return false;
        }
    } else if (g_str_has_prefix(spec, "unix:")) {
        return chardev_parse_unix(chr, spec + 5, errp);
    } else {
        error_setg(errp, "'%s': unknown backend (stdio, null, none, file:PATH, "
                         "unix:PATH[,server,nowait])",
                   spec);
        return false;
    }
    return true;
}

/* As QEMU does for -serial stdio on a terminal: keys go to the guest as
 * typed (no line editing or echo), output post-processing and Ctrl-C stay. */
static void chardev_stdio_raw(struct chardev *chr)
{
    struct termios t;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &chr->tty) < 0)
        return;
    chr->tty_saved = true;
    t = chr->tty;
    t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    t.c_oflag |= OPOST;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

static bool chardev_open(struct chardev *chr, GError **errp)
{
    switch (chr->kind) {
    case CHARDEV_NULL:
        return true;
    case CHARDEV_STDIO:
        chr->in_fd = STDIN_FILENO;
        chr->out_fd = STDOUT_FILENO;
        chr->owns_fds = false;
        chardev_stdio_raw(chr);
        return true;
    case CHARDEV_FILE:
        chr->out_fd = open(chr->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (chr->out_fd < 0) {
            error_setg_errno(errp, errno, "file:%s: cannot open", chr->path);
            return false;
        }
        return true;
    case CHARDEV_UNIX_SERVER:
    case CHARDEV_UNIX_CLIENT:
        return chardev_open_unix(chr, errp);
    }
    return false;
}

struct chardev *chardev_new(const char *spec, GMainContext *ctx, GError **errp)
{
    struct chardev *chr = g_new0(struct chardev, 1);

    chr->spec = g_strdup(spec);
    chr->ctx = ctx;
    chr->in_fd = chr->out_fd = chr->listen_fd = -1;
    chr->owns_fds = true;
    chr->out_queue = g_byte_array_new();
    if (!chardev_parse(chr, spec, errp) || !chardev_open(chr, errp)) {
        chardev_free(chr);
        return NULL;
    }
    return chr;
}

void chardev_free(struct chardev *chr)
{
    if (!chr)
        return;
    fdio_source_drop(&chr->in_watch);
    fdio_source_drop(&chr->listen_watch);
    fdio_source_drop(&chr->out_watch);
    g_byte_array_unref(chr->out_queue);
    if (chr->owns_fds) {
        if (chr->out_fd >= 0)
            close(chr->out_fd);
        if (chr->in_fd >= 0 && chr->in_fd != chr->out_fd)
            close(chr->in_fd);
    }
    if (chr->listen_fd >= 0) {
        close(chr->listen_fd);
        unlink(chr->path);
    }
    if (chr->tty_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &chr->tty);
    g_free(chr->path);
    g_free(chr->spec);
    g_free(chr);
}

static bool chardev_is_socket(const struct chardev *chr)
{
    return chr->kind == CHARDEV_UNIX_SERVER || chr->kind == CHARDEV_UNIX_CLIENT;
}

static ssize_t chardev_write_some(struct chardev *chr, const uint8_t *buf, size_t len)
{
    return fdio_write_some(chr->out_fd, chardev_is_socket(chr), buf, len);
}

static void chardev_lost_reader(struct chardev *chr)
{
    /* Reader went away (EPIPE, closed socket): drop the output. */
    if (chardev_is_socket(chr))
        chardev_disconnect(chr);
    else
        chr->out_fd = -1;
}

static gboolean chardev_output_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    struct chardev *chr = opaque;
    ssize_t n = chardev_write_some(chr, chr->out_queue->data, chr->out_queue->len);

    (void)fd, (void)cond;
    if (n < 0) {
        g_source_unref(chr->out_watch);
        chr->out_watch = NULL;
        chardev_lost_reader(chr);
        return G_SOURCE_REMOVE;
    }
    g_byte_array_remove_range(chr->out_queue, 0, n);
    if (chr->out_queue->len)
        return G_SOURCE_CONTINUE;
    g_source_unref(chr->out_watch);
    chr->out_watch = NULL;
    return G_SOURCE_REMOVE;
}

/*
 * Sockets never block the writer (a vCPU thread holding the VM lock): what
 * the peer cannot take now waits in out_queue, flushed from the main loop
 * when the socket has room; beyond CHARDEV_OUT_QUEUE_MAX bytes a reader
 * that stopped reading loses output instead of freezing the VM.  Files and
 * stdio are written directly.
 */
#define CHARDEV_OUT_QUEUE_MAX (1u << 20)

void chardev_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    ssize_t n = 0;

    if (chr->out_fd < 0 || !len)
        return;
    if (!chr->out_queue->len) {
        n = chardev_write_some(chr, buf, len);
        if (n < 0) {
            chardev_lost_reader(chr);
            return;
        }
    }
    if ((size_t)n == len)
        return;
    if (chr->out_queue->len + (len - n) <= CHARDEV_OUT_QUEUE_MAX)
        g_byte_array_append(chr->out_queue, buf + n, len - n);
    if (!chr->out_watch && chr->out_queue->len) {
        chr->out_watch = g_unix_fd_source_new(chr->out_fd, G_IO_OUT | G_IO_ERR | G_IO_HUP);
        g_source_set_callback(chr->out_watch,
                              (GSourceFunc)(void (*)(void))chardev_output_ready, chr, NULL);
        g_source_attach(chr->out_watch, chr->ctx);
    }
}

void chardev_set_handlers(struct chardev *chr, chardev_can_receive_fn can_receive,
                          chardev_receive_fn receive, void *opaque)
{
    chr->can_receive = can_receive;
    chr->receive = receive;
    chr->opaque = opaque;
    chardev_watch_input(chr);
}

void chardev_accept_input(struct chardev *chr)
{
    chardev_watch_input(chr);
}

const char *chardev_spec(const struct chardev *chr)
{
    return chr->spec;
}
