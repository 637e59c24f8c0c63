#include "block/dirty-bitmap.h"

#include "util/error.h"

#define BITS_PER_WORD 64

struct block_dirty_bitmap {
    uint64_t length;
    uint64_t granularity;
    uint64_t nbits;
    uint64_t *words;
};

struct block_dirty_bitmap *block_dirty_bitmap_new(uint64_t length, uint64_t granularity,
                                                  GError **errp)
{
    struct block_dirty_bitmap *b;

    if (granularity < 512 || (granularity & (granularity - 1))) {
        error_setg(errp, "dirty bitmap granularity %" G_GUINT64_FORMAT
                         " is not a power of two >= 512",
                   granularity);
        return NULL;
    }
    b = g_new0(struct block_dirty_bitmap, 1);
    b->length = length;
    b->granularity = granularity;
    b->nbits = (length + granularity - 1) / granularity;
    b->words = g_new0(uint64_t, (b->nbits + BITS_PER_WORD - 1) / BITS_PER_WORD + 1);
    return b;
}

void block_dirty_bitmap_free(struct block_dirty_bitmap *b)
{
    if (b) {
        g_free(b->words);
        g_free(b);
    }
}

uint64_t block_dirty_bitmap_granularity(const struct block_dirty_bitmap *b)
{
    return b->granularity;
}

uint64_t block_dirty_bitmap_size(const struct block_dirty_bitmap *b)
{
    return b->nbits;
}

static void set_bit_atomic(struct block_dirty_bitmap *b, uint64_t bit)
{
    __atomic_fetch_or(&b->words[bit / BITS_PER_WORD], 1ULL << (bit % BITS_PER_WORD),
                      __ATOMIC_SEQ_CST);
}

void block_dirty_bitmap_set_range(struct block_dirty_bitmap *b, uint64_t offset, uint64_t bytes)
{
    uint64_t first, last;

    if (bytes == 0 || offset >= b->length)
        return;
    if (bytes > b->length - offset)
        bytes = b->length - offset;
    first = offset / b->granularity;
    last = (offset + bytes - 1) / b->granularity;
    for (uint64_t bit = first; bit <= last; bit++)
        set_bit_atomic(b, bit);
}

void block_dirty_bitmap_set_all(struct block_dirty_bitmap *b)
{
    block_dirty_bitmap_set_range(b, 0, b->length);
}

void block_dirty_bitmap_clear_all(struct block_dirty_bitmap *b)
{
    for (uint64_t w = 0; w < (b->nbits + BITS_PER_WORD - 1) / BITS_PER_WORD; w++)
        __atomic_store_n(&b->words[w], 0, __ATOMIC_SEQ_CST);
}

bool block_dirty_bitmap_get(const struct block_dirty_bitmap *b, uint64_t chunk)
{
    if (chunk >= b->nbits)
        return false;
    return (__atomic_load_n(&b->words[chunk / BITS_PER_WORD], __ATOMIC_SEQ_CST) >>
            (chunk % BITS_PER_WORD)) &
           1;
}

bool block_dirty_bitmap_test_and_clear(struct block_dirty_bitmap *b, uint64_t chunk)
{
    uint64_t mask = 1ULL << (chunk % BITS_PER_WORD);

    if (chunk >= b->nbits)
        return false;
    return __atomic_fetch_and(&b->words[chunk / BITS_PER_WORD], ~mask, __ATOMIC_SEQ_CST) & mask;
}

uint64_t block_dirty_bitmap_next_dirty(const struct block_dirty_bitmap *b, uint64_t chunk)
{
    while (chunk < b->nbits) {
        uint64_t w = __atomic_load_n(&b->words[chunk / BITS_PER_WORD], __ATOMIC_SEQ_CST);

        w &= ~0ULL << (chunk % BITS_PER_WORD);
        if (w) {
            chunk = chunk / BITS_PER_WORD * BITS_PER_WORD + __builtin_ctzll(w);
            return chunk < b->nbits ? chunk : b->nbits;
        }
        chunk = (chunk / BITS_PER_WORD + 1) * BITS_PER_WORD;
    }
    return b->nbits;
}

uint64_t block_dirty_bitmap_count(const struct block_dirty_bitmap *b)
{
    uint64_t n = 0;

    for (uint64_t w = 0; w < (b->nbits + BITS_PER_WORD - 1) / BITS_PER_WORD; w++)
        n += __builtin_popcountll(__atomic_load_n(&b->words[w], __ATOMIC_SEQ_CST));
    return n;
}
