/*
 * migration/block.c: the "block" section's records byte by byte; a
 * pre-copy round trip from one image file to another with chunks written
 * (through block_pwritev, dirty bitmap on) between passes and while
 * "stopped", ending byte-equal; zero chunks without data; a disk whose size
 * is not a multiple of the chunk; the pending figure for the switch-over;
 * the optional section; hostile streams (unknown drive, past the end, bad
 * flags, a smaller destination, every truncation point); a read error on
 * the source and a write error on the destination naming the disk; waiting
 * for completions when no main loop dispatches.
 *
 * A thread runs system/main-loop.c as the VM's main thread does, so block
 * completions arrive as in Tern: on that thread with the VM lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "block/dirty-bitmap.h"
#include "migration/block.h"
#include "migration/savevm.h"
#include "system/main-loop.h"

#define CHUNK BLOCK_MIG_CHUNK_SIZE

/* The VM's main loop on its own thread. */
struct loop {
    struct main_loop ml;
    GThread *thread;
};

static gpointer loop_thread(gpointer opaque)
{
    struct main_loop *ml = opaque;

    main_loop_lock(ml);
    main_loop_run(ml);
    main_loop_unlock(ml);
    return NULL;
}

static void loop_init(struct loop *l, bool run)
{
    main_loop_init(&l->ml);
    l->thread = run ? g_thread_new("main-loop", loop_thread, &l->ml) : NULL;
}

static void loop_destroy(struct loop *l)
{
    if (l->thread) {
        main_loop_quit(&l->ml);
        g_thread_join(l->thread);
    }
    main_loop_destroy(&l->ml);
}

/* One VM's disk and block migration state. */
struct side {
    struct loop *loop;
    char *path;
    uint64_t size;
    struct block_backend *bb;
    struct block_mig bm;
    struct savevm sv;
};

static char *workdir;

static void write_file(const char *path, uint64_t size, unsigned seed)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    g_autofree uint8_t *buf = g_malloc(CHUNK);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    /* seed 0: sparse and zero; else every other chunk holds a pattern */
    for (uint64_t off = 0; seed && off < size; off += 2 * CHUNK) {
        size_t n = MIN(CHUNK, size - off);

        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)(seed + i * 7 + (off >> 20) * 13 + (i >> 12));
        g_assert_cmpint(pwrite(fd, buf, n, off), ==, (ssize_t)n);
    }
    close(fd);
}

static uint8_t *read_file(const char *path, gsize *len)
{
    gchar *data = NULL;

    g_assert_true(g_file_get_contents(path, &data, len, NULL));
    return (uint8_t *)data;
}

static void side_init(struct side *s, struct loop *l, const char *name, uint64_t size,
                      unsigned seed, bool with_disk)
{
    struct block_options o = { 0 };
    g_autoptr(GError) err = NULL;

    memset(s, 0, sizeof(*s));
    s->loop = l;
    s->size = size;
    s->path = g_build_filename(workdir, name, NULL);
    write_file(s->path, size, seed);
    o.file = s->path;
    main_loop_lock(&l->ml);
    s->bb = block_open(l->ml.ctx, &o, &err);
    g_assert_no_error(err);
    block_mig_init(&s->bm, &l->ml.lock);
    if (with_disk)
        g_assert_true(block_mig_add_disk(&s->bm, "virtio0", s->bb, &err));
    savevm_init(&s->sv, "tern-1.0");
    g_assert_true(block_mig_register(&s->bm, &s->sv, &err));
    block_mig_set_enabled(&s->bm, true);
    main_loop_unlock(&l->ml);
    g_assert_no_error(err);
}

static void side_clear(struct side *s)
{
    main_loop_lock(&s->loop->ml);
    savevm_destroy(&s->sv);
    block_mig_destroy(&s->bm);
    block_close(s->bb);
    main_loop_unlock(&s->loop->ml);
    g_unlink(s->path);
    g_free(s->path);
}

/* What a guest write through virtio-blk does: block_pwritev under the VM
 * lock; drained here so that the write has completed (and marked its
 * chunk) when this returns. */
static void write_done(void *opaque, int ret)
{
    *(int *)opaque = ret;
}

static void guest_write(struct side *s, uint64_t off, size_t len, uint8_t v)
{
    g_autofree uint8_t *buf = g_malloc(len);
    struct iovec iov = { buf, len };
    int ret = 1;

    memset(buf, v, len);
    main_loop_lock(&s->loop->ml);
    block_pwritev(s->bb, off, &iov, 1, write_done, &ret);
    block_drain(s->bb);
    main_loop_unlock(&s->loop->ml);
    g_assert_cmpint(ret, ==, 0);
}

static int64_t fake_now;
static int64_t fake_clock(void *opaque)
{
    (void)opaque;
    return fake_now;
}

static QEMUFile *out_stream(struct side *src, uint64_t chunks_per_window)
{
    QEMUFile *f = qemu_file_new_mem_output();

    qemu_file_set_clock(f, fake_clock, NULL);
    qemu_file_set_rate_limit(f, chunks_per_window * (CHUNK + 20) * 10);
    savevm_write_header(&src->sv, f);
    return f;
}

static bool save_setup(struct side *src, QEMUFile *f, GError **errp)
{
    bool ok;

    main_loop_lock(&src->loop->ml);
    ok = savevm_save_setup(&src->sv, f, errp);
    main_loop_unlock(&src->loop->ml);
    return ok;
}

/* END sections (no lock, guest "stopped"), then EOF (lock), cleanup. */
static bool save_finish(struct side *src, QEMUFile *f, GError **errp)
{
    bool ok = savevm_save_complete_live(&src->sv, f, errp);

    main_loop_lock(&src->loop->ml);
    ok = ok && savevm_save_devices(&src->sv, f, errp);
    savevm_save_cleanup(&src->sv);
    main_loop_unlock(&src->loop->ml);
    return ok;
}

static GByteArray *take_stream(QEMUFile *f)
{
    GByteArray *out = g_byte_array_new();

    qemu_file_flush(f);
    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    qemu_file_close(f, NULL);
    return out;
}

static bool load(struct side *dst, const uint8_t *data, size_t len, GError **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(data, len);
    bool ok = savevm_load(&dst->sv, f, errp);

    qemu_file_close(f, NULL);
    return ok;
}

static void assert_same_disks(const struct side *a, const struct side *b)
{
    gsize la, lb;
    g_autofree uint8_t *da = read_file(a->path, &la);
    g_autofree uint8_t *db = read_file(b->path, &lb);

    g_assert_cmpuint(la, ==, lb);
    g_assert_true(memcmp(da, db, la) == 0);
}

static void expect_error(GError *err, const char *fragment)
{
    g_assert_nonnull(err);
    if (!strstr(err->message, fragment))
        g_error("'%s' lacks '%s'", err->message, fragment);
}

static void put_be64(GByteArray *a, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        uint8_t b = v >> (i * 8);
        g_byte_array_append(a, &b, 1);
    }
}

static void put_str8(GByteArray *a, const char *s)
{
    uint8_t n = strlen(s);

    g_byte_array_append(a, &n, 1);
    g_byte_array_append(a, (const uint8_t *)s, n);
}

static void put_section(GByteArray *a, uint8_t type, const GByteArray *payload)
{
    static const uint8_t start[] = { 0x01, 0, 0, 0, 0, 5, 'b', 'l', 'o', 'c', 'k',
                                     0,    0, 0, 0, 0, 0, 0,   1 };
    static const uint8_t id[] = { 0, 0, 0, 0 };
    uint8_t footer = 0x7e;

    if (type == 0x01) {
        g_byte_array_append(a, start, sizeof(start));
    } else {
        g_byte_array_append(a, &type, 1);
        g_byte_array_append(a, id, 4);
    }
    g_byte_array_append(a, payload->data, payload->len);
    g_byte_array_append(a, &footer, 1);
    g_byte_array_append(a, id, 4);
}

/* ---- tests ---- */

/*
 * A disk of one zero chunk and a short second chunk (4 KiB of data): the
 * whole stream, byte for byte, up to EOF.
 */
static void test_golden(void)
{
    struct loop l;
    struct side src;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GByteArray) want = g_byte_array_new();
    g_autoptr(GByteArray) p = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *chunk = g_malloc0(CHUNK);
    QEMUFile *f;

    loop_init(&l, true);
    side_init(&src, &l, "golden.img", CHUNK + 4096, 0, true);
    guest_write(&src, CHUNK, 4096, 0xab); /* not migrating: marks nothing */
    memset(chunk, 0xab, 4096);
    f = out_stream(&src, 0);
    qemu_file_set_rate_limit(f, 0);
    g_assert_true(save_setup(&src, f, &err));
    g_assert_cmpint(savevm_save_iterate(&src.sv, f, &err), ==, 1);
    g_assert_true(save_finish(&src, f, &err));
    g_assert_no_error(err);
    s = take_stream(f);

    g_byte_array_append(want, (const uint8_t *)"QEVM\0\0\0\3\x07\0\0\0\x08tern-1.0", 21);
    put_be64(p, 0x02); /* START: EOS only */
    put_section(want, 0x01, p);
    g_byte_array_set_size(p, 0);
    put_be64(p, 0x0000000000000009); /* chunk 0: DEVICE_BLOCK | ZERO_BLOCK */
    put_str8(p, "virtio0");
    put_be64(p, 0x0000000000100001); /* sector 2048 << 9 | DEVICE_BLOCK */
    put_str8(p, "virtio0");
    g_byte_array_append(p, chunk, CHUNK); /* 4 KiB of disk, zero padding */
    put_be64(p, 100 << 9 | 0x04);          /* PROGRESS 100 */
    put_be64(p, 0x02);
    put_section(want, 0x02, p);
    g_byte_array_set_size(p, 0);
    put_be64(p, 100 << 9 | 0x04); /* END: nothing dirty, PROGRESS 100, EOS */
    put_be64(p, 0x02);
    put_section(want, 0x03, p);
    g_byte_array_append(want, (const uint8_t *)"\0", 1); /* EOF */
    g_assert_cmpuint(s->len, >, want->len);
    for (guint i = 0; i < want->len; i++)
        if (s->data[i] != want->data[i]) {
            g_printerr("differs at %u: %02x want %02x\n", i, s->data[i], want->data[i]);
            break;
        }
    g_assert_cmpmem(s->data, want->len, want->data, want->len);
    g_assert_cmpuint(src.bm.counters.transferred, ==, CHUNK + 4096);
    side_clear(&src);
    loop_destroy(&l);
}

/* Pre-copy at 2 chunks per window with the "guest" writing between
 * passes; returns the stream. */
static GByteArray *precopy(struct side *src, unsigned *iterations)
{
    QEMUFile *f = out_stream(src, 2);
    g_autoptr(GError) err = NULL;
    uint64_t last = src->size - 1000; /* in the short last chunk */
    int r;

    g_assert_true(save_setup(src, f, &err));
    g_assert_cmpuint(savevm_pending(&src->sv, 0), ==, src->size);
    for (*iterations = 0;; (*iterations)++) {
        r = savevm_save_iterate(&src->sv, f, &err);
        g_assert_no_error(err);
        g_assert_cmpint(r, >=, 0);
        fake_now += 100 * 1000 * 1000; /* next window */
        if (*iterations == 0)
            guest_write(src, 100, 5000, 0x11); /* chunk 0: sent already */
        if (*iterations == 1)
            guest_write(src, last, 1000, 0x22); /* not reached yet */
        if (*iterations == 2)
            guest_write(src, 3 * CHUNK - 10, 20, 0x33); /* straddles 2 and 3 */
        if (r == 1 && savevm_pending(&src->sv, 0) == 0)
            break;
        g_assert_cmpuint(*iterations, <, 50);
    }
    g_assert_true(block_mig_first_pass_done(&src->bm));
    g_assert_cmpuint(savevm_pending(&src->sv, 0), ==, 0);
    /* Writes after the last pass, before the stop: in the END section. */
    guest_write(src, 2 * CHUNK + 4096, 512, 0x44);
    guest_write(src, CHUNK, 4096, 0); /* zeroes over a zero chunk */
    g_assert_true(save_finish(src, f, &err));
    g_assert_no_error(err);
    g_assert_null(block_get_dirty_bitmap(src->bb)); /* cleanup switched it off */
    return take_stream(f);
}

static void test_round_trip(void)
{
    struct loop l;
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    uint64_t size = 6 * CHUNK + 3 * 512; /* not a multiple of the chunk */
    unsigned iterations;

    loop_init(&l, true);
    side_init(&src, &l, "src.img", size, 1, true);
    side_init(&dst, &l, "dst.img", size, 9, true); /* stale contents */
    s = precopy(&src, &iterations);
    g_assert_cmpuint(iterations, >=, 3);
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    g_assert_cmpint(dst.bm.load_progress, ==, 100);
    assert_same_disks(&src, &dst);
    /* Each chunk once, and at least chunk 0 and 2 (END) again. */
    g_assert_cmpuint(src.bm.counters.transferred, >=, size + 2 * CHUNK);

    /* A second migration starts from scratch: a full first pass. */
    g_byte_array_unref(s);
    guest_write(&src, 5 * CHUNK, 4096, 0x55);
    s = precopy(&src, &iterations);
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    assert_same_disks(&src, &dst);
    side_clear(&src);
    side_clear(&dst);
    loop_destroy(&l);
}

/* Without the dirty bitmap's marks the destination differs: the round
 * trip above can fail. */
static void test_lost_writes_detected(void)
{
    struct loop l;
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    QEMUFile *f;

    loop_init(&l, true);
    side_init(&src, &l, "src.img", 4 * CHUNK, 1, true);
    side_init(&dst, &l, "dst.img", 4 * CHUNK, 1, true);
    f = out_stream(&src, 0);
    qemu_file_set_rate_limit(f, 0);
    g_assert_true(save_setup(&src, f, &err));
    g_assert_cmpint(savevm_save_iterate(&src.sv, f, &err), ==, 1);
    guest_write(&src, 100, 100, 0x77);
    block_dirty_bitmap_clear_all(block_get_dirty_bitmap(src.bb)); /* the bug */
    g_assert_true(save_finish(&src, f, &err));
    s = take_stream(f);
    g_assert_true(load(&dst, s->data, s->len, &err));
    {
        gsize la, lb;
        g_autofree uint8_t *a = read_file(src.path, &la);
        g_autofree uint8_t *b = read_file(dst.path, &lb);
        g_assert_true(memcmp(a, b, la) != 0);
    }
    side_clear(&src);
    side_clear(&dst);
    loop_destroy(&l);
}

/* An all-zero disk costs a few bytes per chunk; the destination's stale
 * data is zeroed. */
static void test_zero_chunks(void)
{
    struct loop l;
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;
    unsigned iterations;

    loop_init(&l, true);
    side_init(&src, &l, "src.img", 8 * CHUNK, 0, true);
    side_init(&dst, &l, "dst.img", 8 * CHUNK, 3, true);
    s = precopy(&src, &iterations);
    /* Only the chunks the "guest" wrote carry data: 0, 7, 2, 3 in
     * passes, 2 again in END. */
    g_assert_cmpuint(s->len, <, 5 * CHUNK + 4096);
    g_assert_cmpuint(s->len, >, 5 * CHUNK);
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    assert_same_disks(&src, &dst);
    side_clear(&src);
    side_clear(&dst);
    loop_destroy(&l);
}

/* state_pending: every byte at first (the short chunk by its length), what
 * is left of the bulk pass, then exactly the rewritten chunks. */
static void test_pending(void)
{
    struct loop l;
    struct side src;
    g_autoptr(GError) err = NULL;
    uint64_t size = 5 * CHUNK + 4096;
    QEMUFile *f;

    loop_init(&l, true);
    side_init(&src, &l, "src.img", size, 1, true);
    f = out_stream(&src, 2);
    g_assert_true(save_setup(&src, f, &err));
    g_assert_cmpuint(savevm_pending(&src.sv, 0), ==, size);
    g_assert_false(savevm_first_pass_done(&src.sv));
    g_assert_cmpint(savevm_save_iterate(&src.sv, f, &err), ==, 0);
    /* the window takes 2 chunks (1 and a bit allowed, the next in flight) */
    g_assert_cmpuint(savevm_pending(&src.sv, 0), <, size);
    g_assert_cmpuint(savevm_pending(&src.sv, 0), >=, size - 4 * CHUNK);
    g_assert_false(savevm_first_pass_done(&src.sv));
    qemu_file_set_rate_limit(f, 0);
    g_assert_cmpint(savevm_save_iterate(&src.sv, f, &err), ==, 1);
    g_assert_true(savevm_first_pass_done(&src.sv));
    g_assert_cmpuint(savevm_pending(&src.sv, 0), ==, 0);
    guest_write(&src, 5 * CHUNK, 1, 1);    /* the 4 KiB last chunk */
    guest_write(&src, CHUNK + 10, 10, 1);  /* a whole chunk */
    guest_write(&src, CHUNK + 100, 10, 1); /* the same one */
    g_assert_cmpuint(savevm_pending(&src.sv, 0), ==, CHUNK + 4096);
    g_assert_true(save_finish(&src, f, &err));
    g_assert_no_error(err);
    qemu_file_close(f, NULL);
    side_clear(&src);
    loop_destroy(&l);
}

/* The section is optional: a destination with a disk loads a stream with
 * it and one without it (the source did not ask for block migration). */
static void test_optional_section(void)
{
    struct loop l;
    struct side src, dst;
    g_autoptr(GError) err = NULL;

    loop_init(&l, true);
    side_init(&src, &l, "src.img", 2 * CHUNK, 1, true);
    side_init(&dst, &l, "dst.img", 2 * CHUNK, 0, true);
    for (int on = 0; on < 2; on++) {
        QEMUFile *f;
        g_autoptr(GByteArray) s = NULL;

        main_loop_lock(&l.ml);
        block_mig_set_enabled(&src.bm, on);
        main_loop_unlock(&l.ml);
        f = out_stream(&src, 0);
        qemu_file_set_rate_limit(f, 0);
        g_assert_true(save_setup(&src, f, &err));
        g_assert_cmpint(savevm_save_iterate(&src.sv, f, &err), ==, 1);
        g_assert_true(save_finish(&src, f, &err));
        s = take_stream(f);
        g_assert_cmpint(memmem(s->data, s->len, "\x05" "block", 6) != NULL, ==, on);
        g_assert_true(load(&dst, s->data, s->len, &err));
        g_assert_no_error(err);
        if (on)
            assert_same_disks(&src, &dst);
    }
    side_clear(&src);
    side_clear(&dst);
    loop_destroy(&l);
}

/* A stream of one block section with @payload as its START payload. */
static GByteArray *stream_with(const GByteArray *payload)
{
    GByteArray *a = g_byte_array_new();

    g_byte_array_append(a, (const uint8_t *)"QEVM\0\0\0\3\x07\0\0\0\x08tern-1.0", 21);
    put_section(a, 0x01, payload);
    g_byte_array_append(a, (const uint8_t *)"\0", 1);
    return a;
}

static void expect_refused(struct side *dst, const GByteArray *payload, const char *fragment)
{
    g_autoptr(GByteArray) s = stream_with(payload);
    g_autoptr(GError) err = NULL;

    g_assert_false(load(dst, s->data, s->len, &err));
    expect_error(err, fragment);
}

static void test_hostile(void)
{
    struct loop l;
    struct side dst;
    g_autoptr(GByteArray) p = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *data = g_malloc0(CHUNK);
    uint64_t size = 3 * CHUNK + 8192;

    loop_init(&l, true);
    side_init(&dst, &l, "dst.img", size, 0, true);

    /* well-formed, for reference */
    put_be64(p, 3 * 2048 << 9 | 0x09);
    put_str8(p, "virtio0");
    put_be64(p, 0x02);
    {
        g_autoptr(GByteArray) s = stream_with(p);
        g_assert_true(load(&dst, s->data, s->len, &err));
        g_assert_no_error(err);
    }

    g_byte_array_set_size(p, 0);
    put_be64(p, 0x01);
    put_str8(p, "ide0");
    g_byte_array_append(p, data, CHUNK);
    put_be64(p, 0x02);
    expect_refused(&dst, p, "unknown drive 'ide0' (this VM's writable drives: 'virtio0')");

    g_byte_array_set_size(p, 0);
    put_be64(p, 4 * 2048 << 9 | 0x09); /* the image has 3 chunks and 8 KiB */
    put_str8(p, "virtio0");
    put_be64(p, 0x02);
    expect_refused(&dst, p, "drive 'virtio0': chunk at sector 8192 is past the end");

    g_byte_array_set_size(p, 0);
    put_be64(p, (uint64_t)1 << 63 | 0x09); /* offset overflows nothing */
    put_str8(p, "virtio0");
    expect_refused(&dst, p, "is past the end");

    g_byte_array_set_size(p, 0);
    put_be64(p, 8 << 9 | 0x09);
    put_str8(p, "virtio0");
    expect_refused(&dst, p, "sector 8 is not a multiple of the 2048-sector chunk");

    /* 4 KiB of data past this image's 8 KiB tail: the source's is larger */
    g_byte_array_set_size(p, 0);
    put_be64(p, 3 * 2048 << 9 | 0x01);
    put_str8(p, "virtio0");
    data[12288] = 1;
    g_byte_array_append(p, data, CHUNK);
    data[12288] = 0;
    put_be64(p, 0x02);
    expect_refused(&dst, p, "has data past the end of this image (3153920 bytes)");

    static const uint64_t bad[] = { 0x10, 0x03, 0x05, 0x08, 0x0d, 0x1ff, 1 << 9 | 0x02,
                                    101 << 9 | 0x04 };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_byte_array_set_size(p, 0);
        put_be64(p, bad[i]);
        put_str8(p, "virtio0");
        expect_refused(&dst, p, "block: invalid record");
    }
    side_clear(&dst);
    loop_destroy(&l);
}

/* The same chunk sent again and again (zero, data, zero...) while the
 * earlier writes may still be in flight: the last record wins. */
static void test_rewrite_order(void)
{
    struct loop l;
    struct side dst;
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *data = g_malloc(CHUNK);

    loop_init(&l, true);
    side_init(&dst, &l, "dst.img", 2 * CHUNK, 0, true);
    /* n = 16 ends with a zero record (a slow data write before a fast
     * write-zeroes), n = 17 with data 0x20 */
    for (unsigned n = 16; n <= 17; n++) {
        g_autoptr(GByteArray) p = g_byte_array_new();

        for (unsigned i = 0; i < n; i++) {
            if (i % 2) {
                put_be64(p, 2048 << 9 | 0x09);
                put_str8(p, "virtio0");
                continue;
            }
            memset(data, 0x10 + i, CHUNK);
            put_be64(p, 2048 << 9 | 0x01);
            put_str8(p, "virtio0");
            g_byte_array_append(p, data, CHUNK);
        }
        put_be64(p, 0x02);
        for (unsigned round = 0; round < 10; round++) {
            g_autoptr(GByteArray) s = stream_with(p);
            gsize len;
            g_autofree uint8_t *img = NULL;

            g_assert_true(load(&dst, s->data, s->len, &err));
            g_assert_no_error(err);
            img = read_file(dst.path, &len);
            for (gsize i = CHUNK; i < len; i++)
                g_assert_cmpuint(img[i], ==, n == 16 ? 0 : 0x20);
        }
    }
    side_clear(&dst);
    loop_destroy(&l);
}

/* Every truncation of a real stream is refused with a message (and a
 * sample of points inside the data of a chunk). */
static void test_truncated(void)
{
    struct loop l;
    struct side src, dst;
    g_autoptr(GError) err = NULL;
    QEMUFile *f;
    g_autoptr(GByteArray) s = NULL;
    size_t eof;

    loop_init(&l, true);
    side_init(&src, &l, "src.img", 3 * CHUNK + 512, 0, true);
    side_init(&dst, &l, "dst.img", 3 * CHUNK + 512, 0, true);
    guest_write(&src, 3 * CHUNK, 512, 0x5a); /* one data chunk, three zero */
    f = out_stream(&src, 0);
    qemu_file_set_rate_limit(f, 0);
    g_assert_true(save_setup(&src, f, &err));
    g_assert_cmpint(savevm_save_iterate(&src.sv, f, &err), ==, 1);
    g_assert_true(save_finish(&src, f, &err));
    s = take_stream(f);
    for (eof = s->len - 1; s->data[eof] != 0x00 || s->data[eof + 1] != 0x06; eof--)
        ;
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    for (size_t n = 0; n <= eof; n += (n > 200 && n < eof - 200) ? 4093 : 1) {
        g_assert_false(load(&dst, s->data, n, &err));
        g_assert_nonnull(err);
        g_assert_cmpuint(strlen(err->message), >, 0);
        g_clear_error(&err);
    }
    side_clear(&src);
    side_clear(&dst);
    loop_destroy(&l);
}

/* A failed read fails the save, naming the disk and offset; the bitmap
 * is off after cleanup. */
static void test_read_error(void)
{
    struct loop l;
    struct side src;
    g_autoptr(GError) err = NULL;
    QEMUFile *f;
    int r;

    loop_init(&l, true);
    side_init(&src, &l, "src.img", 4 * CHUNK, 1, true);
    main_loop_lock(&l.ml);
    block_inject_error(src.bb, BLOCK_OP_READ, 2 * CHUNK + 4096, 1, EIO);
    main_loop_unlock(&l.ml);
    f = out_stream(&src, 0);
    qemu_file_set_rate_limit(f, 0);
    g_assert_true(save_setup(&src, f, &err));
    r = savevm_save_iterate(&src.sv, f, &err);
    g_assert_cmpint(r, ==, -1);
    expect_error(err, "section 'block': block migration: reading disk 'virtio0' at offset "
                      "2097152 (sector 4096) failed: Input/output error");
    main_loop_lock(&l.ml);
    savevm_save_cleanup(&src.sv);
    g_assert_null(block_get_dirty_bitmap(src.bb));
    g_assert_cmpuint(block_in_flight(src.bb), ==, 0);
    main_loop_unlock(&l.ml);
    qemu_file_close(f, NULL);
    side_clear(&src);
    loop_destroy(&l);
}

/* A failed write or flush on the destination fails the load, named. */
static void test_write_error(void)
{
    struct loop l;
    struct side src, dst;
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) s = NULL;
    unsigned iterations;

    loop_init(&l, true);
    side_init(&src, &l, "src.img", 4 * CHUNK, 1, true);
    side_init(&dst, &l, "dst.img", 4 * CHUNK, 0, true);
    s = precopy(&src, &iterations);
    main_loop_lock(&l.ml);
    block_inject_error(dst.bb, BLOCK_OP_WRITE, 2 * CHUNK, 1, ENOSPC);
    main_loop_unlock(&l.ml);
    g_assert_false(load(&dst, s->data, s->len, &err));
    expect_error(err, "block: writing drive 'virtio0' at offset 2097152 failed: No space left");
    g_clear_error(&err);
    main_loop_lock(&l.ml);
    block_inject_error(dst.bb, BLOCK_OP_WRITE, 0, 0, 0);
    block_inject_error(dst.bb, BLOCK_OP_FLUSH, 0, 0, EIO);
    main_loop_unlock(&l.ml);
    g_assert_false(load(&dst, s->data, s->len, &err));
    expect_error(err, "block: flushing drive 'virtio0' failed: Input/output error");
    main_loop_lock(&l.ml);
    g_assert_cmpuint(block_in_flight(dst.bb), ==, 0);
    main_loop_unlock(&l.ml);
    side_clear(&src);
    side_clear(&dst);
    loop_destroy(&l);
}

/* No main loop dispatching (vm_free after the loop ended): waiters drain
 * the disks themselves instead of hanging. */
static void test_no_main_loop(void)
{
    struct loop l;
    struct side src, dst;
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) s = NULL;
    unsigned iterations;

    loop_init(&l, false);
    side_init(&src, &l, "src.img", 4 * CHUNK + 4096, 1, true);
    side_init(&dst, &l, "dst.img", 4 * CHUNK + 4096, 0, true);
    s = precopy(&src, &iterations);
    g_assert_true(load(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    assert_same_disks(&src, &dst);
    side_clear(&src);
    side_clear(&dst);
    loop_destroy(&l);
}

/* add_disk refuses what it cannot copy; a VM without disks sends nothing. */
static void test_add_disk(void)
{
    struct loop l;
    struct side s;
    struct block_options o = { 0 };
    struct block_backend *ro;
    g_autoptr(GError) err = NULL;
    g_autofree char *long_name = g_strnfill(256, 'x');

    loop_init(&l, true);
    side_init(&s, &l, "a.img", CHUNK, 0, false);
    o.file = s.path;
    o.readonly = true;
    o.no_locking = true;
    main_loop_lock(&l.ml);
    ro = block_open(l.ml.ctx, &o, &err);
    g_assert_no_error(err);
    g_assert_false(block_mig_add_disk(&s.bm, "virtio1", ro, &err));
    expect_error(err, "drive 'virtio1' is read-only");
    g_clear_error(&err);
    g_assert_false(block_mig_add_disk(&s.bm, long_name, s.bb, &err));
    expect_error(err, "must be 1 to 255 bytes");
    g_clear_error(&err);
    g_assert_true(block_mig_add_disk(&s.bm, "virtio0", s.bb, &err));
    g_assert_false(block_mig_add_disk(&s.bm, "virtio0", s.bb, &err));
    expect_error(err, "added twice");
    g_assert_cmpuint(block_mig_disk_count(&s.bm), ==, 1);
    block_close(ro);
    main_loop_unlock(&l.ml);
    side_clear(&s);
    loop_destroy(&l);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    /* In the build tree, not /tmp (which may be tmpfs). */
    workdir = g_mkdtemp(g_strdup("test-block-mig-XXXXXX"));
    g_assert_nonnull(workdir);
    g_test_add_func("/block-mig/golden", test_golden);
    g_test_add_func("/block-mig/round-trip", test_round_trip);
    g_test_add_func("/block-mig/lost-writes-detected", test_lost_writes_detected);
    g_test_add_func("/block-mig/zero-chunks", test_zero_chunks);
    g_test_add_func("/block-mig/pending", test_pending);
    g_test_add_func("/block-mig/optional-section", test_optional_section);
    g_test_add_func("/block-mig/hostile", test_hostile);
    g_test_add_func("/block-mig/rewrite-order", test_rewrite_order);
    g_test_add_func("/block-mig/truncated", test_truncated);
    g_test_add_func("/block-mig/read-error", test_read_error);
    g_test_add_func("/block-mig/write-error", test_write_error);
    g_test_add_func("/block-mig/no-main-loop", test_no_main_loop);
    g_test_add_func("/block-mig/add-disk", test_add_disk);
    ret = g_test_run();
    g_rmdir(workdir);
    g_free(workdir);
    return ret;
}
