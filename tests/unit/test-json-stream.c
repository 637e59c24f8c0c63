/* monitor/json-stream.c: QMP message framing across split and merged reads. */
#include <glib.h>
#include <string.h>

#include "monitor/json-stream.h"

struct seen {
    GPtrArray *msgs;   /* complete texts */
    GPtrArray *errors;
};

static void record(void *opaque, const char *text, const char *error)
{
    struct seen *s = opaque;

    if (text)
        g_ptr_array_add(s->msgs, g_strdup(text));
    else
        g_ptr_array_add(s->errors, g_strdup(error));
}

static void seen_init(struct seen *s, struct json_stream *js)
{
    s->msgs = g_ptr_array_new_with_free_func(g_free);
    s->errors = g_ptr_array_new_with_free_func(g_free);
    json_stream_init(js, record, s);
}

static void seen_clear(struct seen *s, struct json_stream *js)
{
    g_ptr_array_unref(s->msgs);
    g_ptr_array_unref(s->errors);
    json_stream_destroy(js);
}

static const char merged[] =
    "{\"execute\": \"qmp_capabilities\"}{\"execute\":\"query-status\",\"id\":1}\r\n"
    "  {\"execute\": \"x\", \"arguments\": {\"s\": \"a } ] \\\" {\"}}\n[1,[2]]";

/* Every split of the same bytes into two reads gives the same messages. */
static void test_split_and_merged(void)
{
    for (size_t cut = 0; cut <= strlen(merged); cut++) {
        struct json_stream js;
        struct seen s;

        seen_init(&s, &js);
        json_stream_feed(&js, merged, cut);
        json_stream_feed(&js, merged + cut, strlen(merged) - cut);
        g_assert_cmpuint(s.msgs->len, ==, 4);
        g_assert_cmpuint(s.errors->len, ==, 0);
        g_assert_cmpstr(g_ptr_array_index(s.msgs, 0), ==, "{\"execute\": \"qmp_capabilities\"}");
        g_assert_cmpstr(g_ptr_array_index(s.msgs, 1), ==,
                        "{\"execute\":\"query-status\",\"id\":1}");
        g_assert_cmpstr(g_ptr_array_index(s.msgs, 2), ==,
                        "{\"execute\": \"x\", \"arguments\": {\"s\": \"a } ] \\\" {\"}}");
        g_assert_cmpstr(g_ptr_array_index(s.msgs, 3), ==, "[1,[2]]");
        seen_clear(&s, &js);
    }
}

static void test_byte_by_byte(void)
{
    struct json_stream js;
    struct seen s;

    seen_init(&s, &js);
    for (size_t i = 0; i < strlen(merged); i++)
        json_stream_feed(&js, merged + i, 1);
    g_assert_cmpuint(s.msgs->len, ==, 4);
    seen_clear(&s, &js);
}

static void test_garbage_between_messages(void)
{
    struct json_stream js;
    struct seen s;
    static const char in[] = "hello 42 {\"execute\":\"a\"} nonsense\n{\"execute\":\"b\"}";

    seen_init(&s, &js);
    json_stream_feed(&js, in, strlen(in));
    /* 42 is a complete (non-object) value; hello and nonsense are not JSON */
    g_assert_cmpuint(s.msgs->len, ==, 3);
    g_assert_cmpuint(s.errors->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(s.errors, 0), ==,
                    "JSON parse error, invalid literal 'hello'");
    g_assert_cmpstr(g_ptr_array_index(s.msgs, 0), ==, "42");
    g_assert_cmpstr(g_ptr_array_index(s.msgs, 2), ==, "{\"execute\":\"b\"}");
    seen_clear(&s, &js);
}

/* A 10 MB line of garbage costs one bounded error, not 10 MB of memory. */
static void test_huge_garbage_line(void)
{
    struct json_stream js;
    struct seen s;
    g_autofree char *big = g_malloc(10 << 20);

    memset(big, 'x', 10 << 20);
    seen_init(&s, &js);
    json_stream_feed(&js, big, 10 << 20);
    json_stream_feed(&js, "\n{}", 3);
    g_assert_cmpuint(s.errors->len, ==, 1);
    g_assert_cmpuint(s.msgs->len, ==, 1);
    g_assert_cmpuint(js.buf->allocated_len, <, 1 << 20);
    seen_clear(&s, &js);
}

static void test_too_deep_and_too_big(void)
{
    struct json_stream js;
    struct seen s;
    GString *deep = g_string_new(NULL);
    g_autofree char *big = g_malloc(JSON_STREAM_MAX_BYTES + 100);

    seen_init(&s, &js);
    for (int i = 0; i < JSON_STREAM_MAX_DEPTH + 10; i++)
        g_string_append_c(deep, '[');
    for (int i = 0; i < JSON_STREAM_MAX_DEPTH + 10; i++)
        g_string_append_c(deep, ']');
    json_stream_feed(&js, deep->str, deep->len);
    g_assert_cmpuint(s.errors->len, ==, 1);
    g_assert_cmpuint(s.msgs->len, ==, 0);

    big[0] = '"';
    memset(big + 1, 'a', JSON_STREAM_MAX_BYTES + 98);
    big[JSON_STREAM_MAX_BYTES + 99] = '"';
    json_stream_feed(&js, "{\"k\":", 5);
    json_stream_feed(&js, big, JSON_STREAM_MAX_BYTES + 100);
    json_stream_feed(&js, "}{\"ok\":1}", 9);
    g_assert_cmpuint(s.errors->len, ==, 2);
    g_assert_cmpuint(s.msgs->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(s.msgs, 0), ==, "{\"ok\":1}");
    g_string_free(deep, TRUE);
    seen_clear(&s, &js);
}

static void test_reset_drops_partial(void)
{
    struct json_stream js;
    struct seen s;

    seen_init(&s, &js);
    json_stream_feed(&js, "{\"execute\": \"qu", 15);
    json_stream_reset(&js);
    json_stream_feed(&js, "{}", 2);
    g_assert_cmpuint(s.msgs->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(s.msgs, 0), ==, "{}");
    seen_clear(&s, &js);
}

/* A top-level string is one value, brackets inside it included. */
static void test_top_level_string(void)
{
    struct json_stream js;
    struct seen s;
    static const char in[] = "\"{\" \"a\\\"[\"{\"x\":1}";

    seen_init(&s, &js);
    json_stream_feed(&js, in, strlen(in));
    g_assert_cmpuint(s.errors->len, ==, 0);
    g_assert_cmpuint(s.msgs->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(s.msgs, 0), ==, "\"{\"");
    g_assert_cmpstr(g_ptr_array_index(s.msgs, 1), ==, "\"a\\\"[\"");
    g_assert_cmpstr(g_ptr_array_index(s.msgs, 2), ==, "{\"x\":1}");
    seen_clear(&s, &js);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/json-stream/split-and-merged", test_split_and_merged);
    g_test_add_func("/json-stream/byte-by-byte", test_byte_by_byte);
    g_test_add_func("/json-stream/garbage", test_garbage_between_messages);
    g_test_add_func("/json-stream/top-level-string", test_top_level_string);
    g_test_add_func("/json-stream/huge-garbage-line", test_huge_garbage_line);
    g_test_add_func("/json-stream/too-deep-too-big", test_too_deep_and_too_big);
    g_test_add_func("/json-stream/reset", test_reset_drops_partial);
    return g_test_run();
}
