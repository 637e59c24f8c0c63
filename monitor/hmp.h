/*
 * The human monitor (HMP), as QEMU's readline monitor presents it: a banner,
 * the prompt "(tern) ", one command per line, output lines ending in "\r\n".
 * Line editing is left to the client (a terminal in canonical mode, socat,
 * nc); lines longer than HMP_LINE_MAX are refused whole.
 *
 * Commands come from the shared table (monitor/commands.h): the words after
 * the name become the handler's arguments object, and the entry's
 * hmp_print formats the result.  Errors print as "Error: ..." like QEMU.
 *
 * A command may go on after its handler returned (migrate without -d): the
 * session then holds further input and polls the command until it is
 * done, as QEMU suspends its monitor.
 *
 * Thread context: main thread, VM lock held.
 */
#ifndef MONITOR_HMP_H
#define MONITOR_HMP_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/commands.h"

#define HMP_PROMPT "(tern) "
#define HMP_LINE_MAX 4096
#define HMP_POLL_MS 200
#define HMP_HELD_MAX 65536 /* input kept while a command runs; more is dropped */

typedef void (*hmp_send_fn)(void *opaque, const char *buf, size_t len);

struct hmp_session {
    struct mon_ctx ctx; /* own copy: "cpu N" is per session */
    GString *line;
    bool overflow; /* dropping the rest of a too-long line */
    bool last_cr;  /* a "\r\n" pair ends one line, even split across reads */
    hmp_send_fn send;
    void *opaque;
    /* A command still running (ctx.hmp_poll): input waits in held. */
    GMainContext *poll_ctx;
    GSource *poll_timer;
    GString *held;
};

/* @poll_ctx: where the poll timer of a running command is attached. */
void hmp_session_init(struct hmp_session *s, const struct mon_ctx *ctx, GMainContext *poll_ctx,
                      hmp_send_fn send, void *opaque);
void hmp_session_destroy(struct hmp_session *s);
void hmp_session_greet(struct hmp_session *s);
void hmp_session_feed(struct hmp_session *s, const char *data, size_t len);

/* Run one command line; output (with "\n" line ends) is appended to @out. */
void hmp_execute(struct mon_ctx *ctx, const char *line, GString *out);
/* @text with every "\n" turned into "\r\n", as QEMU's monitor writes it. */
char *hmp_crlf(const char *text);
/* "help" / "info" listings. */
void hmp_print_help(const struct mon_cmd *table, const char *which, GString *out);

#endif
