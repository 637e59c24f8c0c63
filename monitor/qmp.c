#include "monitor/qmp.h"

#include <string.h>

#include "monitor/json-writer.h"

#ifndef TERN_VERSION
#define TERN_VERSION "unknown"
#endif

/* One message as it goes on the wire: QEMU's monitor turns every "\n" into
 * "\r\n", inside pretty output too, and ends each message with one. */
static char *qmp_wire_text(JsonNode *node, bool pretty)
{
    GString *out = g_string_new(NULL);

    json_writer_append(out, node, pretty);
    if (pretty) {
        for (gsize i = 0; i < out->len; i++) {
            if (out->str[i] == '\n')
                g_string_insert_c(out, i++, '\r');
        }
    }
    g_string_append(out, "\r\n");
    return g_string_free(out, FALSE);
}

static void qmp_send_node(struct qmp_session *s, JsonNode *node)
{
    g_autofree char *text = qmp_wire_text(node, s->pretty);

    s->send(s->opaque, text, strlen(text));
}

/* Takes @o. */
static void qmp_send_object(struct qmp_session *s, JsonObject *o)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);

    json_node_take_object(node, o);

    qmp_send_node(s, node);
}

static JsonObject *qmp_error_object(const char *cls, const char *desc)
{
    JsonObject *rsp = json_object_new();
    JsonObject *e = json_object_new();

    json_object_set_string_member(e, "class", cls);
    json_object_set_string_member(e, "desc", desc);
    json_object_set_object_member(rsp, "error", e);
    return rsp;
}

static JsonObject *qmp_error_response(GError *err)
{
    return qmp_error_object(qmp_error_class_name(err), err->message);
}

void qmp_session_greet(struct qmp_session *s)
{
    JsonObject *greeting = json_object_new();
    JsonObject *qmp = json_object_new();
    JsonObject *version = json_object_new();
    JsonObject *qemu = json_object_new();

    json_object_set_int_member(qemu, "micro", QMP_VERSION_MICRO);
    json_object_set_int_member(qemu, "minor", QMP_VERSION_MINOR);
    json_object_set_int_member(qemu, "major", QMP_VERSION_MAJOR);
    json_object_set_object_member(version, "qemu", qemu);
    json_object_set_string_member(version, "package", "Tern " TERN_VERSION);
    json_object_set_object_member(qmp, "version", version);
    /* No "oob": Tern executes commands in order on the main thread. */
    json_object_set_array_member(qmp, "capabilities", json_array_new());
    json_object_set_object_member(greeting, "QMP", qmp);
    qmp_send_object(s, greeting);
}

/* {"execute": "qmp_capabilities", "arguments": {"enable": [...]}} */
static bool qmp_capabilities(struct qmp_session *s, JsonObject *args, GError **errp)
{
    JsonArray *enable;

    if (s->negotiated) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND,
                    "Capabilities negotiation is already complete, command ignored");
        return false;
    }
    enable = args && json_object_has_member(args, "enable")
                 ? json_object_get_array_member(args, "enable") : NULL;
    for (guint i = 0; enable && i < json_array_get_length(enable); i++) {
        JsonNode *n = json_array_get_element(enable, i);
        const char *cap = JSON_NODE_HOLDS_VALUE(n) &&
                                  json_node_get_value_type(n) == G_TYPE_STRING
                              ? json_node_get_string(n) : NULL;

        if (cap && !strcmp(cap, "oob")) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Capability oob not available");
            return false;
        }
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Parameter 'enable[%u]' does not accept value '%.64s'", i, cap ? cap : "");
        return false;
    }
    s->negotiated = true;
    return true;
}

/* The request's members, as QEMU's qmp_dispatch checks them. */
static bool qmp_check_request(JsonObject *req, const char **cmd, JsonObject **args,
                              GError **errp)
{
    g_autoptr(GList) members = json_object_get_members(req);

    *cmd = NULL;
    *args = NULL;
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *v = json_object_get_member(req, key);

        if (!strcmp(key, "execute")) {
            if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                            "QMP input member 'execute' must be a string");
                return false;
            }
            *cmd = json_node_get_string(v);
        } else if (!strcmp(key, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(v)) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                            "QMP input member 'arguments' must be an object");
                return false;
            }
            *args = json_node_get_object(v);
        } else if (strcmp(key, "id")) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "QMP input member '%.64s' is unexpected", key);
            return false;
        }
    }
    if (!*cmd) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "QMP input lacks member 'execute'");
        return false;
    }
    return true;
}

static JsonObject *qmp_execute(struct qmp_session *s, JsonObject *req)
{
    g_autoptr(GError) err = NULL;
    const struct mon_cmd *cmd;
    const char *name;
    JsonObject *args, *rsp;
    JsonNode *ret = NULL;

    if (!qmp_check_request(req, &name, &args, &err))
        return qmp_error_response(err);
    cmd = mon_cmd_find(s->ctx->table, name);
    if (!s->negotiated && (!cmd || cmd->handler)) {
        return qmp_error_object("CommandNotFound",
                                "Expecting capabilities negotiation with 'qmp_capabilities'");
    }
    if (!cmd) {
        g_set_error(&err, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND,
                    "The command %.128s has not been found", name);
        return qmp_error_response(err);
    }
    if (!cmd->handler) {
        if (!mon_cmd_check_args(cmd, args, &err) || !qmp_capabilities(s, args, &err))
            return qmp_error_response(err);
        ret = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(ret, json_object_new());
    } else if (!mon_cmd_call(s->ctx, cmd, args, &ret, &err)) {
        return qmp_error_response(err);
    }
    rsp = json_object_new();
    json_object_set_member(rsp, "return", ret);
    return rsp;
}

JsonObject *qmp_session_dispatch(struct qmp_session *s, JsonNode *req)
{
    JsonObject *rsp;
    JsonNode *id;

    if (!JSON_NODE_HOLDS_OBJECT(req))
        return qmp_error_object("GenericError", "QMP input must be a JSON object");
    rsp = qmp_execute(s, json_node_get_object(req));
    id = json_object_get_member(json_node_get_object(req), "id");
    if (id)
        json_object_set_member(rsp, "id", json_node_copy(id));
    return rsp;
}

static void qmp_session_message(void *opaque, const char *text, const char *error)
{
    struct qmp_session *s = opaque;
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *desc = NULL;

    if (error) {
        qmp_send_object(s, qmp_error_object("GenericError", error));
        return;
    }
    parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(parser, text, -1, &err)) {
        desc = g_strdup_printf("JSON parse error, %s", err->message);
        qmp_send_object(s, qmp_error_object("GenericError", desc));
        return;
    }
    qmp_send_object(s, qmp_session_dispatch(s, json_parser_get_root(parser)));
}

void qmp_session_init(struct qmp_session *s, struct mon_ctx *ctx, bool pretty, qmp_send_fn send,
                      void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->ctx = ctx;
    s->pretty = pretty;
    s->send = send;
    s->opaque = opaque;
    json_stream_init(&s->js, qmp_session_message, s);
}

void qmp_session_destroy(struct qmp_session *s)
{
    json_stream_destroy(&s->js);
}

void qmp_session_feed(struct qmp_session *s, const char *data, size_t len)
{
    json_stream_feed(&s->js, data, len);
}

char *qmp_event_format(const char *name, JsonObject *data, gint64 wall_us, bool pretty)
{
    g_autoptr(JsonObject) ev = json_object_new();
    g_autoptr(JsonNode) node = NULL;
    JsonObject *ts = json_object_new();

    json_object_set_int_member(ts, "seconds", wall_us / G_USEC_PER_SEC);
    json_object_set_int_member(ts, "microseconds", wall_us % G_USEC_PER_SEC);
    json_object_set_object_member(ev, "timestamp", ts);
    json_object_set_string_member(ev, "event", name);
    if (data)
        json_object_set_object_member(ev, "data", json_object_ref(data));
    node = json_node_init_object(json_node_alloc(), ev);
    return qmp_wire_text(node, pretty);
}
