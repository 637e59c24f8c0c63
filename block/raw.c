#include "block/raw.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "util/error.h"

#define ZERO_CHUNK (1024 * 1024)

static bool check_type(const char *filename, GError **errp)
{
    struct stat st;

    if (stat(filename, &st) < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", filename);
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        error_setg(errp, "Could not open '%s': is a directory, not a disk image", filename);
        return false;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        error_setg(errp, "Could not open '%s': not a regular file or block device", filename);
        return false;
    }
    return true;
}

static bool check_length(struct raw_file *f, GError **errp)
{
    off_t end = lseek(f->fd, 0, SEEK_END);

    if (end < 0) {
        error_setg_errno(errp, errno, "Could not get the size of '%s'", f->filename);
        return false;
    }
    if (end == 0) {
        error_setg(errp, "Image '%s' is empty (size 0)", f->filename);
        return false;
    }
    if (end % 512) {
        error_setg(errp,
                   "Image '%s' has a size of %lld bytes, which is not a multiple of 512 "
                   "(the sector size)",
                   f->filename, (long long)end);
        return false;
    }
    f->length = end;
    return true;
}

/* The smallest read O_DIRECT accepts at @buf + @shift, trying 512..4096. */
static bool probe_one(int fd, char *buf, uint64_t len, uint64_t shift)
{
    return pread(fd, buf + shift, len, 0) >= 0 || errno != EINVAL;
}

/* As QEMU's raw_probe_alignment(): let the kernel tell us. */
static void probe_alignment(struct raw_file *f)
{
    char *buf = NULL;
    uint64_t a;

    f->req_align = f->mem_align = 4096;
    if (posix_memalign((void **)&buf, 8192, 8192))
        return;
    for (a = 512; a <= 4096; a *= 2) {
        if (probe_one(f->fd, buf, a, 0)) {
            f->req_align = a;
            break;
        }
    }
    for (a = 512; a <= 4096; a *= 2) {
        if (probe_one(f->fd, buf, f->req_align, a)) {
            f->mem_align = a;
            break;
        }
    }
    free(buf);
}

bool raw_open(struct raw_file *f, const char *filename, bool readonly, bool direct,
              GError **errp)
{
    int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);

    memset(f, 0, sizeof(*f));
    f->fd = -1;
    if (!filename || !*filename) {
        error_setg(errp, "A disk image needs a file name (file=PATH)");
        return false;
    }
    if (!check_type(filename, errp))
        return false;
    f->fd = open(filename, flags);
    if (f->fd < 0 && direct && errno == EINVAL) {
        error_setg(errp,
                   "Could not open '%s' with cache=none: the file system does not support "
                   "O_DIRECT (use cache=writeback)",
                   filename);
        return false;
    }
    if (f->fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'%s", filename,
                         readonly ? "" : " for writing");
        return false;
    }
    f->filename = g_strdup(filename);
    f->readonly = readonly;
    f->direct = direct;
    f->req_align = f->mem_align = 1;
    if (!check_length(f, errp)) {
        raw_close(f);
        return false;
    }
    if (direct)
        probe_alignment(f);
    return true;
}

void raw_close(struct raw_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    g_free(f->filename);
    f->filename = NULL;
}

/* Skip @n bytes of the segment list at *iov, *iovcnt (a private copy). */
static void iov_skip(struct iovec **iov, int *iovcnt, size_t n)
{
    while (n && *iovcnt) {
        size_t take = MIN(n, (*iov)->iov_len);

        (*iov)->iov_base = (char *)(*iov)->iov_base + take;
        (*iov)->iov_len -= take;
        n -= take;
        if ((*iov)->iov_len == 0) {
            (*iov)++;
            (*iovcnt)--;
        }
    }
}

static void iov_zero(const struct iovec *iov, int iovcnt)
{
    for (int i = 0; i < iovcnt; i++)
        memset(iov[i].iov_base, 0, iov[i].iov_len);
}

static int do_rw(const struct raw_file *f, bool write, uint64_t offset, uint64_t bytes,
                 const struct iovec *iov0, int iovcnt)
{
    g_autofree struct iovec *copy = g_new(struct iovec, iovcnt ? iovcnt : 1);
    struct iovec *iov = copy;
    uint64_t done = 0;

    memcpy(copy, iov0, sizeof(*iov0) * iovcnt);
    while (done < bytes && iovcnt) {
        ssize_t n = write ? pwritev(f->fd, iov, MIN(iovcnt, IOV_MAX), offset + done)
                          : preadv(f->fd, iov, MIN(iovcnt, IOV_MAX), offset + done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0 && write)
            return -ENOSPC;
        if (n == 0) {
            iov_zero(iov, iovcnt);
            return 0;
        }
        done += n;
        iov_skip(&iov, &iovcnt, n);
    }
    return 0;
}

static int write_zeroes_slow(const struct raw_file *f, uint64_t offset, uint64_t bytes)
{
    void *buf = NULL;
    int ret = 0;

    if (posix_memalign(&buf, 4096, ZERO_CHUNK))
        return -ENOMEM;
    memset(buf, 0, ZERO_CHUNK);
    while (bytes && !ret) {
        struct iovec v = { buf, MIN(bytes, ZERO_CHUNK) };

        ret = do_rw(f, true, offset, v.iov_len, &v, 1);
        offset += v.iov_len;
        bytes -= v.iov_len;
    }
    free(buf);
    return ret;
}

static int do_fallocate(const struct raw_file *f, int mode, uint64_t offset, uint64_t bytes)
{
    int r;

    do {
        r = fallocate(f->fd, mode | FALLOC_FL_KEEP_SIZE, offset, bytes);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static bool unsupported(int r)
{
    return r == -EOPNOTSUPP || r == -ENOSYS || r == -EINVAL || r == -ENOTTY;
}

static int do_write_zeroes(const struct raw_file *f, uint64_t offset, uint64_t bytes)
{
    int r = do_fallocate(f, FALLOC_FL_ZERO_RANGE, offset, bytes);

    if (unsupported(r))
        r = do_fallocate(f, FALLOC_FL_PUNCH_HOLE, offset, bytes);
    if (unsupported(r))
        r = write_zeroes_slow(f, offset, bytes);
    return r;
}

int raw_do(const struct raw_file *f, unsigned op, uint64_t offset, uint64_t bytes,
           const struct iovec *iov, int iovcnt)
{
    switch (op) {
    case BLOCK_OP_READ: return do_rw(f, false, offset, bytes, iov, iovcnt);
    case BLOCK_OP_WRITE: return do_rw(f, true, offset, bytes, iov, iovcnt);
    case BLOCK_OP_FLUSH: return fdatasync(f->fd) < 0 ? -errno : 0;
    case BLOCK_OP_DISCARD: {
        int r = do_fallocate(f, FALLOC_FL_PUNCH_HOLE, offset, bytes);
        return r == -EOPNOTSUPP ? -ENOTSUP : r;
    }
    case BLOCK_OP_WRITE_ZEROES: return do_write_zeroes(f, offset, bytes);
    }
    return -EINVAL;
}
