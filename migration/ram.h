/*
 * The "ram" section: guest RAM sent by iterative pre-copy.
 *
 * Wire format (STREAM-FORMAT.md, "RAM section", idstr "ram", version 4).
 * Every record starts with be64 X = page offset within its block | flags:
 *
 *   MEM_SIZE 0x004  START only: X = total RAM bytes | 0x004, then per block
 *                   str8 idstr, be64 length
 *   ZERO     0x002  [str8 block] u8 fill (0)          a page of zeroes: 9 bytes
 *   PAGE     0x008  [str8 block] 4096 bytes           a page of data
 *   EOS      0x010  ends every START/PART/END payload
 *   CONTINUE 0x020  the page is in the same block as the previous record,
 *                   so the str8 block name is omitted
 *
 * Sender (one struct ram_state per VM):
 *   save_setup     MEM_SIZE; dirty tracking starts (sync_dirty), every page
 *                  is marked to send: the first full pass
 *   iterate        send marked pages in address order until the stream's
 *                  rate limit says stop; the cursor wraps at the end of RAM
 *                  and the first wrap completes the first pass
 *   pending        bytes still marked; once the first pass is complete and
 *                  the marks fit the switch-over threshold (or none are
 *                  left), a dirty sync refreshes them first
 *                  (KVM's log OR'ed with pages written by device emulation)
 *   complete       (vCPUs stopped) a last sync, every marked page, EOS
 *   cleanup        (after success or failure) the stop callback ends dirty
 *                  tracking; marks, cursor and first-pass flag are
 *                  forgotten, so the next migration starts from scratch
 *
 * A page that the guest writes after it was sent is in the next sync, so
 * the destination ends with exactly the source's RAM at the stop.
 *
 * Receiver: blocks and lengths must match MEM_SIZE exactly; every record
 * is bounds-checked; anything unknown is an error naming it.  From
 * load_setup to load_cleanup a helper thread prefaults the blocks
 * (MADV_POPULATE_WRITE, RAM_PREFAULT_CHUNK at a time, ahead of the stream)
 * so that first-touch page faults do not cap the receive rate; it stops
 * between chunks when asked, and silently where the kernel lacks it.
 *
 * Thread context: the save callbacks run on the migration thread (see
 * savevm.h for which hold the VM lock); ram_mark_dirty() may be called from
 * any thread with the VM lock held; load callbacks on the incoming thread.
 */
#ifndef MIGRATION_RAM_H
#define MIGRATION_RAM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/qemu-file.h"
#include "migration/savevm.h"

#define RAM_PAGE_SIZE 4096u
#define RAM_MAX_BLOCKS 4
#define RAM_SECTION_VERSION 4

#define RAM_SAVE_FLAG_ZERO 0x002
#define RAM_SAVE_FLAG_MEM_SIZE 0x004
#define RAM_SAVE_FLAG_PAGE 0x008
#define RAM_SAVE_FLAG_EOS 0x010
#define RAM_SAVE_FLAG_CONTINUE 0x020
#define RAM_SAVE_FLAG_XBZRLE 0x040
#define RAM_SAVE_FLAG_MULTIFD_FLUSH 0x200

struct ram_block {
    char idstr[256];
    uint8_t *host;
    uint64_t length;  /* bytes, a multiple of RAM_PAGE_SIZE */
    unsigned long *dirty; /* one bit per page: still to send */
    /* The file behind @host (a memfd mapped shared at fd_offset), or -1.
     * Its holes are zero pages that need not be read: reading one would
     * allocate it.  (Not for private mappings: their copies are not in
     * the file.) */
    int fd;
    uint64_t fd_offset;
    /* One bit per page known zero without reading: the file's holes when
     * a save or load started; cleared as pages are sent or loaded. */
    unsigned long *known_zero;
};

struct ram_state;

/*
 * The "ram-verify" device section (capability x-verify-ram, a Tern
 * extension; version 1): a digest of all RAM taken while the guest is
 * stopped, after the END section.  Pages are numbered across the blocks
 * in order and cut into @n chunks of @chunk_pages pages (the last may be
 * shorter); each chunk's digest is a 64-bit hash of its pages' contents.
 *   be64 total   RAM bytes
 *   be32 chunk_pages, be32 n (<= RAM_DIGEST_CHUNKS), be64 digest[n]
 * The destination hashes its RAM the same way in post_load and fails the
 * load on any difference, naming the first differing chunk.  Sent only
 * when the source enables the capability; a loader accepts its absence.
 */
#define RAM_DIGEST_CHUNKS 1024

struct ram_digest {
    uint64_t total;
    uint32_t chunk_pages;
    uint32_t n;
    uint64_t d[RAM_DIGEST_CHUNKS];
};

/* Collect pages written since the last call into the blocks' dirty bitmaps
 * (OR words into ram_block.dirty, or ram_set_dirty_page(); never clear);
 * the first call starts tracking.  Called with dirty_lock held; ram.c
 * recounts afterwards.  NULL: only ram_mark_dirty() dirties RAM. */
typedef bool (*ram_sync_fn)(void *opaque, struct ram_state *rs, GError **errp);
/* End the tracking the first sync started (save_cleanup: migration thread,
 * VM lock and dirty_lock held).  Called once per migration whose setup
 * ran, also after a failed one. */
typedef void (*ram_sync_stop_fn)(void *opaque);

#define RAM_PREFAULT_CHUNK (8ull << 20) /* a stop waits for at most one */
/* Below this much RAM a prefault thread costs more than it saves. */
#define RAM_PREFAULT_MIN_DEFAULT (64ull << 20)

struct ram_stats {
    uint64_t zero_pages;     /* "duplicate" in query-migrate */
    uint64_t normal_pages;
    uint64_t bytes;          /* the page records' bytes: "transferred" */
    uint64_t dirty_sync_count;
    uint64_t dirty_pages_last_sync; /* pages found dirty by the latest sync */
};

struct ram_state {
    struct ram_block blocks[RAM_MAX_BLOCKS];
    unsigned nblocks;
    uint64_t total;
    ram_sync_fn sync;
    ram_sync_stop_fn sync_stop;
    void *sync_opaque;
    GMutex dirty_lock;  /* bitmaps: migration thread vs ram_mark_dirty() */
    uint64_t ndirty;    /* bits set over all blocks */
    bool tracking;      /* from save_setup to save_cleanup (dirty_lock) */
    /* sender cursor */
    unsigned cur_block;
    uint64_t cur_page;
    bool first_pass_done;
    const struct ram_block *last_sent;
    struct ram_stats stats;
    bool verify;        /* x-verify-ram: send "ram-verify" (set per migration) */
    struct ram_digest digest; /* "ram-verify" payload, saved or loaded */
    /* receiver */
    const struct ram_block *last_loaded;
    bool mem_size_seen;
    GThread *prefault;
    uint64_t prefault_min;    /* no thread for less RAM than this */
    gint prefault_stop;       /* atomic: the loader is done */
    uint64_t prefaulted;      /* bytes, written by the prefault thread */
};

void ram_state_init(struct ram_state *rs, ram_sync_fn sync, void *sync_opaque);
/* The stop callback for @sync (same opaque); optional. */
void ram_state_set_sync_stop(struct ram_state *rs, ram_sync_stop_fn stop);
void ram_state_destroy(struct ram_state *rs);
bool ram_add_block(struct ram_state *rs, const char *idstr, void *host, uint64_t length,
                   GError **errp);
/* @block's memory is @fd's bytes from @offset, mapped shared. */
void ram_block_set_fd(struct ram_state *rs, unsigned block, int fd, uint64_t offset);
/* Register the "ram" iterative handler and the "ram-verify" section. */
bool ram_register(struct ram_state *rs, struct savevm *sv, GError **errp);

/* Mark [offset, offset + len) of @block dirty (device emulation wrote it).
 * A no-op while no migration tracks RAM: the next one sends every page. */
void ram_mark_dirty(struct ram_state *rs, unsigned block, uint64_t offset, uint64_t len);
/* Digest all RAM into @d as described above ("ram-verify"). */
void ram_compute_digest(struct ram_state *rs, struct ram_digest *d);
/* Bytes still marked to send. */
uint64_t ram_pending_bytes(struct ram_state *rs);
bool ram_first_pass_done(const struct ram_state *rs);

/* Inside a sync callback only: mark page @page of @block. */
void ram_set_dirty_page(struct ram_state *rs, unsigned block, uint64_t page);
/* Inside a sync callback only: OR @npages bits of @bits (bit i = page
 * @first_page + i of @block; 64-bit words, KVM's dirty log layout) into the
 * block's marks.  @first_page need not be word-aligned; pages past the end
 * of the block are ignored. */
void ram_or_dirty_bitmap(struct ram_state *rs, unsigned block, uint64_t first_page,
                         const uint64_t *bits, uint64_t npages);

#endif
