#include "system/options.h"

#include <stdio.h>
#include <string.h>

#include "migration/channel.h"
#include "util/error.h"
#include "util/keyval.h"
#include "util/size.h"

#ifndef TERN_VERSION
#define TERN_VERSION "unknown"
#endif

/* Machine types Tern implements; the first name of each row is canonical. */
static const char *const options_machines[][2] = {
    { "tern-1.0", "Tern x86-64 machine, version 1.0 (alias: tern)" },
};

static bool opt_m(struct options *o, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "size", errp);
    g_autofree char *s = NULL;
    uint64_t size;

    if (!kv)
        return false;
    s = keyval_take_str(kv, "size");
    if (!keyval_check_empty(kv, "-m", errp))
        return false;
    if (!s) {
        error_setg(errp, "missing size");
        return false;
    }
    if (!size_parse(s, MiB, &size, errp))
        return false;
    if (size % MiB) {
        error_setg(errp, "RAM size must be a whole number of MiB");
        return false;
    }
    if (size < OPTIONS_RAM_MIN) {
        error_setg(errp, "RAM size must be at least %llu MiB", OPTIONS_RAM_MIN / MiB);
        return false;
    }
    o->ram_size = size;
    g_free(o->ram_size_arg);
    o->ram_size_arg = g_strdup(arg);
    return true;
}

static bool opt_smp(struct options *o, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "cpus", errp);
    uint64_t cpus = 1, v;
    bool present;

    if (!kv)
        return false;
    if (!keyval_take_uint(kv, "cpus", UINT32_MAX, &cpus, &present, errp))
        return false;
    /* sockets/cores/threads/maxcpus: accepted when they agree with cpus */
    static const char *const topo[] = { "sockets", "cores", "threads", "maxcpus", "dies" };
    uint64_t product = 1;
    bool any = false;
    for (unsigned i = 0; i < G_N_ELEMENTS(topo); i++) {
        bool p;
        if (!keyval_take_uint(kv, topo[i], UINT32_MAX, &v, &p, errp))
            return false;
        if (p && strcmp(topo[i], "maxcpus")) {
            product *= v;
            any = true;
        }
        if (p && !strcmp(topo[i], "maxcpus") && v != cpus) {
            error_setg(errp, "maxcpus must equal cpus (CPU hotplug is not supported)");
            return false;
        }
    }
    if (!keyval_check_empty(kv, "-smp", errp))
        return false;
    if (!present && any)
        cpus = product;
    if (any && product != cpus) {
        error_setg(errp, "sockets*dies*cores*threads (%" G_GUINT64_FORMAT
                         ") must equal cpus (%" G_GUINT64_FORMAT ")",
                   product, cpus);
        return false;
    }
    if (cpus < 1) {
        error_setg(errp, "CPU count must be at least 1");
        return false;
    }
    if (cpus > OPTIONS_SMP_MAX) {
        error_setg(errp, "at most %d CPUs are supported", OPTIONS_SMP_MAX);
        return false;
    }
    o->smp = cpus;
    return true;
}

static bool opt_machine(struct options *o, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "type", errp);
    g_autofree char *type = NULL;

    if (!kv)
        return false;
    type = keyval_take_str(kv, "type");
    if (!keyval_check_empty(kv, "-machine", errp))
        return false;
    if (!type) {
        error_setg(errp, "missing machine type");
        return false;
    }
    if (!strcmp(type, "tern"))
        g_free(g_steal_pointer(&type)), type = g_strdup("tern-1.0");
    for (unsigned i = 0; i < G_N_ELEMENTS(options_machines); i++) {
        if (!strcmp(type, options_machines[i][0])) {
            g_free(o->machine);
            o->machine = g_steal_pointer(&type);
            return true;
        }
    }
    error_setg(errp, "unsupported machine type '%s' (use -machine help to list them)", type);
    return false;
}

static bool opt_device_debug_exit(struct options *o, GHashTable *kv, GError **errp)
{
    uint64_t iobase = 0x501, iosize = 2; /* QEMU's defaults */

    if (!keyval_take_uint(kv, "iobase", 0xffff, &iobase, NULL, errp) ||
        !keyval_take_uint(kv, "iosize", 4, &iosize, NULL, errp))
        return false;
    if (!keyval_check_empty(kv, "device 'isa-debug-exit'", errp))
        return false;
    if (iosize != 1 && iosize != 2 && iosize != 4) {
        error_setg(errp, "isa-debug-exit: iosize must be 1, 2 or 4");
        return false;
    }
    if (iobase + iosize > 0x10000) {
        error_setg(errp, "isa-debug-exit: I/O range beyond port 0xffff");
        return false;
    }
    if (o->debug_exit.present) {
        error_setg(errp, "only one isa-debug-exit device is supported");
        return false;
    }
    o->debug_exit = (struct debug_exit_config){ true, iobase, iosize };
    return true;
}

static bool opt_device(struct options *o, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "driver", errp);
    g_autofree char *driver = NULL;

    if (!kv)
        return false;
    driver = keyval_take_str(kv, "driver");
    if (!driver) {
        error_setg(errp, "missing device driver name");
        return false;
    }
    if (!strcmp(driver, "isa-debug-exit"))
        return opt_device_debug_exit(o, kv, errp);
    if (!strcmp(driver, "virtio-blk") || !strcmp(driver, "virtio-blk-device") ||
        !strcmp(driver, "virtio-blk-pci"))
        return drives_parse_device(&o->drives, kv, errp);
    if (!strcmp(driver, "virtio-net") || !strcmp(driver, "virtio-net-device") ||
        !strcmp(driver, "virtio-net-pci"))
        return netdevs_parse_nic(&o->netdevs, kv, errp);
    error_setg(errp, "unknown device '%s' (use -device help to list them)", driver);
    return false;
}

static bool opt_drive(struct options *o, const char *arg, GError **errp)
{
    return drives_parse_drive(&o->drives, arg, errp);
}

static bool opt_blockdev(struct options *o, const char *arg, GError **errp)
{
    return drives_parse_blockdev(&o->drives, arg, errp);
}

static bool opt_netdev(struct options *o, const char *arg, GError **errp)
{
    return netdevs_parse(&o->netdevs, arg, errp);
}

static bool opt_nic(struct options *o, const char *arg, GError **errp)
{
    return netdevs_parse_nic_shorthand(&o->netdevs, arg, errp);
}

static bool opt_display(struct options *o, const char *arg, GError **errp)
{
    (void)o;
    if (strcmp(arg, "none")) {
        error_setg(errp, "display '%s' is not supported (Tern has no display; use none)", arg);
        return false;
    }
    return true;
}

static bool opt_name(struct options *o, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "guest", errp);
    char *name;

    if (!kv)
        return false;
    name = keyval_take_str(kv, "guest");
    if (!keyval_check_empty(kv, "-name", errp)) {
        g_free(name);
        return false;
    }
    g_free(o->name);
    o->name = name;
    return true;
}

static bool opt_path(char **dst, const char *arg, GError **errp)
{
    if (!*arg) {
        error_setg(errp, "empty file name");
        return false;
    }
    g_free(*dst);
    *dst = g_strdup(arg);
    return true;
}

static bool opt_kernel(struct options *o, const char *arg, GError **errp)
{
    return opt_path(&o->kernel, arg, errp);
}

static bool opt_initrd(struct options *o, const char *arg, GError **errp)
{
    return opt_path(&o->initrd, arg, errp);
}

static bool opt_append(struct options *o, const char *arg, GError **errp)
{
    (void)errp;
    g_free(o->append);
    o->append = g_strdup(arg);
    return true;
}

static bool opt_serial(struct options *o, const char *arg, GError **errp)
{
    /* The chardev layer parses the spec when the VM is built; only catch
     * the obviously empty one here. */
    if (!*arg) {
        error_setg(errp, "empty serial backend");
        return false;
    }
    g_free(o->serial);
    o->serial = g_strdup(arg);
    o->serial_explicit = true;
    return true;
}

static void monitor_config_free(gpointer p)
{
    struct monitor_config *m = p;

    sock_addr_clear(&m->addr);
    g_free(m->spec);
    g_free(m->chardev);
    g_free(m);
}

/* server/wait keys, QEMU's defaults: a server waits unless told nowait. */
static bool mon_take_server(struct monitor_config *m, GHashTable *kv, GError **errp)
{
    m->server = false;
    m->wait = true;
    if (!keyval_take_bool(kv, "server", &m->server, errp) ||
        !keyval_take_bool(kv, "wait", &m->wait, errp))
        return false;
    if (!m->server)
        m->wait = false;
    return true;
}

/* -monitor / -qmp DEV: stdio, none, unix:PATH[,server[,nowait]],
 * tcp:HOST:PORT[,server[,nowait]].  NULL with no error for "none". */
static struct monitor_config *mon_parse_legacy(const char *arg, bool control, GError **errp)
{
    g_autoptr(GHashTable) kv = NULL;
    g_autofree char *where = NULL;
    g_autofree char *full = NULL;
    struct monitor_config *m;

    if (!strcmp(arg, "none"))
        return NULL;
    m = g_new0(struct monitor_config, 1);
    m->control = control;
    m->spec = g_strdup(arg);
    if (!strcmp(arg, "stdio")) {
        m->stdio = true;
        return m;
    }
    if (!g_str_has_prefix(arg, "unix:") && !g_str_has_prefix(arg, "tcp:")) {
        error_setg(errp, "unknown monitor backend (stdio, none, unix:PATH,server,nowait, "
                         "tcp:HOST:PORT,server,nowait)");
        goto fail;
    }
    kv = keyval_parse(strchr(arg, ':') + 1, "addr", errp);
    if (!kv)
        goto fail;
    where = keyval_take_str(kv, "addr");
    full = g_strdup_printf("%.*s%s", (int)(strchr(arg, ':') - arg + 1), arg,
                           where ? where : "");
    if (!mon_take_server(m, kv, errp) || !keyval_check_empty(kv, "monitor socket", errp) ||
        !sock_addr_parse(full, &m->addr, errp))
        goto fail;
    return m;
fail:
    monitor_config_free(m);
    return NULL;
}

static bool opt_monitor_common(struct options *o, const char *arg, bool control,
                               GError **errp)
{
    g_autoptr(GError) err = NULL;
    struct monitor_config *m = mon_parse_legacy(arg, control, &err);

    if (err) {
        g_propagate_error(errp, g_steal_pointer(&err));
        return false;
    }
    if (m)
        g_ptr_array_add(o->monitors, m);
    return true;
}

static bool opt_monitor(struct options *o, const char *arg, GError **errp)
{
    return opt_monitor_common(o, arg, false, errp);
}

static bool opt_qmp(struct options *o, const char *arg, GError **errp)
{
    return opt_monitor_common(o, arg, true, errp);
}

static struct monitor_config *options_find_chardev(struct options *o, const char *id)
{
    for (unsigned i = 0; i < o->chardevs->len; i++) {
        struct monitor_config *c = o->chardevs->pdata[i];
        if (!strcmp(c->spec, id))
            return c;
    }
    return NULL;
}

/* -chardev socket,id=X,path=P|host=H,port=N[,server=on][,wait=off] | stdio,id=X */
static bool opt_chardev(struct options *o, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "backend", errp);
    g_autofree char *backend = NULL;
    struct monitor_config *c;

    if (!kv)
        return false;
    backend = keyval_take_str(kv, "backend");
    c = g_new0(struct monitor_config, 1);
    c->spec = keyval_take_str(kv, "id");
    if (!c->spec || !*c->spec) {
        error_setg(errp, "chardev: no id specified");
        goto fail;
    }
    if (options_find_chardev(o, c->spec)) {
        error_setg(errp, "duplicate chardev id '%s'", c->spec);
        goto fail;
    }
    if (backend && !strcmp(backend, "stdio")) {
        bool sig;

        c->stdio = true;
        if (!keyval_take_bool(kv, "signal", &sig, errp)) /* accepted, ignored */
            goto fail;
    } else if (backend && !strcmp(backend, "socket")) {
        char *path = keyval_take_str(kv, "path");
        char *host = keyval_take_str(kv, "host");
        char *port = keyval_take_str(kv, "port");

        if (!sock_addr_from_keys(&c->addr, path, host, port, errp) ||
            !mon_take_server(c, kv, errp))
            goto fail;
    } else {
        error_setg(errp, "chardev backend '%s' is not supported for monitors (socket, stdio)",
                   backend ? backend : "");
        goto fail;
    }
    if (!keyval_check_empty(kv, "-chardev", errp))
        goto fail;
    g_ptr_array_add(o->chardevs, c);
    return true;
fail:
    monitor_config_free(c);
    return false;
}

/* -mon [chardev=]X[,mode=readline|control][,pretty=on|off]; resolved against the
 * -chardev list once the whole command line is read. */
static bool opt_mon(struct options *o, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "chardev", errp);
    g_autofree char *mode = NULL;
    struct monitor_config *m;

    if (!kv)
        return false;
    m = g_new0(struct monitor_config, 1);
    m->chardev = keyval_take_str(kv, "chardev");
    mode = keyval_take_str(kv, "mode");
    if (!keyval_take_bool(kv, "pretty", &m->pretty, errp) ||
        !keyval_check_empty(kv, "-mon", errp))
        goto fail;
    if (!m->chardev) {
        error_setg(errp, "chardev= is required");
        goto fail;
    }
    if (mode && strcmp(mode, "readline") && strcmp(mode, "control")) {
        error_setg(errp, "mode must be readline or control");
        goto fail;
    }
    m->control = mode && !strcmp(mode, "control");
    m->spec = g_strdup_printf("chardev=%s", m->chardev);
    g_ptr_array_add(o->monitors, m);
    return true;
fail:
    monitor_config_free(m);
    return false;
}

/* Two listeners on one address would steal each other's socket. */
static bool options_check_address_unique(struct options *o, unsigned i, GError **errp)
{
    struct monitor_config *m = o->monitors->pdata[i];
    g_autofree char *a = NULL;

    if (m->stdio)
        return true;
    a = sock_addr_to_str(&m->addr);
    for (unsigned j = 0; j < i; j++) {
        struct monitor_config *p = o->monitors->pdata[j];
        g_autofree char *b = p->stdio ? NULL : sock_addr_to_str(&p->addr);

        if (b && !strcmp(a, b)) {
            error_setg(errp, "%s is used by two monitors", a);
            return false;
        }
    }
    return true;
}

static bool options_resolve_monitors(struct options *o, GError **errp)
{
    g_autoptr(GHashTable) used = g_hash_table_new(g_str_hash, g_str_equal);
    unsigned on_stdio = 0;

    for (unsigned i = 0; i < o->monitors->len; i++) {
        struct monitor_config *m = o->monitors->pdata[i];

        if (m->chardev) {
            struct monitor_config *c = options_find_chardev(o, m->chardev);
            if (!c) {
                error_setg(errp, "-mon %s: chardev '%s' not found", m->chardev, m->chardev);
                return false;
            }
            if (!g_hash_table_add(used, c->spec)) {
                error_setg(errp, "-mon %s: chardev '%s' is already in use", m->chardev,
                           m->chardev);
                return false;
            }
            m->stdio = c->stdio;
            m->server = c->server;
            m->wait = c->wait;
            sock_addr_copy(&m->addr, &c->addr);
        }
        if (!options_check_address_unique(o, i, errp))
            return false;
        on_stdio += m->stdio;
    }
    if (on_stdio > 1) {
        error_setg(errp, "cannot use stdio by multiple monitors");
        return false;
    }
    if (on_stdio && !strcmp(o->serial, "stdio")) {
        if (o->serial_explicit) {
            error_setg(errp, "cannot use stdio for both -serial and a monitor "
                             "(use -serial file:PATH or -serial null)");
            return false;
        }
        /* QEMU would not put the serial port on stdio either: the monitor
         * has it, and COM1 output is discarded unless -serial says where. */
        g_free(o->serial);
        o->serial = g_strdup("null");
    }
    return true;
}

static bool opt_dump_vmstate(struct options *o, const char *arg, GError **errp)
{
    if (!opt_path(&o->dump_vmstate, arg, errp))
        return false;
    o->action = OPTIONS_DUMP_VMSTATE;
    return true;
}

/* -incoming URI: checked now, so a typo fails before the VM is built. */
static bool opt_incoming(struct options *o, const char *arg, GError **errp)
{
    struct mig_uri u;

    if (strcmp(arg, "defer")) {
        if (!mig_uri_parse(arg, &u, errp))
            return false;
        mig_uri_clear(&u);
    }
    g_free(o->incoming);
    o->incoming = g_strdup(arg);
    return true;
}

static bool opt_mem_path(struct options *o, const char *arg, GError **errp)
{
    return opt_path(&o->mem_path, arg, errp);
}

static bool opt_flag_S(struct options *o, const char *arg, GError **errp)
{
    (void)arg, (void)errp;
    o->start_paused = true;
    return true;
}

static bool opt_flag_no_reboot(struct options *o, const char *arg, GError **errp)
{
    (void)arg, (void)errp;
    o->no_reboot = true;
    return true;
}

static bool opt_flag_help(struct options *o, const char *arg, GError **errp)
{
    (void)arg, (void)errp;
    o->action = OPTIONS_HELP;
    return true;
}

static bool opt_flag_version(struct options *o, const char *arg, GError **errp)
{
    (void)arg, (void)errp;
    o->action = OPTIONS_VERSION;
    return true;
}

struct option_def {
    const char *name;
    const char *argname; /* NULL: a flag without an argument */
    bool (*handler)(struct options *o, const char *arg, GError **errp);
    const char *help;
};

static const struct option_def option_defs[] = {
    { "m", "SIZE", opt_m, "guest RAM, in MiB or with a K/M/G/T suffix (default 128M)" },
    { "smp", "N", opt_smp, "number of vCPUs (also cpus=N,sockets=,cores=,threads=)" },
    { "kernel", "FILE", opt_kernel, "boot a PVH ELF or a Linux bzImage" },
    { "initrd", "FILE", opt_initrd, "initial ramdisk for the kernel" },
    { "append", "CMDLINE", opt_append, "kernel command line" },
    { "serial", "DEV", opt_serial, "COM1 backend: stdio, null, none, file:PATH, "
                                   "unix:PATH,server,nowait (default stdio)" },
    { "monitor", "DEV", opt_monitor, "human monitor (HMP) on stdio, unix:PATH,server,nowait "
                                     "or tcp:HOST:PORT,server,nowait" },
    { "qmp", "DEV", opt_qmp, "QMP (JSON) monitor; DEV as for -monitor" },
    { "chardev", "BACKEND,id=ID,...", opt_chardev,
      "socket,id=ID,path=PATH|host=H,port=P[,server=on][,wait=off] or stdio,id=ID" },
    { "mon", "chardev=ID[,mode=M]", opt_mon,
      "monitor on a -chardev; mode=readline (HMP, default) or control (QMP)[,pretty=on]" },
    { "display", "none", opt_display, "accepted for QEMU compatibility" },
    { "name", "NAME", opt_name, "guest name" },
    { "S", NULL, opt_flag_S, "do not start the vCPUs (start paused)" },
    { "mem-path", "FILE", opt_mem_path,
      "guest RAM starts as FILE's contents (a private copy-on-write mapping)" },
    { "incoming", "URI", opt_incoming,
      "wait for a migration: tcp:HOST:PORT, unix:PATH, exec:CMD, fd:N, file:PATH or defer" },
    { "no-reboot", NULL, opt_flag_no_reboot, "exit instead of rebooting the guest" },
    { "machine", "TYPE", opt_machine, "machine type: tern-1.0 (default)" },
    { "M", "TYPE", opt_machine, "same as -machine" },
    { "device", "DRIVER[,PROP=V]", opt_device,
      "add a device: isa-debug-exit,iobase=,iosize=, virtio-blk,drive=ID[,serial=S] or "
      "virtio-net,netdev=ID[,mac=MAC]" },
    { "drive", "file=PATH[,...]", opt_drive,
      "raw disk image: if=virtio (default)|none, id=, readonly=on, cache=none|writeback, "
      "aio=, serial=" },
    { "blockdev", "driver=file|raw,node-name=N,...", opt_blockdev,
      "a disk image node for -device virtio-blk,drive=N" },
    { "netdev", "TYPE,id=ID,...", opt_netdev,
      "network backend: tap,id=ID[,ifname=NAME][,vnet_hdr=on|off][,fd=N], "
      "stream,id=ID[,server=on],addr.type=unix|inet,... or socket,id=ID,listen=|connect=; "
      "-netdev help lists the types" },
    { "nic", "TYPE[,model=virtio][,mac=M][,...]", opt_nic,
      "a -netdev TYPE and its virtio-net NIC in one (-nic none: no NIC)" },
    { "dump-vmstate", "FILE", opt_dump_vmstate,
      "write every device's migration state description (JSON) to FILE and exit" },
    { "version", NULL, opt_flag_version, "print the version and exit" },
    { "help", NULL, opt_flag_help, "print this help and exit" },
    { "h", NULL, opt_flag_help, "same as -help" },
};

static const struct option_def *option_find(const char *arg)
{
    if (arg[0] != '-')
        return NULL;
    arg += (arg[1] == '-') ? 2 : 1; /* QEMU accepts --opt as well as -opt */
    for (unsigned i = 0; i < G_N_ELEMENTS(option_defs); i++) {
        if (!strcmp(arg, option_defs[i].name))
            return &option_defs[i];
    }
    return NULL;
}

/* "-machine help" / "-device help" / "-netdev help" list what exists and exit like -help. */
static bool option_wants_list(const struct option_def *d, const char *arg)
{
    return !strcmp(arg, "help") &&
           (d->handler == opt_machine || d->handler == opt_device || d->handler == opt_netdev);
}

static void options_print_list(const struct option_def *d)
{
    if (d->handler == opt_machine) {
        printf("Supported machines are:\n");
        for (unsigned i = 0; i < G_N_ELEMENTS(options_machines); i++)
            printf("%-20s %s (default)\n", options_machines[i][0], options_machines[i][1]);
    } else if (d->handler == opt_netdev) {
        netdevs_print_types(stdout);
    } else {
        printf("Devices:\nname \"isa-debug-exit\", bus ISA, desc \"exit with status "
               "(value << 1) | 1\"\n");
        printf("name \"virtio-blk\", bus virtio-mmio, desc \"virtio block device\" "
               "(aliases virtio-blk-device, virtio-blk-pci)\n");
        printf("name \"virtio-net\", bus virtio-mmio, desc \"virtio network device\" "
               "(aliases virtio-net-device, virtio-net-pci)\n");
    }
}

static void options_defaults(struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->action = OPTIONS_RUN;
    o->ram_size = OPTIONS_RAM_DEFAULT;
    o->ram_size_arg = g_strdup("128M");
    o->smp = 1;
    o->serial = g_strdup("stdio");
    o->machine = g_strdup(OPTIONS_MACHINE_DEFAULT);
    o->monitors = g_ptr_array_new_with_free_func(monitor_config_free);
    o->chardevs = g_ptr_array_new_with_free_func(monitor_config_free);
    drives_init(&o->drives);
    netdevs_init(&o->netdevs);
}

bool options_parse(struct options *o, int argc, char **argv, GError **errp)
{
    options_defaults(o);
    for (int i = 1; i < argc; i++) {
        const struct option_def *d = option_find(argv[i]);
        g_autoptr(GError) err = NULL;
        const char *arg = NULL;

        if (!d) {
            error_setg(errp, "%s: %s", argv[i],
                       argv[i][0] == '-' ? "invalid option" : "unexpected argument");
            goto fail;
        }
        if (d->argname) {
            if (i + 1 >= argc) {
                error_setg(errp, "%s: requires an argument (%s)", argv[i], d->argname);
                goto fail;
            }
            arg = argv[++i];
            if (option_wants_list(d, arg)) {
                options_print_list(d);
                o->action = OPTIONS_LISTED;
                return true;
            }
        }
        if (!d->handler(o, arg, &err)) {
            if (arg)
                error_setg(errp, "%s %s: %s", argv[i - 1], arg, err->message);
            else
                error_setg(errp, "%s: %s", argv[i], err->message);
            goto fail;
        }
    }
    if (!options_resolve_monitors(o, errp) || !drives_resolve(&o->drives, errp) ||
        !netdevs_resolve(&o->netdevs, o->drives.disks->len, DRIVES_MAX, errp))
        goto fail;
    return true;
fail:
    options_clear(o);
    return false;
}

void options_clear(struct options *o)
{
    g_free(o->ram_size_arg);
    g_free(o->kernel);
    g_free(o->initrd);
    g_free(o->append);
    g_free(o->serial);
    g_free(o->name);
    g_free(o->machine);
    g_free(o->dump_vmstate);
    g_free(o->incoming);
    g_free(o->mem_path);
    if (o->monitors)
        g_ptr_array_unref(o->monitors);
    if (o->chardevs)
        g_ptr_array_unref(o->chardevs);
    drives_clear(&o->drives);
    netdevs_clear(&o->netdevs);
    memset(o, 0, sizeof(*o));
}

void options_print_help(FILE *out)
{
    fprintf(out, "usage: tern [options]\n\n"
                 "Tern %s, a KVM virtual machine monitor with QEMU's command line.\n\n",
            TERN_VERSION);
    for (unsigned i = 0; i < G_N_ELEMENTS(option_defs); i++) {
        const struct option_def *d = &option_defs[i];
        g_autofree char *left = g_strdup_printf("-%s%s%s", d->name, d->argname ? " " : "",
                                                d->argname ? d->argname : "");
        fprintf(out, "  %-24s %s\n", left, d->help);
    }
}

void options_print_version(FILE *out)
{
    fprintf(out, "Tern version %s\n", TERN_VERSION);
}
