/*
 * The whole tern-1.0 destination without KVM: the stream-loader fuzzer's
 * fixture (tests/fuzz/loadvm-fixture.h: every section with its real
 * description, detached).  The fuzzer's seeds load and carry their state
 * into every section; hostile "cpu" sections (counts of 0xffffffff, an MSR
 * Tern does not migrate, another XSAVE size, xsave_ext twice), hostile
 * x-verify-ram digests and another isa-debug-exit port are refused naming
 * the field; a seed cut anywhere (also inside its "block" section) says the
 * stream ended early.  The seeds' disk chunks land on the fixture's disk,
 * their virtio-blk queue is mapped into its RAM, and the requests that
 * queue holds run when the disks start.
 */
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/loadvm-fixture.h"

/* The fixture's main loop and disk, for the whole program (as the fuzzer
 * has them). */
static struct fixture_host *host;

static bool load(struct fixture *fx, const GByteArray *s, GError **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(s->data, s->len);
    bool ok = savevm_load(&fx->sv, f, errp);

    qemu_file_close(f, NULL);
    return ok;
}

static void expect_error(const GByteArray *s, const char *fragment)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(fixture_load(host, s->data, s->len, &err));
    if (!strstr(err->message, fragment))
        g_error("'%s' lacks '%s'", err->message, fragment);
}

static uint32_t be32_at(const GByteArray *s, size_t off)
{
    const uint8_t *p = s->data + off;

    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void put_be32_at(GByteArray *s, size_t off, uint32_t v)
{
    uint8_t *p = s->data + off;

    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* Where the VMState payload of FULL section @idstr @instance starts. */
static size_t section_payload(const GByteArray *s, const char *idstr, uint32_t instance)
{
    uint8_t hdr[1 + 255 + 8] = { (uint8_t)strlen(idstr) };
    size_t n = 1 + strlen(idstr);
    const uint8_t *p;

    memcpy(hdr + 1, idstr, strlen(idstr));
    hdr[n + 3] = (uint8_t)instance;
    hdr[n + 7] = 1; /* version */
    p = memmem(s->data, s->len, hdr, n + 8);
    g_assert_nonnull(p);
    return (size_t)(p - s->data) + n + 8;
}

/* "cpu" field offsets (accel/kvm-cpu-state.h): regs 144 bytes, sregs 292. */
static size_t cpu_nxcrs(const GByteArray *s, uint32_t cpu)
{
    return section_payload(s, "cpu", cpu) + 144 + 8 * 23 + 2 * 10 + 7 * 8 + 4 * 8;
}

static size_t cpu_xsave_size(const GByteArray *s, uint32_t cpu)
{
    size_t off = cpu_nxcrs(s, cpu);

    return off + 4 + be32_at(s, off) * 12;
}

static size_t cpu_nmsrs(const GByteArray *s, uint32_t cpu)
{
    return cpu_xsave_size(s, cpu) + 4 + KVM_CPU_STATE_XSAVE_BASE;
}

/* 4 KiB of the disk at @off hold fixture_seed_pattern(n) (loadvm-fixture.c),
 * or zeroes for @n < 0. */
static void assert_disk_pattern(uint64_t off, int n)
{
    uint8_t buf[4096];

    g_assert_cmpint(pread(host->disk_fd, buf, sizeof(buf), off), ==, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) {
        uint8_t want = n < 0 ? 0 : (uint8_t)(n * 31 + i * 7 + (i >> 9));

        if (buf[i] != want)
            g_error("disk byte %" G_GUINT64_FORMAT ": %#x, want %#x", off + i, buf[i], want);
    }
}

/* What the seeds' "block" and "virtio-blk" sections carried arrived. */
static void check_seed_disk(struct fixture *fx, unsigned n)
{
    const struct virtio_state *vs = &fx->machine.blk[0].mmio.vdev.s;

    g_assert_cmpint(fx->bm.load_progress, ==, n % 2 ? -1 : 100);
    assert_disk_pattern(FIXTURE_DISK_SIZE - 8192, n == 2 ? 2 : -1); /* short last chunk */
    assert_disk_pattern(1536, n == 4 ? 4 : -1);                      /* chunk 0, sent twice */
    assert_disk_pattern(FIXTURE_DISK_SIZE - 4096, -1);
    g_assert_cmpuint(vs->vq[0].ready, ==, n % 2);
    if (n % 2) {
        g_assert_cmphex(vs->status, ==, 0x0f);
        g_assert_cmphex(vs->vq[0].desc, ==, 0x100000);
        g_assert_cmpuint(vs->vq[0].last_avail_idx, ==, n);
        g_assert_true(fx->machine.blk[0].mmio.vdev.vq[0].desc_hva == fx->ram + 0x100000);
    }
}

/* Odd seeds: the two requests in RAM ran once the disks started and were
 * returned to the driver with status OK; seed 1's read of sector 1 got
 * zeroes and its write of 0x5b landed at sector 8, not before. */
static void check_seed_requests(struct fixture *fx, unsigned n)
{
    uint8_t zero[512] = { 0 }, want[512], got[512];
    const uint8_t *ram = fx->ram;

    if (n % 2 == 0)
        return;
    memset(want, 0x5b, sizeof(want));
    g_assert_cmpint(pread(host->disk_fd, got, 512, 512 * 8), ==, 512);
    g_assert_cmpmem(got, 512, zero, 512);
    fixture_start_disks(fx);
    g_assert_cmpuint(ram[0x101002] | ram[0x101003] << 8, ==, n + 2); /* used idx */
    g_assert_cmpuint(ram[0x102fff], ==, 0);                           /* status OK */
    g_assert_cmpuint(ram[0x103fff], ==, 0);
    if (n != 1)
        return;
    g_assert_cmpmem(ram + 0x102100, 512, zero, 512); /* sector 1 read */
    g_assert_cmpint(pread(host->disk_fd, got, 512, 512 * 8), ==, 512);
    g_assert_cmpmem(got, 512, want, 512);
}

static void test_seeds(void)
{
    for (unsigned n = 0; n < FIXTURE_SEEDS; n++) {
        g_autoptr(GByteArray) s = fixture_make_seed(host, n);
        g_autoptr(GError) err = NULL;
        struct fixture *fx = g_new(struct fixture, 1);

        /* The seed's source was this same disk: start from zeroes. */
        fixture_host_reset_disk(host);
        fixture_init(fx, host);
        if (!load(fx, s, &err))
            g_error("seed %u: %s", n, err->message);
        g_assert_cmpuint(fx->cpus_loaded, ==, FIXTURE_CPUS);
        for (unsigned i = 0; i < FIXTURE_CPUS; i++) {
            g_assert_cmphex(fx->cpu[i].s.regs.rip, ==, 0x100000 + n * 0x40 + i);
            g_assert_cmpuint(fx->cpu[i].s.nmsrs, ==, (n * 2 + i) % 10);
        }
        g_assert_cmphex(fx->cpu[1].s.xsave[KVM_CPU_STATE_XSAVE_BASE], ==,
                        n % 2 ? 0xa0 + n : 0); /* in cpu/xsave_ext */
        g_assert_cmpuint(fx->vm_state.clock.clock, ==, n * 1000000007ull);
        g_assert_cmphex(fx->vm_state.pic[1].s.irq_base, ==, 0x70);
        g_assert_cmphex(fx->vm_state.ioapic.redirtbl[23], ==, 1ull << 16 | (0x20 + 23 + n));
        g_assert_cmpuint(fx->vm_state.pit.channels[2].mode, ==, (n + 2) % 6);
        g_assert_cmpuint(fx->machine.uart.s.scr, ==, n);
        g_assert_cmpuint(fx->machine.i8042.s.cmd_byte, ==, 0x45 + n);
        for (unsigned i = 0; i <= n; i++)
            g_assert_cmpuint(fx->ram[(i * 37 % (FIXTURE_RAM_SIZE / RAM_PAGE_SIZE)) *
                                     RAM_PAGE_SIZE + i], ==, 0x40 + i);
        check_seed_disk(fx, n);
        check_seed_requests(fx, n);
        fixture_destroy(fx);
        g_free(fx);
    }
}

static void test_hostile_cpu(void)
{
    g_autoptr(GByteArray) s = fixture_make_seed(host, 3); /* with xsave_ext */
    g_autoptr(GByteArray) c = g_byte_array_new();
    static const char ext[] = "\x05\x0d" "cpu/xsave_ext";
    const uint8_t *sub;
    size_t at, sublen = 2 + 13 + 4 + KVM_CPU_STATE_XSAVE_MAX - KVM_CPU_STATE_XSAVE_BASE;

#define RESET() (g_byte_array_set_size(c, 0), g_byte_array_append(c, s->data, s->len))
    RESET();
    put_be32_at(c, cpu_nxcrs(c, 0), 0xffffffff);
    expect_error(c, "section 'cpu': cpu: field 'xcrs': 4294967295 elements exceed the "
                    "capacity of 16");
    RESET();
    put_be32_at(c, cpu_nmsrs(c, 1), 0xffffffff);
    expect_error(c, "cpu: field 'msrs': 4294967295 elements exceed the capacity of 64");
    RESET();
    g_assert_cmpuint(be32_at(c, cpu_nmsrs(c, 1)), >, 0);
    put_be32_at(c, cpu_nmsrs(c, 1) + 4, 0xc0000080); /* EFER: not through the MSR list */
    expect_error(c, "cpu: post_load: cpu 1: MSR 0xc0000080 is not one Tern migrates");
    RESET();
    put_be32_at(c, cpu_xsave_size(c, 0), 0xffffffff);
    expect_error(c, "cpu: field 'xsave_size': stream has 4294967295, this side has 4096");
    RESET();
    put_be32_at(c, cpu_xsave_size(c, 1), 11008); /* from an AMX host */
    expect_error(c, "stream has 11008, this side has 4096");
    /* cpu 1's xsave_ext subsection sent twice */
    sub = memmem(s->data, s->len, ext, sizeof(ext) - 1);
    g_assert_nonnull(sub);
    at = (size_t)(sub - s->data);
    g_byte_array_set_size(c, 0);
    g_byte_array_append(c, s->data, at + sublen);
    g_byte_array_append(c, s->data + at, s->len - at);
    expect_error(c, "section 'cpu': cpu: subsection 'cpu/xsave_ext' sent twice");
    /* ... or with a version of 0xffffffff */
    RESET();
    put_be32_at(c, at + 15, 0xffffffff);
    expect_error(c, "cpu/xsave_ext: stream version -1 is older than the minimum 1");
#undef RESET
}

/* x-verify-ram's digest: a count of 0xffffffff, a total of 2^64-1, a digest
 * that does not match what arrived. */
static void test_hostile_ram_verify(void)
{
    g_autoptr(GByteArray) s = fixture_make_seed(host, 0); /* with ram-verify */
    g_autoptr(GByteArray) c = g_byte_array_new();
    size_t off = section_payload(s, "ram-verify", 0);

    g_assert_true(fixture_load(host, s->data, s->len, NULL));
#define RESET() (g_byte_array_set_size(c, 0), g_byte_array_append(c, s->data, s->len))
    RESET();
    put_be32_at(c, off + 12, 0xffffffff);
    expect_error(c, "ram-digest: field 'd': 4294967295 elements exceed the capacity of 1024");
    RESET();
    memset(c->data + off, 0xff, 8);
    expect_error(c, "x-verify-ram: the source's digest covers 18446744073709551615 bytes");
    RESET();
    c->data[off + 16 + 8 * 100] ^= 1;
    expect_error(c, "guest RAM differs from the source's in bytes 0x64000..0x64fff (chunk 100");
#undef RESET
}

/* isa-debug-exit migrates where it sits: another port is refused. */
static void test_debug_exit_port(void)
{
    g_autoptr(GByteArray) s = fixture_make_seed(host, 0);
    size_t off = section_payload(s, "isa-debug-exit", 0);

    g_assert_cmpuint(s->data[off + 1], ==, FIXTURE_DEBUG_EXIT_BASE);
    s->data[off + 1] = 0xf8;
    expect_error(s, "isa-debug-exit: field 'iobase': stream has 248, this side has 244");
}

/* Cut anywhere (a stride through the middle), a seed is refused as ended
 * early: mid header, mid RAM page, mid vCPU section, mid subsection. */
static void test_truncated_seed(void)
{
    g_autoptr(GByteArray) s = fixture_make_seed(host, 1); /* no vmdesc: ends at EOF */
    unsigned cuts = 0;

    g_assert_true(fixture_load(host, s->data, s->len, NULL));
    for (size_t len = 0; len < s->len; len += len < 128 || len > s->len - 128 ? 1 : 61) {
        g_autoptr(GError) err = NULL;

        g_assert_false(fixture_load(host, s->data, len, &err));
        if (!strstr(err->message, "migration stream ended early"))
            g_error("cut at %zu of %u: '%s'", len, s->len, err->message);
        cuts++;
    }
    g_test_message("%u cuts", cuts);
}

/* A "block" section cut anywhere -- mid record header, mid drive name, mid
 * 1 MiB chunk, with writes of earlier chunks in flight -- is refused as
 * ended early, and the loader waits for those writes before it returns. */
static void test_truncated_block(void)
{
    g_autoptr(GByteArray) s = fixture_make_seed(host, 4); /* chunk 0 again in END */
    const uint8_t *first = memmem(s->data, s->len, "\x05" "block", 6);
    size_t start, step;
    unsigned cuts = 0;

    g_assert_nonnull(first);
    g_assert_true(fixture_load(host, s->data, s->len, NULL));
    start = (size_t)(first - s->data);
    for (size_t len = start; len < s->len; len += step) {
        g_autoptr(GError) err = NULL;

        g_assert_false(fixture_load(host, s->data, len, &err));
        if (!strstr(err->message, "migration stream ended early"))
            g_error("cut at %zu of %u: '%s'", len, s->len, err->message);
        cuts++;
        /* byte by byte around record boundaries, then through the chunk */
        step = len - start < 256 ? 1 : 4093;
    }
    g_test_message("%u cuts", cuts);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/loadvm/seeds", test_seeds);
    g_test_add_func("/loadvm/hostile-cpu", test_hostile_cpu);
    g_test_add_func("/loadvm/hostile-ram-verify", test_hostile_ram_verify);
    g_test_add_func("/loadvm/debug-exit-port", test_debug_exit_port);
    g_test_add_func("/loadvm/truncated-seed", test_truncated_seed);
    g_test_add_func("/loadvm/truncated-block", test_truncated_block);
    host = fixture_host_new();
    ret = g_test_run();
    fixture_host_free(host);
    return ret;
}
