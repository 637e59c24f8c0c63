#include "monitor/json-stream.h"

#include <string.h>

void json_stream_init(struct json_stream *js, json_stream_emit_fn emit, void *opaque)
{
    memset(js, 0, sizeof(*js));
    js->buf = g_string_new(NULL);
    js->emit = emit;
    js->opaque = opaque;
}

void json_stream_destroy(struct json_stream *js)
{
    g_string_free(js->buf, TRUE);
    js->buf = NULL;
}

void json_stream_reset(struct json_stream *js)
{
    g_string_truncate(js->buf, 0);
    js->depth = 0;
    js->in_string = js->escape = js->garbage = js->overflow = false;
}

static bool json_stream_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A bare JSON scalar (true, false, null, a number) is a complete value. */
static bool json_stream_is_scalar(const char *tok)
{
    char *end;

    if (!strcmp(tok, "true") || !strcmp(tok, "false") || !strcmp(tok, "null"))
        return true;
    if (!(g_ascii_isdigit(tok[0]) || (tok[0] == '-' && g_ascii_isdigit(tok[1]))))
        return false;
    g_ascii_strtod(tok, &end);
    return *end == 0;
}

/* A top-level run of non-bracket characters ended. */
static void json_stream_end_garbage(struct json_stream *js)
{
    g_autofree char *msg = NULL;

    js->garbage = false;
    if (js->buf->len < JSON_STREAM_TOKEN_MAX && json_stream_is_scalar(js->buf->str)) {
        js->emit(js->opaque, js->buf->str, NULL);
    } else {
        msg = g_strdup_printf("JSON parse error, invalid literal '%.40s'", js->buf->str);
        js->emit(js->opaque, NULL, msg);
    }
    g_string_truncate(js->buf, 0);
}

/* One byte inside a message (depth > 0). */
static void json_stream_in_message(struct json_stream *js, char c)
{
    if (js->in_string) {
        if (js->escape)
            js->escape = false;
        else if (c == '\\')
            js->escape = true;
        else if (c == '"')
            js->in_string = false;
        return;
    }
    if (c == '"') {
        js->in_string = true;
    } else if (c == '{' || c == '[') {
        if (++js->depth > JSON_STREAM_MAX_DEPTH)
            js->overflow = true;
    } else if (c == '}' || c == ']') {
        js->depth--;
    }
}

static void json_stream_overflow_byte(struct json_stream *js, char c)
{
    /* Track brackets only, to find the end of the message being dropped. */
    json_stream_in_message(js, c);
    if (js->depth == 0 && !js->in_string) {
        js->overflow = false;
        js->in_string = js->escape = false;
        g_string_truncate(js->buf, 0);
        js->emit(js->opaque, NULL, "JSON parse error, message too large or too deeply nested");
    }
}

static void json_stream_byte(struct json_stream *js, char c)
{
    if (js->overflow) {
        json_stream_overflow_byte(js, c);
        return;
    }
    if (js->depth == 0) {
        if (js->garbage && (json_stream_is_space(c) || c == '{' || c == '['))
            json_stream_end_garbage(js);
        if (js->garbage) {
            if (js->buf->len < JSON_STREAM_TOKEN_MAX)
                g_string_append_c(js->buf, c);
            return;
        }
        if (json_stream_is_space(c) && !js->in_string)
            return;
        if (c != '{' && c != '[' && c != '"' && !js->in_string) {
            js->garbage = true;
            g_string_append_c(js->buf, c);
            return;
        }
    }
    g_string_append_c(js->buf, c);
    json_stream_in_message(js, c);
    if (js->overflow || js->buf->len > JSON_STREAM_MAX_BYTES) {
        js->overflow = true;
        g_string_truncate(js->buf, 0);
        return;
    }
    /* A closing bracket at depth 0, or the end of a top-level string. */
    if (js->depth == 0 && !js->in_string) {
        js->emit(js->opaque, js->buf->str, NULL);
        g_string_truncate(js->buf, 0);
    }
}

void json_stream_feed(struct json_stream *js, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        json_stream_byte(js, data[i]);
    /* garbage at the very end of the input waits for its terminator */
}
