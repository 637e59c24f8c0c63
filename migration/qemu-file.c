#include "migration/qemu-file.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/error.h"

struct QEMUFile {
    int fd;             /* -1: memory channel */
    bool is_write;
    GByteArray *mem_out;
    uint8_t *mem_in;
    size_t mem_in_len, mem_in_pos;

    uint8_t buf[QEMU_FILE_BUF_SIZE];
    size_t buf_index;   /* output: bytes used; input: read position */
    size_t buf_size;    /* input: bytes valid in buf */
    struct iovec iov[QEMU_FILE_MAX_IOV];
    int iovcnt;

    uint64_t transferred;
    GError *error;
    bool error_taken;

    uint64_t rate_limit;        /* bytes per second, 0 = unlimited */
    int64_t window_start;
    uint64_t window_bytes;
    qemu_file_clock_fn clock;
    void *clock_opaque;
    int cancel_fd;      /* -1, or: fd is non-blocking, wait on both */
};

static int64_t qemu_file_monotonic_ns(void *opaque)
{
    (void)opaque;
    return g_get_monotonic_time() * 1000;
}

static QEMUFile *qemu_file_new(int fd, bool is_write)
{
    QEMUFile *f = g_new0(QEMUFile, 1);

    f->fd = fd;
    f->is_write = is_write;
    f->clock = qemu_file_monotonic_ns;
    f->cancel_fd = -1;
    return f;
}

void qemu_file_set_cancel_fd(QEMUFile *f, int cancel_fd)
{
    f->cancel_fd = cancel_fd;
}

/* The fd is full (EAGAIN): wait for room; false once cancelled. */
static bool qemu_file_wait_writable(QEMUFile *f)
{
    struct pollfd p[2] = { { .fd = f->fd, .events = POLLOUT },
                           { .fd = f->cancel_fd, .events = POLLIN } };

    while (poll(p, 2, -1) < 0) {
        if (errno != EINTR) {
            qemu_file_fail(f, "write to migration stream failed: poll: %s", g_strerror(errno));
            return false;
        }
    }
    if (p[1].revents) {
        qemu_file_fail(f, "write to migration stream failed: cancelled");
        return false;
    }
    return true;
}

QEMUFile *qemu_file_new_fd_output(int fd)
{
    return qemu_file_new(fd, true);
}

QEMUFile *qemu_file_new_fd_input(int fd)
{
    return qemu_file_new(fd, false);
}

QEMUFile *qemu_file_new_mem_output(void)
{
    QEMUFile *f = qemu_file_new(-1, true);

    f->mem_out = g_byte_array_new();
    return f;
}

QEMUFile *qemu_file_new_mem_input(const void *data, size_t len)
{
    QEMUFile *f = qemu_file_new(-1, false);

    f->mem_in = g_memdup2(data, len);
    f->mem_in_len = len;
    return f;
}

const GByteArray *qemu_file_mem_data(QEMUFile *f)
{
    return f->mem_out;
}

/* ---- errors ---- */

void qemu_file_set_error(QEMUFile *f, GError *err)
{
    if (f->error)
        g_error_free(err);
    else
        f->error = err;
}

void qemu_file_fail(QEMUFile *f, const char *fmt, ...)
{
    va_list ap;

    if (f->error)
        return;
    va_start(ap, fmt);
    f->error = g_error_new_valist(TERN_ERROR, 0, fmt, ap);
    va_end(ap);
}

const GError *qemu_file_get_error(QEMUFile *f)
{
    return f->error;
}

bool qemu_file_take_error(QEMUFile *f, GError **errp)
{
    if (!f->error)
        return true;
    if (!f->error_taken) {
        f->error_taken = true;
        g_propagate_error(errp, g_error_copy(f->error));
    }
    return false;
}

/* ---- output ---- */

/* Write every queued iovec, coping with partial writes. */
static void qemu_file_writev_all(QEMUFile *f)
{
    struct iovec *iov = f->iov;
    int cnt = f->iovcnt;

    while (cnt > 0 && !f->error) {
        ssize_t n = writev(f->fd, iov, cnt);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && f->cancel_fd >= 0) {
                if (!qemu_file_wait_writable(f))
                    return;
                continue;
            }
            qemu_file_fail(f, "write to migration stream failed: %s", g_strerror(errno));
            return;
        }
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= iov->iov_len;
            iov++, cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= n;
        }
    }
}

void qemu_file_flush(QEMUFile *f)
{
    if (!f->is_write || f->error) {
        f->iovcnt = 0;
        f->buf_index = 0;
        return;
    }
    if (f->fd < 0) {
        for (int i = 0; i < f->iovcnt; i++)
            g_byte_array_append(f->mem_out, f->iov[i].iov_base, f->iov[i].iov_len);
    } else {
        qemu_file_writev_all(f);
    }
    f->iovcnt = 0;
    f->buf_index = 0;
}

static void qemu_file_account(QEMUFile *f, size_t len)
{
    f->transferred += len;
    f->window_bytes += len;
}

/* Append [base, base + len) to the iovec list, merging with the previous
 * entry when contiguous. */
static void qemu_file_add_iov(QEMUFile *f, const uint8_t *base, size_t len)
{
    struct iovec *last = f->iovcnt ? &f->iov[f->iovcnt - 1] : NULL;

    if (last && (const uint8_t *)last->iov_base + last->iov_len == base) {
        last->iov_len += len;
        return;
    }
    f->iov[f->iovcnt].iov_base = (void *)base;
    f->iov[f->iovcnt].iov_len = len;
    if (++f->iovcnt == QEMU_FILE_MAX_IOV)
        qemu_file_flush(f);
}

static bool qemu_file_check_write(QEMUFile *f)
{
    if (f->error)
        return false;
    if (!f->is_write) {
        qemu_file_fail(f, "write to an input migration stream");
        return false;
    }
    return true;
}

void qemu_file_put_buffer(QEMUFile *f, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    if (!qemu_file_check_write(f))
        return;
    qemu_file_account(f, len);
    while (len && !f->error) {
        size_t n = MIN(len, QEMU_FILE_BUF_SIZE - f->buf_index);

        memcpy(f->buf + f->buf_index, p, n);
        qemu_file_add_iov(f, f->buf + f->buf_index, n);
        f->buf_index += n;
        p += n;
        len -= n;
        if (f->buf_index == QEMU_FILE_BUF_SIZE)
            qemu_file_flush(f);
    }
}

void qemu_file_put_buffer_async(QEMUFile *f, const void *buf, size_t len)
{
    if (!qemu_file_check_write(f) || !len)
        return;
    qemu_file_account(f, len);
    qemu_file_add_iov(f, buf, len);
}

void qemu_file_put_byte(QEMUFile *f, uint8_t v)
{
    qemu_file_put_buffer(f, &v, 1);
}

void qemu_file_put_be16(QEMUFile *f, uint16_t v)
{
    uint8_t b[2] = { v >> 8, v };

    qemu_file_put_buffer(f, b, sizeof(b));
}

void qemu_file_put_be32(QEMUFile *f, uint32_t v)
{
    uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

    qemu_file_put_buffer(f, b, sizeof(b));
}

void qemu_file_put_be64(QEMUFile *f, uint64_t v)
{
    qemu_file_put_be32(f, v >> 32);
    qemu_file_put_be32(f, v);
}

void qemu_file_put_str8(QEMUFile *f, const char *s)
{
    size_t len = strlen(s);

    if (len > 255) {
        qemu_file_fail(f, "string '%.40s...' is longer than 255 bytes", s);
        return;
    }
    qemu_file_put_byte(f, len);
    qemu_file_put_buffer(f, s, len);
}

bool qemu_file_close(QEMUFile *f, GError **errp)
{
    bool ok;

    qemu_file_flush(f);
    ok = qemu_file_take_error(f, errp);
    if (f->mem_out)
        g_byte_array_unref(f->mem_out);
    if (f->error)
        g_error_free(f->error);
    g_free(f->mem_in);
    g_free(f);
    return ok;
}

/* ---- input ---- */

/* Read more bytes into the buffer; returns how many arrived (0 at EOF). */
static size_t qemu_file_fill(QEMUFile *f)
{
    ssize_t n;

    if (f->error || f->is_write)
        return 0;
    if (f->buf_index) {
        memmove(f->buf, f->buf + f->buf_index, f->buf_size - f->buf_index);
        f->buf_size -= f->buf_index;
        f->buf_index = 0;
    }
    if (f->buf_size == QEMU_FILE_BUF_SIZE)
        return 0;
    if (f->fd < 0) {
        n = MIN(QEMU_FILE_BUF_SIZE - f->buf_size, f->mem_in_len - f->mem_in_pos);
        if (n) /* an empty input has no buffer: mem_in is NULL */
            memcpy(f->buf + f->buf_size, f->mem_in + f->mem_in_pos, n);
        f->mem_in_pos += n;
    } else {
        do {
            n = read(f->fd, f->buf + f->buf_size, QEMU_FILE_BUF_SIZE - f->buf_size);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            qemu_file_fail(f, "read from migration stream failed: %s", g_strerror(errno));
            return 0;
        }
    }
    f->buf_size += n;
    return n;
}

bool qemu_file_get_buffer(QEMUFile *f, void *buf, size_t len)
{
    uint8_t *p = buf;

    if (f->error) {
        memset(buf, 0, len);
        return false;
    }
    while (len) {
        size_t avail = f->buf_size - f->buf_index, n;

        if (!avail && !qemu_file_fill(f)) {
            qemu_file_fail(f, "migration stream ended early (after %" G_GUINT64_FORMAT
                              " bytes)",
                           f->transferred);
            memset(p, 0, len);
            return false;
        }
        n = MIN(len, f->buf_size - f->buf_index);
        memcpy(p, f->buf + f->buf_index, n);
        f->buf_index += n;
        f->transferred += n;
        p += n;
        len -= n;
    }
    return true;
}

uint8_t qemu_file_get_byte(QEMUFile *f)
{
    uint8_t v;

    qemu_file_get_buffer(f, &v, 1);
    return v;
}

uint16_t qemu_file_get_be16(QEMUFile *f)
{
    uint8_t b[2];

    qemu_file_get_buffer(f, b, sizeof(b));
    return (uint16_t)(b[0] << 8 | b[1]);
}

uint32_t qemu_file_get_be32(QEMUFile *f)
{
    uint8_t b[4];

    qemu_file_get_buffer(f, b, sizeof(b));
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t qemu_file_get_be64(QEMUFile *f)
{
    uint64_t hi = qemu_file_get_be32(f);

    return hi << 32 | qemu_file_get_be32(f);
}

bool qemu_file_get_str8(QEMUFile *f, char *buf)
{
    uint8_t len = qemu_file_get_byte(f);

    if (!qemu_file_get_buffer(f, buf, len)) {
        buf[0] = 0;
        return false;
    }
    buf[len] = 0;
    return true;
}

bool qemu_file_skip(QEMUFile *f, size_t len)
{
    uint8_t scratch[256];

    while (len && !f->error) {
        size_t n = MIN(len, sizeof(scratch));

        qemu_file_get_buffer(f, scratch, n);
        len -= n;
    }
    return !f->error;
}

int qemu_file_peek_byte(QEMUFile *f, size_t offset)
{
    if (offset >= QEMU_FILE_BUF_SIZE)
        return -1;
    while (f->buf_size - f->buf_index <= offset) {
        if (!qemu_file_fill(f))
            return -1;
    }
    return f->buf[f->buf_index + offset];
}

size_t qemu_file_peek_buffer(QEMUFile *f, void *buf, size_t len)
{
    len = MIN(len, (size_t)QEMU_FILE_BUF_SIZE);
    while (f->buf_size - f->buf_index < len) {
        if (!qemu_file_fill(f))
            break;
    }
    len = MIN(len, f->buf_size - f->buf_index);
    memcpy(buf, f->buf + f->buf_index, len);
    return len;
}

bool qemu_file_eof(QEMUFile *f)
{
    return qemu_file_peek_byte(f, 0) < 0;
}

/* ---- counters and rate limit ---- */

uint64_t qemu_file_transferred(QEMUFile *f)
{
    return f->transferred;
}

void qemu_file_set_rate_limit(QEMUFile *f, uint64_t bytes_per_sec)
{
    f->rate_limit = bytes_per_sec;
}

uint64_t qemu_file_get_rate_limit(QEMUFile *f)
{
    return f->rate_limit;
}

void qemu_file_set_clock(QEMUFile *f, qemu_file_clock_fn clock, void *opaque)
{
    f->clock = clock;
    f->clock_opaque = opaque;
    f->window_start = clock(opaque);
    f->window_bytes = 0;
}

/* Start a new window when the current one has run out. */
static void qemu_file_window_update(QEMUFile *f, int64_t now)
{
    if (now - f->window_start >= QEMU_FILE_WINDOW_NS || now < f->window_start) {
        f->window_start = now;
        f->window_bytes = 0;
    }
}

uint64_t qemu_file_window_left(QEMUFile *f)
{
    uint64_t allowed;

    if (f->error)
        return 0;
    if (!f->rate_limit)
        return UINT64_MAX;
    qemu_file_window_update(f, f->clock(f->clock_opaque));
    /* At least something per window, however small the limit. */
    allowed = MAX(f->rate_limit / 10, 1);
    return f->window_bytes < allowed ? allowed - f->window_bytes : 0;
}

bool qemu_file_may_send(QEMUFile *f)
{
    return qemu_file_window_left(f) > 0;
}

int64_t qemu_file_window_wait_ns(QEMUFile *f)
{
    int64_t now;

    if (!f->rate_limit)
        return 0;
    now = f->clock(f->clock_opaque);
    qemu_file_window_update(f, now);
    if (f->window_bytes < MAX(f->rate_limit / 10, 1))
        return 0;
    return f->window_start + QEMU_FILE_WINDOW_NS - now;
}
