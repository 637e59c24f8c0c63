/* The "block" section; wire format, threads and locks in block.h. */
#include "migration/block.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "block/dirty-bitmap.h"
#include "util/error.h"

enum block_mig_op { BLOCK_MIG_READ, BLOCK_MIG_WRITE, BLOCK_MIG_ZERO, BLOCK_MIG_FLUSH };

static struct block_mig_disk *block_mig_disk(const struct block_mig *bm, unsigned i)
{
    return g_ptr_array_index(bm->disks, i);
}

static uint64_t block_mig_chunk_offset(uint64_t chunk)
{
    return chunk * BLOCK_MIG_CHUNK_SIZE;
}

void block_mig_init(struct block_mig *bm, GMutex *vm_lock)
{
    memset(bm, 0, sizeof(*bm));
    bm->vm_lock = vm_lock;
    bm->disks = g_ptr_array_new_with_free_func(g_free);
    g_mutex_init(&bm->lock);
    g_cond_init(&bm->cond);
    bm->last_progress = -1;
    bm->load_progress = -1;
    for (unsigned i = 0; i < BLOCK_MIG_IN_FLIGHT; i++)
        bm->req[i].bm = bm;
}

static void block_mig_free_buffers(struct block_mig *bm)
{
    for (unsigned i = 0; i < BLOCK_MIG_IN_FLIGHT; i++)
        g_clear_pointer(&bm->req[i].buf, free);
}

void block_mig_destroy(struct block_mig *bm)
{
    block_mig_free_buffers(bm);
    g_ptr_array_unref(bm->disks);
    g_mutex_clear(&bm->lock);
    g_cond_clear(&bm->cond);
    memset(bm, 0, sizeof(*bm));
}

bool block_mig_add_disk(struct block_mig *bm, const char *name, struct block_backend *bb,
                        GError **errp)
{
    struct block_mig_disk *d;

    if (!*name || strlen(name) > 255) {
        error_setg(errp, "block migration: drive name '%s' must be 1 to 255 bytes", name);
        return false;
    }
    if (block_is_readonly(bb)) {
        error_setg(errp, "block migration: drive '%s' is read-only (only writable disks are "
                         "copied)", name);
        return false;
    }
    for (unsigned i = 0; i < bm->disks->len; i++) {
        if (!strcmp(block_mig_disk(bm, i)->name, name)) {
            error_setg(errp, "block migration: drive '%s' added twice", name);
            return false;
        }
    }
    d = g_new0(struct block_mig_disk, 1);
    g_strlcpy(d->name, name, sizeof(d->name));
    d->bb = bb;
    d->length = block_length(bb);
    d->nchunks = (d->length + BLOCK_MIG_CHUNK_SIZE - 1) / BLOCK_MIG_CHUNK_SIZE;
    g_ptr_array_add(bm->disks, d);
    return true;
}

unsigned block_mig_disk_count(const struct block_mig *bm)
{
    return bm->disks->len;
}

static uint64_t block_mig_total(const struct block_mig *bm)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < bm->disks->len; i++)
        total += block_mig_disk(bm, i)->length;
    return total;
}

void block_mig_set_enabled(struct block_mig *bm, bool on)
{
    bm->enabled = on;
    memset(&bm->counters, 0, sizeof(bm->counters));
    bm->counters.total = bm->counters.remaining = block_mig_total(bm);
    bm->stats = bm->counters;
}

void block_mig_publish(struct block_mig *bm)
{
    bm->stats = bm->counters;
}

/* ---- requests ---- */

static void block_mig_vm_lock(struct block_mig *bm)
{
    if (bm->vm_lock)
        g_mutex_lock(bm->vm_lock);
}

static void block_mig_vm_unlock(struct block_mig *bm)
{
    if (bm->vm_lock)
        g_mutex_unlock(bm->vm_lock);
}

static bool block_mig_alloc_buffers(struct block_mig *bm, GError **errp)
{
    for (unsigned i = 0; i < BLOCK_MIG_IN_FLIGHT; i++) {
        void *p = NULL;

        if (bm->req[i].buf)
            continue;
        if (posix_memalign(&p, 4096, BLOCK_MIG_CHUNK_SIZE)) {
            error_setg(errp, "block migration: out of memory for its buffers");
            return false;
        }
        bm->req[i].buf = p;
    }
    return true;
}

/* Main loop (or a waiter's block_drain), VM lock held. */
static void block_mig_req_done(void *opaque, int ret)
{
    struct block_mig_req *r = opaque;
    struct block_mig *bm = r->bm;

    g_mutex_lock(&bm->lock);
    r->ret = ret;
    r->busy = false;
    g_cond_broadcast(&bm->cond);
    g_mutex_unlock(&bm->lock);
}

/* Submit @op for @r (disk, chunk and len set) under the VM lock. */
static void block_mig_submit(struct block_mig *bm, struct block_mig_req *r, enum block_mig_op op)
{
    struct iovec iov = { r->buf, r->len };
    uint64_t off = block_mig_chunk_offset(r->chunk);
    struct block_backend *bb = r->disk->bb;

    g_mutex_lock(&bm->lock);
    r->busy = true;
    r->ret = 0;
    g_mutex_unlock(&bm->lock);
    block_mig_vm_lock(bm);
    switch (op) {
    case BLOCK_MIG_READ: block_preadv(bb, off, &iov, 1, block_mig_req_done, r); break;
    case BLOCK_MIG_WRITE: block_pwritev(bb, off, &iov, 1, block_mig_req_done, r); break;
    case BLOCK_MIG_ZERO: block_write_zeroes(bb, off, r->len, block_mig_req_done, r); break;
    case BLOCK_MIG_FLUSH: block_flush(bb, block_mig_req_done, r); break;
    }
    block_mig_vm_unlock(bm);
}

/* Wait for @r's completion without the VM lock; see block.h for the
 * drain when the main loop does not dispatch. */
static int block_mig_wait(struct block_mig *bm, struct block_mig_req *r)
{
    gint64 deadline = g_get_monotonic_time() + BLOCK_MIG_DRAIN_MS * G_TIME_SPAN_MILLISECOND;
    int ret;

    g_mutex_lock(&bm->lock);
    while (r->busy) {
        if (g_cond_wait_until(&bm->cond, &bm->lock, deadline) || !r->busy)
            continue;
        g_mutex_unlock(&bm->lock);
        block_mig_vm_lock(bm);
        block_drain(r->disk->bb);
        block_mig_vm_unlock(bm);
        g_mutex_lock(&bm->lock);
        deadline = g_get_monotonic_time() + BLOCK_MIG_DRAIN_MS * G_TIME_SPAN_MILLISECOND;
    }
    ret = r->ret;
    g_mutex_unlock(&bm->lock);
    return ret;
}

/* The next free request slot (the caller checked count < IN_FLIGHT). */
static struct block_mig_req *block_mig_push(struct block_mig *bm)
{
    return &bm->req[(bm->head + bm->count++) % BLOCK_MIG_IN_FLIGHT];
}

/* The oldest request in flight, once it completed. */
static struct block_mig_req *block_mig_pop(struct block_mig *bm)
{
    struct block_mig_req *r = &bm->req[bm->head];

    block_mig_wait(bm, r);
    bm->head = (bm->head + 1) % BLOCK_MIG_IN_FLIGHT;
    bm->count--;
    return r;
}

/* After an error: wait for everything in flight, drop the results. */
static void block_mig_wait_all(struct block_mig *bm)
{
    while (bm->count)
        block_mig_pop(bm);
}

/* ---- sender ---- */

static uint64_t block_mig_disk_pending(const struct block_mig_disk *d)
{
    uint64_t n;

    if (!d->dirty)
        return 0;
    n = block_dirty_bitmap_count(d->dirty) * BLOCK_MIG_CHUNK_SIZE;
    if (n && block_dirty_bitmap_get(d->dirty, d->nchunks - 1))
        n -= d->nchunks * BLOCK_MIG_CHUNK_SIZE - d->length; /* the short last chunk */
    return n;
}

uint64_t block_mig_pending_bytes(const struct block_mig *bm)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < bm->disks->len; i++)
        n += block_mig_disk_pending(block_mig_disk(bm, i));
    return n;
}

bool block_mig_first_pass_done(const struct block_mig *bm)
{
    return bm->bulk_done;
}

/* Take the next marked chunk at or after the cursor, clearing its mark
 * before it is read; false when the cursor passed the last disk's end (it
 * wraps; the first wrap ends the bulk pass). */
static bool block_mig_next_dirty(struct block_mig *bm, struct block_mig_disk **dp,
                                 uint64_t *chunk)
{
    while (bm->cur_disk < bm->disks->len) {
        struct block_mig_disk *d = block_mig_disk(bm, bm->cur_disk);
        uint64_t c = block_dirty_bitmap_next_dirty(d->dirty, bm->cur_chunk);

        if (c < d->nchunks) {
            block_dirty_bitmap_test_and_clear(d->dirty, c);
            bm->cur_chunk = c + 1;
            *dp = d;
            *chunk = c;
            return true;
        }
        bm->cur_disk++;
        bm->cur_chunk = 0;
    }
    bm->cur_disk = 0;
    bm->cur_chunk = 0;
    bm->bulk_done = true;
    return false;
}

static bool block_mig_is_zero(const uint8_t *p, size_t len)
{
    const uint64_t *w = (const uint64_t *)p;

    for (size_t i = 0; i < len / 8; i += 4) {
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
            return false;
    }
    return true;
}

static void block_mig_read_chunk(struct block_mig *bm, struct block_mig_disk *d, uint64_t chunk)
{
    struct block_mig_req *r = block_mig_push(bm);

    r->disk = d;
    r->chunk = chunk;
    r->len = MIN(BLOCK_MIG_CHUNK_SIZE, d->length - block_mig_chunk_offset(chunk));
    /* The wire always carries a whole chunk: zeroes past the disk's end. */
    memset(r->buf + r->len, 0, BLOCK_MIG_CHUNK_SIZE - r->len);
    block_mig_submit(bm, r, BLOCK_MIG_READ);
}

/* The record of a completed read, or the error naming disk and offset. */
static bool block_mig_put_chunk(struct block_mig *bm, QEMUFile *f, const struct block_mig_req *r,
                                GError **errp)
{
    uint64_t off = block_mig_chunk_offset(r->chunk);
    bool zero;

    if (r->ret < 0) {
        error_setg(errp, "block migration: reading disk '%s' at offset %" PRIu64
                         " (sector %" PRIu64 ") failed: %s",
                   r->disk->name, off, off >> BLOCK_MIG_SECTOR_BITS, g_strerror(-r->ret));
        return false;
    }
    zero = block_mig_is_zero(r->buf, BLOCK_MIG_CHUNK_SIZE);
    qemu_file_put_be64(f, off | BLOCK_MIG_FLAG_DEVICE_BLOCK |
                              (zero ? BLOCK_MIG_FLAG_ZERO_BLOCK : 0));
    qemu_file_put_str8(f, r->disk->name);
    if (!zero)
        qemu_file_put_buffer(f, r->buf, BLOCK_MIG_CHUNK_SIZE);
    bm->counters.transferred += r->len;
    return true;
}

/* The most a chunk's record takes: be64, str8 name, the data. */
#define BLOCK_MIG_RECORD_MAX (8 + 256 + BLOCK_MIG_CHUNK_SIZE)

/* Room in the rate-limit window for one more read, beyond those in
 * flight (each may become a whole chunk's record). */
static bool block_mig_window_room(const struct block_mig *bm, QEMUFile *f)
{
    uint64_t left = qemu_file_window_left(f);

    /* A window smaller than a chunk still takes one at a time. */
    return left > 0 && (!bm->count || left > (uint64_t)bm->count * BLOCK_MIG_RECORD_MAX);
}

/* Send marked chunks until the cursor wraps or, with @limited, the rate
 * limit closes the window.  False on a read error; nothing is in flight
 * when it returns. */
static bool block_mig_send(struct block_mig *bm, QEMUFile *f, bool limited, GError **errp)
{
    bool ok = true, more = true;

    for (;;) {
        struct block_mig_disk *d;
        uint64_t chunk;

        while (ok && more && bm->count < BLOCK_MIG_IN_FLIGHT && !qemu_file_get_error(f) &&
               (!limited || block_mig_window_room(bm, f))) {
            more = block_mig_next_dirty(bm, &d, &chunk);
            if (more)
                block_mig_read_chunk(bm, d, chunk);
        }
        if (!bm->count)
            return ok;
        /* After a failure the rest is only waited for. */
        struct block_mig_req *r = block_mig_pop(bm);
        if (ok)
            ok = block_mig_put_chunk(bm, f, r, errp);
    }
}

static int block_mig_progress(const struct block_mig *bm)
{
    uint64_t total = 0, done = 0;

    if (bm->bulk_done)
        return 100;
    for (unsigned i = 0; i < bm->disks->len; i++) {
        const struct block_mig_disk *d = block_mig_disk(bm, i);

        total += d->nchunks;
        done += i < bm->cur_disk ? d->nchunks : i == bm->cur_disk ? bm->cur_chunk : 0;
    }
    return total ? (int)(done * 100 / total) : 100;
}

static void block_mig_put_progress(QEMUFile *f, int percent)
{
    qemu_file_put_be64(f, (uint64_t)percent << BLOCK_MIG_SECTOR_BITS | BLOCK_MIG_FLAG_PROGRESS);
}

static bool block_mig_is_active(void *opaque)
{
    struct block_mig *bm = opaque;

    return bm->enabled && bm->disks->len;
}

/* Migration thread, VM lock held. */
static bool block_mig_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    struct block_mig *bm = opaque;

    if (!block_mig_alloc_buffers(bm, errp))
        return false;
    for (unsigned i = 0; i < bm->disks->len; i++) {
        struct block_mig_disk *d = block_mig_disk(bm, i);

        d->dirty = block_enable_dirty_bitmap(d->bb, BLOCK_MIG_CHUNK_SIZE, errp);
        if (!d->dirty) {
            g_prefix_error(errp, "block migration: disk '%s': ", d->name);
            return false;
        }
        block_dirty_bitmap_set_all(d->dirty);
    }
    bm->cur_disk = 0;
    bm->cur_chunk = 0;
    bm->bulk_done = false;
    bm->last_progress = -1;
    memset(&bm->counters, 0, sizeof(bm->counters));
    bm->counters.total = bm->counters.remaining = block_mig_total(bm);
    block_mig_publish(bm);
    qemu_file_put_be64(f, BLOCK_MIG_FLAG_EOS);
    return true;
}

static int block_mig_save_iterate(QEMUFile *f, void *opaque, GError **errp)
{
    struct block_mig *bm = opaque;
    int progress;

    if (!block_mig_send(bm, f, true, errp))
        return -1;
    progress = block_mig_progress(bm);
    if (progress != bm->last_progress)
        block_mig_put_progress(f, progress);
    bm->last_progress = progress;
    qemu_file_put_be64(f, BLOCK_MIG_FLAG_EOS);
    if (!qemu_file_take_error(f, errp))
        return -1;
    bm->counters.remaining = block_mig_pending_bytes(bm);
    return bm->bulk_done && bm->counters.remaining == 0;
}

static uint64_t block_mig_state_pending(void *opaque, uint64_t threshold)
{
    struct block_mig *bm = opaque;

    (void)threshold;
    bm->counters.remaining = block_mig_pending_bytes(bm);
    return bm->counters.remaining;
}

static bool block_mig_op_first_pass_done(void *opaque)
{
    return block_mig_first_pass_done(opaque);
}

/* Guest stopped, its requests drained: whatever is marked, wherever the
 * cursor is (a round to the end, then the wrap covers the rest). */
static bool block_mig_save_complete(QEMUFile *f, void *opaque, GError **errp)
{
    struct block_mig *bm = opaque;

    while (block_mig_pending_bytes(bm) && !qemu_file_get_error(f)) {
        if (!block_mig_send(bm, f, false, errp))
            return false;
    }
    block_mig_put_progress(f, 100);
    qemu_file_put_be64(f, BLOCK_MIG_FLAG_EOS);
    if (!qemu_file_take_error(f, errp))
        return false;
    bm->counters.remaining = 0;
    return true;
}

/* Migration thread, VM lock held, whatever the outcome. */
static void block_mig_save_cleanup(void *opaque)
{
    struct block_mig *bm = opaque;

    for (unsigned i = 0; i < bm->disks->len; i++) {
        struct block_mig_disk *d = block_mig_disk(bm, i);

        if (d->dirty)
            block_disable_dirty_bitmap(d->bb);
        d->dirty = NULL;
    }
    bm->cur_disk = 0;
    bm->cur_chunk = 0;
    bm->bulk_done = false;
    bm->last_progress = -1;
    block_mig_free_buffers(bm);
}

/* ---- receiver ---- */

static struct block_mig_disk *block_mig_find(struct block_mig *bm, const char *name)
{
    for (unsigned i = 0; i < bm->disks->len; i++) {
        if (!strcmp(block_mig_disk(bm, i)->name, name))
            return block_mig_disk(bm, i);
    }
    return NULL;
}

static void block_mig_unknown_disk(struct block_mig *bm, const char *name, GError **errp)
{
    g_autoptr(GString) have = g_string_new(NULL);

    for (unsigned i = 0; i < bm->disks->len; i++)
        g_string_append_printf(have, "%s'%s'", i ? ", " : "", block_mig_disk(bm, i)->name);
    error_setg(errp, "block: chunk for unknown drive '%s' (this VM's writable drives: %s)", name,
               have->len ? have->str : "none");
}

/* A finished write: its error names the disk and offset. */
static bool block_mig_check_write(const struct block_mig_req *r, GError **errp)
{
    uint64_t off = block_mig_chunk_offset(r->chunk);

    if (r->ret >= 0)
        return true;
    error_setg(errp, "block: writing drive '%s' at offset %" PRIu64 " failed: %s", r->disk->name,
               off, g_strerror(-r->ret));
    return false;
}

/* Wait for every write in flight; false with the first one's error. */
static bool block_mig_finish_writes(struct block_mig *bm, GError **errp)
{
    bool ok = true;

    while (bm->count) {
        const struct block_mig_req *r = block_mig_pop(bm);

        if (ok)
            ok = block_mig_check_write(r, errp);
    }
    return ok;
}

/* A free request slot for a write of @chunk of @d.  Writes in flight may
 * complete in any order, so a chunk sent again (a later pass) must wait
 * for its previous write, or the older data could land last. */
static struct block_mig_req *block_mig_free_slot(struct block_mig *bm,
                                                 const struct block_mig_disk *d, uint64_t chunk,
                                                 GError **errp)
{
    for (unsigned i = 0; i < bm->count; i++) {
        const struct block_mig_req *r = &bm->req[(bm->head + i) % BLOCK_MIG_IN_FLIGHT];

        if (r->disk == d && r->chunk == chunk)
            return block_mig_finish_writes(bm, errp) ? block_mig_push(bm) : NULL;
    }
    if (bm->count == BLOCK_MIG_IN_FLIGHT && !block_mig_check_write(block_mig_pop(bm), errp))
        return NULL;
    return block_mig_push(bm);
}

/* The chunk's position: aligned, starting inside this VM's image. */
static bool block_mig_check_chunk(const struct block_mig_disk *d, uint64_t sector, GError **errp)
{
    if (sector % BLOCK_MIG_CHUNK_SECTORS) {
        error_setg(errp, "block: drive '%s': sector %" PRIu64 " is not a multiple of the %u-"
                         "sector chunk",
                   d->name, sector, BLOCK_MIG_CHUNK_SECTORS);
        return false;
    }
    if ((sector << BLOCK_MIG_SECTOR_BITS) >= d->length) { /* sector < 2^55: no overflow */
        error_setg(errp, "block: drive '%s': chunk at sector %" PRIu64 " is past the end of this "
                         "image (%" PRIu64 " bytes)",
                   d->name, sector, d->length);
        return false;
    }
    return true;
}

/* One DEVICE_BLOCK record after its be64. */
static bool block_mig_load_chunk(struct block_mig *bm, QEMUFile *f, uint64_t sector, bool zero,
                                 GError **errp)
{
    struct block_mig_disk *d;
    struct block_mig_req *r;
    char name[256];

    if (!qemu_file_get_str8(f, name))
        return qemu_file_take_error(f, errp);
    d = block_mig_find(bm, name);
    if (!d) {
        block_mig_unknown_disk(bm, name, errp);
        return false;
    }
    if (!block_mig_check_chunk(d, sector, errp))
        return false;
    r = block_mig_free_slot(bm, d, sector / BLOCK_MIG_CHUNK_SECTORS, errp);
    if (!r)
        return false;
    r->disk = d;
    r->chunk = sector / BLOCK_MIG_CHUNK_SECTORS;
    r->len = MIN(BLOCK_MIG_CHUNK_SIZE, d->length - block_mig_chunk_offset(r->chunk));
    if (!zero && !qemu_file_get_buffer(f, r->buf, BLOCK_MIG_CHUNK_SIZE)) {
        bm->count--; /* never submitted */
        return qemu_file_take_error(f, errp);
    }
    if (!zero && !block_mig_is_zero(r->buf + r->len, BLOCK_MIG_CHUNK_SIZE - r->len)) {
        bm->count--;
        error_setg(errp, "block: drive '%s': the chunk at sector %" PRIu64 " has data past the "
                         "end of this image (%" PRIu64 " bytes): the source's disk is larger",
                   d->name, sector, d->length);
        return false;
    }
    d->written = true;
    block_mig_submit(bm, r, zero ? BLOCK_MIG_ZERO : BLOCK_MIG_WRITE);
    return true;
}

/* Incoming loader thread, VM lock not held. */
static bool block_mig_load_state(QEMUFile *f, void *opaque, int version_id, GError **errp)
{
    struct block_mig *bm = opaque;

    (void)version_id;
    for (;;) {
        uint64_t x = qemu_file_get_be64(f);
        uint64_t flags = x & BLOCK_MIG_FLAGS_MASK, sector = x >> BLOCK_MIG_SECTOR_BITS;

        if (!qemu_file_take_error(f, errp))
            return false;
        switch (flags) {
        case BLOCK_MIG_FLAG_EOS:
            if (sector)
                break;
            return true;
        case BLOCK_MIG_FLAG_PROGRESS:
            if (sector > 100)
                break;
            bm->load_progress = (int)sector;
            continue;
        case BLOCK_MIG_FLAG_DEVICE_BLOCK:
        case BLOCK_MIG_FLAG_DEVICE_BLOCK | BLOCK_MIG_FLAG_ZERO_BLOCK:
            if (!block_mig_load_chunk(bm, f, sector, flags & BLOCK_MIG_FLAG_ZERO_BLOCK, errp))
                return false;
            continue;
        }
        error_setg(errp, "block: invalid record 0x%016" PRIx64 " (flags 0x%03" PRIx64 ")", x,
                   flags);
        return false;
    }
}

static bool block_mig_load_setup(void *opaque, GError **errp)
{
    struct block_mig *bm = opaque;

    bm->load_progress = -1;
    for (unsigned i = 0; i < bm->disks->len; i++)
        block_mig_disk(bm, i)->written = false;
    return block_mig_alloc_buffers(bm, errp);
}

/* EOF: every write done, then every disk written flushed. */
static bool block_mig_load_complete(void *opaque, GError **errp)
{
    struct block_mig *bm = opaque;
    bool ok = block_mig_finish_writes(bm, errp);

    for (unsigned i = 0; ok && i < bm->disks->len; i++) {
        struct block_mig_disk *d = block_mig_disk(bm, i);
        struct block_mig_req *r;

        if (!d->written)
            continue;
        r = block_mig_push(bm);
        r->disk = d;
        r->chunk = 0;
        r->len = 0;
        block_mig_submit(bm, r, BLOCK_MIG_FLUSH);
        block_mig_pop(bm);
        if (r->ret < 0) {
            error_setg(errp, "block: flushing drive '%s' failed: %s", d->name,
                       g_strerror(-r->ret));
            ok = false;
        }
    }
    return ok;
}

static void block_mig_load_cleanup(void *opaque)
{
    struct block_mig *bm = opaque;

    block_mig_wait_all(bm);
    block_mig_free_buffers(bm);
}

static const struct savevm_live_ops block_mig_ops = {
    .save_setup = block_mig_save_setup,
    .save_live_iterate = block_mig_save_iterate,
    .state_pending = block_mig_state_pending,
    .first_pass_done = block_mig_op_first_pass_done,
    .save_live_complete = block_mig_save_complete,
    .save_cleanup = block_mig_save_cleanup,
    .load_setup = block_mig_load_setup,
    .load_state = block_mig_load_state,
    .load_complete = block_mig_load_complete,
    .load_cleanup = block_mig_load_cleanup,
    .is_active = block_mig_is_active,
    .optional = true,
};

bool block_mig_register(struct block_mig *bm, struct savevm *sv, GError **errp)
{
    return savevm_register_live(sv, "block", 0, BLOCK_MIG_SECTION_VERSION,
                                BLOCK_MIG_SECTION_VERSION, &block_mig_ops, bm, errp);
}
