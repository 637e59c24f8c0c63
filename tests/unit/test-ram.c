/*
 * migration/ram.c: the "ram" section's records byte by byte, a pre-copy
 * round trip with pages dirtied between passes (through the sync callback
 * and ram_mark_dirty), the rate limit, every kind of bad RAM record, the
 * merge of a KVM dirty log at any page offset, cleanup after a failed
 * migration, and the destination's prefault thread.
 */
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "migration/ram.h"
#include "migration/savevm.h"

#define PAGES 64

struct side {
    struct savevm sv;
    struct ram_state rs;
    uint8_t *mem;
    GArray *guest_writes; /* pages the "guest" wrote since the last sync */
    bool lose_writes;     /* a broken dirty log, to prove the test can fail */
    unsigned stops;       /* calls of the sync stop callback */
};

static void fake_stop(void *opaque)
{
    struct side *s = opaque;

    s->stops++;
}

static bool fake_sync(void *opaque, struct ram_state *rs, GError **errp)
{
    struct side *s = opaque;

    (void)errp;
    if (!s->lose_writes) {
        for (guint i = 0; i < s->guest_writes->len; i++)
            ram_set_dirty_page(rs, 0, g_array_index(s->guest_writes, uint64_t, i));
    }
    g_array_set_size(s->guest_writes, 0);
    return true;
}

static void side_init(struct side *s)
{
    g_autoptr(GError) err = NULL;

    memset(s, 0, sizeof(*s));
    s->mem = g_malloc0(PAGES * RAM_PAGE_SIZE);
    s->guest_writes = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    savevm_init(&s->sv, "tern-1.0");
    ram_state_init(&s->rs, fake_sync, s);
    ram_state_set_sync_stop(&s->rs, fake_stop);
    g_assert_true(ram_add_block(&s->rs, "pc.ram", s->mem, PAGES * RAM_PAGE_SIZE, &err));
    g_assert_true(ram_register(&s->rs, &s->sv, &err));
}

static void side_clear(struct side *s)
{
    savevm_destroy(&s->sv);
    ram_state_destroy(&s->rs);
    g_array_free(s->guest_writes, TRUE);
    g_free(s->mem);
}

static void guest_write(struct side *s, uint64_t page, uint8_t v)
{
    memset(s->mem + page * RAM_PAGE_SIZE + 100, v, 50);
    g_array_append_val(s->guest_writes, page);
}

static bool load(struct side *dst, const uint8_t *data, size_t len, GError **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(data, len);
    bool ok = savevm_load(&dst->sv, f, errp);

    qemu_file_close(f, NULL);
    return ok;
}

static int64_t fake_now;
static int64_t fake_clock(void *opaque)
{
    (void)opaque;
    return fake_now;
}

/* Pre-copy with the guest writing between passes; returns the stream. */
static GByteArray *precopy(struct side *src, unsigned *iterations)
{
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;
    GByteArray *out = g_byte_array_new();
    int r;

    /* 10 pages per 100 ms window: several PART sections per pass */
    qemu_file_set_clock(f, fake_clock, NULL);
    qemu_file_set_rate_limit(f, 10 * (RAM_PAGE_SIZE + 16) * 10);
    savevm_write_header(&src->sv, f);
    g_assert_true(savevm_save_setup(&src->sv, f, &err));
    g_assert_cmpuint(savevm_pending(&src->sv, 0), ==, PAGES * RAM_PAGE_SIZE);
    *iterations = 0;
    for (;;) {
        r = savevm_save_iterate(&src->sv, f, &err);
        g_assert_cmpint(r, >=, 0);
        (*iterations)++;
        fake_now += 100 * 1000 * 1000; /* next window */
        if (*iterations < 12)
            guest_write(src, (*iterations * 7) % PAGES, (uint8_t)*iterations);
        if (r == 1 && savevm_pending(&src->sv, 0) == 0)
            break;
        g_assert_cmpuint(*iterations, <, 100);
    }
    g_assert_true(ram_first_pass_done(&src->rs));
    /* Writes while "stopped" are picked up by the final sync. */
    guest_write(src, 3, 0xee);
    g_assert_true(savevm_save_complete(&src->sv, f, &err));
    g_assert_no_error(err);
    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    qemu_file_close(f, NULL);
    return out;
}

static void fill_pattern(struct side *s)
{
    for (unsigned p = 0; p < PAGES; p++) {
        if (p % 3 == 0)
            continue; /* a zero page */
        for (unsigned i = 0; i < RAM_PAGE_SIZE; i++)
            s->mem[p * RAM_PAGE_SIZE + i] = (uint8_t)(p * 31 + i);
    }
}

static void test_round_trip(void)
{
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    unsigned iterations;

    side_init(&src);
    side_init(&dst);
    fill_pattern(&src);
    memset(dst.mem, 0x5a, PAGES * RAM_PAGE_SIZE); /* stale destination contents */
    s = precopy(&src, &iterations);
    g_assert_cmpuint(iterations, >, 3);
    g_assert_cmpuint(src.rs.stats.zero_pages, >=, PAGES / 3);
    g_assert_cmpuint(src.rs.stats.dirty_sync_count, >, 2);
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(dst.mem, PAGES * RAM_PAGE_SIZE, src.mem, PAGES * RAM_PAGE_SIZE);
    side_clear(&src);
    side_clear(&dst);
}

/* A dirty log that loses writes must show up as different RAM. */
static void test_lost_dirty_pages_detected(void)
{
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    unsigned iterations;

    side_init(&src);
    side_init(&dst);
    fill_pattern(&src);
    src.lose_writes = true;
    s = precopy(&src, &iterations);
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_true(memcmp(dst.mem, src.mem, PAGES * RAM_PAGE_SIZE) != 0);
    side_clear(&src);
    side_clear(&dst);
}

/* Device emulation marks pages itself. */
static void test_mark_dirty(void)
{
    struct side s;
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;

    side_init(&s);
    savevm_write_header(&s.sv, f);
    g_assert_true(savevm_save_setup(&s.sv, f, &err));
    while (savevm_save_iterate(&s.sv, f, &err) == 0)
        ;
    g_assert_cmpuint(savevm_pending(&s.sv, 0), ==, 0);
    ram_mark_dirty(&s.rs, 0, RAM_PAGE_SIZE - 1, 2); /* straddles pages 0 and 1 */
    ram_mark_dirty(&s.rs, 0, 5 * RAM_PAGE_SIZE, RAM_PAGE_SIZE);
    ram_mark_dirty(&s.rs, 0, 5 * RAM_PAGE_SIZE, 1); /* already marked */
    ram_mark_dirty(&s.rs, 0, PAGES * RAM_PAGE_SIZE, 1); /* beyond: ignored */
    g_assert_cmpuint(ram_pending_bytes(&s.rs), ==, 3 * RAM_PAGE_SIZE);
    qemu_file_close(f, NULL);
    side_clear(&s);
}

/* The records, byte for byte: MEM_SIZE, ZERO (9 bytes + name), PAGE,
 * CONTINUE, EOS. */
static void test_golden_records(void)
{
    struct side s;
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;
    const GByteArray *out;
    static const uint8_t mem_size[] = {
        0, 0, 0, 0, 0, 4, 0, 0x04, /* 64 pages = 0x40000 | MEM_SIZE */
        6, 'p', 'c', '.', 'r', 'a', 'm', 0, 0, 0, 0, 0, 4, 0, 0, /* block, length */
        0, 0, 0, 0, 0, 0, 0, 0x10, /* EOS */
    };
    static const uint8_t zero_page0[] = {
        0, 0, 0, 0, 0, 0, 0, 0x02, 6, 'p', 'c', '.', 'r', 'a', 'm', 0,
    };
    static const uint8_t page1_hdr[] = { 0, 0, 0, 0, 0, 0, 0x10, 0x28 }; /* PAGE|CONTINUE */
    static const uint8_t zero_page2[] = { 0, 0, 0, 0, 0, 0, 0x20, 0x22, 0 };

    side_init(&s);
    memset(s.mem + RAM_PAGE_SIZE, 0xab, RAM_PAGE_SIZE);
    savevm_write_header(&s.sv, f);
    g_assert_true(savevm_save_setup(&s.sv, f, &err));
    g_assert_cmpint(savevm_save_iterate(&s.sv, f, &err), ==, 1);
    qemu_file_flush(f);
    out = qemu_file_mem_data(f);
    g_assert_nonnull(memmem(out->data, out->len, mem_size, sizeof(mem_size)));
    const uint8_t *z = memmem(out->data, out->len, zero_page0, sizeof(zero_page0));
    g_assert_nonnull(z);
    z += sizeof(zero_page0);
    g_assert_cmpmem(z, sizeof(page1_hdr), page1_hdr, sizeof(page1_hdr));
    for (unsigned i = 0; i < RAM_PAGE_SIZE; i++)
        g_assert_cmpuint(z[sizeof(page1_hdr) + i], ==, 0xab);
    g_assert_cmpmem(z + sizeof(page1_hdr) + RAM_PAGE_SIZE, sizeof(zero_page2), zero_page2,
                    sizeof(zero_page2));
    g_assert_cmpuint(s.rs.stats.zero_pages, ==, PAGES - 1);
    g_assert_cmpuint(s.rs.stats.normal_pages, ==, 1);
    qemu_file_close(f, NULL);
    side_clear(&s);
}

/* A stream with one START "ram" section whose payload is @payload. */
static GByteArray *ram_stream(const uint8_t *payload, size_t len)
{
    static const uint8_t head[] = {
        'Q', 'E', 'V', 'M', 0, 0, 0, 3,                       /* magic, version */
        0x07, 0, 0, 0, 8, 't', 'e', 'r', 'n', '-', '1', '.', '0', /* configuration */
        0x01, 0, 0, 0, 0, 3, 'r', 'a', 'm', 0, 0, 0, 0, 0, 0, 0, 4, /* START ram v4 */
    };
    static const uint8_t tail[] = { 0x7e, 0, 0, 0, 0, 0x00 };
    GByteArray *s = g_byte_array_new();

    g_byte_array_append(s, head, sizeof(head));
    g_byte_array_append(s, payload, len);
    g_byte_array_append(s, tail, sizeof(tail));
    return s;
}

#define MEMSZ 0, 0, 0, 0, 0, 4, 0, 0x04, 6, 'p', 'c', '.', 'r', 'a', 'm', 0, 0, 0, 0, 0, 4, 0, 0
#define EOS 0, 0, 0, 0, 0, 0, 0, 0x10
#define PCRAM 6, 'p', 'c', '.', 'r', 'a', 'm'

static void expect_bad_stream(GByteArray *s, const char *fragment)
{
    struct side dst;
    g_autoptr(GError) err = NULL;

    side_init(&dst);
    g_assert_false(load(&dst, s->data, s->len, &err));
    g_test_message("want '%s', got '%s'", fragment, err->message);
    g_assert_nonnull(strstr(err->message, fragment));
    side_clear(&dst);
}

static void expect_bad(const uint8_t *payload, size_t len, const char *fragment)
{
    g_autoptr(GByteArray) s = ram_stream(payload, len);

    expect_bad_stream(s, fragment);
}

static void test_bad_records(void)
{
    /* a well-formed one first, so the cases below fail for their reason */
    {
        static const uint8_t ok[] = { MEMSZ, 0, 0, 0, 0, 0, 0, 0x10, 0x02, PCRAM, 0, EOS };
        struct side dst;
        g_autoptr(GByteArray) s = ram_stream(ok, sizeof(ok));
        g_autoptr(GError) err = NULL;

        side_init(&dst);
        g_assert_true(load(&dst, s->data, s->len, &err));
        side_clear(&dst);
    }
    static const uint8_t beyond[] = { MEMSZ, 0, 0, 0, 0, 0, 4, 0, 0x02, PCRAM, 0, EOS };
    static const uint8_t far[] = { MEMSZ, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x08, PCRAM };
    static const uint8_t unknown_page[] = { MEMSZ, 0, 0, 0, 0, 0, 0, 0, 0x02,
                                            3, 'r', 'o', 'm', 0, EOS };
    static const uint8_t unknown_block[] = { 0, 0, 0, 0, 0, 4, 0, 0x04,
                                             3, 'r', 'o', 'm', 0, 0, 0, 0, 0, 4, 0, 0, EOS };
    static const uint8_t small[] = { 0, 0, 0, 0, 0, 2, 0, 0x04, PCRAM, 0, 0, 0, 0, 0, 2, 0, 0 };
    static const uint8_t huge[] = { 0, 0, 0, 1, 0, 0, 0, 0x04, PCRAM, 0, 0, 0, 1, 0, 0, 0, 0 };
    static const uint8_t len_differs[] = { 0, 0, 0, 0, 0, 4, 0, 0x04, PCRAM,
                                           0, 0, 0, 0, 0, 8, 0, 0, EOS };
    static const uint8_t before_size[] = { 0, 0, 0, 0, 0, 0, 0, 0x02, PCRAM, 0, EOS };
    static const uint8_t cont_first[] = { MEMSZ, 0, 0, 0, 0, 0, 0, 0x10, 0x22, 0, EOS };
    static const uint8_t fill[] = { MEMSZ, 0, 0, 0, 0, 0, 0, 0x10, 0x02, PCRAM, 7, EOS };
    static const uint8_t xbzrle[] = { MEMSZ, 0, 0, 0, 0, 0, 0, 0x10, 0x40, PCRAM, 1, EOS };
    static const uint8_t mid_page[] = { MEMSZ, 0, 0, 0, 0, 0, 0, 0x10, 0x08, PCRAM, 1, 2, 3 };
    static const uint8_t two_sizes[] = { MEMSZ, MEMSZ, EOS };
    static const uint8_t no_eos[] = { MEMSZ };

    expect_bad(beyond, sizeof(beyond), "page offset 0x40000 beyond block 'pc.ram'");
    expect_bad(far, sizeof(far), "beyond block 'pc.ram'");
    expect_bad(unknown_page, sizeof(unknown_page), "page of unknown RAM block 'rom'");
    expect_bad(unknown_block, sizeof(unknown_block), "unknown RAM block 'rom'");
    expect_bad(small, sizeof(small), "the stream has 128 KiB of RAM, this VM 256 KiB");
    expect_bad(huge, sizeof(huge), "the stream has 4 GiB of RAM, this VM 256 KiB");
    expect_bad(len_differs, sizeof(len_differs),
               "block 'pc.ram' has 524288 bytes in the stream, 262144 here");
    expect_bad(before_size, sizeof(before_size), "page record before MEM_SIZE");
    expect_bad(cont_first, sizeof(cont_first), "CONTINUE record without a previous block");
    expect_bad(fill, sizeof(fill), "zero page with fill byte 0x07");
    expect_bad(xbzrle, sizeof(xbzrle), "XBZRLE is not supported");
    expect_bad(mid_page, sizeof(mid_page), "migration stream ended early");
    expect_bad(two_sizes, sizeof(two_sizes), "unexpected MEM_SIZE record");
    expect_bad(no_eos, sizeof(no_eos), "migration stream ended early");
}

/* Offsets and lengths at their maxima, names at 255 bytes: errors naming
 * them, nothing sized or indexed by them. */
static void test_huge_fields(void)
{
    static const uint8_t block_len[] = { 0, 0, 0, 0, 0, 4, 0, 0x04, PCRAM,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, EOS };
    static const uint8_t block_len32[] = { 0, 0, 0, 0, 0, 4, 0, 0x04, PCRAM,
                                           0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, EOS };
    static const uint8_t total[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x04, PCRAM,
                                     0, 0, 0, 0, 0, 4, 0, 0, EOS };
    static const uint8_t total32[] = { 0, 0, 0, 0, 0xff, 0xff, 0xf0, 0x04, EOS };
    static const uint8_t cont_beyond[] = { MEMSZ, 0, 0, 0, 0, 0, 0, 0, 0x02, PCRAM, 0,
                                           0, 0, 0, 0, 0xff, 0xff, 0xf0, 0x22, 0, EOS };
    static const uint8_t cont_page_far[] = { MEMSZ, 0, 0, 0, 0, 0, 0, 0, 0x02, PCRAM, 0,
                                             0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x28 };
    uint8_t name255[8 + 1 + 255 + 1 + 8];
    uint8_t mem_name255[8 + 1 + 255 + 8 + 8];

    expect_bad(block_len, sizeof(block_len),
               "block 'pc.ram' has 18446744073709551615 bytes in the stream, 262144 here");
    expect_bad(block_len32, sizeof(block_len32), "has 4294967295 bytes in the stream");
    expect_bad(total, sizeof(total), "of RAM, this VM 256 KiB (-m must match)");
    expect_bad(total32, sizeof(total32), "of RAM, this VM 256 KiB (-m must match)");
    expect_bad(cont_beyond, sizeof(cont_beyond),
               "page offset 0xfffff000 beyond block 'pc.ram' (0x40000 bytes)");
    expect_bad(cont_page_far, sizeof(cont_page_far),
               "page offset 0xfffffffffffff000 beyond block 'pc.ram'");

    /* a ZERO record naming a 255-byte block, after a valid MEM_SIZE */
    {
        static const uint8_t memsz[] = { MEMSZ };
        g_autoptr(GByteArray) p = g_byte_array_new();

        g_byte_array_append(p, memsz, sizeof(memsz));
        memset(name255, 0, sizeof(name255));
        name255[7] = 0x02;
        name255[8] = 255;
        memset(name255 + 9, 'n', 255);
        g_byte_array_append(p, name255, sizeof(name255));
        expect_bad(p->data, p->len, "page of unknown RAM block 'nnnn");

    }
    /* MEM_SIZE naming a 255-byte block */
    memset(mem_name255, 0, sizeof(mem_name255));
    mem_name255[5] = 4;
    mem_name255[7] = 0x04;
    mem_name255[8] = 255;
    memset(mem_name255 + 9, 'm', 255);
    mem_name255[9 + 255 + 5] = 4;
    mem_name255[sizeof(mem_name255) - 1] = 0x10;
    expect_bad(mem_name255, sizeof(mem_name255), "unknown RAM block 'mmmm");
}

/* A RAM payload cut anywhere - mid record header, mid block name, mid
 * page, between records - is "ended early", never a partial success. */
static void test_truncated_records(void)
{
    static const uint8_t ok[] = { MEMSZ, 0, 0, 0, 0, 0, 0, 0x10, 0x08, PCRAM };
    static const uint8_t ok2[] = { 0, 0, 0, 0, 0, 0, 0x20, 0x22, 0, EOS };
    g_autoptr(GByteArray) payload = g_byte_array_new();
    uint8_t page[RAM_PAGE_SIZE];

    memset(page, 0x77, sizeof(page));
    g_byte_array_append(payload, ok, sizeof(ok));
    g_byte_array_append(payload, page, sizeof(page));
    g_byte_array_append(payload, ok2, sizeof(ok2));
    for (size_t len = 0; len < payload->len; len += len < 64 || len > payload->len - 64 ? 1 : 509) {
        g_autoptr(GByteArray) s = ram_stream(payload->data, payload->len);

        g_byte_array_set_size(s, s->len - payload->len - 6 + len); /* no footer either */
        expect_bad_stream(s, "migration stream ended early");
    }
}

/* KVM's log for a slot that starts at a page that is not a multiple of 64
 * (the range above 4 GiB) lands on exactly the right marks. */
static void test_or_dirty_bitmap(void)
{
    struct ram_state rs;
    g_autofree uint8_t *mem = g_malloc0(256 * RAM_PAGE_SIZE);
    g_autoptr(GError) err = NULL;
    uint64_t log[3] = { 0x8000000000000001ull, 0x00ff00ff00ff00ffull, 0xffffffffffffffffull };
    static const struct { uint64_t first, n; } cases[] = {
        { 0, 130 }, { 64, 130 }, { 100, 130 }, { 37, 64 }, { 1, 1 }, { 200, 150 }, { 300, 5 },
    };

    ram_state_init(&rs, NULL, NULL);
    g_assert_true(ram_add_block(&rs, "pc.ram", mem, 256 * RAM_PAGE_SIZE, &err));
    for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
        const struct ram_block *b = &rs.blocks[0];

        memset(b->dirty, 0, 256 / 8);
        ram_set_dirty_page(&rs, 0, 3); /* ORed, never cleared */
        ram_or_dirty_bitmap(&rs, 0, cases[c].first, log, cases[c].n);
        for (uint64_t p = 0; p < 256; p++) {
            uint64_t i = p - cases[c].first;
            bool want = p == 3 || (p >= cases[c].first && i < cases[c].n &&
                                   (log[i / 64] >> (i % 64) & 1));
            bool got = b->dirty[p / 64] >> (p % 64) & 1;

            if (got != want)
                g_error("case %u: page %" G_GUINT64_FORMAT " is %d", c, p, got);
        }
    }
    ram_state_destroy(&rs);
}

/* A migration that failed half-way leaves nothing behind: cleanup stops
 * tracking once, and the next migration starts with a full first pass. */
static void test_cleanup_restart(void)
{
    struct side src, dst;
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    unsigned iterations;

    side_init(&src);
    side_init(&dst);
    fill_pattern(&src);
    qemu_file_set_clock(f, fake_clock, NULL);
    qemu_file_set_rate_limit(f, 10 * (RAM_PAGE_SIZE + 16) * 10);
    savevm_write_header(&src.sv, f);
    g_assert_true(savevm_save_setup(&src.sv, f, &err));
    g_assert_cmpint(savevm_save_iterate(&src.sv, f, &err), ==, 0);
    fake_now += 100 * 1000 * 1000;
    g_assert_cmpuint(savevm_pending(&src.sv, 0), <, PAGES * RAM_PAGE_SIZE);
    qemu_file_close(f, NULL); /* the destination went away */
    savevm_save_cleanup(&src.sv);
    g_assert_cmpuint(src.stops, ==, 1);
    g_assert_cmpuint(ram_pending_bytes(&src.rs), ==, 0);
    g_assert_false(ram_first_pass_done(&src.rs));
    ram_mark_dirty(&src.rs, 0, 0, RAM_PAGE_SIZE); /* not tracking: no-op */
    g_assert_cmpuint(ram_pending_bytes(&src.rs), ==, 0);
    savevm_save_cleanup(&src.sv); /* nothing owed any more */
    g_assert_cmpuint(src.stops, ==, 1);

    s = precopy(&src, &iterations);
    savevm_save_cleanup(&src.sv);
    g_assert_cmpuint(src.stops, ==, 2);
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(dst.mem, PAGES * RAM_PAGE_SIZE, src.mem, PAGES * RAM_PAGE_SIZE);
    side_clear(&src);
    side_clear(&dst);
}

/* A side whose RAM is a shared memfd mapping, for the hole tests. */
static uint8_t *memfd_side(struct side *sd, int *fd)
{
    g_autoptr(GError) err = NULL;
    uint8_t *m;

    *fd = memfd_create("test-ram", MFD_CLOEXEC);
    g_assert_cmpint(*fd, >=, 0);
    g_assert_cmpint(ftruncate(*fd, PAGES * RAM_PAGE_SIZE), ==, 0);
    m = mmap(NULL, PAGES * RAM_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    g_assert_true(m != MAP_FAILED);
    memset(sd, 0, sizeof(*sd));
    sd->guest_writes = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    sd->mem = m;
    savevm_init(&sd->sv, "tern-1.0");
    ram_state_init(&sd->rs, fake_sync, sd);
    g_assert_true(ram_add_block(&sd->rs, "pc.ram", m, PAGES * RAM_PAGE_SIZE, &err));
    ram_block_set_fd(&sd->rs, 0, *fd, 0);
    g_assert_true(ram_register(&sd->rs, &sd->sv, &err));
    return m;
}

static bool page_is_hole(int fd, unsigned page)
{
    off_t d = lseek(fd, (off_t)page * RAM_PAGE_SIZE, SEEK_DATA);

    return d < 0 || d >= (off_t)(page + 1) * RAM_PAGE_SIZE;
}

/* Pages in holes of the RAM's memfd are sent as zero without being read
 * (a read would allocate them, on either side), yet a hole the guest
 * writes during the migration still arrives with its data. */
static void test_holes(void)
{
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    int sfd, dfd;
    unsigned iterations, holes = 0;
    uint8_t *smem = memfd_side(&src, &sfd), *dmem = memfd_side(&dst, &dfd);
    bool written[PAGES] = { false };

    for (unsigned p = 0; p < PAGES; p++) {
        if (p % 3)
            memset(smem + p * RAM_PAGE_SIZE, (uint8_t)p | 1, RAM_PAGE_SIZE);
    }
    s = precopy(&src, &iterations);
    for (unsigned i = 1; i < 12; i++)
        written[(i * 7) % PAGES] = true; /* what precopy()'s "guest" wrote */
    written[3] = true;
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    /* Before anything reads the memory (a read fills a hole in). */
    for (unsigned p = 0; p < PAGES; p += 3) {
        if (written[p])
            continue;
        g_assert_true(page_is_hole(sfd, p)); /* never read on the source */
        g_assert_true(page_is_hole(dfd, p)); /* never touched on the destination */
        holes++;
    }
    g_assert_cmpuint(holes, >, PAGES / 4);
    g_assert_cmpmem(dmem, PAGES * RAM_PAGE_SIZE, smem, PAGES * RAM_PAGE_SIZE);
    savevm_save_cleanup(&src.sv);
    munmap(smem, PAGES * RAM_PAGE_SIZE);
    munmap(dmem, PAGES * RAM_PAGE_SIZE);
    close(sfd);
    close(dfd);
    src.mem = g_malloc0(1); /* side_clear frees it */
    dst.mem = g_malloc0(1);
    side_clear(&src);
    side_clear(&dst);
}

/* The destination's prefault thread runs over real (page-aligned) memory
 * beside the loader and never changes what was loaded. */
static void test_prefault(void)
{
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    uint8_t *mapped = mmap(NULL, PAGES * RAM_PAGE_SIZE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned iterations;

    g_assert_true(mapped != MAP_FAILED);
    side_init(&src);
    memset(&dst, 0, sizeof(dst));
    dst.guest_writes = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    dst.mem = g_malloc0(1); /* side_clear frees it; the RAM is @mapped */
    savevm_init(&dst.sv, "tern-1.0");
    ram_state_init(&dst.rs, NULL, NULL);
    dst.rs.prefault_min = 0; /* a thread even for this little RAM */
    g_assert_true(ram_add_block(&dst.rs, "pc.ram", mapped, PAGES * RAM_PAGE_SIZE, &err));
    g_assert_true(ram_register(&dst.rs, &dst.sv, &err));
    fill_pattern(&src);
    memset(mapped, 0x5a, PAGES * RAM_PAGE_SIZE);
    s = precopy(&src, &iterations);
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    g_assert_null(dst.rs.prefault); /* joined by load_cleanup */
    g_assert_cmpmem(mapped, PAGES * RAM_PAGE_SIZE, src.mem, PAGES * RAM_PAGE_SIZE);
    g_test_message("prefaulted %" G_GUINT64_FORMAT " bytes", dst.rs.prefaulted);
    munmap(mapped, PAGES * RAM_PAGE_SIZE);
    side_clear(&src);
    side_clear(&dst);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram/golden-records", test_golden_records);
    g_test_add_func("/ram/round-trip", test_round_trip);
    g_test_add_func("/ram/lost-dirty-pages-detected", test_lost_dirty_pages_detected);
    g_test_add_func("/ram/mark-dirty", test_mark_dirty);
    g_test_add_func("/ram/bad-records", test_bad_records);
    g_test_add_func("/ram/huge-fields", test_huge_fields);
    g_test_add_func("/ram/truncated-records", test_truncated_records);
    g_test_add_func("/ram/or-dirty-bitmap", test_or_dirty_bitmap);
    g_test_add_func("/ram/cleanup-restart", test_cleanup_restart);
    g_test_add_func("/ram/prefault", test_prefault);
    g_test_add_func("/ram/holes", test_holes);
    return g_test_run();
}
