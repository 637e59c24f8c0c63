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
 *   -device virtio-net,netdev=ID[,mac=52:54:00:12:34:56][,id=...]
 *       (also virtio-net-device and virtio-net-pci: Tern has no PCI, the NIC
 *       is a virtio-mmio device all the same).  Without mac=, NIC k gets
 *       52:54:00:12:34:56 + k (k counts the NICs without one), skipping
 *       addresses other NICs were given, as QEMU does.
 *
 * The result is the list of definitions in command-line order, each a
 * struct net_options (net/net.h) under its id, and the list of NICs in
 * command-line order: NIC N takes the virtio-mmio slot after the disks'
 * (ndisks + N).  Only the syntax is checked
 * here; opening the tap or socket (permission, address in use) happens
 * when a device that uses the netdev is built.  Thread context: main(),
 * before anything runs.
 */
#ifndef SYSTEM_NETDEVS_H
#define SYSTEM_NETDEVS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "net/net.h"

struct netdev_def {
    struct net_options opts; /* opts.id is the netdev's id */
    char *spec;              /* "-netdev ARG" as typed, for messages */
    bool used;               /* a NIC took it (set by the device code) */
};

#define NETDEVS_MAC_LEN 6

/* A virtio-net NIC. */
struct nic_config {
    char *netdev_ref;         /* -device netdev= */
    char *id;                 /* -device id=, or NULL */
    struct netdev_def *netdev; /* not owned; NULL until resolved */
    uint8_t mac[NETDEVS_MAC_LEN];
    bool mac_given;
};

struct netdevs {
    GPtrArray *defs; /* struct netdev_def *, owned, command-line order */
    GPtrArray *nics; /* struct nic_config *, owned, command-line order */
};

void netdevs_init(struct netdevs *n);
void netdevs_clear(struct netdevs *n);

bool netdevs_parse(struct netdevs *n, const char *arg, GError **errp);
struct netdev_def *netdevs_find(struct netdevs *n, const char *id);
/* -nic TYPE[,model=virtio][,mac=][,id=][,the netdev's keys]: a netdev and
 * its virtio-net NIC in one (QEMU's shorthand); -nic none adds nothing. */
bool netdevs_parse_nic_shorthand(struct netdevs *n, const char *arg, GError **errp);
/* -device virtio-net...: @kv holds the keys after "driver". */
bool netdevs_parse_nic(struct netdevs *n, GHashTable *kv, GError **errp);
/* After the whole command line: resolve netdev= references (each netdev
 * serves one NIC), give default MACs, refuse duplicate MACs, and check
 * that @nslots virtio-mmio slots after the @ndisks disks hold the NICs. */
bool netdevs_resolve(struct netdevs *n, unsigned ndisks, unsigned nslots, GError **errp);
/* "52:54:00:12:34:56" (or with '-'): a unicast MAC. */
bool netdevs_parse_mac(const char *s, uint8_t mac[NETDEVS_MAC_LEN], GError **errp);
/* -netdev help */
void netdevs_print_types(FILE *out);

#endif
