#include "monitor/commands.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


G_DEFINE_QUARK(tern-qmp-error-quark, qmp_error)

const char *qmp_error_class_name(const GError *err)
{
    static const char *const names[] = {
        [QMP_ERROR_GENERIC] = "GenericError",
        [QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
        [QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
        [QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
        [QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
    };

    if (err->domain == QMP_ERROR && err->code >= 0 && (size_t)err->code < G_N_ELEMENTS(names))
        return names[err->code];
    return "GenericError";
}

/* Does @alias equal one of the '|'-separated names in @names? */
static bool mon_name_matches(const char *names, const char *alias)
{
    size_t n = strlen(alias);

    while (names) {
        const char *bar = strchr(names, '|');
        size_t len = bar ? (size_t)(bar - names) : strlen(names);

        if (len == n && !strncmp(names, alias, n))
            return true;
        names = bar ? bar + 1 : NULL;
    }
    return false;
}

const struct mon_cmd *mon_cmd_find(const struct mon_cmd *table, const char *name)
{
    for (const struct mon_cmd *c = table; c->name || c->hmp; c++) {
        if (c->name && !strcmp(c->name, name))
            return c;
    }
    return NULL;
}

const struct mon_cmd *mon_cmd_find_hmp(const struct mon_cmd *table, const char *name)
{
    for (const struct mon_cmd *c = table; c->name || c->hmp; c++) {
        if (c->hmp && mon_name_matches(c->hmp, name))
            return c;
    }
    return NULL;
}

static const char *mon_arg_type_name(enum mon_arg_type t)
{
    switch (t) {
    case MON_ARG_STR: return "string";
    case MON_ARG_INT: return "integer";
    case MON_ARG_BOOL: return "boolean";
    case MON_ARG_NUMBER: return "number";
    case MON_ARG_OBJECT: return "object";
    case MON_ARG_ARRAY: return "array";
    case MON_ARG_ANY: return "any";
    }
    return "?";
}

static bool mon_arg_type_ok(enum mon_arg_type t, JsonNode *n)
{
    GType vt = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;

    switch (t) {
    case MON_ARG_STR: return vt == G_TYPE_STRING;
    case MON_ARG_INT: return vt == G_TYPE_INT64;
    case MON_ARG_BOOL: return vt == G_TYPE_BOOLEAN;
    case MON_ARG_NUMBER: return vt == G_TYPE_INT64 || vt == G_TYPE_DOUBLE;
    case MON_ARG_OBJECT: return JSON_NODE_HOLDS_OBJECT(n);
    case MON_ARG_ARRAY: return JSON_NODE_HOLDS_ARRAY(n);
    case MON_ARG_ANY: return true;
    }
    return false;
}

static const struct mon_arg *mon_cmd_arg(const struct mon_cmd *cmd, const char *name)
{
    for (const struct mon_arg *a = cmd->args; a && a->name; a++) {
        if (!strcmp(a->name, name))
            return a;
    }
    return NULL;
}

bool mon_cmd_check_args(const struct mon_cmd *cmd, JsonObject *args, GError **errp)
{
    for (const struct mon_arg *a = cmd->args; a && a->name; a++) {
        JsonNode *n = args ? json_object_get_member(args, a->name) : NULL;

        if (!n) {
            if (a->optional)
                continue;
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter '%s' is missing",
                        a->name);
            return false;
        }
        if (!mon_arg_type_ok(a->type, n)) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "Invalid parameter type for '%s', expected: %s", a->name,
                        mon_arg_type_name(a->type));
            return false;
        }
    }
    if (args) {
        g_autoptr(GList) members = json_object_get_members(args);

        for (GList *l = members; l; l = l->next) {
            if (!mon_cmd_arg(cmd, l->data)) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                            "Parameter '%.64s' is unexpected", (const char *)l->data);
                return false;
            }
        }
    }
    return true;
}

static bool mon_hmp_value(JsonObject *o, const struct mon_arg *a, const char *word,
                          GError **errp)
{
    long long v;
    char *end;
    double d;

    switch (a->type) {
    case MON_ARG_INT:
        errno = 0;
        v = strtoll(word, &end, 0);
        if (errno || *end || end == word) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "'%s': invalid integer for '%s'",
                        word, a->name);
            return false;
        }
        json_object_set_int_member(o, a->name, v);
        return true;
    case MON_ARG_BOOL:
        if (!strcmp(word, "on") || !strcmp(word, "true")) {
            json_object_set_boolean_member(o, a->name, true);
        } else if (!strcmp(word, "off") || !strcmp(word, "false")) {
            json_object_set_boolean_member(o, a->name, false);
        } else {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "'%s': expected on or off for '%s'",
                        word, a->name);
            return false;
        }
        return true;
    case MON_ARG_NUMBER:
        d = g_ascii_strtod(word, &end);
        if (*end || end == word) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "'%s': invalid number for '%s'",
                        word, a->name);
            return false;
        }
        json_object_set_double_member(o, a->name, d);
        return true;
    default:
        json_object_set_string_member(o, a->name, word);
        return true;
    }
}

/* Next whitespace-separated word of *line, or NULL. */
static char *mon_next_word(const char **line)
{
    const char *s = *line, *e;

    while (g_ascii_isspace(*s))
        s++;
    if (!*s) {
        *line = s;
        return NULL;
    }
    for (e = s; *e && !g_ascii_isspace(*e); e++)
        ;
    *line = e;
    return g_strndup(s, e - s);
}

static bool mon_hmp_flags(const struct mon_cmd *cmd, JsonObject *o, const char **line,
                          GError **errp)
{
    for (;;) {
        const char *s = *line;
        g_autofree char *w = mon_next_word(&s);
        bool found = false;

        if (!w || w[0] != '-' || !w[1] || g_ascii_isdigit(w[1]))
            return true;
        for (const char *f = w + 1; *f; f++) {
            found = false;
            for (const struct mon_arg *a = cmd->args; a && a->name; a++) {
                if (a->hmp_flag == *f) {
                    json_object_set_boolean_member(o, a->name, true);
                    found = true;
                }
            }
            if (!found) {
                g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "unsupported option: -%c", *f);
                return false;
            }
        }
        *line = s;
    }
}

JsonObject *mon_cmd_parse_hmp(const struct mon_cmd *cmd, const char *line, GError **errp)
{
    g_autoptr(JsonObject) o = json_object_new();

    if (!mon_hmp_flags(cmd, o, &line, errp))
        return NULL;
    for (const struct mon_arg *a = cmd->args; a && a->name; a++) {
        g_autofree char *w = NULL;

        if (a->hmp_flag)
            continue;
        if (a->hmp_rest) {
            while (g_ascii_isspace(*line))
                line++;
            w = *line ? g_strchomp(g_strdup(line)) : NULL;
            line += strlen(line);
        } else {
            w = mon_next_word(&line);
        }
        if (!w) {
            if (a->optional)
                continue;
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "Parameter '%s' is missing",
                        a->name);
            return NULL;
        }
        if (!mon_hmp_value(o, a, w, errp))
            return NULL;
    }
    {
        g_autofree char *extra = mon_next_word(&line);
        if (extra) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC, "too many arguments (at '%.64s')",
                        extra);
            return NULL;
        }
    }
    return g_steal_pointer(&o);
}

bool mon_cmd_call(struct mon_ctx *ctx, const struct mon_cmd *cmd, JsonObject *args,
                  JsonNode **ret, GError **errp)
{
    g_autoptr(JsonObject) empty = NULL;

    *ret = NULL;
    if (!mon_cmd_check_args(cmd, args, errp))
        return false;
    if (!args)
        args = empty = json_object_new();
    if (!cmd->handler(ctx, args, ret, errp))
        return false;
    if (!*ret) {
        /* Commands without a result return {} on QMP. */
        *ret = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(*ret, json_object_new());
    }
    return true;
}

JsonNode *mon_node_take_object(JsonObject *o)
{
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);

    json_node_take_object(n, o);
    return n;
}

JsonNode *mon_node_take_array(JsonArray *a)
{
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);

    json_node_take_array(n, a);
    return n;
}
