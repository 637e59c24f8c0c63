#include "monitor/hmp.h"

#include <string.h>

#include "util/fdio.h"

#ifndef TERN_VERSION
#define TERN_VERSION "unknown"
#endif

static bool hmp_is_info(const struct mon_cmd *c)
{
    return c->hmp && g_str_has_prefix(c->hmp, "info ");
}

static void hmp_help_line(const struct mon_cmd *c, GString *out)
{
    /* QEMU's help_cmd_dump_one(): "name params -- help", no padding */
    g_string_append_printf(out, "%s %s -- %s\n", c->hmp, c->hmp_usage ? c->hmp_usage : "",
                           c->help);
}

void hmp_print_help(const struct mon_cmd *table, const char *which, GString *out)
{
    bool infos = which && !strcmp(which, "info");

    if (which && !infos) { /* "help CMD" */
        const struct mon_cmd *c = mon_cmd_find_hmp(table, which);
        if (c)
            hmp_help_line(c, out);
        else
            g_string_append_printf(out, "unknown command: '%.128s'\n", which);
        return;
    }
    for (const struct mon_cmd *c = table; c->name || c->hmp; c++) {
        if (c->hmp && hmp_is_info(c) == infos)
            hmp_help_line(c, out);
    }
    if (!infos)
        g_string_append(out, "info [subcommand] -- show various information about the system "
                             "state\n");
}

static void hmp_print_result(struct mon_ctx *ctx, const struct mon_cmd *cmd, JsonNode *ret,
                             GString *out)
{
    if (cmd->hmp_print) {
        cmd->hmp_print(ctx, ret, out);
    } else if (JSON_NODE_HOLDS_VALUE(ret) && json_node_get_value_type(ret) == G_TYPE_STRING) {
        g_string_append(out, json_node_get_string(ret));
    }
}

void hmp_execute(struct mon_ctx *ctx, const char *line, GString *out)
{
    g_autofree char *name = NULL;
    g_autoptr(JsonObject) args = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(GError) err = NULL;
    const struct mon_cmd *cmd;
    const char *rest;
    size_t n;

    while (g_ascii_isspace(*line))
        line++;
    if (!*line)
        return;
    n = strcspn(line, " \t\r\n");
    name = g_strndup(line, n);
    rest = line + n;
    if (!strcmp(name, "info")) {
        size_t sp = strspn(rest, " \t"), len = strcspn(rest + sp, " \t\r\n");

        if (!len) {
            hmp_print_help(ctx->table, "info", out);
            return;
        }
        g_free(name);
        name = g_strdup_printf("info %.*s", (int)len, rest + sp);
        rest += sp + len;
    }
    cmd = mon_cmd_find_hmp(ctx->table, name);
    if (!cmd) {
        g_string_append_printf(out, "unknown command: '%.128s'\n", name);
        return;
    }
    args = mon_cmd_parse_hmp(cmd, rest, &err);
    if (!args || !mon_cmd_call(ctx, cmd, args, &ret, &err)) {
        g_string_append_printf(out, "Error: %s\n", err->message);
        return;
    }
    hmp_print_result(ctx, cmd, ret, out);
}

char *hmp_crlf(const char *text)
{
    GString *crlf = g_string_sized_new(strlen(text) + 16);

    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            g_string_append_c(crlf, '\r');
        g_string_append_c(crlf, *p);
    }
    return g_string_free(crlf, FALSE);
}

static void hmp_send_text(struct hmp_session *s, const char *text)
{
    g_autofree char *crlf = hmp_crlf(text);

    s->send(s->opaque, crlf, strlen(crlf));
}

void hmp_session_greet(struct hmp_session *s)
{
    hmp_send_text(s, "Tern " TERN_VERSION " monitor - type 'help' for more information\n"
                     HMP_PROMPT);
}

static gboolean hmp_session_poll(gpointer opaque)
{
    struct hmp_session *s = opaque;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) held = NULL;

    if (!s->ctx.hmp_poll(&s->ctx, out)) {
        hmp_send_text(s, out->str);
        return G_SOURCE_CONTINUE;
    }
    s->ctx.hmp_poll = NULL;
    g_string_append(out, HMP_PROMPT);
    hmp_send_text(s, out->str);
    g_source_unref(s->poll_timer);
    s->poll_timer = NULL;
    /* What arrived meanwhile runs now, in order. */
    held = s->held;
    s->held = g_string_new(NULL);
    hmp_session_feed(s, held->str, held->len);
    return G_SOURCE_REMOVE;
}

static void hmp_session_line(struct hmp_session *s)
{
    GString *out = g_string_new(NULL);

    if (s->overflow) {
        g_string_append_printf(out, "Error: command line longer than %d bytes ignored\n",
                               HMP_LINE_MAX);
        s->overflow = false;
    } else {
        hmp_execute(&s->ctx, s->line->str, out);
    }
    if (s->ctx.hmp_poll) {
        s->poll_timer = g_timeout_source_new(HMP_POLL_MS);
        g_source_set_callback(s->poll_timer, hmp_session_poll, s, NULL);
        g_source_attach(s->poll_timer, s->poll_ctx);
    } else {
        g_string_append(out, HMP_PROMPT);
    }
    hmp_send_text(s, out->str);
    g_string_free(out, TRUE);
    g_string_truncate(s->line, 0);
}

void hmp_session_feed(struct hmp_session *s, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s->poll_timer) { /* a command is still running */
            /* Held for later, within reason (QEMU stops reading). */
            g_string_append_len(s->held, data + i, MIN(len - i, HMP_HELD_MAX - s->held->len));
            return;
        }
        char c = data[i];

        if (c == '\n' || c == '\r') {
            /* "\r\n" (telnet, Windows clients) ends one line, not two. */
            bool crlf = c == '\n' && s->last_cr;

            s->last_cr = c == '\r';
            if (!crlf)
                hmp_session_line(s);
            continue;
        }
        s->last_cr = false;
        if (s->line->len >= HMP_LINE_MAX) {
            s->overflow = true;
        } else if (c) {
            g_string_append_c(s->line, c);
        }
    }
}

void hmp_session_init(struct hmp_session *s, const struct mon_ctx *ctx, GMainContext *poll_ctx,
                      hmp_send_fn send, void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->ctx = *ctx;
    s->poll_ctx = poll_ctx;
    s->held = g_string_new(NULL);
    s->line = g_string_new(NULL);
    s->send = send;
    s->opaque = opaque;
}

void hmp_session_destroy(struct hmp_session *s)
{
    fdio_source_drop(&s->poll_timer);
    if (s->held)
        g_string_free(s->held, TRUE);
    s->held = NULL;
    if (s->line)
        g_string_free(s->line, TRUE);
    s->line = NULL;
}
