#include "system/options.h"

#include <stdio.h>
#include <string.h>

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
    error_setg(errp, "unknown device '%s' (use -device help to list them)", driver);
    return false;
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
    return true;
}

static bool opt_dump_vmstate(struct options *o, const char *arg, GError **errp)
{
    if (!opt_path(&o->dump_vmstate, arg, errp))
        return false;
    o->action = OPTIONS_DUMP_VMSTATE;
    return true;
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
    { "display", "none", opt_display, "accepted for QEMU compatibility" },
    { "name", "NAME", opt_name, "guest name" },
    { "S", NULL, opt_flag_S, "do not start the vCPUs (start paused)" },
    { "no-reboot", NULL, opt_flag_no_reboot, "exit instead of rebooting the guest" },
    { "machine", "TYPE", opt_machine, "machine type: tern-1.0 (default)" },
    { "M", "TYPE", opt_machine, "same as -machine" },
    { "device", "DRIVER[,PROP=V]", opt_device, "add a device: isa-debug-exit,iobase=,iosize=" },
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

/* "-machine help" / "-device help" list what exists and exit like -help. */
static bool option_wants_list(const struct option_def *d, const char *arg)
{
    return !strcmp(arg, "help") && (d->handler == opt_machine || d->handler == opt_device);
}

static void options_print_list(const struct option_def *d)
{
    if (d->handler == opt_machine) {
        printf("Supported machines are:\n");
        for (unsigned i = 0; i < G_N_ELEMENTS(options_machines); i++)
            printf("%-20s %s (default)\n", options_machines[i][0], options_machines[i][1]);
    } else {
        printf("Devices:\nname \"isa-debug-exit\", bus ISA, desc \"exit with status "
               "(value << 1) | 1\"\n");
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
