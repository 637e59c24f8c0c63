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

void netdevs_init(struct netdevs *n)
{
    n->defs = g_ptr_array_new_with_free_func(netdev_def_free);
}

void netdevs_clear(struct netdevs *n)
{
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

bool netdevs_parse(struct netdevs *n, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "type", errp);
    g_autofree char *type = NULL, *what = NULL;
    struct netdev_def *def;

    if (!kv)
        return false;
    type = keyval_take_str(kv, "type");
    if (!type) {
        error_setg(errp, "missing netdev type (tap, stream or socket)");
        return false;
    }
    def = g_new0(struct netdev_def, 1);
    net_options_init(&def->opts);
    def->opts.id = keyval_take_str(kv, "id");
    what = g_strdup_printf("netdev '%s'", type);
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
    def->spec = g_strdup_printf("-netdev %s", arg);
    g_ptr_array_add(n->defs, def);
    return true;
fail:
    netdev_def_free(def);
    return false;
}
