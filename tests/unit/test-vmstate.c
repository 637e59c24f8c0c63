/*
 * migration/vmstate.c: golden bytes for every field kind and shape, version
 * windows, subsections, VALIDATE, hostile counts and values, truncation.
 */
#include <glib.h>
#include <string.h>

#include "migration/vmstate.h"

struct inner {
    uint16_t a;
    uint8_t b;
};

struct all {
    bool b;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    int64_t timer;
    uint8_t buf[3];
    uint32_t arr[2];
    uint8_t count;
    uint16_t varr[4];
    struct inner in;
    struct inner ins[2];
    uint32_t eq;
    unsigned long bits[2];
    uint8_t nstructs;
    struct inner vins[3];
    uint32_t sub_value; /* in subsection all/sub when non-zero */
    int post_loads;
    int fail_post_load;
};

static const struct vmstate_field inner_fields[] = {
    VMSTATE_FIELD(struct inner, a),
    VMSTATE_FIELD(struct inner, b),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description inner_vmsd = {
    .name = "inner", .version_id = 1, .minimum_version_id = 1, .fields = inner_fields,
};

static bool count_ok(void *opaque, int version_id)
{
    struct all *s = opaque;

    (void)version_id;
    return s->count != 3; /* an arbitrary rule the test can break */
}

static bool sub_needed(void *opaque)
{
    return ((struct all *)opaque)->sub_value != 0;
}

static const struct vmstate_field sub_fields[] = {
    VMSTATE_FIELD(struct all, sub_value),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description sub_vmsd = {
    .name = "all/sub", .version_id = 1, .minimum_version_id = 1, .fields = sub_fields,
    .needed = sub_needed,
};

static bool all_post_load(void *opaque, int version_id, GError **errp)
{
    struct all *s = opaque;

    (void)version_id;
    s->post_loads++;
    if (s->fail_post_load) {
        g_set_error(errp, g_quark_from_static_string("test"), 0, "rejected u8=%u", s->u8);
        return false;
    }
    return true;
}

static const struct vmstate_field all_fields[] = {
    VMSTATE_FIELD(struct all, b),
    VMSTATE_FIELD(struct all, u8),
    VMSTATE_FIELD(struct all, u16),
    VMSTATE_FIELD(struct all, u32),
    VMSTATE_FIELD(struct all, u64),
    VMSTATE_FIELD(struct all, i8),
    VMSTATE_FIELD(struct all, i16),
    VMSTATE_FIELD(struct all, i32),
    VMSTATE_FIELD(struct all, i64),
    VMSTATE_TIMER(struct all, timer),
    VMSTATE_BUFFER(struct all, buf),
    VMSTATE_ARRAY(struct all, arr),
    VMSTATE_FIELD(struct all, count),
    VMSTATE_VARRAY(struct all, varr, count),
    VMSTATE_STRUCT(struct all, in, inner_vmsd),
    VMSTATE_STRUCT_ARRAY(struct all, ins, inner_vmsd),
    VMSTATE_EQUAL(struct all, eq),
    VMSTATE_UNUSED(2),
    VMSTATE_BITMAP(struct all, bits, 70),
    VMSTATE_VALIDATE("count-ok", count_ok),
    VMSTATE_FIELD(struct all, nstructs),
    VMSTATE_STRUCT_VARRAY(struct all, vins, nstructs, inner_vmsd),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description *const all_subsections[] = { &sub_vmsd, NULL };

static const struct vmstate_description all_vmsd = {
    .name = "all", .version_id = 2, .minimum_version_id = 1, .fields = all_fields,
    .subsections = all_subsections, .post_load = all_post_load,
};

static void fill(struct all *s)
{
    memset(s, 0, sizeof(*s));
    s->b = true;
    s->u8 = 0x12;
    s->u16 = 0x3456;
    s->u32 = 0x789abcde;
    s->u64 = 0x0102030405060708ULL;
    s->i8 = -2;
    s->i16 = -3;
    s->i32 = -4;
    s->i64 = -5;
    s->timer = -1;
    memcpy(s->buf, "\xaa\xbb\xcc", 3);
    s->arr[0] = 1;
    s->arr[1] = 2;
    s->count = 2;
    s->varr[0] = 0x1111;
    s->varr[1] = 0x2222;
    s->varr[2] = 0x3333; /* beyond count: not sent */
    s->in = (struct inner){ 0x0a0b, 0x0c };
    s->ins[0] = (struct inner){ 1, 2 };
    s->ins[1] = (struct inner){ 3, 4 };
    s->eq = 0xfeedbeef;
    s->bits[0] = 0x8000000000000001UL;
    s->bits[1] = 0x3f; /* bits 64..69 */
    s->nstructs = 1;
    s->vins[0] = (struct inner){ 0x0102, 3 };
}

static const uint8_t golden[] = {
    0x01,                                           /* bool */
    0x12,                                           /* u8 */
    0x34, 0x56,                                     /* u16 */
    0x78, 0x9a, 0xbc, 0xde,                         /* u32 */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* u64 */
    0xfe,                                           /* i8 -2 */
    0xff, 0xfd,                                     /* i16 -3 */
    0xff, 0xff, 0xff, 0xfc,                         /* i32 -4 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb, /* i64 -5 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* timer not armed */
    0xaa, 0xbb, 0xcc,                               /* buffer */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* u32 array[2] */
    0x02,                                           /* count */
    0x11, 0x11, 0x22, 0x22,                         /* varr[count] */
    0x0a, 0x0b, 0x0c,                               /* struct */
    0x00, 0x01, 0x02, 0x00, 0x03, 0x04,             /* struct array */
    0xfe, 0xed, 0xbe, 0xef,                         /* equal */
    0x00, 0x00,                                     /* unused */
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* bitmap word 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, /* bitmap word 1 */
    0x01,                                           /* nstructs */
    0x01, 0x02, 0x03,                               /* struct varray */
};

static const uint8_t golden_sub[] = {
    0x05, 7, 'a', 'l', 'l', '/', 's', 'u', 'b', 0x00, 0x00, 0x00, 0x01, /* header */
    0x00, 0x00, 0x00, 0x2a,                                             /* sub_value */
};

static GByteArray *save(struct all *s, JsonBuilder *vmdesc)
{
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;
    GByteArray *out = g_byte_array_new();

    g_assert_true(vmstate_save(f, &all_vmsd, s, vmdesc, &err));
    g_assert_no_error(err);
    qemu_file_flush(f);
    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    g_assert_true(qemu_file_close(f, &err));
    return out;
}

static bool load(const uint8_t *bytes, size_t len, struct all *s, int version, GError **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(bytes, len);
    bool ok = vmstate_load(f, &all_vmsd, s, version, errp);

    /* a successful load consumed exactly the section */
    if (ok)
        g_assert_true(qemu_file_eof(f));
    qemu_file_close(f, NULL);
    return ok;
}

static void fresh(struct all *s)
{
    memset(s, 0, sizeof(*s));
    s->eq = 0xfeedbeef; /* the local value an "equal" field must match */
}

static void test_golden(void)
{
    struct all s, d;
    g_autoptr(GByteArray) out = NULL;
    g_autoptr(GError) err = NULL;

    fill(&s);
    out = save(&s, NULL);
    g_assert_cmpmem(out->data, out->len, golden, sizeof(golden));
    fresh(&d);
    g_assert_true(load(golden, sizeof(golden), &d, 2, &err));
    g_assert_no_error(err);
    s.varr[2] = 0; /* not sent */
    d.post_loads = 0;
    g_assert_cmpmem(&d, offsetof(struct all, post_loads), &s, offsetof(struct all, post_loads));
}

static void test_subsection(void)
{
    struct all s, d;
    g_autoptr(GByteArray) out = NULL;
    g_autoptr(GError) err = NULL;

    fill(&s);
    s.sub_value = 42;
    out = save(&s, NULL);
    g_assert_cmpuint(out->len, ==, sizeof(golden) + sizeof(golden_sub));
    g_assert_cmpmem(out->data + sizeof(golden), sizeof(golden_sub), golden_sub,
                    sizeof(golden_sub));
    fresh(&d);
    g_assert_true(load(out->data, out->len, &d, 2, &err));
    g_assert_cmpuint(d.sub_value, ==, 42);
    g_assert_cmpint(d.post_loads, ==, 1);
}

static void test_unknown_subsection(void)
{
    struct all s, d;
    g_autoptr(GByteArray) out = NULL;
    g_autoptr(GError) err = NULL;

    fill(&s);
    s.sub_value = 1;
    out = save(&s, NULL);
    out->data[sizeof(golden) + 7] = 'x'; /* all/sxb */
    fresh(&d);
    g_assert_false(load(out->data, out->len, &d, 2, &err));
    g_assert_nonnull(strstr(err->message, "unknown subsection 'all/sxb'"));
}

/* A subsection marker with a foreign prefix ends ours: the bytes stay for
 * the caller (the next section's business). */
static void test_foreign_subsection_left(void)
{
    struct all d;
    g_autoptr(GByteArray) in = g_byte_array_new();
    static const uint8_t other[] = { 0x05, 3, 'x', '/', 'y' };
    QEMUFile *f;
    g_autoptr(GError) err = NULL;

    g_byte_array_append(in, golden, sizeof(golden));
    g_byte_array_append(in, other, sizeof(other));
    fresh(&d);
    f = qemu_file_new_mem_input(in->data, in->len);
    g_assert_true(vmstate_load(f, &all_vmsd, &d, 2, &err));
    g_assert_cmpint(qemu_file_get_byte(f), ==, 0x05);
    qemu_file_close(f, NULL);
}

static void test_version_window(void)
{
    struct all d;
    g_autoptr(GError) e1 = NULL, e2 = NULL;

    fresh(&d);
    g_assert_false(load(golden, sizeof(golden), &d, 3, &e1));
    g_assert_nonnull(strstr(e1->message, "all: stream version 3 is newer than this side's 2"));
    g_assert_false(load(golden, sizeof(golden), &d, 0, &e2));
    g_assert_nonnull(strstr(e2->message, "older than the minimum 1"));
}

/* A field added in version 2 is absent from version-1 streams. */
struct versioned {
    uint32_t old;
    uint32_t added;
};

static const struct vmstate_field versioned_fields[] = {
    VMSTATE_FIELD(struct versioned, old),
    VMSTATE_FIELD_V(struct versioned, added, 2),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description versioned_vmsd = {
    .name = "versioned", .version_id = 2, .minimum_version_id = 1, .fields = versioned_fields,
};

static void test_field_version(void)
{
    static const uint8_t v1[] = { 0, 0, 0, 7 };
    static const uint8_t v2[] = { 0, 0, 0, 7, 0, 0, 0, 9 };
    struct versioned d = { 0, 0xabcd };
    QEMUFile *f = qemu_file_new_mem_input(v1, sizeof(v1));
    g_autoptr(GError) err = NULL;

    g_assert_true(vmstate_load(f, &versioned_vmsd, &d, 1, &err));
    g_assert_cmpuint(d.old, ==, 7);
    g_assert_cmpuint(d.added, ==, 0xabcd); /* untouched */
    qemu_file_close(f, NULL);
    f = qemu_file_new_mem_input(v2, sizeof(v2));
    g_assert_true(vmstate_load(f, &versioned_vmsd, &d, 2, &err));
    g_assert_cmpuint(d.added, ==, 9);
    qemu_file_close(f, NULL);
}

static void expect_load_error(const uint8_t *bytes, size_t len, const char *fragment)
{
    struct all d;
    g_autoptr(GError) err = NULL;

    fresh(&d);
    g_assert_false(load(bytes, len, &d, 2, &err));
    if (!strstr(err->message, fragment))
        g_error("'%s' lacks '%s'", err->message, fragment);
}

static size_t golden_offset(const char *field)
{
    /* byte offsets of a few fields in golden[] (90 bytes in all) */
    if (!strcmp(field, "b")) return 0;
    if (!strcmp(field, "timer")) return 31;
    if (!strcmp(field, "count")) return 50;
    if (!strcmp(field, "eq")) return 64;
    if (!strcmp(field, "bits")) return 85; /* last byte of word 1 */
    if (!strcmp(field, "nstructs")) return 86;
    g_assert_not_reached();
}

static void test_hostile_values(void)
{
    uint8_t bad[sizeof(golden)];

    memcpy(bad, golden, sizeof(bad));
    bad[golden_offset("b")] = 2;
    expect_load_error(bad, sizeof(bad), "all: field 'b': invalid bool value 2");

    memcpy(bad, golden, sizeof(bad));
    bad[golden_offset("timer") + 7] = 0xfe; /* -2 */
    expect_load_error(bad, sizeof(bad), "field 'timer': invalid timer expiry -2");

    memcpy(bad, golden, sizeof(bad));
    bad[golden_offset("count")] = 40;
    expect_load_error(bad, sizeof(bad), "field 'varr': 40 elements exceed the capacity of 4");

    memcpy(bad, golden, sizeof(bad));
    bad[golden_offset("count")] = 3; /* fits, but count-ok rejects it; 2 more bytes */
    {
        g_autoptr(GByteArray) b = g_byte_array_new();
        g_byte_array_append(b, bad, golden_offset("count") + 1 + 4);
        g_byte_array_append(b, (const uint8_t *)"\x33\x33", 2);
        g_byte_array_append(b, bad + golden_offset("count") + 5,
                            sizeof(bad) - golden_offset("count") - 5);
        expect_load_error(b->data, b->len, "field 'count-ok': validation failed");
    }

    memcpy(bad, golden, sizeof(bad));
    bad[golden_offset("eq") + 3] = 0xee;
    expect_load_error(bad, sizeof(bad), "field 'eq': stream has 4276993774, this side has "
                                        "4276993775");

    memcpy(bad, golden, sizeof(bad));
    bad[golden_offset("bits")] = 0x7f; /* bits 64..70 */
    expect_load_error(bad, sizeof(bad), "field 'bits': bits set beyond the bitmap's 70 bits");

    memcpy(bad, golden, sizeof(bad));
    bad[golden_offset("nstructs")] = 4;
    expect_load_error(bad, sizeof(bad), "field 'vins': 4 elements exceed the capacity of 3");
}

/* A subsection may come once: repeated, its fields and post_load would be
 * applied over and over by a stream as long as it likes. */
static void test_subsection_repeated(void)
{
    g_autoptr(GByteArray) in = g_byte_array_new();

    g_byte_array_append(in, golden, sizeof(golden));
    for (unsigned i = 0; i < 3; i++)
        g_byte_array_append(in, golden_sub, sizeof(golden_sub));
    expect_load_error(in->data, in->len, "all: subsection 'all/sub' sent twice");
}

/* Subsections nest only as their descriptions do: "all/sub/sub" is looked
 * up among all/sub's subsections (none), however deep the stream goes. */
static void test_subsection_nested(void)
{
    g_autoptr(GByteArray) in = g_byte_array_new();
    static const uint8_t nested[] = {
        0x05, 11, 'a', 'l', 'l', '/', 's', 'u', 'b', '/', 's', 'u', 'b', 0, 0, 0, 1,
    };

    g_byte_array_append(in, golden, sizeof(golden));
    g_byte_array_append(in, golden_sub, sizeof(golden_sub));
    for (unsigned i = 0; i < 100; i++)
        g_byte_array_append(in, nested, sizeof(nested));
    expect_load_error(in->data, in->len, "all/sub: unknown subsection 'all/sub/sub'");
}

/* A description whose subsection lists itself: the names still bound the
 * nesting (a child's name must extend its parent's), and repeating the
 * subsection at one level is refused. */
struct cyclic {
    uint8_t v;
};

static const struct vmstate_field cyclic_fields[] = {
    VMSTATE_FIELD(struct cyclic, v),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description cyclic_sub_vmsd;
static const struct vmstate_description *const cyclic_subs[] = { &cyclic_sub_vmsd, NULL };
static const struct vmstate_description cyclic_sub_vmsd = {
    .name = "c/c", .version_id = 1, .minimum_version_id = 1, .fields = cyclic_fields,
    .subsections = cyclic_subs,
};
static const struct vmstate_description cyclic_vmsd = {
    .name = "c", .version_id = 1, .minimum_version_id = 1, .fields = cyclic_fields,
    .subsections = cyclic_subs,
};

static void test_subsection_cycle(void)
{
    static const uint8_t once[] = { 1, 0x05, 3, 'c', '/', 'c', 0, 0, 0, 1, 2 };
    g_autoptr(GByteArray) in = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    struct cyclic d = { 0 };
    QEMUFile *f = qemu_file_new_mem_input(once, sizeof(once));

    g_assert_true(vmstate_load(f, &cyclic_vmsd, &d, 1, &err));
    g_assert_cmpuint(d.v, ==, 2);
    qemu_file_close(f, NULL);
    g_byte_array_append(in, once, sizeof(once));
    for (unsigned i = 0; i < 50; i++)
        g_byte_array_append(in, once + 1, sizeof(once) - 1);
    f = qemu_file_new_mem_input(in->data, in->len);
    g_assert_false(vmstate_load(f, &cyclic_vmsd, &d, 1, &err));
    g_assert_nonnull(strstr(err->message, "c: subsection 'c/c' sent twice"));
    qemu_file_close(f, NULL);
}

/* Counts and versions of 0xffffffff: refused before anything is sized or
 * read by them. */
struct wide {
    uint32_t n;
    uint32_t arr[4];
    uint32_t ns;
    struct inner ins[2];
};

static const struct vmstate_field wide_fields[] = {
    VMSTATE_FIELD(struct wide, n),
    VMSTATE_VARRAY(struct wide, arr, n),
    VMSTATE_FIELD(struct wide, ns),
    VMSTATE_STRUCT_VARRAY(struct wide, ins, ns, inner_vmsd),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description wide_vmsd = {
    .name = "wide", .version_id = 1, .minimum_version_id = 1, .fields = wide_fields,
};

static void expect_wide_error(const uint8_t *bytes, size_t len, const char *fragment)
{
    struct wide d = { 0 };
    g_autoptr(GError) err = NULL;
    QEMUFile *f = qemu_file_new_mem_input(bytes, len);

    g_assert_false(vmstate_load(f, &wide_vmsd, &d, 1, &err));
    if (!strstr(err->message, fragment))
        g_error("'%s' lacks '%s'", err->message, fragment);
    qemu_file_close(f, NULL);
}

static void test_4g_counts(void)
{
    static const uint8_t n_max[] = { 0xff, 0xff, 0xff, 0xff };
    static const uint8_t n_high[] = { 0x80, 0, 0, 0 };
    static const uint8_t ns_max[] = { 0, 0, 0, 1, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t sub_version[] = {
        0x05, 7, 'a', 'l', 'l', '/', 's', 'u', 'b', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1,
    };
    g_autoptr(GByteArray) in = g_byte_array_new();

    expect_wide_error(n_max, sizeof(n_max),
                      "wide: field 'arr': 4294967295 elements exceed the capacity of 4");
    expect_wide_error(n_high, sizeof(n_high), "2147483648 elements exceed the capacity of 4");
    expect_wide_error(ns_max, sizeof(ns_max),
                      "wide: field 'ins': 4294967295 elements exceed the capacity of 2");
    g_byte_array_append(in, golden, sizeof(golden));
    g_byte_array_append(in, sub_version, sizeof(sub_version));
    expect_load_error(in->data, in->len, "all/sub: stream version -1 is older than the minimum 1");
}

static void test_post_load_error(void)
{
    struct all d;
    g_autoptr(GError) err = NULL;

    fresh(&d);
    d.fail_post_load = 1;
    g_assert_false(load(golden, sizeof(golden), &d, 2, &err));
    g_assert_nonnull(strstr(err->message, "all: post_load: rejected u8=18"));
}

/* Every cut fails cleanly, except where the cut only drops the optional
 * subsection: then the fields load and the partial subsection bytes are
 * left for the section framing (its footer check) to reject. */
static void test_truncation(void)
{
    struct all s;
    g_autoptr(GByteArray) out = NULL;

    fill(&s);
    s.sub_value = 5;
    out = save(&s, NULL);
    for (size_t len = 0; len < out->len; len++) {
        struct all d;
        g_autoptr(GError) err = NULL;
        QEMUFile *f = qemu_file_new_mem_input(out->data, len);
        bool ok;

        fresh(&d);
        ok = vmstate_load(f, &all_vmsd, &d, 2, &err);
        if (len < sizeof(golden)) {
            g_assert_false(ok);
            g_assert_nonnull(err);
            g_assert_cmpint(d.post_loads, ==, 0);
        } else if (ok) {
            g_assert_cmpuint(d.sub_value, ==, 0);
            g_assert_true(len == sizeof(golden) || !qemu_file_eof(f));
        }
        qemu_file_close(f, NULL);
    }
}

static void test_vmdesc(void)
{
    struct all s;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GByteArray) out = NULL;
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *json = NULL;

    fill(&s);
    s.sub_value = 1;
    json_builder_begin_object(b);
    out = save(&s, b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json = json_generator_to_data(gen, NULL);
    g_assert_nonnull(strstr(json, "\"vmsd_name\":\"all\""));
    g_assert_nonnull(strstr(json, "{\"name\":\"u16\",\"type\":\"uint16\",\"size\":2}"));
    g_assert_nonnull(strstr(json, "{\"name\":\"arr\",\"type\":\"uint32\",\"array_len\":2,"
                                  "\"size\":4}"));
    g_assert_nonnull(strstr(json, "{\"name\":\"ins\",\"type\":\"struct\",\"index\":1,"
                                  "\"struct\":{\"vmsd_name\":\"inner\""));
    g_assert_nonnull(strstr(json, "\"subsections\":[{\"vmsd_name\":\"all/sub\""));
    g_assert_null(strstr(json, "count-ok")); /* validate entries carry no bytes */
}

static void test_dump(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *json = NULL;

    vmstate_dump(b, &all_vmsd);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json = json_generator_to_data(gen, NULL);
    g_assert_nonnull(strstr(json, "\"name\":\"all\",\"version_id\":2,\"minimum_version_id\":1"));
    g_assert_nonnull(strstr(json, "{\"field\":\"varr\",\"type\":\"uint16\",\"version_id\":0,"
                                  "\"field_exists\":false,\"size\":2,\"num\":4,"
                                  "\"variable\":true}"));
    g_assert_nonnull(strstr(json, "\"Subsections\":[{\"name\":\"all/sub\""));
    g_assert_nonnull(strstr(json, "\"Description\":{\"name\":\"inner\""));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmstate/golden", test_golden);
    g_test_add_func("/vmstate/subsection", test_subsection);
    g_test_add_func("/vmstate/unknown-subsection", test_unknown_subsection);
    g_test_add_func("/vmstate/foreign-subsection", test_foreign_subsection_left);
    g_test_add_func("/vmstate/subsection-repeated", test_subsection_repeated);
    g_test_add_func("/vmstate/subsection-nested", test_subsection_nested);
    g_test_add_func("/vmstate/subsection-cycle", test_subsection_cycle);
    g_test_add_func("/vmstate/4g-counts", test_4g_counts);
    g_test_add_func("/vmstate/version-window", test_version_window);
    g_test_add_func("/vmstate/field-version", test_field_version);
    g_test_add_func("/vmstate/hostile-values", test_hostile_values);
    g_test_add_func("/vmstate/post-load-error", test_post_load_error);
    g_test_add_func("/vmstate/truncation", test_truncation);
    g_test_add_func("/vmstate/vmdesc", test_vmdesc);
    g_test_add_func("/vmstate/dump", test_dump);
    return g_test_run();
}
