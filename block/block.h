/*
 * The block layer: a disk image opened for a device (virtio-blk) or for block
 * migration, with asynchronous vectored I/O.
 *
 *   bb = block_open(ctx, &opts, &err);          // file=, readonly, cache=, aio=
 *   block_preadv(bb, offset, iov, iovcnt, done, opaque);
 *   ... later, on the thread running @ctx:  done(opaque, 0 or -errno)
 *   block_close(bb);                            // drains first
 *
 * Threads.  Every function here is called on the thread that dispatches @ctx
 * (the main loop) or with the VM lock held (which excludes that thread's
 * dispatch: system/main-loop.h).  Completion callbacks always run from @ctx's
 * dispatch -- so on the main thread with the VM lock held -- or from
 * block_drain()/block_close() on the caller's thread; never from inside the
 * submitting call, so a caller can submit while holding its own state
 * half-updated.  Any number of requests may be in flight; they complete in
 * any order.  The caller's iovec array is copied; the buffers it points to
 * must stay valid until the completion.
 *
 * Errors.  Every failure of a request arrives as -errno in its completion,
 * never as an abort:  -EINVAL  range beyond the image, more than IOV_MAX
 *                              segments, or (cache=none) an offset/length not
 *                              a multiple of block_request_alignment();
 *                     -EROFS   a write-type request on a read-only image;
 *                     -ENOSPC  a short write;  anything the kernel returns.
 * A short read (the file shrank under us) reads zeroes, as in QEMU.
 *
 * Engines.  aio=native submits reads and writes with Linux AIO (libaio);
 * completions are signalled through an eventfd watched by @ctx.  Linux AIO is
 * only asynchronous with O_DIRECT, so aio=auto (the default) means native for
 * cache=none and threads for cache=writeback.  Flush (fdatasync), discard
 * (fallocate PUNCH_HOLE) and write-zeroes (fallocate ZERO_RANGE, falling back
 * to PUNCH_HOLE, then to writing zeroes) always go to a GThreadPool, which
 * also does reads and writes for aio=threads or when Tern was built without
 * libaio.  Their completions come back through the same eventfd.
 *
 * cache=none opens with O_DIRECT.  Offsets and lengths must be multiples of
 * block_request_alignment() (probed at open; 512 or 4096); a buffer that is
 * not aligned to block_memory_alignment() is bounced through an aligned copy.
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct block_backend;
struct block_dirty_bitmap;

enum block_cache {
    BLOCK_CACHE_WRITEBACK, /* page cache; flush = fdatasync */
    BLOCK_CACHE_NONE,      /* O_DIRECT; flush = fdatasync (metadata, disk cache) */
};

enum block_aio {
    BLOCK_AIO_AUTO,    /* native with cache=none (if built with libaio), else threads */
    BLOCK_AIO_THREADS, /* everything in the thread pool */
    BLOCK_AIO_NATIVE,  /* Linux AIO for reads and writes; error if unavailable */
};

/* Zero-initialised = writable, cache=writeback, aio=auto, locking on. */
struct block_options {
    char *file; /* owned; block_options_clear() frees it */
    bool readonly;
    enum block_cache cache;
    enum block_aio aio;
    bool no_locking; /* QEMU's file.locking=off */
    /* Open writable but take no lock yet: a migration destination, which
     * calls block_lock_write() when it starts the guest. */
    bool inactive;
};

/*
 * Take this layer's keys from a parsed -drive string (util/keyval.h):
 * file=PATH (required), readonly=on|off, cache=none|writeback|directsync,
 * aio=native|threads, file.locking=on|off.  Leaves the other keys.
 */
bool block_options_take(GHashTable *kv, struct block_options *o, GError **errp);
void block_options_clear(struct block_options *o);

/* ret: 0 or -errno.  See "Threads" above for where it runs. */
typedef void block_complete_fn(void *opaque, int ret);

struct block_backend *block_open(GMainContext *ctx, const struct block_options *o, GError **errp);
/* Drain (running the pending completions), release the locks, close.  NULL ok. */
void block_close(struct block_backend *bb);

uint64_t block_length(const struct block_backend *bb);
const char *block_filename(const struct block_backend *bb);
bool block_is_readonly(const struct block_backend *bb);
/* 1 without cache=none; else the O_DIRECT offset/length alignment. */
uint64_t block_request_alignment(const struct block_backend *bb);
/* 1 without cache=none; else the O_DIRECT buffer alignment. */
uint64_t block_memory_alignment(const struct block_backend *bb);
bool block_uses_linux_aio(const struct block_backend *bb);

void block_preadv(struct block_backend *bb, uint64_t offset, const struct iovec *iov, int iovcnt,
                  block_complete_fn *cb, void *opaque);
void block_pwritev(struct block_backend *bb, uint64_t offset, const struct iovec *iov, int iovcnt,
                   block_complete_fn *cb, void *opaque);
/* Make every write that completed before this call durable. */
void block_flush(struct block_backend *bb, block_complete_fn *cb, void *opaque);
/* Deallocate; the range reads back as zeroes afterwards (raw files). */
void block_discard(struct block_backend *bb, uint64_t offset, uint64_t bytes,
                   block_complete_fn *cb, void *opaque);
void block_write_zeroes(struct block_backend *bb, uint64_t offset, uint64_t bytes,
                        block_complete_fn *cb, void *opaque);

/* Wait for every request in flight and run its completion, on this thread. */
void block_drain(struct block_backend *bb);
unsigned block_in_flight(const struct block_backend *bb);

/*
 * The write lock (block/file-lock.h).  A writable image holds it from
 * block_open() unless opened .inactive.  Migration: the source flushes and
 * calls block_unlock_write() before it hands the guest over (and
 * block_lock_write() again if the migration fails); the destination calls
 * block_lock_write() just before it starts the guest.  Requests are not
 * checked against the lock: writes while unlocked (block migration filling
 * the destination's image) are the caller's decision.
 */
bool block_lock_write(struct block_backend *bb, GError **errp);
void block_unlock_write(struct block_backend *bb);
bool block_has_write_lock(const struct block_backend *bb);

/*
 * Block migration: while enabled, every write, discard and write-zeroes
 * marks its range when it completes (successfully or not).  One bitmap per
 * backend; enabling again replaces it.  The bitmap belongs to the backend;
 * the pointer is valid until disable or close.
 */
struct block_dirty_bitmap *block_enable_dirty_bitmap(struct block_backend *bb,
                                                     uint64_t granularity, GError **errp);
void block_disable_dirty_bitmap(struct block_backend *bb);
struct block_dirty_bitmap *block_get_dirty_bitmap(const struct block_backend *bb);

/* Tests: requests of a type in @ops overlapping [offset, offset + bytes)
 * fail with -@err without touching the file (a flush fails whenever
 * BLOCK_OP_FLUSH is in @ops).  @err == 0 removes the rule. */
enum {
    BLOCK_OP_READ = 0x1,
    BLOCK_OP_WRITE = 0x2,
    BLOCK_OP_FLUSH = 0x4,
    BLOCK_OP_DISCARD = 0x8,
    BLOCK_OP_WRITE_ZEROES = 0x10,
    BLOCK_OP_ALL = 0x1f,
};
void block_inject_error(struct block_backend *bb, unsigned ops, uint64_t offset, uint64_t bytes,
                        int err);

#endif
