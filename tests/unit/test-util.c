/* util/: size parsing, QEMU-style key=value option strings, and a
 * socket's own address. */
#include <glib.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/keyval.h"
#include "util/size.h"
#include "util/sockets.h"

static void test_size_ok(void)
{
    static const struct {
        const char *s;
        uint64_t v;
    } cases[] = {
        { "128", 128 * MiB }, { "129M", 129 * MiB }, { "2G", 2 * GiB }, { "2g", 2 * GiB },
        { "512k", 512 * KiB }, { "1T", TiB }, { "16MB", 16 * MiB }, { "4096B", 4096 },
        { "2111M", 2111 * MiB }, { "0", 0 },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        uint64_t v = 1;

        g_assert_true(size_parse(cases[i].s, MiB, &v, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(v, ==, cases[i].v);
    }
}

static void test_size_errors(void)
{
    static const char *const bad[] = { "", "M", "-1", "1.5G", "12X", "1MM", "1 M",
                                       "99999999999999999999", "16777216T", " 1" };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        uint64_t v = 7;

        g_assert_false(size_parse(bad[i], MiB, &v, &err));
        g_assert_nonnull(err);
        g_assert_cmpuint(v, ==, 7);
    }
}

static void test_size_to_str(void)
{
    g_autofree char *a = size_to_str(129 * MiB), *b = size_to_str(2 * GiB),
                    *c = size_to_str(1000);
    g_assert_cmpstr(a, ==, "129 MiB");
    g_assert_cmpstr(b, ==, "2 GiB");
    g_assert_cmpstr(c, ==, "1000 B");
}

static void test_keyval(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GHashTable) kv = keyval_parse("isa-debug-exit,iobase=0xf4,server,nowait", "driver",
                                            &err);
    g_autofree char *driver = NULL;
    uint64_t v = 0;
    bool present = false, server = false, wait = true;

    g_assert_no_error(err);
    driver = keyval_take_str(kv, "driver");
    g_assert_cmpstr(driver, ==, "isa-debug-exit");
    g_assert_true(keyval_take_uint(kv, "iobase", 0xffff, &v, &present, &err));
    g_assert_true(present);
    g_assert_cmpuint(v, ==, 0xf4);
    g_assert_true(keyval_take_bool(kv, "server", &server, &err));
    g_assert_true(keyval_take_bool(kv, "wait", &wait, &err));
    g_assert_true(server);
    g_assert_false(wait);
    g_assert_true(keyval_check_empty(kv, "x", &err));
}

static void test_keyval_errors(void)
{
    g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
    g_autoptr(GHashTable) empty = keyval_parse("a,,b", NULL, &e1);
    g_autoptr(GHashTable) noname = keyval_parse("=3", NULL, &e2);
    g_autoptr(GHashTable) kv = keyval_parse("x=300,y=maybe,z=1", NULL, &e3);
    uint64_t v;
    bool b;

    g_assert_null(empty);
    g_assert_nonnull(e1);
    g_assert_null(noname);
    g_assert_nonnull(e2);
    g_assert_nonnull(kv);
    g_assert_false(keyval_take_uint(kv, "x", 255, &v, NULL, &e4));
    g_assert_nonnull(e4);
    g_clear_error(&e4);
    g_assert_false(keyval_take_bool(kv, "y", &b, &e4));
    g_clear_error(&e4);
    g_assert_false(keyval_check_empty(kv, "thing", &e4));
    g_assert_nonnull(strstr(e4->message, "'z'"));
}

/* A listener's own address: port 0 resolved, numeric hosts, UNIX paths. */
static void test_sock_local_addr(void)
{
    static const char *const cases[][2] = {
        { "tcp:127.0.0.1:0", "127.0.0.1" },
        { "tcp:[::1]:0", "::1" },
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("tern-sock-XXXXXX", &err);
    g_autofree char *path = g_build_filename(dir, "l.sock", NULL);
    g_autofree char *unix_uri = g_strconcat("unix:", path, NULL);
    struct sock_addr a, got;
    int fd;

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_true(sock_addr_parse(cases[i][0], &a, &err));
        fd = sock_listen(&a, 1, &err);
        sock_addr_clear(&a);
        g_assert_no_error(err);
        g_assert_true(sock_local_addr(fd, &got));
        g_assert_cmpint(got.kind, ==, SOCK_TCP);
        g_assert_cmpstr(got.host, ==, cases[i][1]);
        g_assert_cmpint(atoi(got.port), >, 0);
        g_assert_cmpint(atoi(got.port), ==, sock_local_port(fd));
        sock_addr_clear(&got);
        close(fd);
    }
    g_assert_true(sock_addr_parse(unix_uri, &a, &err));
    fd = sock_listen(&a, 1, &err);
    g_assert_no_error(err);
    sock_addr_clear(&a);
    g_assert_true(sock_local_addr(fd, &got));
    g_assert_cmpint(got.kind, ==, SOCK_UNIX);
    g_assert_cmpstr(got.path, ==, path);
    g_assert_cmpint(sock_local_port(fd), ==, 0);
    sock_addr_clear(&got);
    close(fd);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sockets/local-addr", test_sock_local_addr);
    g_test_add_func("/size/ok", test_size_ok);
    g_test_add_func("/size/errors", test_size_errors);
    g_test_add_func("/size/to-str", test_size_to_str);
    g_test_add_func("/keyval/parse", test_keyval);
    g_test_add_func("/keyval/errors", test_keyval_errors);
    return g_test_run();
}
