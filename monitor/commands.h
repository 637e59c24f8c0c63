/*
 * The monitor command table: one entry per command, shared by QMP and HMP.
 *
 * An entry names the command for QMP (`query-status`) and for HMP
 * (`info status`), lists its arguments with their JSON types, and points at
 * one handler that takes the arguments object and returns a JSON result or
 * a GError.  QMP sends the result as {"return": ...}; HMP parses its words
 * into the same arguments object (mon_cmd_parse_hmp), calls the same
 * handler and prints the result with the entry's hmp_print.
 *
 * Errors carry QEMU's error classes: GError domain QMP_ERROR with an
 * enum qmp_error_class code; any other domain is a GenericError.
 *
 * Thread context: handlers run on the main thread with the VM lock held.
 */
#ifndef MONITOR_COMMANDS_H
#define MONITOR_COMMANDS_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

struct vm;

enum qmp_error_class {
    QMP_ERROR_GENERIC,
    QMP_ERROR_COMMAND_NOT_FOUND,
    QMP_ERROR_DEVICE_NOT_ACTIVE,
    QMP_ERROR_DEVICE_NOT_FOUND,
    QMP_ERROR_KVM_MISSING_CAP,
};

#define QMP_ERROR qmp_error_quark()
GQuark qmp_error_quark(void);
/* "GenericError", "CommandNotFound", ... for any GError. */
const char *qmp_error_class_name(const GError *err);

enum mon_arg_type {
    MON_ARG_STR,
    MON_ARG_INT,
    MON_ARG_BOOL,
    MON_ARG_NUMBER,
    MON_ARG_OBJECT,
    MON_ARG_ARRAY,
    MON_ARG_ANY,
};

struct mon_arg {
    const char *name;
    enum mon_arg_type type;
    bool optional;
    char hmp_flag;  /* HMP: a boolean given as "-X" before the positional words */
    bool hmp_rest;  /* HMP: a string taking the rest of the line */
};

/* What a handler may need besides its arguments. */
struct mon_ctx {
    struct vm *vm;
    unsigned cpu_index;  /* HMP's current CPU ("cpu N", human-monitor-command) */
    const struct mon_cmd *table;
    /* The descriptor the client sent with its latest message (SCM_RIGHTS
     * on a UNIX socket), handed over once, or -1.  NULL: this transport
     * cannot pass descriptors. */
    int (*take_fd)(void *client);
    void *client;
    /* HMP: a handler whose command goes on after it returns ("migrate"
     * without -d) sets this; the session stops reading commands and calls
     * it every HMP_POLL_MS with an output buffer until it returns true,
     * then prints the prompt. */
    bool (*hmp_poll)(struct mon_ctx *ctx, GString *out);
};

typedef bool (*mon_handler_fn)(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                               GError **errp);

struct mon_cmd {
    const char *name;        /* QMP name; NULL: HMP only */
    const char *hmp;         /* HMP name, aliases after '|' ("quit|q"); NULL: QMP only */
    const struct mon_arg *args; /* ends with { NULL }; NULL: no arguments */
    mon_handler_fn handler;  /* NULL: handled by the QMP session (qmp_capabilities) */
    /* HMP output for a result; NULL prints nothing (a string result is
     * printed as it is). */
    void (*hmp_print)(struct mon_ctx *ctx, JsonNode *ret, GString *out);
    const char *hmp_usage;   /* e.g. "[-a]" */
    const char *help;
};

/* The last entry has name == NULL && hmp == NULL. */
const struct mon_cmd *mon_cmd_find(const struct mon_cmd *table, const char *name);
const struct mon_cmd *mon_cmd_find_hmp(const struct mon_cmd *table, const char *name);

/* Check @args (may be NULL) against the entry: QEMU's messages for missing,
 * unexpected and mistyped parameters. */
bool mon_cmd_check_args(const struct mon_cmd *cmd, JsonObject *args, GError **errp);

/* Build the arguments object from HMP words after the command name. */
JsonObject *mon_cmd_parse_hmp(const struct mon_cmd *cmd, const char *line, GError **errp);

/* A JSON node holding @o / @a (taken): handler results. */
JsonNode *mon_node_take_object(JsonObject *o);
JsonNode *mon_node_take_array(JsonArray *a);

/* Validate and call. */
bool mon_cmd_call(struct mon_ctx *ctx, const struct mon_cmd *cmd, JsonObject *args,
                  JsonNode **ret, GError **errp);

#endif
