/*
 * Thread context: main thread, VM lock held (monitor input callbacks).
 */
#include "monitor/block-cmds.h"

#include <string.h>

#include "system/vm.h"
#include "util/error.h"

/* ---- query-block / info block ---- */

static JsonObject *block_cmd_inserted(const struct block_backend *bb)
{
    JsonObject *in = json_object_new(), *cache = json_object_new();

    json_object_set_string_member(in, "file", block_filename(bb));
    json_object_set_string_member(in, "node-name", block_filename(bb));
    json_object_set_boolean_member(in, "ro", block_is_readonly(bb));
    json_object_set_string_member(in, "drv", "raw");
    json_object_set_int_member(in, "image-size", (gint64)block_length(bb));
    json_object_set_boolean_member(cache, "writeback", true);
    json_object_set_boolean_member(cache, "direct", block_request_alignment(bb) > 1);
    json_object_set_boolean_member(cache, "no-flush", false);
    json_object_set_object_member(in, "cache", cache);
    return in;
}

bool qmp_query_block(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    struct vm *vm = ctx->vm;
    JsonArray *a = json_array_new();

    (void)args, (void)errp;
    for (unsigned i = 0; i < vm->ndisks; i++) {
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "device", vm->disk_ids[i]);
        json_object_set_boolean_member(o, "locked", false);
        json_object_set_boolean_member(o, "removable", false);
        json_object_set_string_member(o, "type", "unknown");
        json_object_set_boolean_member(o, "write-locked", block_has_write_lock(vm->disks[i]));
        json_object_set_object_member(o, "inserted", block_cmd_inserted(vm->disks[i]));
        json_array_add_object_element(a, o);
    }
    *ret = mon_node_take_array(a);
    return true;
}

void hmp_info_block(struct mon_ctx *ctx, JsonNode *ret, GString *out)
{
    JsonArray *a = json_node_get_array(ret);

    (void)ctx;
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);
        JsonObject *in = json_object_get_object_member(o, "inserted");
        JsonObject *cache = json_object_get_object_member(in, "cache");

        g_string_append_printf(out, "%s: %s (raw%s)\n", json_object_get_string_member(o, "device"),
                               json_object_get_string_member(in, "file"),
                               json_object_get_boolean_member(in, "ro") ? ", read-only" : "");
        g_string_append_printf(out, "    Attached to:      virtio-blk (virtio-mmio)\n"
                                    "    Cache mode:       writeback%s\n",
                               json_object_get_boolean_member(cache, "direct") ? ", direct" : "");
    }
}

/* ---- x-block-inject-error ---- */

static bool block_cmd_ops(const char *name, unsigned *ops, GError **errp)
{
    static const struct {
        const char *name;
        unsigned ops;
    } kinds[] = {
        { "read", BLOCK_OP_READ },       { "write", BLOCK_OP_WRITE },
        { "flush", BLOCK_OP_FLUSH },     { "discard", BLOCK_OP_DISCARD },
        { "write-zeroes", BLOCK_OP_WRITE_ZEROES }, { "all", BLOCK_OP_ALL },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(kinds); i++) {
        if (!strcmp(name, kinds[i].name)) {
            *ops = kinds[i].ops;
            return true;
        }
    }
    error_setg(errp, "Invalid op '%s' (read, write, flush, discard, write-zeroes or all)", name);
    return false;
}

bool qmp_x_block_inject_error(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                              GError **errp)
{
    struct vm *vm = ctx->vm;
    const char *device = json_object_get_string_member(args, "device");
    gint64 err = json_object_get_int_member(args, "errno");
    gint64 offset = json_object_get_int_member_with_default(args, "offset", 0);
    gint64 bytes = json_object_get_int_member_with_default(args, "bytes", G_MAXINT64);
    unsigned ops;

    (void)ret;
    if (!block_cmd_ops(json_object_get_string_member(args, "op"), &ops, errp))
        return false;
    if (err < 0 || err > 4095 || offset < 0 || bytes < 0) {
        error_setg(errp, "errno must be 0..4095, offset and bytes not negative");
        return false;
    }
    for (unsigned i = 0; i < vm->ndisks; i++) {
        if (!strcmp(vm->disk_ids[i], device)) {
            block_inject_error(vm->disks[i], ops, (uint64_t)offset, (uint64_t)bytes, (int)err);
            return true;
        }
    }
    error_setg(errp, "Device '%s' not found", device);
    return false;
}
