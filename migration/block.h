/*
 * The "block" section: the guest's writable disks copied by iterative
 * pre-copy next to RAM (QEMU's block migration, "migrate -b", removed from
 * QEMU after 7.2; Tern keeps its records).
 *
 * Wire format (STREAM-FORMAT.md, "Block section"; idstr "block", instance
 * 0, version 1).  Every record starts with be64 X = sector << 9 | flags,
 * the sector counted in 512-byte units; flags are the low 9 bits:
 *
 *   DEVICE_BLOCK 0x01  str8 device name (the drive id, e.g. "virtio0"),
 *                      then exactly BLOCK_MIG_CHUNK_SIZE (1 MiB) bytes: the
 *                      chunk at byte offset sector << 9 of that disk.  The
 *                      sector is a multiple of BLOCK_MIG_CHUNK_SECTORS
 *                      (2048, QEMU's BLK_MIG_BLOCK_SIZE).  A disk's last
 *                      chunk may be short: it is padded with zeroes to
 *                      1 MiB on the wire, as QEMU does, so no record's
 *                      length depends on a disk size.  The destination
 *                      writes the part that lies inside its own image and
 *                      refuses a non-zero padding (its image is smaller
 *                      than the source's).
 *   + ZERO_BLOCK 0x08  (always with DEVICE_BLOCK: flags 0x09) the chunk is
 *                      all zeroes; str8 name, no data.  The destination
 *                      writes zeroes (block_write_zeroes) over the part of
 *                      the chunk inside its image.
 *   PROGRESS     0x04  X >> 9 = percentage (0..100) of the first pass
 *                      done; no payload.  Sent at the end of a section
 *                      when the figure changed, and 100 in END.
 *   EOS          0x02  X = 0x02 exactly: ends every START, PART and END
 *                      payload (START holds nothing else).
 *
 * Any other flag combination, an unaligned sector, a chunk that starts at
 * or past the end of the named image, or an unknown name is refused with
 * a message naming it.  Like QEMU's there is no size record: a destination
 * image larger than the source's keeps its own bytes past the source's end.
 *
 *   zero chunk 1 of "virtio0":   00 00 00 00 00 10 00 09  07 "virtio0"
 *   data chunk 0 of "virtio0":   00 00 00 00 00 00 00 01  07 "virtio0"
 *                                + 1048576 bytes
 *   progress 50%:                00 00 00 00 00 00 64 04
 *   end of section:              00 00 00 00 00 00 00 02
 *
 * Sender (one struct block_mig per VM; only when the migration asked for
 * it: block_mig_set_enabled(), savevm's is_active):
 *   save_setup     a dirty bitmap of 1 MiB chunks on every disk
 *                  (block_enable_dirty_bitmap), every chunk marked: the
 *                  first (bulk) pass; EOS
 *   iterate        marked chunks in disk order from a cursor, until the
 *                  stream's rate limit closes the window or the cursor
 *                  wraps (the first wrap ends the bulk pass).  A chunk's
 *                  mark is cleared before it is read; a guest write that
 *                  completes after that marks it again, so it is sent in a
 *                  later pass (block/dirty-bitmap.h).  Up to
 *                  BLOCK_MIG_IN_FLIGHT reads are in flight, as many as
 *                  the window has room for as whole records (a window
 *                  smaller than a chunk still takes one); their records go
 *                  out in the order the chunks were taken.
 *   pending        disk bytes of the marked chunks (the last chunk by its
 *                  real length): what the bulk pass has left plus what the
 *                  guest wrote since.  No sync is needed: the bitmap is
 *                  always current.
 *   complete       (guest stopped, its requests drained by the VM glue)
 *                  every marked chunk, PROGRESS 100, EOS
 *   cleanup        (success or failure) bitmaps off, cursor reset: the
 *                  next migration starts with a full bulk pass
 * A read that fails fails the migration: "block migration: reading disk
 * 'virtio0' at offset N failed: ...".
 *
 * Receiver: each chunk is read from the stream into one of
 * BLOCK_MIG_IN_FLIGHT buffers and written with block_pwritev (or
 * block_write_zeroes); a write that fails is reported when its buffer is
 * needed again or at EOF, naming the disk and offset.  load_complete (EOF)
 * waits for every write and flushes every disk written; load_cleanup waits
 * for every write, also after a failure.
 *
 * Threads and locks.  I/O goes through block/block.h, whose calls need the
 * VM lock (or the main-loop thread) and whose completions run from the
 * main loop's dispatch with the VM lock held.  So every request is
 * submitted with the VM lock taken for just that call, and the migration
 * thread (or incoming loader) waits for its completion on bm->cond without
 * the VM lock.  If no completion arrives within BLOCK_MIG_DRAIN_MS the main
 * loop is not dispatching (vm_free() waits for the migration thread after
 * the loop ended): the waiter then runs the completions itself with
 * block_drain() under the VM lock.  Nothing is in flight when a save or
 * load callback returns.
 *
 *   save_setup, save_cleanup    migration thread, VM lock held
 *   save_live_iterate, state_pending, first_pass_done, save_live_complete
 *                               migration thread, VM lock NOT held
 *   load_*                      incoming loader thread, VM lock NOT held
 *   the request completions     main loop (VM lock held), or the waiter's
 *                               block_drain() (VM lock held)
 * bm->lock (a leaf) guards the requests' busy/ret; never take the VM lock
 * while holding it.
 */
#ifndef MIGRATION_BLOCK_H
#define MIGRATION_BLOCK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"

#define BLOCK_MIG_SECTION_VERSION 1
#define BLOCK_MIG_SECTOR_BITS 9
#define BLOCK_MIG_CHUNK_SIZE (1u << 20)
#define BLOCK_MIG_CHUNK_SECTORS (BLOCK_MIG_CHUNK_SIZE >> BLOCK_MIG_SECTOR_BITS)

#define BLOCK_MIG_FLAG_DEVICE_BLOCK 0x01
#define BLOCK_MIG_FLAG_EOS 0x02
#define BLOCK_MIG_FLAG_PROGRESS 0x04
#define BLOCK_MIG_FLAG_ZERO_BLOCK 0x08
#define BLOCK_MIG_FLAGS_MASK ((1u << BLOCK_MIG_SECTOR_BITS) - 1)

#define BLOCK_MIG_IN_FLIGHT 4 /* reads (source) or writes (destination) */
#define BLOCK_MIG_DRAIN_MS 100

struct block_mig;

struct block_mig_disk {
    char name[256];
    struct block_backend *bb;
    uint64_t length;  /* bytes (block_length at add time) */
    uint64_t nchunks; /* ceil(length / BLOCK_MIG_CHUNK_SIZE) */
    /* The backend's bitmap, from save_setup to save_cleanup. */
    struct block_dirty_bitmap *dirty;
    bool written;     /* destination: flush at EOF */
};

/* One request in flight; its buffer holds a whole chunk. */
struct block_mig_req {
    struct block_mig *bm;
    struct block_mig_disk *disk;
    uint64_t chunk;
    uint64_t len;  /* bytes of the disk in the chunk */
    uint8_t *buf;  /* BLOCK_MIG_CHUNK_SIZE bytes, 4 KiB aligned */
    bool busy;     /* submitted, completion not run yet (bm->lock) */
    int ret;       /* the completion's result (bm->lock) */
};

/* query-migrate's "disk": bytes. */
struct block_mig_stats {
    uint64_t transferred; /* disk bytes sent (a chunk sent twice counts twice) */
    uint64_t remaining;   /* disk bytes still to send (bulk left + rewritten) */
    uint64_t total;       /* size of all disks */
};

struct block_mig {
    GMutex *vm_lock; /* NULL: no locking (single-threaded tests) */
    GPtrArray *disks; /* struct block_mig_disk * */
    bool enabled;     /* this migration copies the disks (VM lock) */

    GMutex lock;
    GCond cond;       /* a completion ran */
    struct block_mig_req req[BLOCK_MIG_IN_FLIGHT];
    unsigned head, count; /* the requests in flight, oldest first */

    /* sender: the migration thread's */
    unsigned cur_disk;
    uint64_t cur_chunk;
    bool bulk_done;
    int last_progress;
    struct block_mig_stats counters;
    /* published for query-migrate under the VM lock */
    struct block_mig_stats stats;

    /* receiver */
    int load_progress; /* the last PROGRESS record, -1 before one */
};

/* Thread context of the calls below: main thread (or any thread before the
 * VM runs) with the VM lock held, no migration in progress, unless said. */
void block_mig_init(struct block_mig *bm, GMutex *vm_lock);
/* After the migration thread and the incoming loader have ended (nothing
 * is in flight then).  Does not close the backends. */
void block_mig_destroy(struct block_mig *bm);
/* A writable disk, by its drive id; refused for a read-only image, a
 * name already added or longer than 255 bytes.  The backend must stay
 * open until block_mig_destroy(). */
bool block_mig_add_disk(struct block_mig *bm, const char *name, struct block_backend *bb,
                        GError **errp);
unsigned block_mig_disk_count(const struct block_mig *bm);
/* Register the "block" section (optional on the loader). */
bool block_mig_register(struct block_mig *bm, struct savevm *sv, GError **errp);

/* Copy the disks in the next migration (migrate -b / blk / the "block"
 * capability); resets the statistics.  Called by migration_start(). */
void block_mig_set_enabled(struct block_mig *bm, bool on);
/* Copy counters into bm->stats.  Migration thread, VM lock held. */
void block_mig_publish(struct block_mig *bm);
/* Migration thread: disk bytes still to send (as state_pending), and
 * whether every chunk has been sent once. */
uint64_t block_mig_pending_bytes(const struct block_mig *bm);
bool block_mig_first_pass_done(const struct block_mig *bm);

#endif
