/*
 * The command line, QEMU-style: `tern -m 512M -smp 2 -kernel FILE ...`.
 *
 * options_parse() turns argv into a struct options and checks everything that
 * can be checked without touching the host (sizes, counts, known machine and
 * device names).  Every error names the option it came from, so main() prints
 * it as one line: "tern: -m 0: RAM size must be at least 2 MiB".
 */
#ifndef SYSTEM_OPTIONS_H
#define SYSTEM_OPTIONS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "system/drives.h"
#include "system/netdevs.h"
#include "util/sockets.h"

#define OPTIONS_MACHINE_DEFAULT "tern-1.0"
#define OPTIONS_RAM_DEFAULT (128ULL << 20)
#define OPTIONS_RAM_MIN (2ULL << 20)
#define OPTIONS_SMP_MAX 254 /* xAPIC ids; the IOAPIC takes the next id */

enum options_action {
    OPTIONS_RUN,
    OPTIONS_HELP,
    OPTIONS_VERSION,
    OPTIONS_LISTED, /* -machine help / -device help printed a list */
    OPTIONS_DUMP_VMSTATE, /* -dump-vmstate FILE: write device descriptions, exit */
};

struct debug_exit_config {
    bool present;
    uint16_t iobase;
    uint16_t iosize;
};

/* One monitor: -monitor / -qmp DEV, or -chardev ...,id=X + -mon chardev=X. */
struct monitor_config {
    bool control; /* QMP; false: the human monitor (HMP) */
    bool pretty;  /* QMP replies indented (-mon ...,pretty=on) */
    bool stdio;   /* stdin/stdout; otherwise the socket below */
    struct sock_addr addr;
    bool server;  /* listen at addr (else connect to it) */
    bool wait;    /* server: wait for the first client before starting */
    char *spec;   /* as typed, for messages; a -chardev's id */
    char *chardev; /* -mon: the -chardev id, resolved once argv is read */
};

struct options {
    enum options_action action;
    uint64_t ram_size;  /* bytes, whole MiB */
    char *ram_size_arg; /* as the user typed it, for messages */
    unsigned smp;
    char *kernel;
    char *initrd;
    char *append;
    char *serial; /* chardev spec: stdio, null, none, file:PATH, unix:PATH,server,nowait */
    bool serial_explicit;
    GPtrArray *monitors;  /* struct monitor_config *, in command-line order */
    GPtrArray *chardevs;  /* -chardev definitions (struct monitor_config *, spec = id) */
    char *name;
    char *machine;
    bool start_paused;
    bool no_reboot;
    struct debug_exit_config debug_exit;
    char *dump_vmstate; /* -dump-vmstate FILE */
    char *incoming;     /* -incoming URI ("defer" included) */
    char *mem_path;     /* -mem-path FILE: initial RAM contents, copy-on-write */
    struct drives drives; /* -drive, -blockdev, -device virtio-blk (system/drives.h) */
    struct netdevs netdevs; /* -netdev (system/netdevs.h) */
};

/* Fill @o from argv (argv[0] is the program).  On error @o is left freed. */
bool options_parse(struct options *o, int argc, char **argv, GError **errp);
void options_clear(struct options *o);
void options_print_help(FILE *out);
void options_print_version(FILE *out);

#endif
