/*
 * migration/migration.c, incoming.c and channel.c without /dev/kvm: a
 * source and a destination in one process, each with its own "VM lock",
 * savevm and a RAM block in plain memory, migrating over real UNIX
 * sockets, exec and files.  Covers the state machine and its events, the
 * return-path acknowledgement, pages written during pre-copy, failure and
 * cancel (the source resumes), a destination that refuses the stream,
 * parameter/capability validation, and block migration (blk, the "block"
 * capability, inc refused, a disk rewritten during pre-copy, query-migrate's
 * "disk").
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "block/block.h"
#include "migration/block.h"
#include "migration/channel.h"
#include "migration/incoming.h"
#include "migration/migration.h"

#define PAGES 2048 /* 8 MiB */

struct end {
    GMutex lock;
    GMainContext *ctx;
    struct savevm sv;
    struct ram_state rs;
    uint8_t *mem;
    size_t pages;
    /* source */
    struct migration ms;
    bool stopped, resumed, completed;
    /* destination */
    struct incoming in;
    bool done, load_ok;
    char *load_error;
    GPtrArray *events; /* "MIGRATION:active", "MIGRATION_PASS", ... */
    /* block migration (end_add_disk) */
    struct block_mig bm;
    struct block_backend *bb;
    char *img;
};

static void end_event(void *opaque, const char *name, JsonObject *data)
{
    struct end *e = opaque;

    if (data && json_object_has_member(data, "status"))
        g_ptr_array_add(e->events,
                        g_strdup_printf("%s:%s", name, json_object_get_string_member(data, "status")));
    else
        g_ptr_array_add(e->events, g_strdup(name));
    if (data)
        json_object_unref(data);
}

static bool end_stop(void *opaque, GError **errp)
{
    struct end *e = opaque;

    (void)errp;
    e->stopped = true;
    return true;
}

static void end_resume(void *opaque)
{
    ((struct end *)opaque)->resumed = true;
}

static void end_completed(void *opaque)
{
    ((struct end *)opaque)->completed = true;
}

static const struct migration_vm_ops end_mig_ops = {
    .stop = end_stop,
    .resume = end_resume,
    .completed = end_completed,
    .event = end_event,
};

static void end_done(void *opaque, bool ok, const GError *err)
{
    struct end *e = opaque;

    e->done = true;
    e->load_ok = ok;
    e->load_error = err ? g_strdup(err->message) : NULL;
}

static const struct incoming_vm_ops end_in_ops = {
    .done = end_done,
    .event = end_event,
};

static void end_init(struct end *e, size_t pages, uint8_t fill_seed)
{
    g_autoptr(GError) err = NULL;

    memset(e, 0, sizeof(*e));
    g_mutex_init(&e->lock);
    e->ctx = g_main_context_new();
    e->pages = pages;
    e->mem = g_malloc0(pages * RAM_PAGE_SIZE);
    for (size_t p = 0; fill_seed && p < pages; p++) {
        if (p % 3) /* some zero pages too */
            memset(e->mem + p * RAM_PAGE_SIZE, (uint8_t)(p * 7 + fill_seed), RAM_PAGE_SIZE);
    }
    e->events = g_ptr_array_new_with_free_func(g_free);
    savevm_init(&e->sv, "tern-1.0");
    ram_state_init(&e->rs, NULL, NULL);
    g_assert_true(ram_add_block(&e->rs, "pc.ram", e->mem, pages * RAM_PAGE_SIZE, &err));
    g_assert_true(ram_register(&e->rs, &e->sv, &err));
    migration_init(&e->ms, &e->lock, &e->sv, &e->rs, &end_mig_ops, e);
    e->ms.caps[MIGRATION_CAP_EVENTS] = true;
    incoming_init(&e->in, &e->lock, e->ctx, &e->sv, &end_in_ops, e,
                  &e->ms.caps[MIGRATION_CAP_EVENTS]);
    e->in.exit_on_error = false;
}

/* A disk image of @size bytes in @dir (pattern from @seed, 0: zeroes),
 * copied by block migration as "virtio0". */
static void end_add_disk(struct end *e, const char *dir, const char *name, uint64_t size,
                         uint8_t seed)
{
    g_autofree uint8_t *data = g_malloc0(size);
    struct block_options o = { 0 };
    g_autoptr(GError) err = NULL;

    for (uint64_t i = 0; seed && i < size; i += 512)
        memset(data + i, (uint8_t)(seed + i / 512), i / 512 % 5 ? 512 : 0);
    e->img = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(e->img, (const char *)data, size, NULL));
    o.file = e->img;
    g_mutex_lock(&e->lock);
    e->bb = block_open(e->ctx, &o, &err);
    g_assert_no_error(err);
    block_mig_init(&e->bm, &e->lock);
    g_assert_true(block_mig_add_disk(&e->bm, "virtio0", e->bb, &err));
    g_assert_true(block_mig_register(&e->bm, &e->sv, &err));
    e->ms.bm = &e->bm;
    g_mutex_unlock(&e->lock);
}

static void end_clear(struct end *e)
{
    g_mutex_lock(&e->lock);
    migration_destroy(&e->ms);
    incoming_destroy(&e->in);
    if (e->bb) {
        block_mig_destroy(&e->bm);
        block_close(e->bb);
        g_unlink(e->img);
        g_free(e->img);
    }
    g_mutex_unlock(&e->lock);
    savevm_destroy(&e->sv);
    ram_state_destroy(&e->rs);
    g_main_context_unref(e->ctx);
    g_ptr_array_unref(e->events);
    g_free(e->mem);
    g_free(e->load_error);
    g_mutex_clear(&e->lock);
}

static bool end_has_event(struct end *e, const char *what)
{
    for (guint i = 0; i < e->events->len; i++) {
        if (!strcmp(e->events->pdata[i], what))
            return true;
    }
    return false;
}

/* Run the destination's loop (lock held, as a main loop would) until the
 * source's thread has ended and the destination reported, or a deadline. */
static void run_until_done(struct end *src, struct end *dst, bool want_dst)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    for (;;) {
        bool src_done;

        g_mutex_lock(&src->lock);
        src_done = src->ms.thread_done;
        g_mutex_unlock(&src->lock);
        if (src_done && (!want_dst || dst->done))
            break;
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        /* the source's block completions (a main loop's work) */
        g_mutex_lock(&src->lock);
        while (g_main_context_iteration(src->ctx, FALSE))
            ;
        g_mutex_unlock(&src->lock);
        if (dst) {
            g_mutex_lock(&dst->lock);
            while (g_main_context_iteration(dst->ctx, FALSE))
                ;
            g_mutex_unlock(&dst->lock);
        }
        g_usleep(1000);
    }
    g_mutex_lock(&src->lock);
    migration_reap(&src->ms);
    g_mutex_unlock(&src->lock);
}

static char *sock_path(const char *tmp, const char *name)
{
    return g_build_filename(tmp, name, NULL);
}

static void start_pair(struct end *src, struct end *dst, const char *tmp)
{
    g_autofree char *path = sock_path(tmp, "mig.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autoptr(GError) err = NULL;

    g_mutex_lock(&dst->lock);
    g_assert_true(incoming_start(&dst->in, uri, &err));
    g_mutex_unlock(&dst->lock);
    g_mutex_lock(&src->lock);
    g_assert_true(migration_start(&src->ms, uri, &err));
    g_mutex_unlock(&src->lock);
}

static void disk_write_done(void *opaque, int ret)
{
    *(int *)opaque = ret;
}

/* What virtio-blk does for a guest write: block_pwritev under the lock
 * (drained here, so its chunk is marked when this returns). */
static void end_disk_write(struct end *e, uint64_t off, uint8_t v)
{
    uint8_t buf[512];
    struct iovec iov = { buf, sizeof(buf) };
    int ret = 1;

    memset(buf, v, sizeof(buf));
    g_mutex_lock(&e->lock);
    block_pwritev(e->bb, off, &iov, 1, disk_write_done, &ret);
    block_drain(e->bb);
    g_mutex_unlock(&e->lock);
    g_assert_cmpint(ret, ==, 0);
}

static void assert_same_file(const char *a, const char *b)
{
    g_autofree char *da = NULL, *db = NULL;
    gsize la, lb;

    g_assert_true(g_file_get_contents(a, &da, &la, NULL));
    g_assert_true(g_file_get_contents(b, &db, &lb, NULL));
    g_assert_cmpuint(la, ==, lb);
    g_assert_true(memcmp(da, db, la) == 0);
}

#define DISK_SIZE (5 * BLOCK_MIG_CHUNK_SIZE + 3 * 512)

/* blk=true (migrate -b) over a UNIX socket with the disk written during
 * pre-copy: the destination's image ends equal; query-migrate has "disk".
 * With @use_cap the "block" capability asks instead of blk. */
static void block_migration(bool use_cap)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    g_autofree char *path = sock_path(tmp, "mig.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonObject) q = NULL;
    struct end src, dst;
    unsigned writes = 0;

    end_init(&src, 256, 1);
    end_init(&dst, 256, 0);
    end_add_disk(&src, tmp, "src.img", DISK_SIZE, 3);
    end_add_disk(&dst, tmp, "dst.img", DISK_SIZE, 0);
    src.ms.params.max_bandwidth = 16 << 20; /* about half a second */
    g_mutex_lock(&dst.lock);
    g_assert_true(incoming_start(&dst.in, uri, &err));
    g_mutex_unlock(&dst.lock);
    g_mutex_lock(&src.lock);
    if (use_cap)
        g_assert_true(migration_set_capability(&src.ms, "block", true, &err));
    g_assert_true(migration_start_block(&src.ms, uri, !use_cap, false, &err));
    g_assert_no_error(err);
    g_mutex_unlock(&src.lock);
    for (;;) {
        bool running;

        g_mutex_lock(&src.lock);
        running = migration_get_status(&src.ms) == MIGRATION_STATUS_SETUP ||
                  migration_get_status(&src.ms) == MIGRATION_STATUS_ACTIVE;
        while (g_main_context_iteration(src.ctx, FALSE))
            ;
        g_mutex_unlock(&src.lock);
        if (!running)
            break;
        if (writes < 40)
            end_disk_write(&src, g_random_int_range(0, DISK_SIZE / 512) * 512ull, writes++);
        g_mutex_lock(&dst.lock);
        while (g_main_context_iteration(dst.ctx, FALSE))
            ;
        g_mutex_unlock(&dst.lock);
        g_usleep(1000);
    }
    run_until_done(&src, &dst, true);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_COMPLETED);
    g_assert_true(dst.done && dst.load_ok);
    g_assert_cmpuint(writes, >, 5);
    assert_same_file(src.img, dst.img);
    g_mutex_lock(&src.lock);
    q = migration_query(&src.ms);
    g_assert_null(block_get_dirty_bitmap(src.bb)); /* cleanup switched it off */
    g_mutex_unlock(&src.lock);
    {
        JsonObject *disk = json_object_get_object_member(q, "disk");

        g_assert_nonnull(disk);
        g_assert_cmpint(json_object_get_int_member(disk, "total"), ==, DISK_SIZE);
        g_assert_cmpint(json_object_get_int_member(disk, "remaining"), ==, 0);
        JsonObject *ram = json_object_get_object_member(q, "ram");
        uint64_t normal = json_object_get_int_member(ram, "normal");
        uint64_t dup = json_object_get_int_member(ram, "duplicate");
        uint64_t ram_bytes = json_object_get_int_member(ram, "transferred");

        g_assert_cmpint(json_object_get_int_member(disk, "transferred"), >=, DISK_SIZE);
        /* RAM's figure is its page records (an 8-byte header, maybe the
         * block's name, then 4096 bytes or one): no disk bytes in it. */
        g_assert_cmpuint(ram_bytes, >=, normal * (8 + RAM_PAGE_SIZE) + dup * (8 + 1));
        g_assert_cmpuint(ram_bytes, <=, normal * (8 + RAM_PAGE_SIZE) + dup * (8 + 1) +
                                            (normal + dup) * 256);
        g_assert_cmpuint(ram_bytes + json_object_get_int_member(disk, "transferred"), <=,
                         src.ms.stats.transferred);
    }
    end_clear(&src);
    end_clear(&dst);
    g_rmdir(tmp);
}

static void test_block_migration(void)
{
    block_migration(false);
}

static void test_block_capability(void)
{
    block_migration(true);
}

/* Without blk or the capability the disks are not sent (shared storage),
 * and a destination with a disk accepts that; inc, and blk without a
 * writable disk, are refused before anything starts. */
static void test_block_refusals(void)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    g_autofree char *path = sock_path(tmp, "mig.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonObject) q = NULL;
    struct end src, dst, bare;
    g_autofree char *before = NULL, *after = NULL;
    gsize len;

    end_init(&bare, 16, 1);
    g_mutex_lock(&bare.lock);
    g_assert_false(migration_start_block(&bare.ms, uri, true, false, &err));
    g_assert_nonnull(strstr(err->message, "Block migration was requested ('blk') but this VM "
                                          "has no writable disk"));
    g_clear_error(&err);
    g_assert_true(migration_set_capability(&bare.ms, "block", true, &err));
    g_assert_false(migration_start(&bare.ms, uri, &err));
    g_assert_nonnull(strstr(err->message, "(capability 'block') but this VM has no writable"));
    g_clear_error(&err);
    g_assert_false(migration_start_block(&bare.ms, uri, false, true, &err));
    g_assert_nonnull(strstr(err->message, "incremental block migration ('inc'"));
    g_clear_error(&err);
    g_assert_cmpint(migration_get_status(&bare.ms), ==, MIGRATION_STATUS_NONE);
    g_mutex_unlock(&bare.lock);
    end_clear(&bare);

    end_init(&src, 256, 1);
    end_init(&dst, 256, 0);
    end_add_disk(&src, tmp, "src.img", DISK_SIZE, 3);
    end_add_disk(&dst, tmp, "dst.img", DISK_SIZE, 0);
    g_assert_true(g_file_get_contents(dst.img, &before, &len, NULL));
    start_pair(&src, &dst, tmp); /* no blk */
    run_until_done(&src, &dst, true);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_COMPLETED);
    g_assert_true(dst.done && dst.load_ok);
    g_assert_true(g_file_get_contents(dst.img, &after, &len, NULL));
    g_assert_true(memcmp(before, after, len) == 0);
    g_mutex_lock(&src.lock);
    q = migration_query(&src.ms);
    g_mutex_unlock(&src.lock);
    g_assert_false(json_object_has_member(q, "disk"));
    end_clear(&src);
    end_clear(&dst);
    g_rmdir(tmp);
}

static void test_uri_parse(void)
{
    static const char *const good[] = { "tcp:localhost:4444", "tcp:[::1]:4444", "tcp::4444",
                                        "tcp:0:4444,to=4450", "unix:/tmp/x", "exec:cat > /dev/null",
                                        "fd:3", "fd:migfd", "file:/tmp/snap" };
    static const char *const bad[] = { "tcp:host", "tcp:h:1,foo=2", "udp:h:1", "exec:", "fd:",
                                       "file:", "unix:", "", "rdma:h:1" };

    for (unsigned i = 0; i < G_N_ELEMENTS(good); i++) {
        struct mig_uri u;
        g_autoptr(GError) err = NULL;

        g_assert_true(mig_uri_parse(good[i], &u, &err));
        g_assert_no_error(err);
        mig_uri_clear(&u);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        struct mig_uri u;
        g_autoptr(GError) err = NULL;

        g_assert_false(mig_uri_parse(bad[i], &u, &err));
        g_assert_nonnull(err);
    }
}

/* The whole protocol over a UNIX socket, with the "guest" writing pages
 * through ram_mark_dirty while pre-copy runs. */
static void test_unix_round_trip(void)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    struct end src, dst;
    unsigned writes = 0;

    end_init(&src, PAGES, 1);
    end_init(&dst, PAGES, 0);
    src.ms.params.max_bandwidth = 16 << 20; /* 8 MiB: about half a second */
    start_pair(&src, &dst, tmp);
    for (;;) {
        bool running;

        g_mutex_lock(&src.lock);
        running = migration_get_status(&src.ms) == MIGRATION_STATUS_SETUP ||
                  migration_get_status(&src.ms) == MIGRATION_STATUS_ACTIVE;
        if (running) {
            uint64_t page = g_random_int_range(0, PAGES);

            src.mem[page * RAM_PAGE_SIZE + 17] ^= 0x5a;
            ram_mark_dirty(&src.rs, 0, page * RAM_PAGE_SIZE + 17, 1);
            writes++;
        }
        g_mutex_unlock(&src.lock);
        if (!running)
            break;
        g_mutex_lock(&dst.lock);
        while (g_main_context_iteration(dst.ctx, FALSE))
            ;
        g_mutex_unlock(&dst.lock);
        g_usleep(200);
    }
    run_until_done(&src, &dst, true);

    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_COMPLETED);
    g_assert_true(src.stopped && src.completed && !src.resumed);
    g_assert_true(dst.done && dst.load_ok);
    g_assert_cmpint(dst.in.status, ==, MIGRATION_STATUS_COMPLETED);
    g_assert_cmpmem(src.mem, PAGES * RAM_PAGE_SIZE, dst.mem, PAGES * RAM_PAGE_SIZE);
    g_assert_cmpuint(writes, >, 10);
    g_assert_true(end_has_event(&src, "MIGRATION:setup"));
    g_assert_true(end_has_event(&src, "MIGRATION:active"));
    g_assert_true(end_has_event(&src, "MIGRATION:device"));
    g_assert_true(end_has_event(&src, "MIGRATION:completed"));
    g_assert_true(end_has_event(&src, "MIGRATION_PASS"));
    g_assert_true(end_has_event(&dst, "MIGRATION:active"));
    g_assert_true(end_has_event(&dst, "MIGRATION:completed"));
    /* The first pass ended before the switch-over: two syncs at least. */
    g_assert_cmpuint(src.rs.stats.dirty_sync_count, >=, 2);

    g_mutex_lock(&src.lock);
    g_autoptr(JsonObject) q = migration_query(&src.ms);
    g_mutex_unlock(&src.lock);
    g_assert_cmpstr(json_object_get_string_member(q, "status"), ==, "completed");
    g_assert_true(json_object_has_member(q, "downtime"));
    JsonObject *ram = json_object_get_object_member(q, "ram");
    g_assert_cmpint(json_object_get_int_member(ram, "total"), ==, PAGES * RAM_PAGE_SIZE);
    g_assert_cmpint(json_object_get_int_member(ram, "duplicate"), >=, PAGES / 4);
    g_assert_cmpint(json_object_get_int_member(ram, "transferred"), >,
                    (PAGES * 2 / 3) * RAM_PAGE_SIZE);
    end_clear(&src);
    end_clear(&dst);
    g_rmdir(tmp);
}

/* exec: out to a file through the shell, then load it with file: and with
 * exec: (no return path: completion is the shell exiting 0). */
static void test_exec_and_file(void)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    g_autofree char *snap = sock_path(tmp, "snap");
    g_autofree char *out = g_strdup_printf("exec:cat > %s", snap);
    const char *in_uris[2] = { NULL, NULL };
    g_autofree char *file_uri = g_strdup_printf("file:%s", snap);
    g_autofree char *exec_uri = g_strdup_printf("exec:cat %s", snap);
    g_autoptr(GError) err = NULL;
    struct end src;

    end_init(&src, 256, 9);
    src.ms.params.max_bandwidth = 0;
    g_mutex_lock(&src.lock);
    g_assert_true(migration_start(&src.ms, out, &err));
    g_mutex_unlock(&src.lock);
    run_until_done(&src, NULL, false);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_COMPLETED);

    in_uris[0] = file_uri;
    in_uris[1] = exec_uri;
    for (unsigned i = 0; i < 2; i++) {
        struct end dst;
        gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

        end_init(&dst, 256, 0);
        g_mutex_lock(&dst.lock);
        g_assert_true(incoming_start(&dst.in, in_uris[i], &err));
        while (!dst.done) {
            g_assert_cmpint(g_get_monotonic_time(), <, deadline);
            g_main_context_iteration(dst.ctx, FALSE);
            g_mutex_unlock(&dst.lock);
            g_usleep(1000);
            g_mutex_lock(&dst.lock);
        }
        g_mutex_unlock(&dst.lock);
        g_assert_true(dst.load_ok);
        g_assert_cmpmem(src.mem, 256 * RAM_PAGE_SIZE, dst.mem, 256 * RAM_PAGE_SIZE);
        end_clear(&dst);
    }
    /* A command that fails: the migration fails, the source resumes. */
    end_clear(&src);
    end_init(&src, 256, 9);
    g_mutex_lock(&src.lock);
    g_assert_true(migration_start(&src.ms, "exec:cat > /dev/null; exit 3", &err));
    g_mutex_unlock(&src.lock);
    run_until_done(&src, NULL, false);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_FAILED);
    g_assert_true(src.resumed);
    g_assert_nonnull(strstr(src.ms.error_desc, "status 3"));
    end_clear(&src);
    g_unlink(snap);
    g_rmdir(tmp);
}

/* Nobody listening; a destination that hangs up at once. */
static void test_connect_failures(void)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    g_autofree char *path = sock_path(tmp, "none.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autoptr(GError) err = NULL;
    struct sock_addr a;
    struct end src;
    int lfd, c;

    end_init(&src, 64, 1);
    g_mutex_lock(&src.lock);
    g_assert_true(migration_start(&src.ms, uri, &err));
    g_mutex_unlock(&src.lock);
    run_until_done(&src, NULL, false);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_FAILED);
    g_assert_false(src.stopped); /* never got as far as stopping */
    g_assert_nonnull(src.ms.error_desc);

    /* Accept, then close before acknowledging anything. */
    g_assert_true(sock_addr_parse(uri, &a, &err));
    lfd = sock_listen(&a, 1, &err);
    g_assert_cmpint(lfd, >=, 0);
    g_mutex_lock(&src.lock);
    g_assert_true(migration_start(&src.ms, uri, &err));
    g_mutex_unlock(&src.lock);
    while ((c = sock_accept(lfd)) < 0)
        g_usleep(1000);
    {
        char buf[65536];
        ssize_t n;
        size_t total = 0;

        /* Swallow the stream up to EOF-of-devices, then hang up. */
        while ((n = read(c, buf, sizeof(buf))) != 0) {
            if (n > 0)
                total += n;
            if (total > 64 * RAM_PAGE_SIZE / 2)
                break;
        }
        close(c);
    }
    run_until_done(&src, NULL, false);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_FAILED);
    g_assert_false(src.completed);
    g_assert_true(!src.stopped || src.resumed);
    close(lfd);
    sock_addr_clear(&a);
    end_clear(&src);
    g_unlink(path);
    g_rmdir(tmp);
}

/* A destination with less RAM refuses the stream: it answers SHUT(1) and
 * the source fails (with that reason) and resumes. */
static void test_destination_refuses(void)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    struct end src, dst;

    end_init(&src, 256, 1);
    end_init(&dst, 128, 0);
    src.ms.params.max_bandwidth = 0;
    start_pair(&src, &dst, tmp);
    run_until_done(&src, &dst, true);
    g_assert_false(dst.load_ok);
    g_assert_nonnull(strstr(dst.load_error, "MiB"));
    g_assert_cmpint(dst.in.status, ==, MIGRATION_STATUS_FAILED);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_FAILED);
    /* The destination's reason came back on the return path. */
    g_assert_nonnull(strstr(src.ms.error_desc, dst.load_error));
    g_assert_false(src.completed);
    g_assert_true(!src.stopped || src.resumed);
    end_clear(&src);
    end_clear(&dst);
    g_rmdir(tmp);
}

/* Wait for @want, running the destination's loop meanwhile. */
static void wait_status(struct end *src, struct end *dst, enum migration_status want)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    while (migration_get_status(&src->ms) != want) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_mutex_lock(&dst->lock);
        g_main_context_iteration(dst->ctx, FALSE);
        g_mutex_unlock(&dst->lock);
        g_usleep(1000);
    }
}

/* migrate_cancel while pre-copy crawls at 1 MiB/s. */
static void test_cancel(void)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    struct end src, dst;

    end_init(&src, PAGES, 1);
    end_init(&dst, PAGES, 0);
    src.ms.params.max_bandwidth = 1 << 20;
    start_pair(&src, &dst, tmp);
    wait_status(&src, &dst, MIGRATION_STATUS_ACTIVE);
    g_mutex_lock(&src.lock);
    migration_cancel(&src.ms);
    g_mutex_unlock(&src.lock);
    run_until_done(&src, &dst, true);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_CANCELLED);
    g_assert_true(end_has_event(&src, "MIGRATION:cancelling"));
    g_assert_true(end_has_event(&src, "MIGRATION:cancelled"));
    g_assert_false(src.stopped);
    g_assert_false(dst.load_ok);
    /* A second migration after the cancel works from scratch. */
    end_clear(&dst);
    end_init(&dst, PAGES, 0);
    src.ms.params.max_bandwidth = 0;
    start_pair(&src, &dst, tmp);
    run_until_done(&src, &dst, true);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_COMPLETED);
    g_assert_cmpmem(src.mem, PAGES * RAM_PAGE_SIZE, dst.mem, PAGES * RAM_PAGE_SIZE);
    end_clear(&src);
    end_clear(&dst);
    g_rmdir(tmp);
}

static void test_busy(void)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    g_autofree char *path = sock_path(tmp, "s");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autoptr(GError) err = NULL;
    struct sock_addr a;
    struct end src;
    int lfd;

    end_init(&src, 64, 1);
    g_assert_true(sock_addr_parse(uri, &a, &err));
    lfd = sock_listen(&a, 1, &err); /* accepts nothing: the thread waits */
    g_mutex_lock(&src.lock);
    g_assert_true(migration_start(&src.ms, uri, &err));
    g_assert_false(migration_start(&src.ms, uri, &err));
    g_assert_cmpstr(err->message, ==, "There's a migration process in progress");
    g_clear_error(&err);
    g_assert_false(migration_set_capability(&src.ms, "events", false, &err));
    g_clear_error(&err);
    migration_cancel(&src.ms);
    g_mutex_unlock(&src.lock);
    run_until_done(&src, NULL, false);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_CANCELLED);
    close(lfd);
    sock_addr_clear(&a);
    end_clear(&src);
    g_unlink(path);
    g_rmdir(tmp);
}

static void test_parameters(void)
{
    struct end e;
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) big = json_node_init_int(json_node_alloc(), 2000001);
    g_autoptr(JsonNode) neg = json_node_init_int(json_node_alloc(), -1);
    g_autoptr(JsonNode) ok = json_node_init_int(json_node_alloc(), 32 << 20);
    g_autoptr(JsonNode) str = json_node_init_string(json_node_alloc(), "1");
    g_autoptr(JsonObject) q = NULL;
    g_autoptr(JsonArray) caps = NULL;

    end_init(&e, 16, 0);
    q = migration_query_parameters(&e.ms);
    g_assert_cmpint(json_object_get_int_member(q, "max-bandwidth"), ==, 128 << 20);
    g_assert_cmpint(json_object_get_int_member(q, "downtime-limit"), ==, 300);
    g_assert_cmpint(json_object_get_int_member(q, "announce-initial"), ==, 50);
    g_assert_cmpint(json_object_get_int_member(q, "announce-max"), ==, 550);
    g_assert_cmpint(json_object_get_int_member(q, "announce-rounds"), ==, 5);
    g_assert_cmpint(json_object_get_int_member(q, "announce-step"), ==, 100);
    g_assert_false(migration_set_parameter(&e.ms, "downtime-limit", big, &err));
    g_assert_nonnull(strstr(err->message, "downtime-limit"));
    g_clear_error(&err);
    g_assert_false(migration_set_parameter(&e.ms, "max-bandwidth", neg, &err));
    g_clear_error(&err);
    g_assert_false(migration_set_parameter(&e.ms, "max-bandwidth", str, &err));
    g_clear_error(&err);
    g_assert_false(migration_set_parameter(&e.ms, "no-such", ok, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'no-such'");
    g_clear_error(&err);
    g_assert_true(migration_set_parameter(&e.ms, "max-bandwidth", ok, &err));
    g_assert_cmpint(e.ms.params.max_bandwidth, ==, 32 << 20);

    caps = migration_query_capabilities(&e.ms);
    g_assert_cmpuint(json_array_get_length(caps), ==, 22); /* QEMU 7.2's + x-verify-ram */
    g_assert_false(migration_set_capability(&e.ms, "xbzrle", true, &err));
    g_clear_error(&err);
    g_assert_true(migration_set_capability(&e.ms, "xbzrle", false, &err));
    g_assert_false(migration_set_capability(&e.ms, "bogus", true, &err));
    g_clear_error(&err);
    g_assert_true(migration_set_capability(&e.ms, "return-path", false, &err));
    g_assert_false(e.ms.caps[MIGRATION_CAP_RETURN_PATH]);
    end_clear(&e);
}

/* pause-before-switchover: the source stops the guest and waits in
 * pre-switchover; migrate-continue must name that state.  A cancel there
 * resumes the guest. */
static void test_pause_before_switchover(void)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    g_autoptr(GError) err = NULL;
    struct end src, dst;

    for (int cancel = 0; cancel < 2; cancel++) {
        end_init(&src, PAGES, 1);
        end_init(&dst, PAGES, 0);
        g_assert_true(migration_set_capability(&src.ms, "pause-before-switchover", true, &err));
        start_pair(&src, &dst, tmp);
        wait_status(&src, &dst, MIGRATION_STATUS_PRE_SWITCHOVER);
        g_assert_true(src.stopped);
        g_mutex_lock(&src.lock);
        g_assert_false(migration_continue(&src.ms, "active", &err));
        g_assert_cmpstr(err->message, ==, "Migration not in expected state: pre-switchover");
        g_clear_error(&err);
        if (cancel)
            migration_cancel(&src.ms);
        else
            g_assert_true(migration_continue(&src.ms, "pre-switchover", &err));
        g_mutex_unlock(&src.lock);
        run_until_done(&src, &dst, true);
        if (cancel) {
            g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_CANCELLED);
            g_assert_true(src.resumed);
            g_assert_false(dst.load_ok);
        } else {
            g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_COMPLETED);
            g_assert_true(end_has_event(&src, "MIGRATION:pre-switchover"));
            g_assert_true(dst.load_ok);
            g_assert_cmpmem(src.mem, PAGES * RAM_PAGE_SIZE, dst.mem, PAGES * RAM_PAGE_SIZE);
        }
        g_mutex_lock(&src.lock);
        g_assert_false(migration_continue(&src.ms, "pre-switchover", &err));
        g_clear_error(&err);
        g_mutex_unlock(&src.lock);
        end_clear(&src);
        end_clear(&dst);
    }
    g_rmdir(tmp);
}

/* x-verify-ram: a clean migration verifies; a page changed behind the
 * dirty tracking's back (written with the guest stopped in pre-switchover,
 * not marked) fails the load, and the source resumes with the reason. */
static void test_verify_ram(void)
{
    g_autofree char *tmp = g_dir_make_tmp("tern-mig-XXXXXX", NULL);
    g_autoptr(GError) err = NULL;
    struct end src, dst;

    for (int lose = 0; lose < 2; lose++) {
        end_init(&src, PAGES, 1);
        end_init(&dst, PAGES, 0);
        g_assert_true(migration_set_capability(&src.ms, "x-verify-ram", true, &err));
        g_assert_true(migration_set_capability(&src.ms, "pause-before-switchover", true, &err));
        start_pair(&src, &dst, tmp);
        wait_status(&src, &dst, MIGRATION_STATUS_PRE_SWITCHOVER);
        g_mutex_lock(&src.lock);
        if (lose)
            src.mem[1000 * RAM_PAGE_SIZE + 5] ^= 1; /* not marked dirty */
        g_assert_true(migration_continue(&src.ms, "pre-switchover", &err));
        g_mutex_unlock(&src.lock);
        run_until_done(&src, &dst, true);
        if (lose) {
            g_assert_false(dst.load_ok);
            g_assert_nonnull(strstr(dst.load_error, "x-verify-ram"));
            g_assert_nonnull(strstr(dst.load_error, "0x3e8000")); /* page 1000's chunk */
            g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_FAILED);
            g_assert_nonnull(strstr(src.ms.error_desc, "x-verify-ram"));
            g_assert_true(src.resumed);
        } else {
            g_assert_true(dst.load_ok);
            g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_COMPLETED);
        }
        end_clear(&src);
        end_clear(&dst);
    }
    g_rmdir(tmp);
}

/* Is there a TCP socket in SYN_SENT to @port (/proc/net/tcp, IPv4)? */
static bool syn_sent_to(int port)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autofree char *want = g_strdup_printf(":%04X 02 ", port);

    if (!g_file_get_contents("/proc/net/tcp", &text, NULL, NULL))
        return false;
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        /* "sl local rem st": the remote address ends with our port */
        if (strstr(*l, want))
            return true;
    }
    return false;
}

/* A cancel reaches a connect that hangs: the listener's accept queue is
 * full, so the kernel drops our SYNs and connect() would block for
 * minutes. */
static void test_cancel_connect(void)
{
    g_autoptr(GError) err = NULL;
    struct sock_addr a;
    g_autofree char *uri = NULL;
    gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    int lfd, filler, port;
    struct end src;

    g_assert_true(sock_addr_parse("tcp:127.0.0.1:0", &a, &err));
    lfd = sock_listen(&a, 0, &err);
    g_assert_cmpint(lfd, >=, 0);
    port = sock_local_port(lfd);
    sock_addr_clear(&a);
    uri = g_strdup_printf("tcp:127.0.0.1:%d", port);
    g_assert_true(sock_addr_parse(uri, &a, &err));
    filler = sock_connect(&a, &err); /* fills the queue of one */
    g_assert_cmpint(filler, >=, 0);
    end_init(&src, 64, 1);
    g_mutex_lock(&src.lock);
    g_assert_true(migration_start(&src.ms, uri, &err));
    g_mutex_unlock(&src.lock);
    while (!syn_sent_to(port)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_SETUP);
    g_mutex_lock(&src.lock);
    migration_cancel(&src.ms);
    g_mutex_unlock(&src.lock);
    run_until_done(&src, NULL, false);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_CANCELLED);
    g_assert_false(src.stopped);
    g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    close(filler);
    close(lfd);
    sock_addr_clear(&a);
    end_clear(&src);
}

/* Is a thread of ours named @name in system call @a or @b (its number in
 * /proc/self/task/T/syscall), asleep? */
static bool thread_sleeps_in(const char *name, long a, long b)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/task", 0, NULL);
    const char *tid;

    while (dir && (tid = g_dir_read_name(dir))) {
        g_autofree char *comm_path = g_strdup_printf("/proc/self/task/%s/comm", tid);
        g_autofree char *sc_path = g_strdup_printf("/proc/self/task/%s/syscall", tid);
        g_autofree char *comm = NULL, *sc = NULL;
        long nr;

        if (!g_file_get_contents(comm_path, &comm, NULL, NULL) ||
            strcmp(g_strchomp(comm), name) ||
            !g_file_get_contents(sc_path, &sc, NULL, NULL))
            continue;
        nr = strtol(sc, NULL, 10);
        return nr == a || nr == b;
    }
    return false;
}

/* exec: a command that neither reads its stdin nor obeys SIGTERM: the
 * source's write blocks on a full pipe; a cancel still ends it (the write
 * watches the cancel, and the command gets SIGKILL after a grace period). */
static void test_cancel_stalled_exec(void)
{
    g_autoptr(GError) err = NULL;
    gint64 start, deadline;
    struct end src;

    end_init(&src, PAGES, 1);
    src.ms.params.max_bandwidth = 0;
    g_mutex_lock(&src.lock);
    g_assert_true(migration_start(&src.ms, "exec:trap '' TERM; sleep 600", &err));
    g_mutex_unlock(&src.lock);
    deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    /* The pipe (64 KiB) is full long before 8 MiB are out: wait until the
     * thread sleeps in a write (or the poll for room). */
    while (!thread_sleeps_in("migration", SYS_writev, SYS_poll)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_ACTIVE);
    g_mutex_lock(&src.lock);
    migration_cancel(&src.ms);
    g_mutex_unlock(&src.lock);
    start = g_get_monotonic_time();
    run_until_done(&src, NULL, false);
    g_assert_cmpint(migration_get_status(&src.ms), ==, MIGRATION_STATUS_CANCELLED);
    g_assert_cmpint(g_get_monotonic_time() - start, <,
                    (MIG_CHANNEL_KILL_AFTER_MS + 5000) * 1000ll);
    end_clear(&src);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* as tern does: a closed peer is an error */
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/uri-parse", test_uri_parse);
    g_test_add_func("/migration/block", test_block_migration);
    g_test_add_func("/migration/block-capability", test_block_capability);
    g_test_add_func("/migration/block-refusals", test_block_refusals);
    g_test_add_func("/migration/unix-round-trip", test_unix_round_trip);
    g_test_add_func("/migration/exec-and-file", test_exec_and_file);
    g_test_add_func("/migration/connect-failures", test_connect_failures);
    g_test_add_func("/migration/destination-refuses", test_destination_refuses);
    g_test_add_func("/migration/cancel", test_cancel);
    g_test_add_func("/migration/busy", test_busy);
    g_test_add_func("/migration/parameters", test_parameters);
    g_test_add_func("/migration/pause-before-switchover", test_pause_before_switchover);
    g_test_add_func("/migration/verify-ram", test_verify_ram);
    g_test_add_func("/migration/cancel-connect", test_cancel_connect);
    g_test_add_func("/migration/cancel-stalled-exec", test_cancel_stalled_exec);
    return g_test_run();
}
