/*
 * A dirty bitmap over a disk image, for block migration: one bit per chunk of
 * @granularity bytes (a power of two >= 512; block migration uses 1 MiB,
 * BLOCK_DIRTY_BITMAP_DEFAULT_GRANULARITY, as QEMU's BLK_MIG_BLOCK_SIZE).  A
 * write of any part of a chunk dirties the whole chunk.
 *
 * Bits are set and cleared with atomic operations, so the block layer may
 * mark chunks on the main thread while the migration thread scans and clears
 * them, without a lock.  The migration thread clears a chunk *before* it
 * reads it; the block layer marks a chunk when a write *completes*, so a write
 * that races with the read is always sent again.
 */
#ifndef BLOCK_DIRTY_BITMAP_H
#define BLOCK_DIRTY_BITMAP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define BLOCK_DIRTY_BITMAP_DEFAULT_GRANULARITY (1024 * 1024)

struct block_dirty_bitmap;

/* NULL with *errp set if @granularity is not a power of two >= 512. */
struct block_dirty_bitmap *block_dirty_bitmap_new(uint64_t length, uint64_t granularity,
                                                  GError **errp);
void block_dirty_bitmap_free(struct block_dirty_bitmap *b);

uint64_t block_dirty_bitmap_granularity(const struct block_dirty_bitmap *b);
/* Number of chunks (bits); the last chunk may be shorter than the granularity. */
uint64_t block_dirty_bitmap_size(const struct block_dirty_bitmap *b);

/* Mark every chunk that [offset, offset + bytes) touches; clipped to the image. */
void block_dirty_bitmap_set_range(struct block_dirty_bitmap *b, uint64_t offset, uint64_t bytes);
/* Mark every chunk (a migration's first pass). */
void block_dirty_bitmap_set_all(struct block_dirty_bitmap *b);
void block_dirty_bitmap_clear_all(struct block_dirty_bitmap *b);
bool block_dirty_bitmap_get(const struct block_dirty_bitmap *b, uint64_t chunk);
/* Clear @chunk; returns whether it was dirty. */
bool block_dirty_bitmap_test_and_clear(struct block_dirty_bitmap *b, uint64_t chunk);
/* First dirty chunk >= @chunk, or block_dirty_bitmap_size() if none. */
uint64_t block_dirty_bitmap_next_dirty(const struct block_dirty_bitmap *b, uint64_t chunk);
/* Number of dirty chunks. */
uint64_t block_dirty_bitmap_count(const struct block_dirty_bitmap *b);

#endif
