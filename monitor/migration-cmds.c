/*
 * Migration commands for both monitors, with QEMU 7.2's names, arguments,
 * results and HMP output: migrate, migrate_cancel, migrate-continue,
 * migrate-incoming, query-migrate, migrate-set/query-parameters,
 * migrate-set/query-capabilities, getfd, closefd.  The table entries are in qmp-cmds.c.
 *
 * Thread context: main thread, VM lock held.
 */
#include "monitor/migration-cmds.h"

#include <string.h>
#include <unistd.h>

#include "system/vm.h"
#include "util/error.h"
#include "util/size.h"

/* ---- migrate ---- */

static bool migrate_check_args(JsonObject *args, GError **errp)
{
    if (json_object_get_boolean_member_with_default(args, "resume", false)) {
        error_setg(errp, "Tern has no postcopy migration to resume");
        return false;
    }
    return true;
}

bool qmp_migrate(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    (void)ret;
    if (ctx->vm->runstate == RUNSTATE_INMIGRATE) {
        error_setg(errp, "Guest is waiting for an incoming migration");
        return false;
    }
    /* blk/inc (HMP -b/-i): migration_start_block() checks them. */
    return migrate_check_args(args, errp) &&
           migration_start_block(&ctx->vm->migration, json_object_get_string_member(args, "uri"),
                                 json_object_get_boolean_member_with_default(args, "blk", false),
                                 json_object_get_boolean_member_with_default(args, "inc", false),
                                 errp);
}

static void hmp_size(GString *out, const char *label, uint64_t bytes)
{
    g_string_append_printf(out, "%s%" G_GUINT64_FORMAT " MiB", label, bytes >> 20);
}

/* HMP migrate without -d: one progress line, rewritten, until the end. */
static bool hmp_migrate_poll(struct mon_ctx *ctx, GString *out)
{
    struct migration *ms = &ctx->vm->migration;
    enum migration_status s = migration_get_status(ms);
    const struct migration_stats *st = &ms->stats;

    if (migration_status_is_active(s)) {
        g_string_append_printf(out, "\rmigrate: %s", migration_status_name(s));
        hmp_size(out, ", sent ", st->transferred);
        hmp_size(out, ", remaining ", st->remaining);
        if (ms->bm && ms->bm->enabled)
            hmp_size(out, ", disk remaining ", ms->bm->stats.remaining);
        g_string_append_printf(out, ", pass %" G_GUINT64_FORMAT ", %.0f mbps   ",
                               st->dirty_sync_count, st->mbps);
        return false;
    }
    g_string_append_c(out, '\n');
    if (s == MIGRATION_STATUS_COMPLETED)
        g_string_append_printf(out, "migrate: completed in %" G_GINT64_FORMAT
                                    " ms, downtime %" G_GINT64_FORMAT " ms\n",
                               st->total_ms, st->downtime_ms);
    else if (s == MIGRATION_STATUS_FAILED)
        g_string_append_printf(out, "Error: %s\n", ms->error_desc ? ms->error_desc : "failed");
    else
        g_string_append_printf(out, "migrate: %s\n", migration_status_name(s));
    return true;
}

bool hmp_migrate(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    if (!qmp_migrate(ctx, args, ret, errp))
        return false;
    if (!json_object_get_boolean_member_with_default(args, "detach", false))
        ctx->hmp_poll = hmp_migrate_poll;
    return true;
}

bool qmp_migrate_cancel(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    (void)args, (void)ret, (void)errp;
    migration_cancel(&ctx->vm->migration);
    return true;
}

bool qmp_migrate_continue(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    (void)ret;
    return migration_continue(&ctx->vm->migration, json_object_get_string_member(args, "state"),
                              errp);
}

bool qmp_migrate_incoming(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    struct vm *vm = ctx->vm;

    (void)ret;
    if (!vm->incoming_uri) {
        error_setg(errp, "'-incoming' was not specified on the command line");
        return false;
    }
    if (!vm->incoming.deferred) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    vm->incoming.exit_on_error =
        json_object_get_boolean_member_with_default(args, "exit-on-error", true);
    return incoming_start(&vm->incoming, json_object_get_string_member(args, "uri"), errp);
}

/* ---- query-migrate / info migrate ---- */

bool qmp_query_migrate(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    struct vm *vm = ctx->vm;

    (void)args, (void)errp;
    /* As QEMU: the outgoing migration once there is one, else the
     * incoming one (a destination that later migrates on). */
    if (migration_get_status(&vm->migration) == MIGRATION_STATUS_NONE &&
        g_atomic_int_get(&vm->incoming.status) != MIGRATION_STATUS_NONE)
        *ret = mon_node_take_object(incoming_query(&vm->incoming));
    else
        *ret = mon_node_take_object(migration_query(&vm->migration));
    return true;
}

static void hmp_int_line(GString *out, JsonObject *o, const char *member, const char *label,
                         const char *unit, gint64 div)
{
    if (json_object_has_member(o, member))
        g_string_append_printf(out, "%s: %" G_GINT64_FORMAT "%s\n", label,
                               json_object_get_int_member(o, member) / div, unit);
}

void hmp_info_migrate(struct mon_ctx *ctx, JsonNode *ret, GString *out)
{
    JsonObject *o = json_node_get_object(ret), *ram;

    (void)ctx;
    if (!json_object_has_member(o, "status"))
        return;
    g_string_append_printf(out, "Migration status: %s\n",
                           json_object_get_string_member(o, "status"));
    hmp_int_line(out, o, "total-time", "total time", " ms", 1);
    hmp_int_line(out, o, "expected-downtime", "expected downtime", " ms", 1);
    hmp_int_line(out, o, "downtime", "downtime", " ms", 1);
    hmp_int_line(out, o, "setup-time", "setup", " ms", 1);
    if (json_object_has_member(o, "socket-address")) { /* QEMU's lines */
        JsonArray *list = json_object_get_array_member(o, "socket-address");

        g_string_append(out, "socket address: [\n");
        for (guint i = 0; i < json_array_get_length(list); i++) {
            JsonObject *a = json_array_get_object_element(list, i);

            if (json_object_has_member(a, "path"))
                g_string_append_printf(out, "\tunix:%s\n",
                                       json_object_get_string_member(a, "path"));
            else
                g_string_append_printf(out, "\ttcp:%s:%s\n",
                                       json_object_get_string_member(a, "host"),
                                       json_object_get_string_member(a, "port"));
        }
        g_string_append(out, "]\n");
    }
    if (json_object_has_member(o, "ram")) {
        ram = json_object_get_object_member(o, "ram");
        hmp_int_line(out, ram, "transferred", "transferred ram", " kbytes", 1024);
        g_string_append_printf(out, "throughput: %0.2f mbps\n",
                               json_object_get_double_member(ram, "mbps"));
        hmp_int_line(out, ram, "remaining", "remaining ram", " kbytes", 1024);
        hmp_int_line(out, ram, "total", "total ram", " kbytes", 1024);
        hmp_int_line(out, ram, "duplicate", "duplicate", " pages", 1);
        hmp_int_line(out, ram, "normal", "normal", " pages", 1);
        hmp_int_line(out, ram, "normal-bytes", "normal bytes", " kbytes", 1024);
        hmp_int_line(out, ram, "dirty-sync-count", "dirty sync count", "", 1);
        hmp_int_line(out, ram, "page-size", "page size", " kbytes", 1024);
        hmp_int_line(out, ram, "pages-per-second", "pages-per-second", "", 1);
        hmp_int_line(out, ram, "dirty-pages-rate", "dirty pages rate", " pages", 1);
    }
    if (json_object_has_member(o, "disk")) { /* QEMU 7.2's lines */
        JsonObject *disk = json_object_get_object_member(o, "disk");

        hmp_int_line(out, disk, "transferred", "transferred disk", " kbytes", 1024);
        hmp_int_line(out, disk, "remaining", "remaining disk", " kbytes", 1024);
        hmp_int_line(out, disk, "total", "total disk", " kbytes", 1024);
    }
    if (json_object_has_member(o, "error-desc"))
        g_string_append_printf(out, "error description: %s\n",
                               json_object_get_string_member(o, "error-desc"));
}

/* ---- parameters ---- */

bool qmp_migrate_set_parameters(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                GError **errp)
{
    struct migration *ms = &ctx->vm->migration;
    struct migration_params saved = ms->params;
    g_autoptr(GList) names = json_object_get_members(args);

    (void)ret;
    /* All or nothing, as QEMU checks before it applies. */
    for (GList *l = names; l; l = l->next) {
        if (!migration_set_parameter(ms, l->data, json_object_get_member(args, l->data), errp)) {
            ms->params = saved;
            return false;
        }
    }
    return true;
}

/* HMP: migrate_set_parameter NAME VALUE; max-bandwidth takes a size
 * (default unit MiB, as QEMU's HMP). */
bool hmp_migrate_set_parameter(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                               GError **errp)
{
    const char *name = json_object_get_string_member(args, "parameter");
    const char *value = json_object_get_string_member(args, "value");
    g_autoptr(JsonNode) n = NULL;
    uint64_t size;
    gint64 v;
    char *end;

    (void)ret;
    if (!strcmp(name, "max-bandwidth")) {
        if (!size_parse(value, MiB, &size, errp) || size > G_MAXINT64) {
            g_prefix_error(errp, "Parameter 'max-bandwidth': ");
            return false;
        }
        v = size;
    } else {
        v = g_ascii_strtoll(value, &end, 10);
        if (!*value || *end) {
            error_setg(errp, "Parameter '%s' expects an integer", name);
            return false;
        }
    }
    n = json_node_init_int(json_node_alloc(), v);
    return migration_set_parameter(&ctx->vm->migration, name, n, errp);
}

bool qmp_query_migrate_parameters(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                  GError **errp)
{
    (void)args, (void)errp;
    *ret = mon_node_take_object(migration_query_parameters(&ctx->vm->migration));
    return true;
}

void hmp_info_migrate_parameters(struct mon_ctx *ctx, JsonNode *ret, GString *out)
{
    JsonObject *o = json_node_get_object(ret);

    (void)ctx;
    hmp_int_line(out, o, "announce-initial", "announce-initial", " ms", 1);
    hmp_int_line(out, o, "announce-max", "announce-max", " ms", 1);
    hmp_int_line(out, o, "announce-rounds", "announce-rounds", "", 1);
    hmp_int_line(out, o, "announce-step", "announce-step", " ms", 1);
    hmp_int_line(out, o, "max-bandwidth", "max-bandwidth", " bytes/second", 1);
    hmp_int_line(out, o, "downtime-limit", "downtime-limit", " ms", 1);
}

/* ---- capabilities ---- */

static bool migrate_set_caps_one(struct migration *ms, JsonNode *n, GError **errp)
{
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
    JsonNode *cap = o ? json_object_get_member(o, "capability") : NULL;
    JsonNode *state = o ? json_object_get_member(o, "state") : NULL;

    if (!cap || !state || json_node_get_value_type(cap) != G_TYPE_STRING ||
        json_node_get_value_type(state) != G_TYPE_BOOLEAN || json_object_get_size(o) != 2) {
        error_setg(errp, "Parameter 'capabilities' expects a list of "
                         "{\"capability\": NAME, \"state\": BOOL}");
        return false;
    }
    return migration_set_capability(ms, json_node_get_string(cap), json_node_get_boolean(state),
                                    errp);
}

bool qmp_migrate_set_capabilities(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                  GError **errp)
{
    struct migration *ms = &ctx->vm->migration;
    JsonArray *a = json_object_get_array_member(args, "capabilities");
    bool saved[MIGRATION_CAP__MAX];

    (void)ret;
    memcpy(saved, ms->caps, sizeof(saved));
    for (guint i = 0; i < json_array_get_length(a); i++) {
        if (!migrate_set_caps_one(ms, json_array_get_element(a, i), errp)) {
            memcpy(ms->caps, saved, sizeof(saved));
            return false;
        }
    }
    return true;
}

bool hmp_migrate_set_capability(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                GError **errp)
{
    const char *state = json_object_get_string_member(args, "state");

    (void)ret;
    if (strcmp(state, "on") && strcmp(state, "off")) {
        error_setg(errp, "Parameter 'state' expects 'on' or 'off'");
        return false;
    }
    return migration_set_capability(&ctx->vm->migration,
                                    json_object_get_string_member(args, "capability"),
                                    !strcmp(state, "on"), errp);
}

bool qmp_query_migrate_capabilities(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                    GError **errp)
{
    (void)args, (void)errp;
    *ret = mon_node_take_array(migration_query_capabilities(&ctx->vm->migration));
    return true;
}

void hmp_info_migrate_capabilities(struct mon_ctx *ctx, JsonNode *ret, GString *out)
{
    JsonArray *a = json_node_get_array(ret);

    (void)ctx;
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);

        g_string_append_printf(out, "%s: %s\n", json_object_get_string_member(o, "capability"),
                               json_object_get_boolean_member(o, "state") ? "on" : "off");
    }
}

/* ---- getfd / closefd ---- */

bool qmp_getfd(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    const char *name = json_object_get_string_member(args, "fdname");
    int fd = ctx->take_fd ? ctx->take_fd(ctx->client) : -1;

    (void)ret;
    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return false;
    }
    if (g_ascii_isdigit(name[0])) {
        close(fd);
        error_setg(errp, "Parameter 'fdname' name must not begin with a digit");
        return false;
    }
    vm_add_named_fd(ctx->vm, name, fd);
    return true;
}

bool qmp_closefd(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    (void)ret;
    return vm_close_named_fd(ctx->vm, json_object_get_string_member(args, "fdname"), errp);
}
