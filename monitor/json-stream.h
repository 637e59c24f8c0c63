/*
 * Splits a byte stream into top-level JSON values, as QEMU's json-streamer
 * does for QMP: clients may send several messages in one write or one
 * message over many writes, with any whitespace between them.
 *
 * A message ends when the brackets opened by its first '{' or '[' close
 * (outside strings), or when a top-level string closes.  A bare top-level
 * token (up to the next whitespace or bracket) is a message when it is a
 * JSON scalar (true, 42, ...) and is reported as garbage otherwise, so the
 * QMP layer answers "QMP input must be a JSON object" for scalars as QEMU
 * does.  1 MiB per message keeps json-glib's tree of one request small
 * (QEMU allows more, but no QMP request comes near it).  Limits keep hostile input bounded: a message over
 * JSON_STREAM_MAX_BYTES or nested deeper than JSON_STREAM_MAX_DEPTH is
 * reported once and skipped to its end.
 */
#ifndef MONITOR_JSON_STREAM_H
#define MONITOR_JSON_STREAM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#define JSON_STREAM_MAX_BYTES (1u << 20)
#define JSON_STREAM_TOKEN_MAX 64 /* a bare top-level token longer than this is garbage */
#define JSON_STREAM_MAX_DEPTH 1024

/* @text is a complete value (NUL-terminated), or NULL with @error set. */
typedef void (*json_stream_emit_fn)(void *opaque, const char *text, const char *error);

struct json_stream {
    GString *buf;
    unsigned depth;
    bool in_string;
    bool escape;
    bool garbage;    /* inside a run of top-level garbage */
    bool overflow;   /* skipping the rest of a too-large/deep message */
    json_stream_emit_fn emit;
    void *opaque;
};

void json_stream_init(struct json_stream *js, json_stream_emit_fn emit, void *opaque);
void json_stream_destroy(struct json_stream *js);
void json_stream_feed(struct json_stream *js, const char *data, size_t len);
/* Forget a partial message (client reconnected). */
void json_stream_reset(struct json_stream *js);

#endif
