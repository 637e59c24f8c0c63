/*
 * One QMP conversation, independent of its transport (QEMU's
 * docs/interop/qmp-spec.rst):
 *
 *   server: {"QMP": {"version": {...}, "capabilities": []}}      greeting
 *   client: {"execute": "qmp_capabilities"}                        negotiation
 *   server: {"return": {}}
 *   client: {"execute": CMD, "arguments": {...}, "id": ID}          commands
 *   server: {"return": RESULT, "id": ID}
 *        or {"error": {"class": CLASS, "desc": TEXT}, "id": ID}
 *   server: {"timestamp": {"seconds": S, "microseconds": U},
 *            "event": NAME, "data": {...}}                         any time after
 *                                                                  negotiation
 *
 * Until qmp_capabilities succeeds every other command gets CommandNotFound
 * "Expecting capabilities negotiation with 'qmp_capabilities'" and no events
 * are sent.  Each message goes out as one line ending in "\r\n".
 *
 * Thread context: main thread, VM lock held.  @send must not call back into
 * the session (it queues bytes).
 */
#ifndef MONITOR_QMP_H
#define MONITOR_QMP_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/commands.h"
#include "monitor/json-stream.h"

#define QMP_VERSION_MAJOR 7
#define QMP_VERSION_MINOR 2
#define QMP_VERSION_MICRO 0

typedef void (*qmp_send_fn)(void *opaque, const char *buf, size_t len);

struct qmp_session {
    struct mon_ctx *ctx;
    bool negotiated;
    bool pretty;
    struct json_stream js;
    qmp_send_fn send;
    void *opaque;
};

void qmp_session_init(struct qmp_session *s, struct mon_ctx *ctx, bool pretty, qmp_send_fn send,
                      void *opaque);
void qmp_session_destroy(struct qmp_session *s);
void qmp_session_greet(struct qmp_session *s);
/* Bytes from the client; replies go out through send(). */
void qmp_session_feed(struct qmp_session *s, const char *data, size_t len);

/* One request (already parsed) -> its response object. */
JsonObject *qmp_session_dispatch(struct qmp_session *s, JsonNode *req);

/* The event message as sent (with its "\r\n"), for broadcasting. */
char *qmp_event_format(const char *name, JsonObject *data, gint64 wall_us, bool pretty);

#endif
