/* hw/: 16550A registers and interrupts, i8042 reset, debug-exit, iomap. */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hw/debug-exit.h"
#include "hw/i8042.h"
#include "hw/uart16550.h"
#include "migration/qemu-file.h"
#include "system/iomap.h"

static int irq_level = -1;
static unsigned irq_gsi;
static int resets, exit_status = -1;

static void fake_irq(void *opaque, unsigned gsi, int level)
{
    (void)opaque;
    irq_gsi = gsi;
    irq_level = level;
}

static void fake_reset(void *opaque)
{
    (void)opaque;
    resets++;
}

static void fake_exit(void *opaque, int status)
{
    (void)opaque;
    exit_status = status;
}

static void test_uart_output_and_thri(void)
{
    g_autofree char *path = g_strdup_printf("%s/tern-uart-%d", g_get_tmp_dir(), getpid());
    g_autofree char *spec = g_strdup_printf("file:%s", path);
    g_autoptr(GError) err = NULL;
    struct chardev *chr = chardev_new(spec, NULL, &err);
    struct uart16550 u;
    g_autofree char *out = NULL;

    g_assert_no_error(err);
    uart16550_init(&u, chr, (struct irq_line){ fake_irq, NULL, 4 });
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmpuint(uart16550_read(&u, 5, 1) & 0x60, ==, 0x60); /* THRE | TEMT */
    g_assert_cmpuint(uart16550_read(&u, 2, 1), ==, 0x01);       /* no interrupt */

    uart16550_write(&u, 1, 0x02, 1); /* IER: THR empty */
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmpuint(irq_gsi, ==, 4);
    g_assert_cmpuint(uart16550_read(&u, 2, 1), ==, 0x02); /* THRI; reading acks it */
    g_assert_cmpint(irq_level, ==, 0);
    uart16550_write(&u, 0, 'h', 1);
    g_assert_cmpint(irq_level, ==, 1); /* THR empty again */
    uart16550_write(&u, 0, 'i', 1);
    uart16550_write(&u, 1, 0x00, 1);
    g_assert_cmpint(irq_level, ==, 0);

    /* DLAB: divisor latch instead of THR/IER */
    uart16550_write(&u, 3, 0x80, 1);
    uart16550_write(&u, 0, 0x01, 1);
    uart16550_write(&u, 1, 0x00, 1);
    g_assert_cmpuint(uart16550_read(&u, 0, 1), ==, 0x01);
    uart16550_write(&u, 3, 0x03, 1);
    uart16550_write(&u, 7, 0x5a, 1);
    g_assert_cmpuint(uart16550_read(&u, 7, 1), ==, 0x5a);

    chardev_free(chr);
    g_assert_true(g_file_get_contents(path, &out, NULL, NULL));
    g_assert_cmpstr(out, ==, "hi");
    unlink(path);
}

static void test_uart_loopback_rx(void)
{
    struct uart16550 u;

    uart16550_init(&u, NULL, (struct irq_line){ fake_irq, NULL, 4 });
    uart16550_write(&u, 4, 0x10, 1); /* loopback */
    uart16550_write(&u, 1, 0x01, 1); /* IER: rx data */
    for (int i = 0; i < 20; i++)
        uart16550_write(&u, 0, 'a' + i, 1);
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmpuint(uart16550_read(&u, 2, 1) & 0x0f, ==, 0x04);
    g_assert_cmpuint(uart16550_read(&u, 5, 1) & 0x03, ==, 0x03); /* DR + overrun */
    g_assert_cmpuint(uart16550_read(&u, 5, 1) & 0x02, ==, 0);    /* OE cleared by read */
    for (int i = 0; i < 16; i++)
        g_assert_cmpuint(uart16550_read(&u, 0, 1), ==, 'a' + i);
    g_assert_cmpuint(uart16550_read(&u, 5, 1) & 0x01, ==, 0);
    g_assert_cmpint(irq_level, ==, 0);
    /* FIFO reset clears pending data */
    uart16550_write(&u, 0, 'x', 1);
    uart16550_write(&u, 2, 0x03, 1);
    g_assert_cmpuint(uart16550_read(&u, 5, 1) & 0x01, ==, 0);
    g_assert_cmpuint(uart16550_read(&u, 2, 1) & 0xc0, ==, 0xc0); /* FIFOs enabled */
}

static void test_i8042_reset(void)
{
    struct i8042 k;

    resets = 0;
    i8042_init(&k, (struct machine_ctl){ fake_reset, fake_exit, NULL });
    g_assert_cmpuint(i8042_ops.read(&k, 4, 1) & 0x02, ==, 0); /* input buffer empty */
    i8042_ops.write(&k, 4, 0xaa, 1);
    g_assert_cmpuint(i8042_ops.read(&k, 4, 1) & 0x01, ==, 1);
    g_assert_cmpuint(i8042_ops.read(&k, 0, 1), ==, 0x55);
    g_assert_cmpint(resets, ==, 0);
    i8042_ops.write(&k, 4, 0xfe, 1);
    g_assert_cmpint(resets, ==, 1);
    i8042_ops.write(&k, 4, 0xd1, 1); /* write output port ... */
    i8042_ops.write(&k, 0, 0xfe, 1); /* ... with the reset line low */
    g_assert_cmpint(resets, ==, 2);
    i8042_ops.write(&k, 4, 0xff, 1); /* pulse nothing */
    g_assert_cmpint(resets, ==, 2);
}

static void test_debug_exit(void)
{
    struct debug_exit d;

    debug_exit_init(&d, (struct machine_ctl){ fake_reset, fake_exit, NULL }, 0xf4, 4);
    debug_exit_ops.write(&d, 0, 5, 4);
    g_assert_cmpint(exit_status, ==, 11);
    g_assert_cmpint(debug_exit_status(0), ==, 1);
    g_assert_cmpint(debug_exit_status(0x7f), ==, 0xff);
}

static uint64_t last_write;

static void rec_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    (void)opaque, (void)size;
    last_write = (off << 32) | v;
}

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)size;
    return 0x1234 + off;
}

static void test_iomap(void)
{
    static const struct iomap_ops ops = { rec_read, rec_write };
    struct iomap m;
    g_autoptr(GError) err = NULL;
    uint8_t data[4] = { 0x78, 0x56, 0, 0 };

    iomap_init(&m, "pio");
    g_assert_true(iomap_add(&m, 0x3f8, 8, &ops, NULL, "a", &err));
    g_assert_true(iomap_add(&m, 0x60, 5, &ops, NULL, "b", &err));
    g_assert_false(iomap_add(&m, 0x3fc, 8, &ops, NULL, "c", &err));
    g_assert_nonnull(strstr(err->message, "overlaps a"));
    g_clear_error(&err);
    g_assert_false(iomap_add(&m, 0x10, 0, &ops, NULL, "d", &err));
    g_clear_error(&err);
    g_assert_true(iomap_dispatch(&m, 0x3fa, data, 2, true));
    g_assert_cmphex(last_write, ==, (2ULL << 32) | 0x5678);
    g_assert_true(iomap_dispatch(&m, 0x64, data, 2, false));
    g_assert_cmphex(data[0] | data[1] << 8, ==, 0x1238);
    g_assert_false(iomap_dispatch(&m, 0x80, data, 4, false));
    g_assert_cmphex(data[0] & data[3], ==, 0xff); /* unassigned reads all ones */
    g_assert_null(iomap_find(&m, 0x400));
    g_assert_nonnull(iomap_find(&m, 0x3f8));
    iomap_destroy(&m);
}

/* UART state survives save/load; post_load re-raises a pending interrupt;
 * a hostile FIFO index is refused by the VALIDATE entry. */
static void test_uart_vmstate(void)
{
    struct uart16550 src, dst;
    QEMUFile *out = qemu_file_new_mem_output();
    QEMUFile *in;
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) bytes = g_byte_array_new();

    uart16550_init(&src, NULL, (struct irq_line){ fake_irq, NULL, 4 });
    uart16550_write(&src, 4, 0x10, 1); /* loopback */
    uart16550_write(&src, 0, 'q', 1);
    uart16550_write(&src, 0, 'r', 1);
    uart16550_write(&src, 1, 0x01, 1); /* rx interrupt on */
    uart16550_write(&src, 7, 0x77, 1);
    g_assert_true(vmstate_save(out, &uart16550_vmstate, &src.s, NULL, &err));
    qemu_file_flush(out);
    g_byte_array_append(bytes, qemu_file_mem_data(out)->data, qemu_file_mem_data(out)->len);
    qemu_file_close(out, NULL);

    uart16550_init(&dst, NULL, (struct irq_line){ fake_irq, NULL, 4 });
    g_assert_cmpint(irq_level, ==, 0);
    in = qemu_file_new_mem_input(bytes->data, bytes->len);
    g_assert_true(vmstate_load(in, &uart16550_vmstate, &dst.s, 1, &err));
    g_assert_no_error(err);
    qemu_file_close(in, NULL);
    g_assert_cmpint(irq_level, ==, 1); /* post_load raised the line */
    g_assert_cmpuint(uart16550_read(&dst, 7, 1), ==, 0x77);
    g_assert_cmpuint(uart16550_read(&dst, 0, 1), ==, 'q');
    g_assert_cmpuint(uart16550_read(&dst, 0, 1), ==, 'r');

    /* rx_head is the byte before rx_count, the last two bytes */
    bytes->data[bytes->len - 2] = 16;
    in = qemu_file_new_mem_input(bytes->data, bytes->len);
    g_assert_false(vmstate_load(in, &uart16550_vmstate, &dst.s, 1, &err));
    g_assert_nonnull(strstr(err->message, "uart16550: field 'rx fifo indices': validation"));
    qemu_file_close(in, NULL);
}

/* A unix-socket chardev with one connected client (the test's end). */
static struct chardev *socket_pair(GMainContext *ctx, char **path, int *client)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_autofree char *spec = NULL;
    g_autoptr(GError) err = NULL;
    struct chardev *chr;

    *path = g_strdup_printf("%s/tern-chr-%d.sock", g_get_tmp_dir(), getpid());
    spec = g_strdup_printf("unix:%s,server,nowait", *path);
    chr = chardev_new(spec, ctx, &err);
    g_assert_no_error(err);
    *client = socket(AF_UNIX, SOCK_STREAM, 0);
    strcpy(sa.sun_path, *path);
    g_assert_cmpint(connect(*client, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    for (int i = 0; i < 100; i++) /* let the chardev accept */
        g_main_context_iteration(ctx, FALSE);
    return chr;
}

/* A client that stops reading must not block the writer (a vCPU thread
 * holding the VM lock): output queues up to a bound, then is dropped. */
static void test_chardev_stuck_reader(void)
{
    GMainContext *ctx = g_main_context_new();
    g_autofree char *path = NULL;
    int client;
    struct chardev *chr = socket_pair(ctx, &path, &client);
    g_autofree uint8_t *chunk = g_malloc0(64 * 1024);
    gint64 start = g_get_monotonic_time();

    for (int i = 0; i < 128; i++) /* 8 MiB, far beyond any socket buffer */
        chardev_write(chr, chunk, 64 * 1024);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
    chardev_free(chr);
    close(client);
    g_main_context_unref(ctx);
}

/* Input that did not fit the 16-byte FIFO arrives once the guest makes
 * room, including by resetting the FIFO through FCR. */
static void test_uart_rx_after_fifo_reset(void)
{
    GMainContext *ctx = g_main_context_new();
    g_autofree char *path = NULL;
    int client;
    struct chardev *chr = socket_pair(ctx, &path, &client);
    struct uart16550 u;
    unsigned got = 0;

    uart16550_init(&u, chr, (struct irq_line){ fake_irq, NULL, 4 });
    g_assert_cmpint(write(client, "0123456789abcdefXYZ", 19), ==, 19);
    for (int i = 0; i < 200 && u.s.rx_count < 16; i++)
        g_main_context_iteration(ctx, FALSE);
    g_assert_cmpuint(u.s.rx_count, ==, 16);
    uart16550_write(&u, 2, 0x03, 1); /* FIFO enable + reset RX FIFO */
    g_assert_cmpuint(u.s.rx_count, ==, 0);
    for (int i = 0; i < 200 && u.s.rx_count < 3; i++)
        g_main_context_iteration(ctx, FALSE);
    while (uart16550_read(&u, 5, 1) & 0x01) {
        uint8_t c = uart16550_read(&u, 0, 1);
        g_assert_cmpuint(c, ==, "XYZ"[got]);
        got++;
    }
    g_assert_cmpuint(got, ==, 3);
    chardev_free(chr);
    close(client);
    g_main_context_unref(ctx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/uart16550/output-thri", test_uart_output_and_thri);
    g_test_add_func("/uart16550/loopback-rx", test_uart_loopback_rx);
    g_test_add_func("/uart16550/vmstate", test_uart_vmstate);
    g_test_add_func("/uart16550/rx-after-fifo-reset", test_uart_rx_after_fifo_reset);
    g_test_add_func("/chardev/stuck-reader", test_chardev_stuck_reader);
    g_test_add_func("/i8042/reset", test_i8042_reset);
    g_test_add_func("/debug-exit/status", test_debug_exit);
    g_test_add_func("/iomap/dispatch", test_iomap);
    return g_test_run();
}
