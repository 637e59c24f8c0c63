#include "monitor/json-writer.h"

#include <inttypes.h>

static void json_writer_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    while (*s) {
        gunichar c = g_utf8_get_char_validated(s, -1);
        const char *next;

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            c = 0xfffd; /* invalid UTF-8: one replacement per byte */
            next = s + 1;
        } else {
            next = g_utf8_next_char(s);
        }
        switch (c) {
        case '"':  g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (c >= 0x20 && c < 0x7f) {
                g_string_append_c(out, (char)c);
            } else if (c < 0x10000) {
                g_string_append_printf(out, "\\u%04X", c);
            } else {
                c -= 0x10000;
                g_string_append_printf(out, "\\u%04X\\u%04X", 0xd800 | (c >> 10),
                                       0xdc00 | (c & 0x3ff));
            }
        }
        s = next;
    }
    g_string_append_c(out, '"');
}

static void json_writer_value(GString *out, JsonNode *node)
{
    GType t = json_node_get_value_type(node);

    if (t == G_TYPE_BOOLEAN) {
        g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
    } else if (t == G_TYPE_INT64) {
        g_string_append_printf(out, "%" PRId64, json_node_get_int(node));
    } else if (t == G_TYPE_DOUBLE) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(out, g_ascii_dtostr(buf, sizeof(buf), json_node_get_double(node)));
    } else {
        json_writer_string(out, json_node_get_string(node));
    }
}

static void json_writer_newline(GString *out, bool pretty, unsigned depth)
{
    if (!pretty)
        return;
    g_string_append_c(out, '\n');
    for (unsigned i = 0; i < depth; i++)
        g_string_append(out, "    ");
}

static void json_writer_node(GString *out, JsonNode *node, bool pretty, unsigned depth);

static void json_writer_object(GString *out, JsonObject *o, bool pretty, unsigned depth)
{
    GList *members = json_object_get_members(o);

    g_string_append_c(out, '{');
    for (GList *l = members; l; l = l->next) {
        json_writer_newline(out, pretty, depth + 1);
        json_writer_string(out, l->data);
        g_string_append(out, ": ");
        json_writer_node(out, json_object_get_member(o, l->data), pretty, depth + 1);
        if (l->next)
            g_string_append(out, pretty ? "," : ", ");
    }
    json_writer_newline(out, pretty, depth); /* QEMU: even for {} */
    g_string_append_c(out, '}');
    g_list_free(members);
}

static void json_writer_array(GString *out, JsonArray *a, bool pretty, unsigned depth)
{
    guint n = json_array_get_length(a);

    g_string_append_c(out, '[');
    for (guint i = 0; i < n; i++) {
        json_writer_newline(out, pretty, depth + 1);
        json_writer_node(out, json_array_get_element(a, i), pretty, depth + 1);
        if (i + 1 < n)
            g_string_append(out, pretty ? "," : ", ");
    }
    json_writer_newline(out, pretty, depth);
    g_string_append_c(out, ']');
}

static void json_writer_node(GString *out, JsonNode *node, bool pretty, unsigned depth)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT:
        json_writer_object(out, json_node_get_object(node), pretty, depth);
        break;
    case JSON_NODE_ARRAY:
        json_writer_array(out, json_node_get_array(node), pretty, depth);
        break;
    case JSON_NODE_VALUE:
        json_writer_value(out, node);
        break;
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    }
}

void json_writer_append(GString *out, JsonNode *node, bool pretty)
{
    json_writer_node(out, node, pretty, 0);
}

char *json_writer_to_string(JsonNode *node, bool pretty)
{
    GString *out = g_string_new(NULL);

    json_writer_append(out, node, pretty);
    return g_string_free(out, FALSE);
}
