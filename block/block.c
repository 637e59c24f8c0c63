/*
 * The block layer's request lifecycle (see block.h for the contract):
 *
 *   block_preadv() ... -> req_new -> req_check --fail--> done queue -+
 *                                      | ok                          |
 *                                      v                             |
 *                        bounce (O_DIRECT, unaligned buffers)        |
 *                           |                       |                |
 *                  linux_aio_submit       g_thread_pool_push         |
 *                           |              worker: raw_do()          |
 *                   kernel -> eventfd       -> done queue + eventfd <+
 *                           |                       |
 *                           +--> process() on @ctx's thread: reap AIO
 *                                events, pop the done queue -> finish():
 *                                copy back bounce, mark dirty, callback
 *
 * The done queue is the only state touched by other threads (the pool's
 * workers); it has its own mutex.  Everything else belongs to @ctx's thread
 * or the VM lock holder.
 */
#include "block/block.h"

#include <errno.h>
#include <glib-unix.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "block/block-int.h"
#include "block/dirty-bitmap.h"
#include "block/file-lock.h"
#include "block/linux-aio.h"
#include "block/raw.h"
#include "util/error.h"
#include "util/fdio.h"
#include "util/keyval.h"

#define POOL_THREADS 4

#define PERM_WRITER (FILE_LOCK_PERM_CONSISTENT_READ | FILE_LOCK_PERM_WRITE)
#define PERM_READER FILE_LOCK_PERM_CONSISTENT_READ
#define SHARED_ACTIVE (FILE_LOCK_PERM_CONSISTENT_READ | FILE_LOCK_PERM_WRITE_UNCHANGED)

struct block_inject {
    unsigned ops;
    uint64_t offset, bytes;
    int err;
};

struct block_backend {
    GMainContext *ctx;
    struct raw_file raw;
    int efd;
    GSource *source;
    struct linux_aio *aio; /* NULL: the pool does reads and writes too */
    GThreadPool *pool;
    GMutex done_lock;
    GQueue done; /* struct block_req, finished by a worker or failed early */
    unsigned in_flight;
    bool no_locking;
    unsigned lock_perm, lock_shared;
    bool write_locked;
    struct block_dirty_bitmap *dirty;
    struct block_inject inject;
};

/* --- completion ------------------------------------------------------- */

static void kick(struct block_backend *bb)
{
    uint64_t one = 1;

    while (write(bb->efd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
}

void block_req_done_async(struct block_req *req)
{
    struct block_backend *bb = req->bb;

    g_mutex_lock(&bb->done_lock);
    g_queue_push_tail(&bb->done, req);
    g_mutex_unlock(&bb->done_lock);
    kick(bb);
}

static void iov_from_buf(const struct iovec *iov, int iovcnt, const char *buf, uint64_t bytes)
{
    for (int i = 0; i < iovcnt && bytes; i++) {
        size_t n = MIN(bytes, iov[i].iov_len);

        memcpy(iov[i].iov_base, buf, n);
        buf += n;
        bytes -= n;
    }
}

static bool op_writes(unsigned op)
{
    return op & (BLOCK_OP_WRITE | BLOCK_OP_DISCARD | BLOCK_OP_WRITE_ZEROES);
}

static void req_free(struct block_req *req)
{
    free(req->bounce);
    if (req->iov != req->user_iov)
        g_free(req->iov);
    g_free(req->user_iov);
    g_free(req);
}

void block_req_done(struct block_req *req)
{
    struct block_backend *bb = req->bb;
    block_complete_fn *cb = req->cb;
    void *opaque = req->opaque;
    int ret = req->ret;

    if (req->bounce && req->op == BLOCK_OP_READ && ret == 0)
        iov_from_buf(req->user_iov, req->user_iovcnt, req->bounce, req->bytes);
    if (req->submitted && op_writes(req->op) && bb->dirty)
        block_dirty_bitmap_set_range(bb->dirty, req->offset, req->bytes);
    req_free(req);
    bb->in_flight--;
    cb(opaque, ret);
}

static void process(struct block_backend *bb)
{
    uint64_t cnt;
    struct block_req *req;

    while (read(bb->efd, &cnt, sizeof(cnt)) < 0 && errno == EINTR) {
    }
    if (bb->aio)
        linux_aio_reap(bb->aio);
    for (;;) {
        g_mutex_lock(&bb->done_lock);
        req = g_queue_pop_head(&bb->done);
        g_mutex_unlock(&bb->done_lock);
        if (!req)
            break;
        block_req_done(req);
    }
}

static gboolean efd_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    (void)fd;
    (void)cond;
    process(opaque);
    return G_SOURCE_CONTINUE;
}

void block_drain(struct block_backend *bb)
{
    while (bb->in_flight) {
        struct pollfd p = { .fd = bb->efd, .events = POLLIN };

        /* A failed poll (EINTR) only means looking again. */
        poll(&p, 1, -1);
        process(bb);
    }
}

unsigned block_in_flight(const struct block_backend *bb)
{
    return bb->in_flight;
}

/* --- submission ------------------------------------------------------- */

static void pool_work(gpointer data, gpointer opaque)
{
    struct block_req *req = data;
    struct block_backend *bb = opaque;

    req->ret = raw_do(&bb->raw, req->op, req->offset, req->bytes, req->iov, req->iovcnt);
    block_req_done_async(req);
}

static bool injected(const struct block_backend *bb, const struct block_req *req)
{
    const struct block_inject *in = &bb->inject;

    if (!in->err || !(in->ops & req->op))
        return false;
    if (req->op == BLOCK_OP_FLUSH)
        return true;
    return req->offset < in->offset + in->bytes && in->offset < req->offset + req->bytes;
}

static bool aligned(uint64_t v, uint64_t a)
{
    return v % a == 0;
}

static int req_check(const struct block_backend *bb, const struct block_req *req)
{
    const struct raw_file *f = &bb->raw;

    if (op_writes(req->op) && f->readonly)
        return -EROFS;
    if (req->offset > f->length || req->bytes > f->length - req->offset)
        return -EINVAL;
    if (req->iovcnt > IOV_MAX)
        return -EINVAL;
    if (f->direct && (req->op & (BLOCK_OP_READ | BLOCK_OP_WRITE | BLOCK_OP_WRITE_ZEROES)) &&
        (!aligned(req->offset, f->req_align) || !aligned(req->bytes, f->req_align)))
        return -EINVAL;
    if (injected(bb, req))
        return -bb->inject.err;
    return 0;
}

static bool iov_aligned(const struct iovec *iov, int iovcnt, uint64_t a)
{
    for (int i = 0; i < iovcnt; i++) {
        if (!aligned((uintptr_t)iov[i].iov_base, a) || !aligned(iov[i].iov_len, a))
            return false;
    }
    return true;
}

/* O_DIRECT with a buffer the kernel would refuse: go through an aligned copy. */
static int req_bounce(const struct block_backend *bb, struct block_req *req)
{
    const struct raw_file *f = &bb->raw;
    char *p;

    if (!f->direct || !(req->op & (BLOCK_OP_READ | BLOCK_OP_WRITE)) ||
        iov_aligned(req->iov, req->iovcnt, f->mem_align))
        return 0;
    if (posix_memalign(&req->bounce, MAX(f->mem_align, sizeof(void *)), req->bytes))
        return -ENOMEM;
    if (req->op == BLOCK_OP_WRITE) {
        p = req->bounce;
        for (int i = 0; i < req->iovcnt; i++) {
            memcpy(p, req->iov[i].iov_base, req->iov[i].iov_len);
            p += req->iov[i].iov_len;
        }
    }
    req->iov = g_new(struct iovec, 1);
    req->iov[0] = (struct iovec){ req->bounce, req->bytes };
    req->iovcnt = 1;
    return 0;
}

static void submit(struct block_backend *bb, struct block_req *req)
{
    int r;

    bb->in_flight++;
    r = req_check(bb, req);
    if (!r && req->bytes == 0 && req->op != BLOCK_OP_FLUSH)
        r = 1; /* nothing to do */
    if (!r)
        r = req_bounce(bb, req);
    if (r) {
        req->ret = r > 0 ? 0 : r;
        block_req_done_async(req);
        return;
    }
    req->submitted = true;
    if (bb->aio && (req->op & (BLOCK_OP_READ | BLOCK_OP_WRITE)))
        linux_aio_submit(bb->aio, bb->raw.fd, req);
    else
        g_thread_pool_push(bb->pool, req, NULL);
}

static struct block_req *req_new(struct block_backend *bb, unsigned op, uint64_t offset,
                                 uint64_t bytes, block_complete_fn *cb, void *opaque)
{
    struct block_req *req = g_new0(struct block_req, 1);

    req->bb = bb;
    req->op = op;
    req->offset = offset;
    req->bytes = bytes;
    req->cb = cb;
    req->opaque = opaque;
    return req;
}

static void rw(struct block_backend *bb, unsigned op, uint64_t offset, const struct iovec *iov,
               int iovcnt, block_complete_fn *cb, void *opaque)
{
    struct block_req *req = req_new(bb, op, offset, 0, cb, opaque);
    uint64_t bytes = 0;
    bool overflow = iovcnt < 0;

    for (int i = 0; i < iovcnt; i++) {
        overflow |= bytes + iov[i].iov_len < bytes;
        bytes += iov[i].iov_len;
    }
    if (!overflow && iovcnt > 0) {
        req->user_iov = g_new(struct iovec, iovcnt);
        memcpy(req->user_iov, iov, sizeof(*iov) * iovcnt);
        req->user_iovcnt = iovcnt;
    }
    req->iov = req->user_iov;
    req->iovcnt = req->user_iovcnt;
    req->bytes = bytes;
    if (overflow) {
        bb->in_flight++;
        req->ret = -EINVAL;
        block_req_done_async(req);
        return;
    }
    submit(bb, req);
}

void block_preadv(struct block_backend *bb, uint64_t offset, const struct iovec *iov, int iovcnt,
                  block_complete_fn *cb, void *opaque)
{
    rw(bb, BLOCK_OP_READ, offset, iov, iovcnt, cb, opaque);
}

void block_pwritev(struct block_backend *bb, uint64_t offset, const struct iovec *iov, int iovcnt,
                   block_complete_fn *cb, void *opaque)
{
    rw(bb, BLOCK_OP_WRITE, offset, iov, iovcnt, cb, opaque);
}

void block_flush(struct block_backend *bb, block_complete_fn *cb, void *opaque)
{
    submit(bb, req_new(bb, BLOCK_OP_FLUSH, 0, 0, cb, opaque));
}

void block_discard(struct block_backend *bb, uint64_t offset, uint64_t bytes,
                   block_complete_fn *cb, void *opaque)
{
    submit(bb, req_new(bb, BLOCK_OP_DISCARD, offset, bytes, cb, opaque));
}

void block_write_zeroes(struct block_backend *bb, uint64_t offset, uint64_t bytes,
                        block_complete_fn *cb, void *opaque)
{
    submit(bb, req_new(bb, BLOCK_OP_WRITE_ZEROES, offset, bytes, cb, opaque));
}

/* --- locks ------------------------------------------------------------ */

static bool lock_to(struct block_backend *bb, unsigned perm, unsigned shared, GError **errp)
{
    if (!bb->no_locking &&
        !file_lock_set(bb->raw.fd, bb->raw.filename, bb->lock_perm, bb->lock_shared, perm, shared,
                       errp))
        return false;
    bb->lock_perm = perm;
    bb->lock_shared = shared;
    return true;
}

bool block_lock_write(struct block_backend *bb, GError **errp)
{
    if (bb->raw.readonly) {
        error_setg(errp, "Image '%s' is read-only; it cannot take the write lock",
                   bb->raw.filename);
        return false;
    }
    if (bb->write_locked)
        return true;
    if (!lock_to(bb, PERM_WRITER, SHARED_ACTIVE, errp))
        return false;
    bb->write_locked = true;
    return true;
}

void block_unlock_write(struct block_backend *bb)
{
    if (!bb->write_locked)
        return;
    /* Releasing locks cannot conflict with anybody. */
    lock_to(bb, 0, FILE_LOCK_PERM_ALL, NULL);
    bb->write_locked = false;
}

bool block_has_write_lock(const struct block_backend *bb)
{
    return bb->write_locked;
}

/* --- open / close ----------------------------------------------------- */

static bool open_engines(struct block_backend *bb, const struct block_options *o, GError **errp)
{
    bool native = o->aio == BLOCK_AIO_NATIVE ||
                  (o->aio == BLOCK_AIO_AUTO && o->cache == BLOCK_CACHE_NONE);

    bb->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (bb->efd < 0) {
        error_setg_errno(errp, errno, "Could not create an eventfd for '%s'", o->file);
        return false;
    }
    if (native) {
        GError *err = NULL;

        bb->aio = linux_aio_new(bb->efd, &err);
        if (!bb->aio && o->aio == BLOCK_AIO_NATIVE) {
            g_propagate_error(errp, err);
            return false;
        }
        g_clear_error(&err);
    }
    bb->pool = g_thread_pool_new(pool_work, bb, POOL_THREADS, FALSE, errp);
    if (!bb->pool)
        return false;
    bb->source = g_unix_fd_source_new(bb->efd, G_IO_IN);
    g_source_set_callback(bb->source, (GSourceFunc)(void (*)(void))efd_ready, bb, NULL);
    g_source_attach(bb->source, bb->ctx);
    return true;
}

static bool open_locks(struct block_backend *bb, const struct block_options *o, GError **errp)
{
    bb->lock_shared = FILE_LOCK_PERM_ALL;
    if (o->readonly)
        return lock_to(bb, PERM_READER, SHARED_ACTIVE, errp);
    if (o->inactive)
        return true;
    return block_lock_write(bb, errp);
}

struct block_backend *block_open(GMainContext *ctx, const struct block_options *o, GError **errp)
{
    struct block_backend *bb = g_new0(struct block_backend, 1);

    bb->ctx = ctx;
    bb->efd = -1;
    bb->no_locking = o->no_locking;
    g_mutex_init(&bb->done_lock);
    g_queue_init(&bb->done);
    if (!raw_open(&bb->raw, o->file, o->readonly, o->cache == BLOCK_CACHE_NONE, errp)) {
        g_mutex_clear(&bb->done_lock);
        g_free(bb);
        return NULL;
    }
    if (!open_locks(bb, o, errp) || !open_engines(bb, o, errp)) {
        block_close(bb);
        return NULL;
    }
    return bb;
}

void block_close(struct block_backend *bb)
{
    if (!bb)
        return;
    if (bb->efd >= 0)
        block_drain(bb);
    fdio_source_drop(&bb->source);
    if (bb->pool)
        g_thread_pool_free(bb->pool, FALSE, TRUE);
    linux_aio_free(bb->aio);
    if (bb->efd >= 0)
        close(bb->efd);
    block_dirty_bitmap_free(bb->dirty);
    raw_close(&bb->raw); /* closing the fd drops its OFD locks */
    g_mutex_clear(&bb->done_lock);
    g_free(bb);
}

uint64_t block_length(const struct block_backend *bb)
{
    return bb->raw.length;
}

const char *block_filename(const struct block_backend *bb)
{
    return bb->raw.filename;
}

bool block_is_readonly(const struct block_backend *bb)
{
    return bb->raw.readonly;
}

uint64_t block_request_alignment(const struct block_backend *bb)
{
    return bb->raw.req_align;
}

uint64_t block_memory_alignment(const struct block_backend *bb)
{
    return bb->raw.mem_align;
}

bool block_uses_linux_aio(const struct block_backend *bb)
{
    return bb->aio != NULL;
}

/* --- dirty bitmap, error injection ------------------------------------ */

struct block_dirty_bitmap *block_enable_dirty_bitmap(struct block_backend *bb,
                                                     uint64_t granularity, GError **errp)
{
    struct block_dirty_bitmap *b = block_dirty_bitmap_new(bb->raw.length, granularity, errp);

    if (b) {
        block_dirty_bitmap_free(bb->dirty);
        bb->dirty = b;
    }
    return b;
}

void block_disable_dirty_bitmap(struct block_backend *bb)
{
    block_dirty_bitmap_free(bb->dirty);
    bb->dirty = NULL;
}

struct block_dirty_bitmap *block_get_dirty_bitmap(const struct block_backend *bb)
{
    return bb->dirty;
}

void block_inject_error(struct block_backend *bb, unsigned ops, uint64_t offset, uint64_t bytes,
                        int err)
{
    bb->inject = (struct block_inject){ ops, offset, bytes, err < 0 ? -err : err };
}

/* --- options ---------------------------------------------------------- */

static bool take_enum(GHashTable *kv, const char *key, const char *const *names, int n, int *out,
                      GError **errp)
{
    g_autofree char *v = keyval_take_str(kv, key);

    if (!v)
        return true;
    for (int i = 0; i < n; i++) {
        if (names[i] && !strcmp(v, names[i])) {
            *out = i;
            return true;
        }
    }
    error_setg(errp, "Invalid %s '%s'", key, v);
    return false;
}

bool block_options_take(GHashTable *kv, struct block_options *o, GError **errp)
{
    static const char *const caches[] = { "writeback", "none" };
    static const char *const aios[] = { NULL, "threads", "native" };
    int cache = BLOCK_CACHE_WRITEBACK, aio = BLOCK_AIO_AUTO;
    bool locking = true;

    memset(o, 0, sizeof(*o));
    o->file = keyval_take_str(kv, "file");
    if (!o->file || !*o->file) {
        error_setg(errp, "A drive needs file=PATH");
        return false;
    }
    if (!keyval_take_bool(kv, "readonly", &o->readonly, errp) ||
        !keyval_take_bool(kv, "file.locking", &locking, errp) ||
        !take_enum(kv, "cache", caches, G_N_ELEMENTS(caches), &cache, errp) ||
        !take_enum(kv, "aio", aios, G_N_ELEMENTS(aios), &aio, errp)) {
        block_options_clear(o);
        return false;
    }
    o->cache = cache;
    o->aio = aio;
    o->no_locking = !locking;
    return true;
}

void block_options_clear(struct block_options *o)
{
    g_free(o->file);
    o->file = NULL;
}
