/* system/options.c: every option, defaults, and the error paths. */
#include <glib.h>
#include <string.h>

#include "system/options.h"

static bool parse(struct options *o, GError **errp, ...)
{
    const char *argv[64] = { "tern" };
    int argc = 1;
    va_list ap;
    const char *a;

    va_start(ap, errp);
    while ((a = va_arg(ap, const char *)))
        argv[argc++] = a;
    va_end(ap);
    return options_parse(o, argc, (char **)argv, errp);
}

static void test_defaults(void)
{
    struct options o;
    g_autoptr(GError) err = NULL;

    g_assert_true(parse(&o, &err, NULL));
    g_assert_cmpint(o.action, ==, OPTIONS_RUN);
    g_assert_cmpuint(o.ram_size, ==, 128ULL << 20);
    g_assert_cmpuint(o.smp, ==, 1);
    g_assert_cmpstr(o.serial, ==, "stdio");
    g_assert_cmpstr(o.machine, ==, "tern-1.0");
    g_assert_null(o.kernel);
    g_assert_false(o.start_paused);
    g_assert_false(o.debug_exit.present);
    options_clear(&o);
}

static void test_all_options(void)
{
    struct options o;
    g_autoptr(GError) err = NULL;

    g_assert_true(parse(&o, &err, "-m", "2111M", "-smp", "cpus=2,sockets=1,cores=2,threads=1",
                        "-kernel", "k", "-initrd", "i", "-append", "console=ttyS0 x=1",
                        "-serial", "file:/tmp/s", "-display", "none", "-name", "guest0", "-S",
                        "-no-reboot", "--machine", "tern", "-device",
                        "isa-debug-exit,iobase=0xf4,iosize=4", NULL));
    g_assert_no_error(err);
    g_assert_cmpuint(o.ram_size, ==, 2111ULL << 20);
    g_assert_cmpstr(o.ram_size_arg, ==, "2111M");
    g_assert_cmpuint(o.smp, ==, 2);
    g_assert_cmpstr(o.kernel, ==, "k");
    g_assert_cmpstr(o.initrd, ==, "i");
    g_assert_cmpstr(o.append, ==, "console=ttyS0 x=1");
    g_assert_cmpstr(o.serial, ==, "file:/tmp/s");
    g_assert_cmpstr(o.name, ==, "guest0");
    g_assert_true(o.start_paused);
    g_assert_true(o.no_reboot);
    g_assert_cmpstr(o.machine, ==, "tern-1.0");
    g_assert_true(o.debug_exit.present);
    g_assert_cmpuint(o.debug_exit.iobase, ==, 0xf4);
    g_assert_cmpuint(o.debug_exit.iosize, ==, 4);
    options_clear(&o);
}

static void test_sizes(void)
{
    static const struct {
        const char *arg;
        uint64_t bytes;
    } ok[] = { { "129", 129ULL << 20 }, { "1G", 1ULL << 30 }, { "4096k", 4ULL << 20 },
               { "size=64M", 64ULL << 20 } };
    for (unsigned i = 0; i < G_N_ELEMENTS(ok); i++) {
        struct options o;
        g_autoptr(GError) err = NULL;

        g_assert_true(parse(&o, &err, "-m", ok[i].arg, NULL));
        g_assert_cmpuint(o.ram_size, ==, ok[i].bytes);
        options_clear(&o);
    }
}

static void test_actions(void)
{
    struct options o;
    g_autoptr(GError) err = NULL;

    g_assert_true(parse(&o, &err, "-version", NULL));
    g_assert_cmpint(o.action, ==, OPTIONS_VERSION);
    options_clear(&o);
    g_assert_true(parse(&o, &err, "-h", NULL));
    g_assert_cmpint(o.action, ==, OPTIONS_HELP);
    options_clear(&o);
    g_assert_true(parse(&o, &err, "--help", NULL));
    g_assert_cmpint(o.action, ==, OPTIONS_HELP);
    options_clear(&o);
}

/* Each bad command line fails, names the option, and leaves nothing behind. */
static void test_errors(void)
{
    static const struct {
        const char *argv[4];
        const char *fragment;
    } bad[] = {
        { { "-nope" }, "-nope: invalid option" },
        { { "file.img" }, "file.img: unexpected argument" },
        { { "-m" }, "-m: requires an argument" },
        { { "-m", "0" }, "-m 0: RAM size must be at least" },
        { { "-m", "1M" }, "-m 1M: RAM size must be at least" },
        { { "-m", "1536K" }, "whole number of MiB" },
        { { "-m", "lots" }, "-m lots: invalid size" },
        { { "-m", "size=1G,slots=2" }, "slots" },
        { { "-smp", "0" }, "-smp 0: CPU count must be at least 1" },
        { { "-smp", "999" }, "at most 254" },
        { { "-smp", "x" }, "-smp x" },
        { { "-smp", "4,maxcpus=8" }, "hotplug" },
        { { "-smp", "cpus=4,cores=3" }, "must equal cpus" },
        { { "-machine", "q35" }, "unsupported machine type 'q35'" },
        { { "-M", "type=" }, "unsupported machine type" },
        { { "-device", "virtio-gpu" }, "unknown device 'virtio-gpu'" },
        { { "-device", "isa-debug-exit,color=red" }, "color" },
        { { "-device", "isa-debug-exit,iosize=8" }, "iosize" },
        { { "-display", "sdl" }, "-display sdl" },
        { { "-kernel", "" }, "empty file name" },
        { { "-serial", "" }, "empty serial backend" },
        { { "-name", "a,b=1" }, "-name" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        struct options o;
        g_autoptr(GError) err = NULL;
        const char *argv[6] = { "tern" };
        int argc = 1;

        for (unsigned j = 0; j < 4 && bad[i].argv[j]; j++)
            argv[argc++] = bad[i].argv[j];
        g_assert_false(options_parse(&o, argc, (char **)argv, &err));
        g_assert_nonnull(err);
        if (!strstr(err->message, bad[i].fragment))
            g_error("case %u: '%s' lacks '%s'", i, err->message, bad[i].fragment);
        g_assert_null(strchr(err->message, '\n'));
        g_assert_null(o.kernel);
    }
}

static struct monitor_config *mon(struct options *o, unsigned i)
{
    g_assert_cmpuint(i, <, o->monitors->len);
    return o->monitors->pdata[i];
}

static void test_monitors(void)
{
    struct options o;
    g_autoptr(GError) err = NULL;

    g_assert_true(parse(&o, &err, "-qmp", "unix:/tmp/q.sock,server,nowait", "-monitor",
                        "tcp:[::1]:4444,server=on,wait=on", "-monitor", "none", "-mon",
                        "c1,mode=control,pretty=on", "-chardev",
                        "socket,id=c1,host=localhost,port=5555", "-mon", "chardev=c2",
                        "-chardev", "stdio,id=c2", NULL));
    g_assert_cmpuint(o.monitors->len, ==, 4);
    g_assert_true(mon(&o, 0)->control && mon(&o, 0)->server && !mon(&o, 0)->wait);
    g_assert_cmpint(mon(&o, 0)->addr.kind, ==, SOCK_UNIX);
    g_assert_cmpstr(mon(&o, 0)->addr.path, ==, "/tmp/q.sock");
    g_assert_true(!mon(&o, 1)->control && mon(&o, 1)->server && mon(&o, 1)->wait);
    g_assert_cmpint(mon(&o, 1)->addr.kind, ==, SOCK_TCP);
    g_assert_cmpstr(mon(&o, 1)->addr.host, ==, "::1");
    g_assert_cmpstr(mon(&o, 1)->addr.port, ==, "4444");
    /* -mon resolved against a -chardev given after it; a client, not a server */
    g_assert_true(mon(&o, 2)->control && mon(&o, 2)->pretty && !mon(&o, 2)->server);
    g_assert_cmpstr(mon(&o, 2)->addr.host, ==, "localhost");
    g_assert_cmpstr(mon(&o, 2)->addr.port, ==, "5555");
    g_assert_true(mon(&o, 3)->stdio && !mon(&o, 3)->control);
    /* the default serial gives stdio to the monitor */
    g_assert_cmpstr(o.serial, ==, "null");
    options_clear(&o);

    static const char *const bad[][3] = {
        { "-qmp", "pipe:x", "unknown monitor backend" },
        { "-qmp", "tcp:nohost", "expected HOST:PORT" },
        { "-qmp", "tcp:h:", "missing port" },
        { "-qmp", "tcp:[::1:4", "expected [IPV6]:PORT" },
        { "-monitor", "unix:/x,server,bogus=1", "bogus" },
        { "-mon", "mode=control", "chardev= is required" },
        { "-chardev", "socket,id=a,path=/x,port=4", "either path= or host=" },
        { "-chardev", "socket,id=a", "needs path= or port=" },
        { "-mon", "x", "chardev 'x' not found" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_assert_false(parse(&o, &e, bad[i][0], bad[i][1], NULL));
        g_test_message("%s %s: %s", bad[i][0], bad[i][1], e->message);
        g_assert_nonnull(strstr(e->message, bad[i][2]));
    }
    g_autoptr(GError) e3 = NULL;
    g_assert_false(parse(&o, &e3, "-chardev", "stdio,id=a", "-mon", "a", "-mon", "a", NULL));
    g_assert_nonnull(strstr(e3->message, "chardev 'a' is already in use"));
    g_autoptr(GError) e4 = NULL;
    g_assert_false(parse(&o, &e4, "-qmp", "unix:/tmp/s,server", "-monitor", "unix:/tmp/s,server",
                         NULL));
    g_assert_nonnull(strstr(e4->message, "unix:/tmp/s is used by two monitors"));
    g_autoptr(GError) e2 = NULL;
    g_assert_false(parse(&o, &e2, "-chardev", "stdio,id=a", "-chardev", "stdio,id=a", NULL));
    g_assert_nonnull(strstr(e2->message, "duplicate chardev id 'a'"));
}

static const struct disk_config *disk(const struct options *o, unsigned i)
{
    g_assert_cmpuint(i, <, o->drives.disks->len);
    return o->drives.disks->pdata[i];
}

/* -drive, -blockdev and -device virtio-blk become disks in command-line
 * order; only syntax and references are checked (files are not opened). */
static void test_drives(void)
{
    struct options o;
    g_autoptr(GError) err = NULL;

    g_assert_true(parse(&o, &err, "-device", "virtio-blk-device,drive=hd,serial=S1",
                        "-drive", "file=a.img", "-drive",
                        "file=b.img,if=virtio,format=raw,readonly=on,cache=none,aio=threads",
                        "-drive", "file=c.img,if=none,id=hd,file.locking=off", "-blockdev",
                        "driver=file,node-name=f,filename=d.img,read-only=on,cache.direct=on",
                        "-blockdev", "driver=raw,node-name=r,file=f", "-device",
                        "virtio-blk,drive=r", NULL));
    g_assert_no_error(err);
    g_assert_cmpuint(o.drives.disks->len, ==, 4);
    g_assert_cmpstr(disk(&o, 0)->drive->id, ==, "hd");
    g_assert_cmpstr(disk(&o, 0)->drive->bo.file, ==, "c.img");
    g_assert_true(disk(&o, 0)->drive->bo.no_locking);
    g_assert_cmpstr(disk(&o, 0)->serial, ==, "S1");
    g_assert_cmpstr(disk(&o, 1)->drive->id, ==, "virtio0");
    g_assert_cmpint(disk(&o, 1)->drive->bo.cache, ==, BLOCK_CACHE_WRITEBACK);
    g_assert_cmpstr(disk(&o, 2)->drive->id, ==, "virtio1");
    g_assert_true(disk(&o, 2)->drive->bo.readonly);
    g_assert_cmpint(disk(&o, 2)->drive->bo.cache, ==, BLOCK_CACHE_NONE);
    g_assert_cmpint(disk(&o, 2)->drive->bo.aio, ==, BLOCK_AIO_THREADS);
    g_assert_cmpstr(disk(&o, 3)->drive->id, ==, "r");
    g_assert_cmpstr(disk(&o, 3)->drive->bo.file, ==, "d.img");
    g_assert_true(disk(&o, 3)->drive->bo.readonly);
    g_assert_cmpint(disk(&o, 3)->drive->bo.cache, ==, BLOCK_CACHE_NONE);
    options_clear(&o);

    g_assert_true(parse(&o, &err, "-blockdev",
                        "driver=raw,node-name=n,file.driver=file,file.filename=x.img", "-device",
                        "virtio-blk-pci,drive=n", NULL));
    g_assert_no_error(err);
    g_assert_cmpstr(disk(&o, 0)->drive->bo.file, ==, "x.img");
    options_clear(&o);

    static const char *const bad[][5] = {
        { "-drive", "if=virtio", NULL, NULL, "file=PATH" },
        { "-drive", "file=a,if=scsi", NULL, NULL, "if=scsi is not supported" },
        { "-drive", "file=a,format=vmdk", NULL, NULL, "format 'vmdk'" },
        { "-drive", "file=a,if=none", NULL, NULL, "needs id=" },
        { "-drive", "file=a,bogus=1", NULL, NULL, "bogus" },
        { "-drive", "file=a,cache=unsafe", NULL, NULL, "Invalid cache 'unsafe'" },
        { "-device", "virtio-blk", NULL, NULL, "drive property not set" },
        { "-device", "virtio-blk,drive=x", NULL, NULL, "no drive or node named 'x'" },
        { "-blockdev", "driver=raw,node-name=r,file=nope", NULL, NULL, "node-name='nope'" },
        { "-blockdev", "driver=file,filename=a", NULL, NULL, "node-name= are required" },
        { "-blockdev", "driver=nbd,node-name=n", NULL, NULL, "driver 'nbd'" },
        { "-drive", "file=a,id=x", "-drive", "file=b,id=x", "Duplicate ID 'x'" },
        { "-drive", "file=a", "-device", "virtio-blk,drive=virtio0", "already in use" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_clear_error(&err);
        g_assert_false(parse(&o, &err, bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL));
        g_assert_nonnull(err);
        if (!strstr(err->message, bad[i][4]))
            g_error("%s %s: '%s' lacks '%s'", bad[i][0], bad[i][1], err->message, bad[i][4]);
    }
    g_clear_error(&err);
    g_assert_false(parse(&o, &err, "-drive", "file=a", "-drive", "file=a", "-drive", "file=a",
                         "-drive", "file=a", "-drive", "file=a", NULL));
    g_assert_nonnull(strstr(err->message, "4 virtio-mmio slots"));
}

static struct netdev_def *netdev(struct options *o, unsigned i)
{
    g_assert_cmpuint(i, <, o->netdevs.defs->len);
    return o->netdevs.defs->pdata[i];
}

/* -netdev tap / stream / socket become net_options in command-line order;
 * every error names the option and says what is wrong. */
static void test_netdevs(void)
{
    struct options o;
    g_autoptr(GError) err = NULL;

    g_assert_true(parse(&o, &err, "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
                        "-netdev", "tap,id=n1,vnet_hdr=on,fd=7", "-netdev",
                        "stream,id=s0,server=on,addr.type=unix,addr.path=/tmp/x.sock",
                        "-netdev", "stream,id=s1,addr.type=inet,addr.host=::1,addr.port=5555",
                        "-netdev", "socket,id=k0,listen=:1234", "-netdev",
                        "socket,id=k1,connect=127.0.0.1:1234", "-netdev",
                        "tap,id=n2,vnet_hdr=off", NULL));
    g_assert_no_error(err);
    g_assert_cmpuint(o.netdevs.defs->len, ==, 7);
    g_assert_cmpint(netdev(&o, 0)->opts.type, ==, NET_TYPE_TAP);
    g_assert_cmpstr(netdev(&o, 0)->opts.id, ==, "n0");
    g_assert_cmpstr(netdev(&o, 0)->opts.ifname, ==, "tap0");
    g_assert_cmpint(netdev(&o, 0)->opts.fd, ==, -1);
    g_assert_cmpint(netdev(&o, 0)->opts.vnet_hdr, ==, NET_VNET_HDR_AUTO);
    g_assert_cmpint(netdev(&o, 1)->opts.fd, ==, 7);
    g_assert_cmpint(netdev(&o, 1)->opts.vnet_hdr, ==, NET_VNET_HDR_ON);
    g_assert_cmpint(netdev(&o, 6)->opts.vnet_hdr, ==, NET_VNET_HDR_OFF);
    g_assert_cmpint(netdev(&o, 2)->opts.type, ==, NET_TYPE_STREAM);
    g_assert_true(netdev(&o, 2)->opts.server);
    g_assert_cmpint(netdev(&o, 2)->opts.addr.kind, ==, SOCK_UNIX);
    g_assert_cmpstr(netdev(&o, 2)->opts.addr.path, ==, "/tmp/x.sock");
    g_assert_false(netdev(&o, 3)->opts.server);
    g_assert_cmpint(netdev(&o, 3)->opts.addr.kind, ==, SOCK_TCP);
    g_assert_cmpstr(netdev(&o, 3)->opts.addr.host, ==, "::1");
    g_assert_cmpstr(netdev(&o, 3)->opts.addr.port, ==, "5555");
    g_assert_cmpint(netdev(&o, 4)->opts.type, ==, NET_TYPE_STREAM);
    g_assert_true(netdev(&o, 4)->opts.server);
    g_assert_cmpstr(netdev(&o, 4)->opts.addr.port, ==, "1234");
    g_assert_false(netdev(&o, 5)->opts.server);
    g_assert_cmpstr(netdev(&o, 5)->opts.addr.host, ==, "127.0.0.1");
    g_assert_true(netdevs_find(&o.netdevs, "k1") == netdev(&o, 5));
    g_assert_null(netdevs_find(&o.netdevs, "k2"));
    g_assert_cmpstr(netdev(&o, 5)->spec, ==, "-netdev socket,id=k1,connect=127.0.0.1:1234");
    options_clear(&o);

    static const char *const bad[][5] = {
        { "-netdev", "tap", NULL, NULL, "-netdev tap: id= is required" },
        { "-netdev", "id=n0", NULL, NULL, "missing netdev type" },
        { "-netdev", "user,id=u0", NULL, NULL, "netdev type 'user' is not supported" },
        { "-netdev", "tap,id=0n", NULL, NULL, "id=0n: an id starts with a letter" },
        { "-netdev", "tap,id=n0,script=/etc/qemu-ifup", NULL, NULL, "Tern runs no scripts" },
        { "-netdev", "tap,id=n0,downscript=/x", NULL, NULL, "downscript=/x: Tern runs no" },
        { "-netdev", "tap,id=n0,vnet_hdr=maybe", NULL, NULL, "vnet_hdr=maybe: expected 'on'" },
        { "-netdev", "tap,id=n0,fd=x", NULL, NULL, "fd=x: expected an integer" },
        { "-netdev", "tap,id=n0,fd=3,ifname=t", NULL, NULL, "ifname= and fd= cannot both" },
        { "-netdev", "tap,id=n0,ifname=waytoolongforaninterface", NULL, NULL, "1 to 15" },
        { "-netdev", "tap,id=n0,vhost=on", NULL, NULL, "netdev 'tap' has no parameter 'vhost'" },
        { "-netdev", "stream,id=s0", NULL, NULL, "addr.type is required" },
        { "-netdev", "stream,id=s0,addr.type=fd,addr.str=3", NULL, NULL, "addr.type=fd is not" },
        { "-netdev", "stream,id=s0,addr.type=unix", NULL, NULL, "needs addr.path=" },
        { "-netdev", "stream,id=s0,addr.type=inet,addr.host=h", NULL, NULL, "addr.port=" },
        { "-netdev", "stream,id=s0,server=maybe,addr.type=unix,addr.path=p", NULL, NULL,
          "server=maybe" },
        { "-netdev", "stream,id=s0,addr.type=unix,addr.path=p,reconnect=1", NULL, NULL,
          "no parameter 'reconnect'" },
        { "-netdev", "socket,id=k0", NULL, NULL, "exactly one of listen=" },
        { "-netdev", "socket,id=k0,listen=:1,connect=h:1", NULL, NULL, "exactly one of" },
        { "-netdev", "socket,id=k0,mcast=230.0.0.1:1234", NULL, NULL, "mcast= is not supported" },
        { "-netdev", "socket,id=k0,connect=nohost", NULL, NULL, "expected HOST:PORT" },
        { "-netdev", "tap,id=n0", "-netdev", "tap,id=n0", "Duplicate ID 'n0' for netdev" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_clear_error(&err);
        g_assert_false(parse(&o, &err, bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL));
        g_assert_nonnull(err);
        g_assert_null(strchr(err->message, '\n'));
        if (!strstr(err->message, bad[i][4]))
            g_error("%s %s: '%s' lacks '%s'", bad[i][0], bad[i][1], err->message, bad[i][4]);
        if (!g_str_has_prefix(err->message, "-netdev "))
            g_error("'%s' does not name the option", err->message);
    }
}

static const struct nic_config *nic(const struct options *o, unsigned i)
{
    g_assert_cmpuint(i, <, o->netdevs.nics->len);
    return o->netdevs.nics->pdata[i];
}

static void assert_mac(const struct nic_config *c, uint8_t last, const uint8_t *full)
{
    static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    uint8_t want[6];

    memcpy(want, full ? full : base, 6);
    if (!full)
        want[5] = last;
    g_assert_cmpmem(c->mac, 6, want, 6);
}

/* -device virtio-net: netdev references, QEMU's default MACs (skipping
 * given ones), the shared virtio-mmio slots, and every error. */
static void test_nics(void)
{
    static const uint8_t given[6] = { 0x02, 0xab, 0xcd, 0xef, 0x00, 0x01 };
    struct options o;
    g_autoptr(GError) err = NULL;

    g_assert_true(parse(&o, &err, "-netdev", "tap,id=a", "-netdev", "tap,id=b", "-netdev",
                        "tap,id=c", "-device", "virtio-net,netdev=c", "-device",
                        "virtio-net-pci,netdev=a,mac=52:54:00:12:34:56,id=nic1", "-device",
                        "virtio-net-device,netdev=b", NULL));
    g_assert_no_error(err);
    g_assert_cmpuint(o.netdevs.nics->len, ==, 3);
    g_assert_cmpstr(nic(&o, 0)->netdev->opts.id, ==, "c");
    assert_mac(nic(&o, 0), 0x57, NULL); /* ...:56 is taken by nic1 */
    g_assert_true(nic(&o, 1)->mac_given);
    assert_mac(nic(&o, 1), 0x56, NULL);
    assert_mac(nic(&o, 2), 0x58, NULL);
    g_assert_true(nic(&o, 2)->netdev->used);
    options_clear(&o);

    g_assert_true(parse(&o, &err, "-drive", "file=x", "-drive", "file=y", "-drive", "file=z",
                        "-netdev", "tap,id=a", "-device", "virtio-net,netdev=a,mac=02-AB-cd-EF-00-01",
                        NULL));
    g_assert_no_error(err);
    assert_mac(nic(&o, 0), 0, given);
    options_clear(&o);

    static const char *const bad[][7] = {
        { "-device", "virtio-net", NULL, NULL, NULL, NULL, "netdev property not set" },
        { "-device", "virtio-net,netdev=x", NULL, NULL, NULL, NULL,
          "-device virtio-net,netdev=x: no -netdev with id 'x'" },
        { "-netdev", "tap,id=a", "-device", "virtio-net,netdev=a,speed=10", NULL, NULL,
          "device 'virtio-net' has no parameter 'speed'" },
        { "-netdev", "tap,id=a", "-device", "virtio-net,netdev=a,mac=52:54:00:12:34", NULL, NULL,
          "mac=52:54:00:12:34: not a MAC address" },
        { "-netdev", "tap,id=a", "-device", "virtio-net,netdev=a,mac=52:54:00:12:34:zz", NULL,
          NULL, "not a MAC address" },
        { "-netdev", "tap,id=a", "-device", "virtio-net,netdev=a,mac=52:54:00:12:34:567", NULL,
          NULL, "not a MAC address" },
        { "-netdev", "tap,id=a", "-device", "virtio-net,netdev=a,mac=ff:ff:ff:ff:ff:ff", NULL,
          NULL, "multicast" },
        { "-netdev", "tap,id=a", "-device", "virtio-net,netdev=a", "-device",
          "virtio-net,netdev=a", "netdev 'a' is already in use" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_clear_error(&err);
        g_assert_false(parse(&o, &err, bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4],
                             bad[i][5], NULL));
        g_assert_nonnull(err);
        g_assert_null(strchr(err->message, '\n'));
        if (!strstr(err->message, bad[i][6]))
            g_error("%s %s: '%s' lacks '%s'", bad[i][0], bad[i][1], err->message, bad[i][6]);
    }
    g_clear_error(&err);
    g_assert_false(parse(&o, &err, "-netdev", "tap,id=a", "-netdev", "tap,id=b", "-device",
                         "virtio-net,netdev=a,mac=02:00:00:00:00:01", "-device",
                         "virtio-net,netdev=b,mac=02:00:00:00:00:01", NULL));
    g_assert_nonnull(strstr(err->message, "MAC 02:00:00:00:00:01 is given to another NIC too"));
    g_clear_error(&err);
    g_assert_false(parse(&o, &err, "-drive", "file=x", "-drive", "file=y", "-drive", "file=z",
                         "-netdev", "tap,id=a", "-netdev", "tap,id=b", "-device",
                         "virtio-net,netdev=a", "-device", "virtio-net,netdev=b", NULL));
    g_assert_nonnull(strstr(err->message, "too many virtio devices: 3 disks and 2 NICs, but "
                                          "the tern-1.0 machine has 4 virtio-mmio slots"));
}

/* -netdev help lists the types and ends the command line like -help. */
static void test_netdev_help(void)
{
    if (g_test_subprocess()) {
        struct options o;
        g_autoptr(GError) err = NULL;

        g_assert_true(parse(&o, &err, "-netdev", "help", NULL));
        g_assert_cmpint(o.action, ==, OPTIONS_LISTED);
        options_clear(&o);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("Available netdev backend types:\nsocket\nstream\ntap\n");
}

/* -nic: a netdev and its NIC in one; none adds nothing. */
static void test_nic_shorthand(void)
{
    static const uint8_t given[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x09 };
    struct options o;
    g_autoptr(GError) err = NULL;

    g_assert_true(parse(&o, &err, "-nic", "none", "-nic",
                        "stream,server=on,addr.type=unix,addr.path=/tmp/x,mac=52:54:00:00:00:09",
                        "-nic", "tap,model=virtio-net-pci,id=t", NULL));
    g_assert_no_error(err);
    g_assert_cmpuint(o.netdevs.defs->len, ==, 2);
    g_assert_cmpuint(o.netdevs.nics->len, ==, 2);
    g_assert_cmpstr(nic(&o, 0)->netdev->opts.id, ==, "tern.nic0");
    assert_mac(nic(&o, 0), 0, given);
    g_assert_cmpstr(nic(&o, 1)->netdev->opts.id, ==, "t");
    options_clear(&o);

    static const char *const bad[][2] = {
        { "tap,model=e1000", "model=e1000 is not supported" },
        { "tap,mac=01:00:00:00:00:01", "multicast" },
        { "stream,addr.type=unix", "addr.path" },
        { "bogus", "netdev type 'bogus'" },
        { "none,model=virtio", "model" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_clear_error(&err);
        g_assert_false(parse(&o, &err, "-nic", bad[i][0], NULL));
        if (!strstr(err->message, bad[i][1]) || !g_str_has_prefix(err->message, "-nic "))
            g_error("-nic %s: '%s' lacks '%s'", bad[i][0], err->message, bad[i][1]);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/options/defaults", test_defaults);
    g_test_add_func("/options/all", test_all_options);
    g_test_add_func("/options/sizes", test_sizes);
    g_test_add_func("/options/actions", test_actions);
    g_test_add_func("/options/errors", test_errors);
    g_test_add_func("/options/monitors", test_monitors);
    g_test_add_func("/options/drives", test_drives);
    g_test_add_func("/options/nic-shorthand", test_nic_shorthand);
    g_test_add_func("/options/netdevs", test_netdevs);
    g_test_add_func("/options/nics", test_nics);
    g_test_add_func("/options/netdev-help", test_netdev_help);
    return g_test_run();
}
