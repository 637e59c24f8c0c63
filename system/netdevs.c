#include "system/netdevs.h"

#include <string.h>

#include "util/error.h"
#include "util/keyval.h"

static void netdev_def_free(gpointer p)
{
    struct netdev_def *def = p;

    net_options_clear(&def->opts);
    g_free(def->spec);
    g_free(def);
}

static void nic_config_free(gpointer p)
{
    struct nic_config *nic = p;

    g_free(nic->netdev_ref);
    g_free(nic->id);
    g_free(nic);
}

void netdevs_init(struct netdevs *n)
{
    n->defs = g_ptr_array_new_with_free_func(netdev_def_free);
    n->nics = g_ptr_array_new_with_free_func(nic_config_free);
}

void netdevs_clear(struct netdevs *n)
{
    if (n->nics)
        g_ptr_array_unref(n->nics);
    if (n->defs)
        g_ptr_array_unref(n->defs);
    memset(n, 0, sizeof(*n));
}

struct netdev_def *netdevs_find(struct netdevs *n, const char *id)
{
    for (unsigned i = 0; i < n->defs->len; i++) {
        struct netdev_def *def = n->defs->pdata[i];

        if (!strcmp(def->opts.id, id))
            return def;
    }
    return NULL;
}

void netdevs_print_types(FILE *out)
{
    fprintf(out, "Available netdev backend types:\nsocket\nstream\ntap\n");
}

/* QEMU's rule for ids: a letter, then letters, digits, '-', '.', '_'. */
static bool netdevs_check_id(const char *id, GError **errp)
{
    bool ok = g_ascii_isalpha(id[0]);

    for (const char *c = id; ok && *c; c++)
        ok = g_ascii_isalnum(*c) || strchr("-._", *c);
    if (!ok)
        error_setg(errp, "id=%s: an id starts with a letter and has only letters, digits, "
                         "'-', '.' and '_'", id);
    return ok;
}

/* -netdev socket,listen=|connect=: a TCP stream under another name. */
static bool netdevs_socket(GHashTable *kv, struct net_options *o, GError **errp)
{
    g_autofree char *listen = keyval_take_str(kv, "listen");
    g_autofree char *connect = keyval_take_str(kv, "connect");
    g_autofree char *tcp = NULL;

    static const char *const unsupported[] = { "mcast", "udp", "fd" };
    for (unsigned i = 0; i < G_N_ELEMENTS(unsupported); i++) {
        if (g_hash_table_contains(kv, unsupported[i])) {
            error_setg(errp, "socket: %s= is not supported (listen= or connect=; "
                             "or use -netdev stream)", unsupported[i]);
            return false;
        }
    }
    if (!listen == !connect) {
        error_setg(errp, "socket: give exactly one of listen=HOST:PORT and connect=HOST:PORT");
        return false;
    }
    o->type = NET_TYPE_STREAM;
    o->server = listen != NULL;
    tcp = g_strconcat("tcp:", listen ? listen : connect, NULL);
    return sock_addr_parse(tcp, &o->addr, errp);
}

static bool netdevs_take_type(GHashTable *kv, const char *type, struct net_options *o,
                              GError **errp)
{
    if (!strcmp(type, "socket"))
        return netdevs_socket(kv, o, errp);
    if (!net_type_parse(type, &o->type)) {
        error_setg(errp, "netdev type '%s' is not supported (tap, stream or socket; "
                         "-netdev help lists them)", type);
        return false;
    }
    return net_options_take(kv, o, errp);
}

/* A netdev of @type named @id from the rest of @kv (taken). */
static struct netdev_def *netdevs_add(struct netdevs *n, GHashTable *kv, const char *type,
                                      char *id, const char *spec, GError **errp)
{
    g_autofree char *what = g_strdup_printf("netdev '%s'", type);
    struct netdev_def *def = g_new0(struct netdev_def, 1);

    net_options_init(&def->opts);
    def->opts.id = id;
    if (!def->opts.id) {
        error_setg(errp, "id= is required (the name -device ...,netdev=ID refers to)");
        goto fail;
    }
    if (!netdevs_check_id(def->opts.id, errp))
        goto fail;
    if (netdevs_find(n, def->opts.id)) {
        error_setg(errp, "Duplicate ID '%s' for netdev", def->opts.id);
        goto fail;
    }
    if (!netdevs_take_type(kv, type, &def->opts, errp) || !keyval_check_empty(kv, what, errp))
        goto fail;
    def->spec = g_strdup(spec);
    g_ptr_array_add(n->defs, def);
    return def;
fail:
    netdev_def_free(def);
    return NULL;
}

bool netdevs_parse(struct netdevs *n, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "type", errp);
    g_autofree char *type = NULL, *spec = NULL;

    if (!kv)
        return false;
    type = keyval_take_str(kv, "type");
    if (!type) {
        error_setg(errp, "missing netdev type (tap, stream or socket)");
        return false;
    }
    spec = g_strdup_printf("-netdev %s", arg);
    return netdevs_add(n, kv, type, keyval_take_str(kv, "id"), spec, errp) != NULL;
}

static struct nic_config *netdevs_add_nic(struct netdevs *n, const char *mac, char *netdev,
                                          GError **errp)
{
    struct nic_config *nic = g_new0(struct nic_config, 1);

    nic->netdev_ref = netdev;
    if (mac && !netdevs_parse_mac(mac, nic->mac, errp)) {
        nic_config_free(nic);
        return NULL;
    }
    nic->mac_given = mac != NULL;
    g_ptr_array_add(n->nics, nic);
    return nic;
}

bool netdevs_parse_nic_shorthand(struct netdevs *n, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "type", errp);
    g_autofree char *type = NULL, *model = NULL, *mac = NULL, *spec = NULL;
    char *id;

    if (!kv)
        return false;
    type = keyval_take_str(kv, "type");
    if (!type) {
        error_setg(errp, "missing netdev type (tap, stream, socket or none)");
        return false;
    }
    if (!strcmp(type, "none"))
        return keyval_check_empty(kv, "nic 'none'", errp); /* no NIC: Tern has no default */
    model = keyval_take_str(kv, "model");
    if (model && strcmp(model, "virtio") && strcmp(model, "virtio-net") &&
        strcmp(model, "virtio-net-pci") && strcmp(model, "virtio-net-device")) {
        error_setg(errp, "model=%s is not supported (Tern's NIC is virtio-net)", model);
        return false;
    }
    mac = keyval_take_str(kv, "mac");
    /* The hidden netdev is named after the NIC (QEMU: __org.qemu.nicN). */
    id = keyval_take_str(kv, "id");
    if (!id)
        id = g_strdup_printf("tern.nic%u", n->nics->len);
    spec = g_strdup_printf("-nic %s", arg);
    if (!netdevs_add(n, kv, type, g_strdup(id), spec, errp)) {
        g_free(id);
        return false;
    }
    return netdevs_add_nic(n, mac, id, errp) != NULL;
}

bool netdevs_parse_mac(const char *s, uint8_t mac[NETDEVS_MAC_LEN], GError **errp)
{
    const char *p = s;

    for (unsigned i = 0; i < NETDEVS_MAC_LEN; i++) {
        if (!g_ascii_isxdigit(p[0]) || !g_ascii_isxdigit(p[1]) ||
            (i + 1 < NETDEVS_MAC_LEN ? p[2] != ':' && p[2] != '-' : p[2] != '\0'))
            goto bad;
        mac[i] = (uint8_t)(g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]));
        p += 3;
    }
    if (mac[0] & 1) {
        error_setg(errp, "mac=%s: a multicast address cannot be a NIC's", s);
        return false;
    }
    return true;
bad:
    error_setg(errp, "mac=%s: not a MAC address (like 52:54:00:12:34:56)", s);
    return false;
}

bool netdevs_parse_nic(struct netdevs *n, GHashTable *kv, GError **errp)
{
    g_autofree char *netdev = keyval_take_str(kv, "netdev");
    g_autofree char *mac = keyval_take_str(kv, "mac");

    g_autofree char *id = keyval_take_str(kv, "id"); /* the NIC's name, as in QEMU */
    struct nic_config *nic;

    if (!keyval_check_empty(kv, "device 'virtio-net'", errp))
        return false;
    if (!netdev) {
        error_setg(errp, "virtio-net: netdev property not set (netdev=ID of a -netdev)");
        return false;
    }
    nic = netdevs_add_nic(n, mac, g_steal_pointer(&netdev), errp);
    if (nic)
        nic->id = g_steal_pointer(&id);
    return nic != NULL;
}

static bool netdevs_mac_taken(struct netdevs *n, const uint8_t mac[NETDEVS_MAC_LEN],
                              const struct nic_config *self)
{
    for (unsigned i = 0; i < n->nics->len; i++) {
        const struct nic_config *o = n->nics->pdata[i];

        if (o != self && o->mac_given && !memcmp(o->mac, mac, NETDEVS_MAC_LEN))
            return true;
    }
    return false;
}

/* QEMU's qemu_macaddr_default_if_unset(): 52:54:00:12:34:56 + k. */
static bool netdevs_default_mac(struct netdevs *n, struct nic_config *nic, unsigned *next,
                                GError **errp)
{
    static const uint8_t base[NETDEVS_MAC_LEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

    memcpy(nic->mac, base, NETDEVS_MAC_LEN);
    do {
        if (*next > 0xff - 0x56) {
            error_setg(errp, "no default MAC address left");
            return false;
        }
        nic->mac[5] = (uint8_t)(0x56 + (*next)++);
    } while (netdevs_mac_taken(n, nic->mac, nic));
    return true;
}

static bool netdevs_resolve_nic(struct netdevs *n, struct nic_config *nic, GError **errp)
{
    struct netdev_def *def = netdevs_find(n, nic->netdev_ref);

    if (!def) {
        error_setg(errp, "-device virtio-net,netdev=%s: no -netdev with id '%s'",
                   nic->netdev_ref, nic->netdev_ref);
        return false;
    }
    if (def->used) {
        error_setg(errp, "-device virtio-net,netdev=%s: netdev '%s' is already in use by "
                         "another NIC", nic->netdev_ref, nic->netdev_ref);
        return false;
    }
    if (nic->mac_given && netdevs_mac_taken(n, nic->mac, nic)) {
        error_setg(errp, "-device virtio-net,netdev=%s: MAC %02x:%02x:%02x:%02x:%02x:%02x is "
                         "given to another NIC too", nic->netdev_ref, nic->mac[0], nic->mac[1],
                   nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5]);
        return false;
    }
    def->used = true;
    nic->netdev = def;
    return true;
}

bool netdevs_resolve(struct netdevs *n, unsigned ndisks, unsigned nslots, GError **errp)
{
    unsigned next_mac = 0;

    for (unsigned i = 0; i < n->nics->len; i++) {
        struct nic_config *nic = n->nics->pdata[i];

        if (!netdevs_resolve_nic(n, nic, errp) ||
            (!nic->mac_given && !netdevs_default_mac(n, nic, &next_mac, errp)))
            return false;
    }
    if (ndisks + n->nics->len > nslots) {
        error_setg(errp, "too many virtio devices: %u disks and %u NICs, but the tern-1.0 "
                         "machine has %u virtio-mmio slots", ndisks, n->nics->len, nslots);
        return false;
    }
    return true;
}
