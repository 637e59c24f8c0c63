/* block/: raw images with Linux AIO and the thread pool, locks, dirty bitmap. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "block/dirty-bitmap.h"
#include "util/keyval.h"

#define IMG_SIZE (4 * 1024 * 1024)
#define KiB 1024

struct fixture {
    GMainContext *ctx;
    char *dir;
    char *path;
};

struct engine {
    const char *name;
    enum block_cache cache;
    enum block_aio aio;
};

static const struct engine engines[] = {
    { "threads-writeback", BLOCK_CACHE_WRITEBACK, BLOCK_AIO_THREADS },
    { "threads-direct", BLOCK_CACHE_NONE, BLOCK_AIO_THREADS },
    { "native-direct", BLOCK_CACHE_NONE, BLOCK_AIO_NATIVE },
    { "native-writeback", BLOCK_CACHE_WRITEBACK, BLOCK_AIO_NATIVE },
};

/* Counts completions; remembers the last result. */
struct waiter {
    int pending;
    int last_ret;
    int failures;
};

static void done_cb(void *opaque, int ret)
{
    struct waiter *w = opaque;

    w->pending--;
    w->last_ret = ret;
    if (ret)
        w->failures++;
}

static void wait_all(struct fixture *f, struct waiter *w)
{
    while (w->pending > 0)
        g_main_context_iteration(f->ctx, TRUE);
}

static void make_image(const char *path, uint64_t size)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    close(fd);
}

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    (void)data;
    f->ctx = g_main_context_new();
    /* In the working directory (the build tree), not /tmp: /tmp may be
     * tmpfs, which has no O_DIRECT. */
    f->dir = g_mkdtemp(g_strdup("test-block-XXXXXX"));
    g_assert_nonnull(f->dir);
    f->path = g_build_filename(f->dir, "disk.img", NULL);
    make_image(f->path, IMG_SIZE);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    (void)data;
    g_unlink(f->path);
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
    g_main_context_unref(f->ctx);
}

static struct block_backend *open_opts(struct fixture *f, const struct block_options *o,
                                       GError **errp)
{
    return block_open(f->ctx, o, errp);
}

static struct block_backend *open_engine(struct fixture *f, const struct engine *e)
{
    struct block_options o = { .file = f->path, .cache = e->cache, .aio = e->aio };
    g_autoptr(GError) err = NULL;
    struct block_backend *bb = open_opts(f, &o, &err);

    if (!bb && e->cache == BLOCK_CACHE_NONE && strstr(err->message, "O_DIRECT"))
        return NULL;
    g_assert_no_error(err);
    g_assert_cmpint(block_uses_linux_aio(bb), ==, e->aio == BLOCK_AIO_NATIVE);
    return bb;
}

static void *aligned_buf(size_t len)
{
    void *p = NULL;

    g_assert_cmpint(posix_memalign(&p, 4096, len), ==, 0);
    return p;
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

/* Synchronous helpers on top of the asynchronous API. */
static int sync_rw(struct fixture *f, struct block_backend *bb, bool write, uint64_t off,
                   void *buf, size_t len)
{
    struct waiter w = { .pending = 1 };
    struct iovec v = { buf, len };

    if (write)
        block_pwritev(bb, off, &v, 1, done_cb, &w);
    else
        block_preadv(bb, off, &v, 1, done_cb, &w);
    g_assert_cmpint(w.pending, ==, 1); /* never completes inside the call */
    wait_all(f, &w);
    return w.last_ret;
}

static bool is_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i])
            return false;
    }
    return true;
}

#define NREQ 64
#define REQ_LEN (64 * KiB)

/* 64 vectored writes in flight at once, then 64 vectored reads; verify. */
static void test_concurrent(struct fixture *f, gconstpointer data)
{
    const struct engine *e = data;
    struct block_backend *bb = open_engine(f, e);
    uint8_t *wbuf = aligned_buf(NREQ * REQ_LEN), *rbuf = aligned_buf(NREQ * REQ_LEN);
    struct iovec wv[NREQ][3], rv[NREQ][3];
    struct waiter w = { 0 };
    unsigned max_in_flight = 0;

    if (!bb) {
        g_test_skip("no O_DIRECT here");
        free(wbuf);
        free(rbuf);
        return;
    }
    fill(wbuf, NREQ * REQ_LEN, 1);
    memset(rbuf, 0xaa, NREQ * REQ_LEN);
    for (int i = 0; i < NREQ; i++) {
        /* Three segments of 4K, 28K, 32K: aligned for O_DIRECT. */
        uint8_t *p = wbuf + i * REQ_LEN, *q = rbuf + i * REQ_LEN;
        size_t a = 4 * KiB, b = 28 * KiB, c = REQ_LEN - a - b;

        wv[i][0] = (struct iovec){ p, a };
        wv[i][1] = (struct iovec){ p + a, b };
        wv[i][2] = (struct iovec){ p + a + b, c };
        rv[i][0] = (struct iovec){ q, a };
        rv[i][1] = (struct iovec){ q + a, b };
        rv[i][2] = (struct iovec){ q + a + b, c };
    }
    /* Interleave the offsets so neighbours are not written in order. */
    for (int i = 0; i < NREQ; i++) {
        int k = (i * 37) % NREQ;

        w.pending++;
        block_pwritev(bb, (uint64_t)k * REQ_LEN, wv[k], 3, done_cb, &w);
        max_in_flight = MAX(max_in_flight, block_in_flight(bb));
    }
    g_assert_cmpuint(max_in_flight, ==, NREQ);
    wait_all(f, &w);
    g_assert_cmpint(w.failures, ==, 0);
    g_assert_cmpuint(block_in_flight(bb), ==, 0);

    for (int i = 0; i < NREQ; i++) {
        w.pending++;
        block_preadv(bb, (uint64_t)i * REQ_LEN, rv[i], 3, done_cb, &w);
    }
    wait_all(f, &w);
    g_assert_cmpint(w.failures, ==, 0);
    g_assert_cmpint(memcmp(wbuf, rbuf, NREQ * REQ_LEN), ==, 0);

    w.pending++;
    block_flush(bb, done_cb, &w);
    wait_all(f, &w);
    g_assert_cmpint(w.last_ret, ==, 0);
    block_close(bb);

    /* And it really is in the file. */
    {
        g_autofree char *contents = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(f->path, &contents, &len, NULL));
        g_assert_cmpuint(len, ==, IMG_SIZE);
        g_assert_cmpint(memcmp(contents, wbuf, NREQ * REQ_LEN), ==, 0);
    }
    free(wbuf);
    free(rbuf);
}

/* Discard and write-zeroes read back as zeroes, the neighbours untouched. */
static void test_discard_zeroes(struct fixture *f, gconstpointer data)
{
    const struct engine *e = data;
    struct block_backend *bb = open_engine(f, e);
    size_t len = 1024 * KiB;
    uint8_t *buf, *ref;
    struct waiter w = { 0 };

    if (!bb) {
        g_test_skip("no O_DIRECT here");
        return;
    }
    buf = aligned_buf(len);
    ref = aligned_buf(len);
    fill(ref, len, 5);
    g_assert_cmpint(sync_rw(f, bb, true, 0, ref, len), ==, 0);

    w.pending = 2;
    block_discard(bb, 64 * KiB, 128 * KiB, done_cb, &w);
    block_write_zeroes(bb, 512 * KiB, 64 * KiB, done_cb, &w);
    wait_all(f, &w);
    g_assert_cmpint(w.failures, ==, 0);

    g_assert_cmpint(sync_rw(f, bb, false, 0, buf, len), ==, 0);
    g_assert_cmpint(memcmp(buf, ref, 64 * KiB), ==, 0);
    g_assert_true(is_zero(buf + 64 * KiB, 128 * KiB));
    g_assert_cmpint(memcmp(buf + 192 * KiB, ref + 192 * KiB, 320 * KiB), ==, 0);
    g_assert_true(is_zero(buf + 512 * KiB, 64 * KiB));
    g_assert_cmpint(memcmp(buf + 576 * KiB, ref + 576 * KiB, len - 576 * KiB), ==, 0);
    block_close(bb);
    free(buf);
    free(ref);
}

/* cache=none: unaligned buffers are bounced; unaligned offsets refused. */
static void test_direct_alignment(struct fixture *f, gconstpointer data)
{
    const struct engine *e = data;
    struct block_backend *bb = open_engine(f, e);
    uint8_t *raw, *in, *out;
    size_t len = 8 * KiB;

    if (!bb) {
        g_test_skip("no O_DIRECT here");
        return;
    }
    g_assert_cmpuint(block_request_alignment(bb), >=, 512);
    g_assert_cmpuint(block_memory_alignment(bb), >=, 512);
    raw = aligned_buf(3 * len + 64);
    in = raw + 1; /* deliberately misaligned */
    out = raw + len + 64 + 3;
    fill(in, len, 9);
    memset(out, 0, len);
    g_assert_cmpint(sync_rw(f, bb, true, 16 * KiB, in, len), ==, 0);
    g_assert_cmpint(sync_rw(f, bb, false, 16 * KiB, out, len), ==, 0);
    g_assert_cmpint(memcmp(in, out, len), ==, 0);

    /* Aligned buffer, misaligned offset or length: -EINVAL, file untouched. */
    g_assert_cmpint(sync_rw(f, bb, true, 16 * KiB + 100, raw, 4096), ==, -EINVAL);
    g_assert_cmpint(sync_rw(f, bb, false, 16 * KiB, raw, 100), ==, -EINVAL);
    g_assert_cmpint(sync_rw(f, bb, false, 16 * KiB, out, len), ==, 0);
    g_assert_cmpint(memcmp(in, out, len), ==, 0);
    block_close(bb);
    free(raw);
}

static void test_bad_requests(struct fixture *f, gconstpointer data)
{
    struct block_options o = { .file = f->path };
    struct block_backend *bb;
    uint8_t buf[4096] = { 0 };
    struct waiter w = { 0 };

    (void)data;
    bb = open_opts(f, &o, NULL);
    g_assert_nonnull(bb);
    g_assert_cmpuint(block_length(bb), ==, IMG_SIZE);
    g_assert_cmpint(sync_rw(f, bb, false, IMG_SIZE - 512, buf, 1024), ==, -EINVAL);
    g_assert_cmpint(sync_rw(f, bb, true, IMG_SIZE, buf, 512), ==, -EINVAL);
    g_assert_cmpint(sync_rw(f, bb, false, UINT64_MAX - 10, buf, 512), ==, -EINVAL);
    w.pending = 2;
    block_discard(bb, IMG_SIZE - 512, 1024, done_cb, &w);
    block_write_zeroes(bb, UINT64_MAX, 1, done_cb, &w);
    wait_all(f, &w);
    g_assert_cmpint(w.failures, ==, 2);
    g_assert_cmpint(sync_rw(f, bb, false, IMG_SIZE - 512, buf, 512), ==, 0);
    block_close(bb);

    o.readonly = true;
    bb = open_opts(f, &o, NULL);
    g_assert_nonnull(bb);
    g_assert_true(block_is_readonly(bb));
    g_assert_cmpint(sync_rw(f, bb, true, 0, buf, 512), ==, -EROFS);
    w = (struct waiter){ .pending = 2 };
    block_discard(bb, 0, 512, done_cb, &w);
    block_write_zeroes(bb, 0, 512, done_cb, &w);
    wait_all(f, &w);
    g_assert_cmpint(w.failures, ==, 2);
    g_assert_cmpint(w.last_ret, ==, -EROFS);
    g_assert_cmpint(sync_rw(f, bb, false, 0, buf, 512), ==, 0);
    block_close(bb);
}

static void expect_open_error(struct fixture *f, const char *file, const char *msg)
{
    struct block_options o = { .file = (char *)file };
    g_autoptr(GError) err = NULL;

    g_assert_null(open_opts(f, &o, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, msg))
        g_error("'%s' does not contain '%s'", err->message, msg);
}

static void test_open_errors(struct fixture *f, gconstpointer data)
{
    g_autofree char *missing = g_build_filename(f->dir, "nope.img", NULL);
    g_autofree char *empty = g_build_filename(f->dir, "empty.img", NULL);
    g_autofree char *odd = g_build_filename(f->dir, "odd.img", NULL);

    (void)data;
    expect_open_error(f, missing, "No such file or directory");
    expect_open_error(f, f->dir, "is a directory");
    expect_open_error(f, "", "needs a file name");
    expect_open_error(f, "/dev/null", "not a regular file or block device");
    make_image(empty, 0);
    expect_open_error(f, empty, "is empty");
    make_image(odd, 1000);
    expect_open_error(f, odd, "1000 bytes, which is not a multiple of 512");
    if (geteuid() != 0) {
        g_assert_cmpint(chmod(f->path, 0), ==, 0);
        expect_open_error(f, f->path, "Permission denied");
        g_assert_cmpint(chmod(f->path, 0644), ==, 0);
    }
    g_unlink(empty);
    g_unlink(odd);
}

static struct block_backend *open_lock(struct fixture *f, bool ro, bool inactive, GError **errp)
{
    struct block_options o = { .file = f->path, .readonly = ro, .inactive = inactive };

    return open_opts(f, &o, errp);
}

#define LOCK_MSG "Is another process using the image"

static void expect_lock_error(struct fixture *f, bool ro, const char *msg)
{
    g_autoptr(GError) err = NULL;

    g_assert_null(open_lock(f, ro, false, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, msg) || !strstr(err->message, LOCK_MSG))
        g_error("'%s' does not contain '%s'", err->message, msg);
}

/* OFD locks conflict between open file descriptions, even in one process. */
static void test_locks(struct fixture *f, gconstpointer data)
{
    struct block_backend *a, *b, *c;
    g_autoptr(GError) err = NULL;

    (void)data;
    a = open_lock(f, false, false, NULL);
    g_assert_nonnull(a);
    g_assert_true(block_has_write_lock(a));
    expect_lock_error(f, false, "Failed to get \"write\" lock");
    expect_lock_error(f, true, "Failed to get shared \"write\" lock");
    block_close(a);

    /* Readers share; a writer cannot join them. */
    a = open_lock(f, true, false, NULL);
    b = open_lock(f, true, false, NULL);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_false(block_has_write_lock(a));
    expect_lock_error(f, false, "Failed to get \"write\" lock");
    g_assert_false(block_lock_write(a, &err));
    g_assert_nonnull(strstr(err->message, "read-only"));
    g_clear_error(&err);
    block_close(a);
    block_close(b);

    /* Migration: the destination opens inactive, takes the lock at handover. */
    a = open_lock(f, false, false, NULL);
    b = open_lock(f, false, true, NULL);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_false(block_has_write_lock(b));
    g_assert_false(block_lock_write(b, &err));
    g_assert_nonnull(strstr(err->message, "Failed to get \"write\" lock"));
    g_clear_error(&err);
    block_unlock_write(a);
    g_assert_false(block_has_write_lock(a));
    g_assert_true(block_lock_write(b, &err));
    g_assert_no_error(err);
    g_assert_true(block_has_write_lock(b));
    /* A failed migration: the source cannot take it back while b holds it. */
    g_assert_false(block_lock_write(a, &err));
    g_clear_error(&err);
    block_unlock_write(b);
    g_assert_true(block_lock_write(a, &err));
    g_assert_no_error(err);
    block_close(b);

    /* file.locking=off opens next to a writer. */
    {
        struct block_options o = { .file = f->path, .no_locking = true };

        c = open_opts(f, &o, &err);
        g_assert_no_error(err);
        block_close(c);
    }
    block_close(a);
    /* Closing released everything. */
    a = open_lock(f, false, false, &err);
    g_assert_no_error(err);
    block_close(a);
}

static void test_inject(struct fixture *f, gconstpointer data)
{
    const struct engine *e = data;
    struct block_backend *bb = open_engine(f, e);
    uint8_t *buf = aligned_buf(64 * KiB);
    struct waiter w = { 0 };

    if (!bb) {
        g_test_skip("no O_DIRECT here");
        free(buf);
        return;
    }
    block_inject_error(bb, BLOCK_OP_READ, 64 * KiB, 64 * KiB, EIO);
    g_assert_cmpint(sync_rw(f, bb, false, 0, buf, 64 * KiB), ==, 0);
    g_assert_cmpint(sync_rw(f, bb, false, 96 * KiB, buf, 4 * KiB), ==, -EIO);
    g_assert_cmpint(sync_rw(f, bb, false, 124 * KiB, buf, 8 * KiB), ==, -EIO);
    g_assert_cmpint(sync_rw(f, bb, false, 128 * KiB, buf, 4 * KiB), ==, 0);
    g_assert_cmpint(sync_rw(f, bb, true, 96 * KiB, buf, 4 * KiB), ==, 0);

    block_inject_error(bb, BLOCK_OP_ALL, 0, IMG_SIZE, ENOSPC);
    g_assert_cmpint(sync_rw(f, bb, true, 0, buf, 4 * KiB), ==, -ENOSPC);
    w.pending = 3;
    block_flush(bb, done_cb, &w);
    block_discard(bb, 0, 4096, done_cb, &w);
    block_write_zeroes(bb, 0, 4096, done_cb, &w);
    wait_all(f, &w);
    g_assert_cmpint(w.failures, ==, 3);
    g_assert_cmpint(w.last_ret, ==, -ENOSPC);

    block_inject_error(bb, 0, 0, 0, 0);
    g_assert_cmpint(sync_rw(f, bb, false, 96 * KiB, buf, 4 * KiB), ==, 0);
    block_close(bb);
    free(buf);
}

static void test_bitmap_unit(void)
{
    g_autoptr(GError) err = NULL;
    struct block_dirty_bitmap *b;

    g_assert_null(block_dirty_bitmap_new(1 << 20, 1000, &err));
    g_assert_nonnull(err);
    g_assert_null(block_dirty_bitmap_new(1 << 20, 256, NULL));

    /* 200 chunks of 64K plus a short one: crosses word boundaries. */
    b = block_dirty_bitmap_new(200 * 64 * KiB + 512, 64 * KiB, NULL);
    g_assert_cmpuint(block_dirty_bitmap_size(b), ==, 201);
    g_assert_cmpuint(block_dirty_bitmap_granularity(b), ==, 64 * KiB);
    g_assert_cmpuint(block_dirty_bitmap_count(b), ==, 0);
    g_assert_cmpuint(block_dirty_bitmap_next_dirty(b, 0), ==, 201);
    block_dirty_bitmap_set_range(b, 64 * KiB - 1, 2); /* chunks 0 and 1 */
    block_dirty_bitmap_set_range(b, 127 * 64 * KiB, 1);
    block_dirty_bitmap_set_range(b, 200 * 64 * KiB, 1 << 30); /* clipped: chunk 200 */
    block_dirty_bitmap_set_range(b, 0, 0);
    g_assert_cmpuint(block_dirty_bitmap_count(b), ==, 4);
    g_assert_cmpuint(block_dirty_bitmap_next_dirty(b, 0), ==, 0);
    g_assert_cmpuint(block_dirty_bitmap_next_dirty(b, 2), ==, 127);
    g_assert_cmpuint(block_dirty_bitmap_next_dirty(b, 128), ==, 200);
    g_assert_true(block_dirty_bitmap_test_and_clear(b, 127));
    g_assert_false(block_dirty_bitmap_test_and_clear(b, 127));
    g_assert_false(block_dirty_bitmap_get(b, 127));
    g_assert_false(block_dirty_bitmap_get(b, 5000));
    g_assert_cmpuint(block_dirty_bitmap_count(b), ==, 3);
    block_dirty_bitmap_set_all(b);
    g_assert_cmpuint(block_dirty_bitmap_count(b), ==, 201);
    block_dirty_bitmap_clear_all(b);
    g_assert_cmpuint(block_dirty_bitmap_count(b), ==, 0);
    block_dirty_bitmap_free(b);
}

/* Writes, discards and write-zeroes mark the bitmap; reads do not. */
static void test_dirty_bitmap(struct fixture *f, gconstpointer data)
{
    const struct engine *e = data;
    struct block_backend *bb = open_engine(f, e);
    struct block_dirty_bitmap *b;
    uint8_t *buf = aligned_buf(64 * KiB);
    struct waiter w = { 0 };

    if (!bb) {
        g_test_skip("no O_DIRECT here");
        free(buf);
        return;
    }
    g_assert_null(block_get_dirty_bitmap(bb));
    g_assert_cmpint(sync_rw(f, bb, true, 0, buf, 4096), ==, 0); /* before: not recorded */
    b = block_enable_dirty_bitmap(bb, BLOCK_DIRTY_BITMAP_DEFAULT_GRANULARITY, NULL);
    g_assert_true(block_get_dirty_bitmap(bb) == b);
    g_assert_cmpuint(block_dirty_bitmap_size(b), ==, 4);
    g_assert_cmpint(sync_rw(f, bb, false, 0, buf, 64 * KiB), ==, 0);
    g_assert_cmpuint(block_dirty_bitmap_count(b), ==, 0);

    g_assert_cmpint(sync_rw(f, bb, true, 1024 * KiB - 4 * KiB, buf, 8 * KiB), ==, 0);
    g_assert_true(block_dirty_bitmap_get(b, 0));
    g_assert_true(block_dirty_bitmap_get(b, 1));
    block_dirty_bitmap_clear_all(b);
    w.pending = 2;
    block_discard(bb, 2048 * KiB, 4 * KiB, done_cb, &w);
    block_write_zeroes(bb, 3072 * KiB, 4 * KiB, done_cb, &w);
    wait_all(f, &w);
    g_assert_cmpint(w.failures, ==, 0);
    g_assert_cmpuint(block_dirty_bitmap_count(b), ==, 2);
    g_assert_true(block_dirty_bitmap_get(b, 2));
    g_assert_true(block_dirty_bitmap_get(b, 3));

    /* A refused request (out of range) wrote nothing and marks nothing. */
    block_dirty_bitmap_clear_all(b);
    g_assert_cmpint(sync_rw(f, bb, true, IMG_SIZE, buf, 4096), ==, -EINVAL);
    g_assert_cmpuint(block_dirty_bitmap_count(b), ==, 0);

    g_assert_null(block_enable_dirty_bitmap(bb, 3000, NULL));
    block_disable_dirty_bitmap(bb);
    g_assert_null(block_get_dirty_bitmap(bb));
    g_assert_cmpint(sync_rw(f, bb, true, 0, buf, 4096), ==, 0);
    block_close(bb);
    free(buf);
}

/* Closing with requests in flight runs their completions first.  More
 * requests than Linux AIO's ring (128) exercises its waiting queue. */
#define NDRAIN 300

static void test_close_drains(struct fixture *f, gconstpointer data)
{
    const struct engine *e = data;
    struct block_backend *bb = open_engine(f, e);
    uint8_t *buf = aligned_buf(NDRAIN * 4096);
    struct waiter w = { 0 };

    if (!bb) {
        g_test_skip("no O_DIRECT here");
        free(buf);
        return;
    }
    for (int i = 0; i < NDRAIN; i++) {
        struct iovec v = { buf + i * 4096, 4096 };

        w.pending++;
        block_pwritev(bb, i * 4096, &v, 1, done_cb, &w);
    }
    w.pending++;
    block_flush(bb, done_cb, &w);
    block_close(bb);
    g_assert_cmpint(w.pending, ==, 0);
    g_assert_cmpint(w.failures, ==, 0);
    free(buf);
}

/* A completion that submits the next request (as a device does). */
struct chain {
    struct fixture *f;
    struct block_backend *bb;
    uint8_t *buf;
    int left;
    int ret;
};

static void chain_cb(void *opaque, int ret)
{
    struct chain *c = opaque;
    struct iovec v = { c->buf, 4096 };

    c->ret |= ret;
    if (--c->left > 0)
        block_pwritev(c->bb, c->left * 4096, &v, 1, chain_cb, c);
}

static void test_chain(struct fixture *f, gconstpointer data)
{
    const struct engine *e = data;
    struct chain c = { f, open_engine(f, e), aligned_buf(4096), 50, 0 };
    struct iovec v = { c.buf, 4096 };

    if (!c.bb) {
        g_test_skip("no O_DIRECT here");
        free(c.buf);
        return;
    }
    memset(c.buf, 0x5a, 4096);
    block_pwritev(c.bb, c.left * 4096, &v, 1, chain_cb, &c);
    while (c.left > 0)
        g_main_context_iteration(f->ctx, TRUE);
    g_assert_cmpint(c.ret, ==, 0);
    g_assert_cmpuint(block_in_flight(c.bb), ==, 0);
    block_close(c.bb);
    free(c.buf);
}

static void test_options(void)
{
    g_autoptr(GHashTable) kv = NULL;
    g_autoptr(GError) err = NULL;
    struct block_options o;

    kv = keyval_parse("file=disk.img,if=virtio,cache=none,aio=native,readonly=on,file.locking=off",
                      NULL, &err);
    g_assert_no_error(err);
    g_assert_true(block_options_take(kv, &o, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(o.file, ==, "disk.img");
    g_assert_cmpint(o.cache, ==, BLOCK_CACHE_NONE);
    g_assert_cmpint(o.aio, ==, BLOCK_AIO_NATIVE);
    g_assert_true(o.readonly);
    g_assert_true(o.no_locking);
    g_assert_cmpuint(g_hash_table_size(kv), ==, 1); /* if= is not ours */
    block_options_clear(&o);
    g_hash_table_unref(kv);

    kv = keyval_parse("file=x,cache=unsafe", NULL, NULL);
    g_assert_false(block_options_take(kv, &o, &err));
    g_assert_nonnull(strstr(err->message, "cache"));
    g_clear_error(&err);
    g_hash_table_unref(kv);
    kv = keyval_parse("cache=none", NULL, NULL);
    g_assert_false(block_options_take(kv, &o, &err));
    g_assert_nonnull(strstr(err->message, "file="));
}

static void add(const char *name, const struct engine *e,
                void (*fn)(struct fixture *, gconstpointer))
{
    g_autofree char *path =
        e ? g_strdup_printf("/block/%s/%s", name, e->name) : g_strdup_printf("/block/%s", name);

    g_test_add(path, struct fixture, e, fixture_setup, fn, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(engines); i++) {
        add("concurrent", &engines[i], test_concurrent);
        add("discard-zeroes", &engines[i], test_discard_zeroes);
        add("inject", &engines[i], test_inject);
        add("dirty-bitmap", &engines[i], test_dirty_bitmap);
        add("close-drains", &engines[i], test_close_drains);
        add("chain", &engines[i], test_chain);
        if (engines[i].cache == BLOCK_CACHE_NONE)
            add("direct-alignment", &engines[i], test_direct_alignment);
    }
    add("bad-requests", NULL, test_bad_requests);
    add("open-errors", NULL, test_open_errors);
    add("locks", NULL, test_locks);
    g_test_add_func("/block/bitmap-unit", test_bitmap_unit);
    g_test_add_func("/block/options", test_options);
    return g_test_run();
}
