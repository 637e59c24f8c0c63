#include "migration/ram.h"

#include <string.h>
#include <sys/mman.h>

#include "util/error.h"
#include "util/size.h"

#define BITS_PER_LONG (8 * sizeof(unsigned long))
#define PAGE_MASK (~(uint64_t)(RAM_PAGE_SIZE - 1))

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* KVM's dirty log is in 64-bit words; the marks are unsigned longs. */
G_STATIC_ASSERT(sizeof(unsigned long) == sizeof(uint64_t));

static uint64_t ram_block_pages(const struct ram_block *b)
{
    return b->length / RAM_PAGE_SIZE;
}

static size_t ram_bitmap_words(const struct ram_block *b)
{
    return (ram_block_pages(b) + BITS_PER_LONG - 1) / BITS_PER_LONG;
}

void ram_state_init(struct ram_state *rs, ram_sync_fn sync, void *sync_opaque)
{
    memset(rs, 0, sizeof(*rs));
    rs->sync = sync;
    rs->sync_opaque = sync_opaque;
    rs->prefault_min = RAM_PREFAULT_MIN_DEFAULT;
    g_mutex_init(&rs->dirty_lock);
}

void ram_state_set_sync_stop(struct ram_state *rs, ram_sync_stop_fn stop)
{
    rs->sync_stop = stop;
}

void ram_state_destroy(struct ram_state *rs)
{
    for (unsigned i = 0; i < rs->nblocks; i++) {
        g_free(rs->blocks[i].dirty);
        g_free(rs->blocks[i].known_zero);
    }
    g_mutex_clear(&rs->dirty_lock);
}

bool ram_add_block(struct ram_state *rs, const char *idstr, void *host, uint64_t length,
                   GError **errp)
{
    struct ram_block *b;

    if (rs->nblocks == RAM_MAX_BLOCKS || strlen(idstr) > 255 || length % RAM_PAGE_SIZE) {
        error_setg(errp, "RAM block '%s': too many blocks, name too long or length not "
                         "page-aligned", idstr);
        return false;
    }
    b = &rs->blocks[rs->nblocks++];
    g_strlcpy(b->idstr, idstr, sizeof(b->idstr));
    b->host = host;
    b->length = length;
    b->dirty = g_new0(unsigned long, ram_bitmap_words(b));
    b->fd = -1;
    rs->total += length;
    return true;
}

static bool ram_test_and_clear(struct ram_block *b, uint64_t page)
{
    unsigned long mask = 1ul << (page % BITS_PER_LONG);
    unsigned long *w = &b->dirty[page / BITS_PER_LONG];

    if (!(*w & mask))
        return false;
    *w &= ~mask;
    return true;
}

void ram_set_dirty_page(struct ram_state *rs, unsigned block, uint64_t page)
{
    struct ram_block *b = &rs->blocks[block];

    if (page < ram_block_pages(b))
        b->dirty[page / BITS_PER_LONG] |= 1ul << (page % BITS_PER_LONG);
}

void ram_or_dirty_bitmap(struct ram_state *rs, unsigned block, uint64_t first_page,
                         const uint64_t *bits, uint64_t npages)
{
    struct ram_block *b = &rs->blocks[block];
    uint64_t pages = ram_block_pages(b);
    unsigned shift = first_page % BITS_PER_LONG;

    if (first_page >= pages)
        return;
    npages = MIN(npages, pages - first_page);
    for (uint64_t i = 0; i * 64 < npages; i++) {
        uint64_t w = bits[i];
        size_t dst = first_page / BITS_PER_LONG + i;

        if (npages - i * 64 < 64)
            w &= (1ull << (npages - i * 64)) - 1;
        if (!w)
            continue;
        /* A misaligned source word straddles two marks words; the bits
         * that land in the second are below first_page + npages, so it
         * exists. */
        b->dirty[dst] |= w << shift;
        if (shift && (w >> (BITS_PER_LONG - shift)))
            b->dirty[dst + 1] |= w >> (BITS_PER_LONG - shift);
    }
}

static void ram_recount(struct ram_state *rs)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < rs->nblocks; i++) {
        const struct ram_block *b = &rs->blocks[i];
        for (size_t w = 0; w < ram_bitmap_words(b); w++)
            n += __builtin_popcountl(b->dirty[w]);
    }
    rs->ndirty = n;
}

void ram_mark_dirty(struct ram_state *rs, unsigned block, uint64_t offset, uint64_t len)
{
    struct ram_block *b;
    uint64_t last;

    if (block >= rs->nblocks || !len)
        return;
    b = &rs->blocks[block];
    last = MIN((offset + len - 1) / RAM_PAGE_SIZE, ram_block_pages(b) - 1);
    g_mutex_lock(&rs->dirty_lock);
    /* Not migrating: the next save_setup marks every page anyway. */
    for (uint64_t p = offset / RAM_PAGE_SIZE; rs->tracking && p <= last; p++) {
        unsigned long mask = 1ul << (p % BITS_PER_LONG);
        if (!(b->dirty[p / BITS_PER_LONG] & mask)) {
            b->dirty[p / BITS_PER_LONG] |= mask;
            rs->ndirty++;
        }
    }
    g_mutex_unlock(&rs->dirty_lock);
}

static bool ram_sync(struct ram_state *rs, GError **errp)
{
    bool ok = true;
    uint64_t before;

    g_mutex_lock(&rs->dirty_lock);
    before = rs->ndirty;
    if (rs->sync)
        ok = rs->sync(rs->sync_opaque, rs, errp);
    ram_recount(rs);
    rs->stats.dirty_sync_count++;
    rs->stats.dirty_pages_last_sync = rs->ndirty - before;
    g_mutex_unlock(&rs->dirty_lock);
    return ok;
}

uint64_t ram_pending_bytes(struct ram_state *rs)
{
    uint64_t n;

    g_mutex_lock(&rs->dirty_lock);
    n = rs->ndirty;
    g_mutex_unlock(&rs->dirty_lock);
    return n * RAM_PAGE_SIZE;
}

bool ram_first_pass_done(const struct ram_state *rs)
{
    return rs->first_pass_done;
}

static bool ram_page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;

    for (unsigned i = 0; i < RAM_PAGE_SIZE / 8; i += 4) {
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
            return false;
    }
    return true;
}

/* One page record: ZERO (9 bytes + name) or PAGE (4096 bytes + header). */
void ram_block_set_fd(struct ram_state *rs, unsigned block, int fd, uint64_t offset)
{
    rs->blocks[block].fd = fd;
    rs->blocks[block].fd_offset = offset;
}

static void ram_set_range(unsigned long *map, uint64_t first, uint64_t n)
{
    for (uint64_t p = first; p < first + n; p++)
        map[p / BITS_PER_LONG] |= 1ul << (p % BITS_PER_LONG);
}

/* Mark the pages that lie in holes of the block's file (SEEK_DATA /
 * SEEK_HOLE): they are zero, and reading them would allocate them. */
static void ram_find_holes(struct ram_block *b)
{
    uint64_t start = b->fd_offset, end = start + b->length, pos = start;

    g_clear_pointer(&b->known_zero, g_free);
    if (b->fd < 0)
        return;
    b->known_zero = g_new0(unsigned long, ram_bitmap_words(b));
    while (pos < end) {
        off_t data = lseek(b->fd, pos, SEEK_DATA);
        uint64_t hole_end = data < 0 ? end : MIN((uint64_t)data, end);
        uint64_t first = (pos - start + RAM_PAGE_SIZE - 1) / RAM_PAGE_SIZE;
        uint64_t last = (hole_end - start) / RAM_PAGE_SIZE;

        if (data < 0 && errno != ENXIO) { /* no hole support: read everything */
            g_clear_pointer(&b->known_zero, g_free);
            return;
        }
        if (last > first)
            ram_set_range(b->known_zero, first, last - first);
        if (hole_end >= end)
            break;
        pos = lseek(b->fd, data, SEEK_HOLE);
        if ((off_t)pos < 0)
            break;
    }
}

/* Is @page known zero?  Clears the knowledge: the page is dealt with. */
static bool ram_take_known_zero(const struct ram_block *b, uint64_t page)
{
    unsigned long bit = 1ul << (page % BITS_PER_LONG);
    bool z;

    if (!b->known_zero)
        return false;
    z = b->known_zero[page / BITS_PER_LONG] & bit;
    b->known_zero[page / BITS_PER_LONG] &= ~bit;
    return z;
}

static void ram_save_page(struct ram_state *rs, QEMUFile *f, const struct ram_block *b,
                          uint64_t page)
{
    uint64_t offset = page * RAM_PAGE_SIZE;
    const uint8_t *host = b->host + offset;
    bool zero = ram_take_known_zero(b, page) || ram_page_is_zero(host);
    uint64_t flags = zero ? RAM_SAVE_FLAG_ZERO : RAM_SAVE_FLAG_PAGE;

    if (b == rs->last_sent)
        flags |= RAM_SAVE_FLAG_CONTINUE;
    qemu_file_put_be64(f, offset | flags);
    rs->stats.bytes += 8;
    if (b != rs->last_sent) {
        qemu_file_put_str8(f, b->idstr);
        rs->stats.bytes += 1 + strlen(b->idstr);
    }
    rs->last_sent = b;
    if (zero) {
        qemu_file_put_byte(f, 0);
        rs->stats.zero_pages++;
        rs->stats.bytes += 1;
    } else {
        /* Live guest memory: a write after this copy is in the next sync. */
        qemu_file_put_buffer_async(f, host, RAM_PAGE_SIZE);
        rs->stats.normal_pages++;
        rs->stats.bytes += RAM_PAGE_SIZE;
    }
}

/* The next marked page at or after the cursor, clearing its mark; false
 * when the cursor reached the end of RAM (it then wraps). */
static bool ram_next_dirty(struct ram_state *rs, struct ram_block **bp, uint64_t *page)
{
    bool found = false;

    g_mutex_lock(&rs->dirty_lock);
    while (rs->cur_block < rs->nblocks) {
        struct ram_block *b = &rs->blocks[rs->cur_block];
        uint64_t n = ram_block_pages(b);

        while (rs->cur_page < n) {
            unsigned long w = b->dirty[rs->cur_page / BITS_PER_LONG] >>
                              (rs->cur_page % BITS_PER_LONG);
            if (!w) { /* skip the rest of an empty word */
                rs->cur_page = (rs->cur_page / BITS_PER_LONG + 1) * BITS_PER_LONG;
                continue;
            }
            rs->cur_page += __builtin_ctzl(w);
            if (rs->cur_page >= n)
                break;
            ram_test_and_clear(b, rs->cur_page);
            rs->ndirty--;
            *bp = b;
            *page = rs->cur_page++;
            found = true;
            goto out;
        }
        rs->cur_block++;
        rs->cur_page = 0;
    }
    /* End of RAM: wrap; the first wrap completes the first pass. */
    rs->cur_block = 0;
    rs->cur_page = 0;
    rs->first_pass_done = true;
out:
    g_mutex_unlock(&rs->dirty_lock);
    return found;
}

/* Send marked pages until the end of RAM or, with @limited, until the rate
 * limit closes the window.  Returns true when the end of RAM was reached. */
static bool ram_send(struct ram_state *rs, QEMUFile *f, bool limited)
{
    struct ram_block *b;
    uint64_t page;

    while (!limited || qemu_file_may_send(f)) {
        if (qemu_file_get_error(f))
            return false;
        if (!ram_next_dirty(rs, &b, &page))
            return true;
        ram_save_page(rs, f, b, page);
    }
    return false;
}

static bool ram_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    struct ram_state *rs = opaque;

    qemu_file_put_be64(f, rs->total | RAM_SAVE_FLAG_MEM_SIZE);
    for (unsigned i = 0; i < rs->nblocks; i++) {
        qemu_file_put_str8(f, rs->blocks[i].idstr);
        qemu_file_put_be64(f, rs->blocks[i].length);
    }
    /* Start tracking, then mark everything: the first full pass.  The
     * start counts as sync 1, as QEMU's dirty-sync-count does. */
    memset(&rs->stats, 0, sizeof(rs->stats));
    g_mutex_lock(&rs->dirty_lock);
    rs->tracking = true; /* from here on cleanup must stop it */
    g_mutex_unlock(&rs->dirty_lock);
    if (!ram_sync(rs, errp))
        return false;
    g_mutex_lock(&rs->dirty_lock);
    for (unsigned i = 0; i < rs->nblocks; i++)
        for (uint64_t p = 0; p < ram_block_pages(&rs->blocks[i]); p++)
            ram_set_dirty_page(rs, i, p);
    ram_recount(rs);
    g_mutex_unlock(&rs->dirty_lock);
    /* After tracking started: a hole the guest writes from now on is
     * in the dirty log, so sending it as zero now is never final. */
    for (unsigned i = 0; i < rs->nblocks; i++)
        ram_find_holes(&rs->blocks[i]);
    rs->cur_block = 0;
    rs->cur_page = 0;
    rs->first_pass_done = false;
    rs->last_sent = NULL;
    qemu_file_put_be64(f, RAM_SAVE_FLAG_EOS);
    return true;
}

static int ram_save_iterate(QEMUFile *f, void *opaque, GError **errp)
{
    struct ram_state *rs = opaque;

    rs->last_sent = NULL; /* a new section: name the block again */
    ram_send(rs, f, true);
    qemu_file_put_be64(f, RAM_SAVE_FLAG_EOS);
    if (!qemu_file_take_error(f, errp))
        return -1;
    return rs->first_pass_done && ram_pending_bytes(rs) == 0;
}

static uint64_t ram_state_pending(void *opaque, uint64_t threshold)
{
    struct ram_state *rs = opaque;
    uint64_t pending = ram_pending_bytes(rs);

    /* Only after the first full pass do fresh dirty pages matter: until
     * then everything is still to come anyway.  Then, when what is marked
     * would fit the budget, pages written since the last sync may not:
     * sync, so the switch-over decision sees them (QEMU does the same). */
    if (rs->first_pass_done && (pending == 0 || pending <= threshold)) {
        if (!ram_sync(rs, NULL))
            return UINT64_MAX; /* cannot know: never switch over on it */
        pending = ram_pending_bytes(rs);
    }
    return pending;
}

static bool ram_save_complete(QEMUFile *f, void *opaque, GError **errp)
{
    struct ram_state *rs = opaque;

    rs->last_sent = NULL;
    if (!ram_sync(rs, errp))
        return false;
    /* Everything marked, whatever the cursor: finish this round, then the
     * wrap covers what lies before the cursor. */
    while (ram_pending_bytes(rs) && !qemu_file_get_error(f))
        ram_send(rs, f, false);
    qemu_file_put_be64(f, RAM_SAVE_FLAG_EOS);
    return qemu_file_take_error(f, errp);
}

/* ---- receiver ---- */

static const struct ram_block *ram_find_block(struct ram_state *rs, const char *idstr)
{
    for (unsigned i = 0; i < rs->nblocks; i++) {
        if (!strcmp(rs->blocks[i].idstr, idstr))
            return &rs->blocks[i];
    }
    return NULL;
}

static bool ram_load_mem_size(struct ram_state *rs, QEMUFile *f, uint64_t total, GError **errp)
{
    uint64_t seen = 0;
    char idstr[256];

    if (total != rs->total) {
        g_autofree char *theirs = size_to_str(total);
        g_autofree char *ours = size_to_str(rs->total);

        error_setg(errp, "ram: the stream has %s of RAM, this VM %s (-m must match)", theirs,
                   ours);
        return false;
    }
    while (seen < total) {
        const struct ram_block *b;
        uint64_t len;

        if (!qemu_file_get_str8(f, idstr))
            break;
        len = qemu_file_get_be64(f);
        if (qemu_file_get_error(f))
            break;
        b = ram_find_block(rs, idstr);
        if (!b) {
            error_setg(errp, "ram: unknown RAM block '%s'", idstr);
            return false;
        }
        if (len != b->length) {
            error_setg(errp, "ram: block '%s' has %" G_GUINT64_FORMAT " bytes in the stream, %"
                             G_GUINT64_FORMAT " here",
                       idstr, len, b->length);
            return false;
        }
        seen += len;
    }
    if (!qemu_file_take_error(f, errp))
        return false;
    if (seen != total) {
        error_setg(errp, "ram: block lengths add up to more than MEM_SIZE");
        return false;
    }
    rs->mem_size_seen = true;
    return true;
}

/* The block of a ZERO/PAGE record and the host address of its page. */
static uint8_t *ram_load_host(struct ram_state *rs, QEMUFile *f, uint64_t flags,
                              uint64_t offset, GError **errp)
{
    const struct ram_block *b;
    char idstr[256];

    if (flags & RAM_SAVE_FLAG_CONTINUE) {
        b = rs->last_loaded;
        if (!b) {
            error_setg(errp, "ram: CONTINUE record without a previous block");
            return NULL;
        }
    } else {
        if (!qemu_file_get_str8(f, idstr)) {
            qemu_file_take_error(f, errp);
            return NULL;
        }
        b = ram_find_block(rs, idstr);
        if (!b) {
            error_setg(errp, "ram: page of unknown RAM block '%s'", idstr);
            return NULL;
        }
    }
    if (offset >= b->length) {
        error_setg(errp, "ram: page offset 0x%" G_GINT64_MODIFIER "x beyond block '%s' (0x%"
                         G_GINT64_MODIFIER "x bytes)",
                   offset, b->idstr, b->length);
        return NULL;
    }
    rs->last_loaded = b;
    return b->host + offset;
}

static bool ram_load_state(QEMUFile *f, void *opaque, int version_id, GError **errp)
{
    struct ram_state *rs = opaque;

    (void)version_id;
    rs->last_loaded = NULL; /* each section names its first block */
    for (;;) {
        uint64_t x = qemu_file_get_be64(f);
        uint64_t flags = x & ~PAGE_MASK, offset = x & PAGE_MASK;
        uint8_t *host;

        if (!qemu_file_take_error(f, errp))
            return false;
        if (flags & RAM_SAVE_FLAG_MEM_SIZE) {
            if (flags != RAM_SAVE_FLAG_MEM_SIZE || rs->mem_size_seen) {
                error_setg(errp, "ram: unexpected MEM_SIZE record");
                return false;
            }
            if (!ram_load_mem_size(rs, f, offset, errp))
                return false;
            continue;
        }
        if (flags == RAM_SAVE_FLAG_EOS)
            return true;
        if (!rs->mem_size_seen) {
            error_setg(errp, "ram: page record before MEM_SIZE");
            return false;
        }
        switch (flags & ~RAM_SAVE_FLAG_CONTINUE) {
        case RAM_SAVE_FLAG_ZERO: {
            host = ram_load_host(rs, f, flags, offset, errp);
            if (!host)
                return false;
            uint8_t fill = qemu_file_get_byte(f);
            if (!qemu_file_take_error(f, errp))
                return false;
            if (fill) {
                error_setg(errp, "ram: zero page with fill byte 0x%02x", fill);
                return false;
            }
            /* A page still in its hole is zero without a look (a read
             * would allocate it); reading first keeps a zero page clean. */
            if (!ram_take_known_zero(rs->last_loaded, offset / RAM_PAGE_SIZE) &&
                !ram_page_is_zero(host))
                memset(host, 0, RAM_PAGE_SIZE);
            break;
        }
        case RAM_SAVE_FLAG_PAGE:
            host = ram_load_host(rs, f, flags, offset, errp);
            if (!host)
                return false;
            ram_take_known_zero(rs->last_loaded, offset / RAM_PAGE_SIZE);
            if (!qemu_file_get_buffer(f, host, RAM_PAGE_SIZE)) {
                qemu_file_take_error(f, errp);
                return false;
            }
            break;
        default:
            error_setg(errp, "ram: unsupported record flags 0x%" G_GINT64_MODIFIER "x%s", flags,
                       flags & RAM_SAVE_FLAG_XBZRLE ? " (XBZRLE is not supported)" : "");
            return false;
        }
    }
}

/* Forget everything the sender knew, whatever state it was left in. */
static void ram_save_cleanup(void *opaque)
{
    struct ram_state *rs = opaque;

    g_mutex_lock(&rs->dirty_lock);
    if (rs->tracking && rs->sync_stop)
        rs->sync_stop(rs->sync_opaque);
    rs->tracking = false;
    for (unsigned i = 0; i < rs->nblocks; i++)
        memset(rs->blocks[i].dirty, 0, ram_bitmap_words(&rs->blocks[i]) * sizeof(unsigned long));
    rs->ndirty = 0;
    rs->cur_block = 0;
    rs->cur_page = 0;
    rs->first_pass_done = false;
    rs->last_sent = NULL;
    g_mutex_unlock(&rs->dirty_lock);
    for (unsigned i = 0; i < rs->nblocks; i++)
        g_clear_pointer(&rs->blocks[i].known_zero, g_free);
}

/* The prefault thread: touch every page of every block ahead of the
 * stream, a chunk at a time so that load_cleanup never waits long. */
static gpointer ram_prefault_thread(gpointer opaque)
{
    struct ram_state *rs = opaque;

    for (unsigned i = 0; i < rs->nblocks; i++) {
        const struct ram_block *b = &rs->blocks[i];

        for (uint64_t off = 0; off < b->length; off += RAM_PREFAULT_CHUNK) {
            uint64_t len = MIN(RAM_PREFAULT_CHUNK, b->length - off);

            if (g_atomic_int_get(&rs->prefault_stop))
                return NULL;
            /* Only a speed-up: EINVAL (kernel < 5.14, or memory that is not
             * page-aligned) or any other failure just ends it. */
            if (madvise(b->host + off, len, MADV_POPULATE_WRITE) < 0)
                return NULL;
            rs->prefaulted += len;
        }
    }
    return NULL;
}

static bool ram_load_setup(void *opaque, GError **errp)
{
    struct ram_state *rs = opaque;

    rs->mem_size_seen = false;
    rs->last_loaded = NULL;
    rs->prefaulted = 0;
    g_atomic_int_set(&rs->prefault_stop, 0);
    /* Before the prefault thread fills the holes in. */
    for (unsigned i = 0; i < rs->nblocks; i++)
        ram_find_holes(&rs->blocks[i]);
    if (rs->total < rs->prefault_min)
        return true;
    rs->prefault = g_thread_try_new("ram-prefault", ram_prefault_thread, rs, errp);
    return rs->prefault != NULL;
}

static void ram_load_cleanup(void *opaque)
{
    struct ram_state *rs = opaque;

    for (unsigned i = 0; i < rs->nblocks; i++)
        g_clear_pointer(&rs->blocks[i].known_zero, g_free);
    if (!rs->prefault)
        return;
    g_atomic_int_set(&rs->prefault_stop, 1);
    g_thread_join(rs->prefault);
    rs->prefault = NULL;
}

static bool ram_op_first_pass_done(void *opaque)
{
    return ram_first_pass_done(opaque);
}

static const struct savevm_live_ops ram_ops = {
    .save_setup = ram_save_setup,
    .save_live_iterate = ram_save_iterate,
    .state_pending = ram_state_pending,
    .first_pass_done = ram_op_first_pass_done,
    .save_live_complete = ram_save_complete,
    .save_cleanup = ram_save_cleanup,
    .load_setup = ram_load_setup,
    .load_state = ram_load_state,
    .load_cleanup = ram_load_cleanup,
};

/* ---- x-verify-ram ---- */

#define RAM_HASH_K 0x9e3779b97f4a7c15ull

static uint64_t ram_rotl(uint64_t x, unsigned r)
{
    return x << r | x >> (64 - r);
}

/* splitmix64's finaliser */
static uint64_t ram_mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Four independent lanes so that the multiplies overlap: a few GB/s. */
static uint64_t ram_hash_page(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    uint64_t h[4] = { 1, 2, 3, 4 };

    for (unsigned i = 0; i < RAM_PAGE_SIZE / 8; i += 4) {
        for (unsigned l = 0; l < 4; l++)
            h[l] = (ram_rotl(h[l], 29) ^ w[i + l]) * RAM_HASH_K;
    }
    return ram_mix(h[0] ^ ram_rotl(h[1], 16) ^ ram_rotl(h[2], 32) ^ ram_rotl(h[3], 48));
}

void ram_compute_digest(struct ram_state *rs, struct ram_digest *d)
{
    static const uint8_t zero[RAM_PAGE_SIZE];
    uint64_t zero_hash = ram_hash_page(zero), pages = rs->total / RAM_PAGE_SIZE, i = 0;

    memset(d, 0, sizeof(*d));
    d->total = rs->total;
    d->chunk_pages = MAX(1, (pages + RAM_DIGEST_CHUNKS - 1) / RAM_DIGEST_CHUNKS);
    d->n = (pages + d->chunk_pages - 1) / d->chunk_pages;
    for (unsigned bi = 0; bi < rs->nblocks; bi++) {
        struct ram_block *b = &rs->blocks[bi];
        /* A page in a hole of the block's file is zero: hashing it
         * without a read keeps it unallocated. */
        g_autofree unsigned long *holes = NULL;

        ram_find_holes(b);
        holes = g_steal_pointer(&b->known_zero);
        for (uint64_t p = 0; p < ram_block_pages(b); p++, i++) {
            bool hole = holes && (holes[p / BITS_PER_LONG] >> (p % BITS_PER_LONG) & 1);
            uint64_t h = hole ? zero_hash : ram_hash_page(b->host + p * RAM_PAGE_SIZE);
            uint64_t *c = &d->d[i / d->chunk_pages];

            *c = ram_mix(*c ^ h) + i;
        }
    }
}

static bool ram_verify_needed(void *opaque)
{
    return ((struct ram_state *)opaque)->verify;
}

/* VM stopped, after the END section: what the destination must hold. */
static bool ram_verify_pre_save(void *opaque, GError **errp)
{
    struct ram_state *rs = opaque;

    (void)errp;
    ram_compute_digest(rs, &rs->digest);
    return true;
}

static bool ram_verify_post_load(void *opaque, int version_id, GError **errp)
{
    struct ram_state *rs = opaque;
    g_autofree struct ram_digest *ours = g_new(struct ram_digest, 1);
    const struct ram_digest *theirs = &rs->digest;

    (void)version_id;
    ram_compute_digest(rs, ours);
    if (theirs->total != ours->total || theirs->chunk_pages != ours->chunk_pages ||
        theirs->n != ours->n) {
        error_setg(errp, "x-verify-ram: the source's digest covers %" G_GUINT64_FORMAT
                         " bytes in %u chunks of %u pages, this VM has %" G_GUINT64_FORMAT
                         " bytes in %u chunks of %u",
                   theirs->total, theirs->n, theirs->chunk_pages, ours->total, ours->n,
                   ours->chunk_pages);
        return false;
    }
    for (uint32_t c = 0; c < ours->n; c++) {
        uint64_t first = (uint64_t)c * ours->chunk_pages * RAM_PAGE_SIZE;

        if (theirs->d[c] == ours->d[c])
            continue;
        error_setg(errp, "x-verify-ram: guest RAM differs from the source's in bytes 0x%"
                         G_GINT64_MODIFIER "x..0x%" G_GINT64_MODIFIER "x (chunk %u of %u): "
                         "pages were lost or corrupted in migration",
                   first, MIN(first + (uint64_t)ours->chunk_pages * RAM_PAGE_SIZE,
                              ours->total) - 1,
                   c, ours->n);
        return false;
    }
    return true;
}

static const struct vmstate_field ram_verify_fields[] = {
    VMSTATE_FIELD(struct ram_digest, total),
    VMSTATE_FIELD(struct ram_digest, chunk_pages),
    VMSTATE_FIELD(struct ram_digest, n),
    VMSTATE_VARRAY(struct ram_digest, d, n),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description vmstate_ram_digest = {
    .name = "ram-digest",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = ram_verify_fields,
};

static const struct vmstate_field ram_verify_state_fields[] = {
    VMSTATE_STRUCT(struct ram_state, digest, vmstate_ram_digest),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description vmstate_ram_verify = {
    .name = "ram-verify",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = ram_verify_state_fields,
    .needed = ram_verify_needed,
    .pre_save = ram_verify_pre_save,
    .post_load = ram_verify_post_load,
};

bool ram_register(struct ram_state *rs, struct savevm *sv, GError **errp)
{
    return savevm_register_live(sv, "ram", 0, RAM_SECTION_VERSION, RAM_SECTION_VERSION,
                                &ram_ops, rs, errp) &&
           savevm_register_vmsd(sv, "ram-verify", 0, &vmstate_ram_verify, rs, errp);
}
