/* migration/qemu-file.c: encoding, buffering, sticky errors, rate limit. */
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "migration/qemu-file.h"

static void put_all(QEMUFile *f)
{
    qemu_file_put_byte(f, 0xab);
    qemu_file_put_be16(f, 0x1234);
    qemu_file_put_be32(f, 0xdeadbeef);
    qemu_file_put_be64(f, 0x0102030405060708ULL);
    qemu_file_put_str8(f, "tern-1.0");
    qemu_file_put_buffer(f, "xyz", 3);
}

static const uint8_t put_all_bytes[] = {
    0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8,
    8, 't', 'e', 'r', 'n', '-', '1', '.', '0', 'x', 'y', 'z',
};

static void get_all(QEMUFile *f)
{
    char s[256];
    char buf[3];

    g_assert_cmphex(qemu_file_get_byte(f), ==, 0xab);
    g_assert_cmphex(qemu_file_get_be16(f), ==, 0x1234);
    g_assert_cmphex(qemu_file_get_be32(f), ==, 0xdeadbeef);
    g_assert_cmphex(qemu_file_get_be64(f), ==, 0x0102030405060708ULL);
    g_assert_true(qemu_file_get_str8(f, s));
    g_assert_cmpstr(s, ==, "tern-1.0");
    g_assert_true(qemu_file_get_buffer(f, buf, 3));
    g_assert_cmpmem(buf, 3, "xyz", 3);
    g_assert_true(qemu_file_eof(f));
    g_assert_null(qemu_file_get_error(f));
}

static void test_mem_round_trip(void)
{
    QEMUFile *out = qemu_file_new_mem_output();
    QEMUFile *in;
    g_autoptr(GError) err = NULL;

    put_all(out);
    qemu_file_flush(out);
    g_assert_cmpmem(qemu_file_mem_data(out)->data, qemu_file_mem_data(out)->len, put_all_bytes,
                    sizeof(put_all_bytes));
    g_assert_cmpuint(qemu_file_transferred(out), ==, sizeof(put_all_bytes));
    in = qemu_file_new_mem_input(put_all_bytes, sizeof(put_all_bytes));
    g_assert_cmpint(qemu_file_peek_byte(in, 0), ==, 0xab);
    g_assert_cmpint(qemu_file_peek_byte(in, 3), ==, 0xde);
    get_all(in);
    g_assert_cmpuint(qemu_file_transferred(in), ==, sizeof(put_all_bytes));
    g_assert_cmpint(qemu_file_peek_byte(in, 0), ==, -1);
    g_assert_true(qemu_file_close(in, &err));
    g_assert_true(qemu_file_close(out, &err));
}

/* A pipe delivers data in whatever pieces the writer used: byte by byte. */
static gpointer dribble(gpointer opaque)
{
    int fd = GPOINTER_TO_INT(opaque);

    for (size_t i = 0; i < sizeof(put_all_bytes); i++)
        g_assert_cmpint(write(fd, &put_all_bytes[i], 1), ==, 1);
    close(fd);
    return NULL;
}

static void test_fd_short_reads(void)
{
    int p[2];
    GThread *t;
    QEMUFile *in;
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(pipe(p), ==, 0);
    t = g_thread_new("dribble", dribble, GINT_TO_POINTER(p[1]));
    in = qemu_file_new_fd_input(p[0]);
    get_all(in);
    g_assert_true(qemu_file_close(in, &err));
    g_thread_join(t);
    close(p[0]);
}

static void test_truncated_input(void)
{
    for (size_t len = 0; len < sizeof(put_all_bytes); len++) {
        QEMUFile *in = qemu_file_new_mem_input(put_all_bytes, len);
        char s[256], buf[3];
        g_autoptr(GError) err = NULL;

        qemu_file_get_byte(in);
        qemu_file_get_be16(in);
        qemu_file_get_be32(in);
        qemu_file_get_be64(in);
        qemu_file_get_str8(in, s);
        qemu_file_get_buffer(in, buf, 3);
        g_assert_nonnull(qemu_file_get_error(in));
        g_assert_nonnull(strstr(qemu_file_get_error(in)->message, "ended early"));
        g_assert_false(qemu_file_close(in, &err));
        g_assert_nonnull(err);
    }
}

/* An empty input has no buffer at all (the fuzzer's first input): reading
 * it is a clean error, not a copy from NULL (UBSan, fuzz build). */
static void test_empty_input(void)
{
    QEMUFile *in = qemu_file_new_mem_input(NULL, 0);
    uint8_t buf[4];

    g_assert_true(qemu_file_eof(in));
    g_assert_cmpint(qemu_file_peek_byte(in, 0), ==, -1);
    g_assert_cmpuint(qemu_file_peek_buffer(in, buf, sizeof(buf)), ==, 0);
    g_assert_cmpuint(qemu_file_get_be32(in), ==, 0);
    g_assert_nonnull(strstr(qemu_file_get_error(in)->message, "ended early (after 0 bytes)"));
    g_assert_false(qemu_file_close(in, NULL));
}

static void test_sticky_write_error(void)
{
    int p[2];
    QEMUFile *out;
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;
    uint64_t before;

    g_assert_cmpint(pipe(p), ==, 0);
    close(p[0]); /* nobody reads: EPIPE (SIGPIPE ignored below) */
    signal(SIGPIPE, SIG_IGN);
    out = qemu_file_new_fd_output(p[1]);
    qemu_file_put_be32(out, 1);
    qemu_file_flush(out);
    g_assert_nonnull(qemu_file_get_error(out));
    before = qemu_file_transferred(out);
    qemu_file_put_be64(out, 2); /* no-ops from now on */
    qemu_file_put_buffer(out, "abc", 3);
    g_assert_cmpuint(qemu_file_transferred(out), ==, before);
    g_assert_false(qemu_file_may_send(out));
    g_assert_false(qemu_file_take_error(out, &err));
    g_assert_nonnull(strstr(err->message, "write to migration stream failed"));
    /* reported once: a second take fails without a new error */
    g_assert_false(qemu_file_take_error(out, &err2));
    g_assert_null(err2);
    g_assert_false(qemu_file_close(out, NULL));
    close(p[1]);
}

/* 200 non-contiguous pages queued without copying need several writev()s
 * (64 iovecs each); the file must hold them all, in order. */
static void test_writev_batching(void)
{
    g_autofree char *path = g_strdup_printf("%s/tern-qf-%d", g_get_tmp_dir(), getpid());
    FILE *fp = fopen(path, "w+");
    QEMUFile *out = qemu_file_new_fd_output(fileno(fp));
    g_autofree uint8_t *pages = g_malloc(200 * 2 * 4096);
    g_autofree uint8_t *back = g_malloc(200 * (4096 + 4));
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < 200; i++) {
        memset(pages + i * 8192, i, 4096); /* every other page: never contiguous */
        qemu_file_put_be32(out, i);
        qemu_file_put_buffer_async(out, pages + i * 8192, 4096);
    }
    g_assert_cmpuint(qemu_file_transferred(out), ==, 200 * 4100);
    g_assert_true(qemu_file_close(out, &err));
    fflush(fp);
    g_assert_cmpint(pread(fileno(fp), back, 200 * 4100, 0), ==, 200 * 4100);
    for (unsigned i = 0; i < 200; i++) {
        const uint8_t *rec = back + i * 4100;
        g_assert_cmpuint((unsigned)rec[0] << 24 | rec[1] << 16 | rec[2] << 8 | rec[3], ==, i);
        g_assert_cmpuint(rec[4], ==, (uint8_t)i);
        g_assert_cmpuint(rec[4099], ==, (uint8_t)i);
    }
    fclose(fp);
    unlink(path);
}

static void test_str8_too_long(void)
{
    QEMUFile *out = qemu_file_new_mem_output();
    char s[300];

    memset(s, 'a', sizeof(s) - 1);
    s[sizeof(s) - 1] = 0;
    qemu_file_put_str8(out, s);
    g_assert_nonnull(qemu_file_get_error(out));
    g_assert_false(qemu_file_close(out, NULL));
}

static int64_t fake_now;

static int64_t fake_clock(void *opaque)
{
    (void)opaque;
    return fake_now;
}

static unsigned fill_window(QEMUFile *f)
{
    unsigned n = 0;

    while (qemu_file_may_send(f)) {
        qemu_file_put_byte(f, 0);
        n++;
    }
    return n;
}

static void test_rate_limit(void)
{
    QEMUFile *out = qemu_file_new_mem_output();

    fake_now = 1000000000;
    qemu_file_set_clock(out, fake_clock, NULL);
    qemu_file_set_rate_limit(out, 10000); /* 1000 bytes per 100 ms window */
    g_assert_cmpuint(qemu_file_window_left(out), ==, 1000);
    qemu_file_put_be32(out, 0);
    g_assert_cmpuint(qemu_file_window_left(out), ==, 996);
    g_assert_cmpuint(fill_window(out), ==, 996);
    g_assert_cmpuint(qemu_file_window_left(out), ==, 0);
    g_assert_cmpint(qemu_file_window_wait_ns(out), ==, 100000000);
    fake_now += 40000000;
    g_assert_false(qemu_file_may_send(out));
    g_assert_cmpint(qemu_file_window_wait_ns(out), ==, 60000000);
    fake_now += 60000000; /* next window */
    g_assert_cmpint(qemu_file_window_wait_ns(out), ==, 0);
    g_assert_cmpuint(fill_window(out), ==, 1000);
    fake_now += 250000000;
    g_assert_cmpuint(fill_window(out), ==, 1000); /* unused windows do not accumulate */
    qemu_file_set_rate_limit(out, 0);
    g_assert_true(qemu_file_may_send(out));
    g_assert_cmpuint(qemu_file_window_left(out), ==, UINT64_MAX);
    g_assert_cmpint(qemu_file_window_wait_ns(out), ==, 0);
    g_assert_cmpuint(qemu_file_transferred(out), ==, 3000);
    g_assert_true(qemu_file_close(out, NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-file/mem-round-trip", test_mem_round_trip);
    g_test_add_func("/qemu-file/fd-short-reads", test_fd_short_reads);
    g_test_add_func("/qemu-file/truncated-input", test_truncated_input);
    g_test_add_func("/qemu-file/empty-input", test_empty_input);
    g_test_add_func("/qemu-file/sticky-write-error", test_sticky_write_error);
    g_test_add_func("/qemu-file/writev-batching", test_writev_batching);
    g_test_add_func("/qemu-file/str8-too-long", test_str8_too_long);
    g_test_add_func("/qemu-file/rate-limit", test_rate_limit);
    return g_test_run();
}
