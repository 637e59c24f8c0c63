/*
 * monitor/: the command table mechanism (argument checks, QEMU error
 * classes, HMP word parsing), a QMP session and an HMP session driven
 * byte by byte, and the JSON writer.  A fake command table: no VM.
 */
#include <glib.h>
#include <string.h>

#include "monitor/commands.h"
#include "monitor/hmp.h"
#include "monitor/json-writer.h"
#include "monitor/qmp.h"
#include "util/error.h"

/* ---- a fake table ---- */

static bool fake_echo(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    (void)ctx, (void)errp;
    *ret = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(*ret, args);
    return true;
}

static bool fake_fail(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    (void)ctx, (void)ret;
    if (json_object_get_boolean_member_with_default(args, "generic", false))
        error_setg(errp, "a Tern error");
    else
        g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device 'x' not found");
    return false;
}

static bool fake_text(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    (void)ctx, (void)args, (void)errp;
    *ret = json_node_init_string(json_node_alloc(), "line one\nline two\n");
    return true;
}

static void fake_print_echo(struct mon_ctx *ctx, JsonNode *ret, GString *out)
{
    (void)ctx;
    json_writer_append(out, ret, false);
    g_string_append_c(out, '\n');
}

static const struct mon_arg echo_args[] = {
    { "s", MON_ARG_STR },
    { "i", MON_ARG_INT, .optional = true },
    { "b", MON_ARG_BOOL, .optional = true },
    { "n", MON_ARG_NUMBER, .optional = true },
    { "o", MON_ARG_OBJECT, .optional = true },
    { "a", MON_ARG_ARRAY, .optional = true },
    { "detach", MON_ARG_BOOL, .optional = true, .hmp_flag = 'd' },
    { "rest", MON_ARG_STR, .optional = true, .hmp_rest = true },
    { NULL },
};
static const struct mon_arg fail_args[] = {
    { "generic", MON_ARG_BOOL, .optional = true },
    { NULL },
};
static const struct mon_arg caps_args[] = {
    { "enable", MON_ARG_ARRAY, .optional = true },
    { NULL },
};

static const struct mon_cmd fake_table[] = {
    { "qmp_capabilities", NULL, caps_args, NULL, NULL, NULL, "negotiate" },
    { "echo", "echo|e", echo_args, fake_echo, fake_print_echo, "[-d] s [i] ...", "echo" },
    { "fail", "fail", fail_args, fake_fail, NULL, NULL, "fail" },
    { NULL, "info text", NULL, fake_text, NULL, NULL, "some text" },
    { NULL, NULL },
};

static JsonObject *parse_object(const char *text)
{
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) err = NULL;

    g_assert_true(json_parser_load_from_data(p, text, -1, &err));
    return json_object_ref(json_node_get_object(json_parser_get_root(p)));
}

static char *check_args_error(const char *args_json)
{
    const struct mon_cmd *cmd = mon_cmd_find(fake_table, "echo");
    g_autoptr(JsonObject) args = args_json ? parse_object(args_json) : NULL;
    g_autoptr(GError) err = NULL;

    if (mon_cmd_check_args(cmd, args, &err))
        return NULL;
    g_assert_cmpstr(qmp_error_class_name(err), ==, "GenericError");
    return g_strdup(err->message);
}

static void test_args(void)
{
    static const struct {
        const char *args, *error;
    } cases[] = {
        { "{\"s\": \"x\"}", NULL },
        { "{\"s\": \"x\", \"i\": -5, \"b\": false, \"n\": 1.5, \"o\": {}, \"a\": []}", NULL },
        { "{\"s\": \"x\", \"n\": 3}", NULL }, /* an integer is a number */
        { NULL, "Parameter 's' is missing" },
        { "{}", "Parameter 's' is missing" },
        { "{\"s\": 1}", "Invalid parameter type for 's', expected: string" },
        { "{\"s\": null}", "Invalid parameter type for 's', expected: string" },
        { "{\"s\": \"x\", \"i\": \"1\"}", "Invalid parameter type for 'i', expected: integer" },
        { "{\"s\": \"x\", \"i\": 1.5}", "Invalid parameter type for 'i', expected: integer" },
        { "{\"s\": \"x\", \"b\": 1}", "Invalid parameter type for 'b', expected: boolean" },
        { "{\"s\": \"x\", \"n\": true}", "Invalid parameter type for 'n', expected: number" },
        { "{\"s\": \"x\", \"o\": []}", "Invalid parameter type for 'o', expected: object" },
        { "{\"s\": \"x\", \"a\": {}}", "Invalid parameter type for 'a', expected: array" },
        { "{\"s\": \"x\", \"zzz\": 1}", "Parameter 'zzz' is unexpected" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *e = check_args_error(cases[i].args);
        g_assert_cmpstr(e, ==, cases[i].error);
    }
}

static void test_error_classes(void)
{
    static const char *const names[] = { "GenericError", "CommandNotFound", "DeviceNotActive",
                                         "DeviceNotFound", "KVMMissingCap" };

    for (int i = 0; i < (int)G_N_ELEMENTS(names); i++) {
        g_autoptr(GError) e = g_error_new(QMP_ERROR, i, "x");
        g_assert_cmpstr(qmp_error_class_name(e), ==, names[i]);
    }
    g_autoptr(GError) other = g_error_new(TERN_ERROR, 0, "x");
    g_assert_cmpstr(qmp_error_class_name(other), ==, "GenericError");
    g_autoptr(GError) bad = g_error_new(QMP_ERROR, 99, "x");
    g_assert_cmpstr(qmp_error_class_name(bad), ==, "GenericError");
}

/* ---- QMP session ---- */

struct capture {
    GString *out;
};

static void capture_send(void *opaque, const char *buf, size_t len)
{
    g_string_append_len(((struct capture *)opaque)->out, buf, len);
}

static struct mon_ctx fake_ctx = { .table = fake_table };

/* Feed @in to a fresh session (greeting dropped) in chunks of @chunk bytes
 * (0: all at once); returns everything the session wrote. */
static char *qmp_run(const char *in, size_t chunk, bool negotiate)
{
    struct capture cap = { g_string_new(NULL) };
    struct qmp_session s;
    size_t len = strlen(in);

    qmp_session_init(&s, &fake_ctx, false, capture_send, &cap);
    if (negotiate)
        qmp_session_feed(&s, "{\"execute\": \"qmp_capabilities\"}", 31);
    g_string_truncate(cap.out, 0);
    for (size_t off = 0; off < len; off += chunk ? chunk : len)
        qmp_session_feed(&s, in + off, MIN(chunk ? chunk : len, len - off));
    qmp_session_destroy(&s);
    return g_string_free(cap.out, FALSE);
}

static void test_qmp_greeting(void)
{
    struct capture cap = { g_string_new(NULL) };
    struct qmp_session s;

    qmp_session_init(&s, &fake_ctx, false, capture_send, &cap);
    qmp_session_greet(&s);
    g_assert_cmpstr(cap.out->str, ==,
                    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
                    "\"major\": 7}, \"package\": \"Tern " TERN_VERSION "\"}, "
                    "\"capabilities\": []}}\r\n");
    qmp_session_destroy(&s);
    g_string_free(cap.out, TRUE);
}

static void test_qmp_negotiation(void)
{
    g_autofree char *before = qmp_run("{\"execute\": \"echo\", \"arguments\": {\"s\": \"a\"}, "
                                      "\"id\": 7}",
                                      0, false);
    g_autofree char *unknown = qmp_run("{\"execute\": \"nope\"}", 0, false);
    g_autofree char *oob = qmp_run("{\"execute\": \"qmp_capabilities\", \"arguments\": "
                                   "{\"enable\": [\"oob\"]}}",
                                   0, false);
    g_autofree char *twice = qmp_run("{\"execute\": \"qmp_capabilities\", \"id\": \"n\"}", 0,
                                     true);
    g_autofree char *ok = qmp_run("{\"execute\": \"qmp_capabilities\"}"
                                  "{\"execute\": \"echo\", \"arguments\": {\"s\": \"a\"}}",
                                  0, false);

    g_assert_cmpstr(before, ==,
                    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting "
                    "capabilities negotiation with 'qmp_capabilities'\"}, \"id\": 7}\r\n");
    g_assert_true(g_str_has_prefix(unknown, "{\"error\": {\"class\": \"CommandNotFound\", "
                                            "\"desc\": \"Expecting capabilities"));
    g_assert_cmpstr(oob, ==,
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capability oob not "
                    "available\"}}\r\n");
    g_assert_cmpstr(twice, ==,
                    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities "
                    "negotiation is already complete, command ignored\"}, \"id\": \"n\"}\r\n");
    g_assert_cmpstr(ok, ==, "{\"return\": {}}\r\n{\"return\": {\"s\": \"a\"}}\r\n");
}

static void test_qmp_requests(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "{\"execute\": \"echo\", \"arguments\": {\"s\": \"\\u00e9\\n\"}, \"id\": [1, {}]}",
          "{\"return\": {\"s\": \"\\u00E9\\n\"}, \"id\": [1, {}]}" },
        { "{\"execute\": \"nope\", \"id\": null}",
          "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not "
          "been found\"}, \"id\": null}" },
        { "{\"execute\": \"fail\"}",
          "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'x' not found\"}}" },
        { "{\"execute\": \"fail\", \"arguments\": {\"generic\": true}}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"a Tern error\"}}" },
        { "{\"execute\": \"echo\"}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 's' is missing\"}}" },
        { "[1, 2]",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON "
          "object\"}}" },
        { "{\"arguments\": {}}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks member "
          "'execute'\"}}" },
        { "{\"execute\": 1}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'execute' "
          "must be a string\"}}" },
        { "{\"execute\": \"echo\", \"arguments\": []}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member "
          "'arguments' must be an object\"}}" },
        { "{\"execute\": \"echo\", \"extra\": 1}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'extra' "
          "is unexpected\"}}" },
        { "{\"execute\": \"echo\",,}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, " },
        { "42 ",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON "
          "object\"}}" },
        { "\"{\"",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON "
          "object\"}}" },
        { "nonsense ",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid "
          "literal 'nonsense'\"}}" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = qmp_run(cases[i].in, 0, true);
        g_test_message("in: %s\nout: %s", cases[i].in, out);
        g_assert_true(g_str_has_prefix(out, cases[i].out));
        g_assert_true(g_str_has_suffix(out, "\r\n"));
        g_assert_true(strchr(out, '\n') == out + strlen(out) - 1); /* one line */
    }
}

/* Split and merged reads give the same replies, in order. */
static void test_qmp_framing(void)
{
    const char *in = "{\"execute\": \"echo\", \"arguments\": {\"s\": \"} {\"}, \"id\": 1}"
                     "{\"execute\":\"fail\",\"id\":2}\n\n  "
                     "{\"execute\": \"echo\", \"arguments\": {\"s\": \"3\"}, \"id\": 3}";
    g_autofree char *whole = qmp_run(in, 0, true);

    g_assert_cmpuint(strlen(whole), >, 0);
    g_assert_true(strstr(whole, "\"id\": 1}\r\n{\"error\"") != NULL);
    g_assert_true(g_str_has_suffix(whole, "{\"return\": {\"s\": \"3\"}, \"id\": 3}\r\n"));
    for (size_t chunk = 1; chunk < 20; chunk++) {
        g_autofree char *split = qmp_run(in, chunk, true);
        g_assert_cmpstr(split, ==, whole);
    }
}

static void test_qmp_event(void)
{
    g_autoptr(JsonObject) data = parse_object("{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
    g_autofree char *ev = qmp_event_format("SHUTDOWN", data, 1700000000123456, false);
    g_autofree char *bare = qmp_event_format("STOP", NULL, 5, false);

    g_assert_cmpstr(ev, ==,
                    "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 123456}, "
                    "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": "
                    "\"host-qmp-quit\"}}\r\n");
    g_assert_cmpstr(bare, ==,
                    "{\"timestamp\": {\"seconds\": 0, \"microseconds\": 5}, \"event\": "
                    "\"STOP\"}\r\n");
}

static void test_json_writer(void)
{
    g_autoptr(JsonObject) o = parse_object(
        "{\"a\": [1, -2, 2.5, true, null, \"q\\\"\\\\\\t\\u0001\"], \"b\": {}, \"c\": [], "
        "\"u\": \"\\ud83d\\ude00\"}");
    g_autoptr(JsonNode) n = json_node_init_object(json_node_alloc(), o);
    g_autofree char *compact = json_writer_to_string(n, false);
    g_autofree char *pretty = NULL;
    g_autoptr(JsonObject) small = parse_object("{\"x\": [1], \"y\": {\"z\": 2}, \"e\": {}}");
    g_autoptr(JsonNode) sn = json_node_init_object(json_node_alloc(), small);

    g_assert_cmpstr(compact, ==,
                    "{\"a\": [1, -2, 2.5, true, null, \"q\\\"\\\\\\t\\u0001\"], \"b\": {}, "
                    "\"c\": [], \"u\": \"\\uD83D\\uDE00\"}");
    pretty = json_writer_to_string(sn, true);
    g_assert_cmpstr(pretty, ==,
                    "{\n    \"x\": [\n        1\n    ],\n    \"y\": {\n        \"z\": 2\n"
                    "    },\n    \"e\": {\n    }\n}");
}

/* ---- HMP ---- */

static char *hmp_parse(const char *line)
{
    const struct mon_cmd *cmd = mon_cmd_find_hmp(fake_table, "echo");
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonObject) o = mon_cmd_parse_hmp(cmd, line, &err);
    g_autoptr(JsonNode) n = NULL;

    if (!o)
        return g_strdup_printf("error: %s", err->message);
    n = json_node_init_object(json_node_alloc(), o);
    return json_writer_to_string(n, false);
}

static void test_hmp_parse(void)
{
    static const struct {
        const char *line, *json;
    } cases[] = {
        { " hello", "{\"s\": \"hello\"}" },
        { "-d x 0x10", "{\"detach\": true, \"s\": \"x\", \"i\": 16}" },
        { "x -3 on 2.5 the rest  of it ", "{\"s\": \"x\", \"i\": -3, \"b\": true, \"n\": 2.5, "
                                          "\"o\": \"the\", \"a\": \"rest\", \"rest\": \"of it\"}" },
        { "", "error: Parameter 's' is missing" },
        { "-z x", "error: unsupported option: -z" },
        { "x 12abc", "error: '12abc': invalid integer for 'i'" },
        { "x 1 maybe", "error: 'maybe': expected on or off for 'b'" },
        { "x 1 off zz", "error: 'zz': invalid number for 'n'" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = hmp_parse(cases[i].line);
        g_assert_cmpstr(got, ==, cases[i].json);
    }
    g_assert_nonnull(mon_cmd_find_hmp(fake_table, "e"));
    g_assert_null(mon_cmd_find_hmp(fake_table, "ech"));
    g_assert_null(mon_cmd_find(fake_table, "info text"));
}

static char *hmp_run(const char *in, size_t chunk)
{
    struct capture cap = { g_string_new(NULL) };
    struct hmp_session s;
    size_t len = strlen(in);

    hmp_session_init(&s, &fake_ctx, NULL, capture_send, &cap);
    hmp_session_greet(&s);
    for (size_t off = 0; off < len; off += chunk ? chunk : len)
        hmp_session_feed(&s, in + off, MIN(chunk ? chunk : len, len - off));
    hmp_session_destroy(&s);
    return g_string_free(cap.out, FALSE);
}

static void test_hmp_session(void)
{
    const char *in = "e -d hi\r\ninfo text\n\nnope 1\nfail\nfail true\ninfo\ninfo bogus\n";
    g_autofree char *whole = hmp_run(in, 0);
    const char *expect =
        "Tern " TERN_VERSION " monitor - type 'help' for more information\r\n(tern) "
        "{\"detach\": true, \"s\": \"hi\"}\r\n(tern) "
        "line one\r\nline two\r\n(tern) "
        "(tern) "
        "unknown command: 'nope'\r\n(tern) "
        "Error: Device 'x' not found\r\n(tern) "
        "Error: a Tern error\r\n(tern) "
        "info text  -- some text\r\n(tern) "
        "unknown command: 'info bogus'\r\n(tern) ";

    g_assert_cmpstr(whole, ==, expect);
    for (size_t chunk = 1; chunk < 12; chunk++) {
        g_autofree char *split = hmp_run(in, chunk);
        g_assert_cmpstr(split, ==, expect);
    }
}

static void test_hmp_long_line(void)
{
    g_autofree char *big = g_strnfill(3 * HMP_LINE_MAX, 'x');
    g_autofree char *in = g_strdup_printf("%s\ne ok\n", big);
    g_autofree char *out = hmp_run(in, 1000);

    g_assert_nonnull(strstr(out, "Error: command line longer than 4096 bytes ignored\r\n"
                                 "(tern) {\"s\": \"ok\"}\r\n(tern) "));
    g_assert_null(strstr(out, "unknown command"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/monitor/args", test_args);
    g_test_add_func("/monitor/error-classes", test_error_classes);
    g_test_add_func("/monitor/qmp-greeting", test_qmp_greeting);
    g_test_add_func("/monitor/qmp-negotiation", test_qmp_negotiation);
    g_test_add_func("/monitor/qmp-requests", test_qmp_requests);
    g_test_add_func("/monitor/qmp-framing", test_qmp_framing);
    g_test_add_func("/monitor/qmp-event", test_qmp_event);
    g_test_add_func("/monitor/json-writer", test_json_writer);
    g_test_add_func("/monitor/hmp-parse", test_hmp_parse);
    g_test_add_func("/monitor/hmp-session", test_hmp_session);
    g_test_add_func("/monitor/hmp-long-line", test_hmp_long_line);
    return g_test_run();
}
