/*
 * Network backends on the command line, as in QEMU:
 *
 *   -netdev tap,id=ID[,ifname=NAME][,script=no][,downscript=no]
 *          [,vnet_hdr=on|off][,fd=FD]
 *   -netdev stream,id=ID[,server=on|off],addr.type=unix,addr.path=PATH
 *   -netdev stream,id=ID[,server=on|off],addr.type=inet,addr.host=H,addr.port=P
 *   -netdev socket,id=ID,listen=[HOST]:PORT | connect=HOST:PORT
 *       (QEMU's older spelling of a TCP stream: same framing; it becomes a
 *       stream definition here)
 *   -netdev help
 *
 * The result is the list of definitions in command-line order, each a
 * struct net_options (net/net.h) under its id.  Only the syntax is checked
 * here; opening the tap or socket (permission, address in use) happens
 * when a device that uses the netdev is built.  Thread context: main(),
 * before anything runs.
 */
#ifndef SYSTEM_NETDEVS_H
#define SYSTEM_NETDEVS_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "net/net.h"

struct netdev_def {
    struct net_options opts; /* opts.id is the netdev's id */
    char *spec;              /* "-netdev ARG" as typed, for messages */
    bool used;               /* a NIC took it (set by the device code) */
};

struct netdevs {
    GPtrArray *defs; /* struct netdev_def *, owned, command-line order */
};

void netdevs_init(struct netdevs *n);
void netdevs_clear(struct netdevs *n);

bool netdevs_parse(struct netdevs *n, const char *arg, GError **errp);
struct netdev_def *netdevs_find(struct netdevs *n, const char *id);
/* -netdev help */
void netdevs_print_types(FILE *out);

#endif
