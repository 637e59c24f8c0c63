/*
 * migration/savevm.c: a stream with two devices and an iterative handler
 * round-trips; every kind of bad stream is refused with a message naming
 * what is wrong.
 */
#include <glib.h>
#include <string.h>

#include "migration/savevm.h"

struct dev {
    uint32_t reg;
    uint8_t flags;
};

static const struct vmstate_field dev_fields[] = {
    VMSTATE_FIELD(struct dev, reg),
    VMSTATE_FIELD(struct dev, flags),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description dev_vmsd = {
    .name = "dev", .version_id = 2, .minimum_version_id = 1, .fields = dev_fields,
};

static const struct vmstate_description dev_vmsd_v3 = {
    .name = "dev", .version_id = 3, .minimum_version_id = 3, .fields = dev_fields,
};

/* A fake iterative handler: sends values 0..total-1, three per PART. */
struct counter {
    uint32_t total, sent;
    GArray *received;
    int setups, cleanups;
    bool active;        /* is_active's answer (the optional handler) */
    bool fail_complete; /* load_complete fails */
    int completes;
};

static bool ctr_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    struct counter *c = opaque;

    (void)errp;
    qemu_file_put_be32(f, c->total);
    return true;
}

static void ctr_send(QEMUFile *f, struct counter *c, uint32_t max)
{
    uint32_t n = MIN(max, c->total - c->sent);

    qemu_file_put_be32(f, n);
    for (uint32_t i = 0; i < n; i++)
        qemu_file_put_be32(f, c->sent++);
}

static int ctr_iterate(QEMUFile *f, void *opaque, GError **errp)
{
    struct counter *c = opaque;

    (void)errp;
    ctr_send(f, c, 3);
    return c->sent == c->total;
}

static uint64_t ctr_pending(void *opaque, uint64_t threshold)
{
    struct counter *c = opaque;

    (void)threshold;
    return (c->total - c->sent) * 4;
}

static bool ctr_complete(QEMUFile *f, void *opaque, GError **errp)
{
    (void)errp;
    ctr_send(f, opaque, UINT32_MAX);
    return true;
}

static bool ctr_load_setup(void *opaque, GError **errp)
{
    struct counter *c = opaque;

    (void)errp;
    c->setups++;
    c->total = 0; /* every load starts from its START section */
    g_array_set_size(c->received, 0);
    return true;
}

static bool ctr_load_state(QEMUFile *f, void *opaque, int version_id, GError **errp)
{
    struct counter *c = opaque;
    uint32_t n;

    g_assert_cmpint(version_id, ==, 4);
    if (!c->total) { /* START: the total comes first */
        c->total = qemu_file_get_be32(f);
        return true;
    }
    n = qemu_file_get_be32(f);
    if (n > 1000) {
        g_set_error(errp, g_quark_from_static_string("t"), 0, "record count %u too big", n);
        return false;
    }
    for (uint32_t i = 0; i < n && !qemu_file_get_error(f); i++) {
        uint32_t v = qemu_file_get_be32(f);
        g_array_append_val(c->received, v);
    }
    return true;
}

static void ctr_load_cleanup(void *opaque)
{
    ((struct counter *)opaque)->cleanups++;
}

static const struct savevm_live_ops ctr_ops = {
    .save_setup = ctr_save_setup,
    .save_live_iterate = ctr_iterate,
    .state_pending = ctr_pending,
    .save_live_complete = ctr_complete,
    .load_setup = ctr_load_setup,
    .load_state = ctr_load_state,
    .load_cleanup = ctr_load_cleanup,
};

static bool ctr_is_active(void *opaque)
{
    return ((struct counter *)opaque)->active;
}

static bool ctr_load_complete(void *opaque, GError **errp)
{
    struct counter *c = opaque;

    c->completes++;
    if (c->fail_complete) {
        g_set_error(errp, g_quark_from_static_string("t"), 0, "the writes did not reach the disk");
        return false;
    }
    return true;
}

/* The same handler, but switched on per migration and optional on the
 * loader (as "block" is). */
static const struct savevm_live_ops ctr_optional_ops = {
    .save_setup = ctr_save_setup,
    .save_live_iterate = ctr_iterate,
    .state_pending = ctr_pending,
    .save_live_complete = ctr_complete,
    .load_setup = ctr_load_setup,
    .load_state = ctr_load_state,
    .load_complete = ctr_load_complete,
    .load_cleanup = ctr_load_cleanup,
    .is_active = ctr_is_active,
    .optional = true,
};

struct side {
    struct savevm sv;
    struct dev a, b;
    struct counter ctr;
    uint64_t extra_pending; /* pending bytes of other handlers */
};

static void side_init(struct side *s, const char *machine, bool with_b,
                      const struct vmstate_description *vmsd)
{
    g_autoptr(GError) err = NULL;

    memset(s, 0, sizeof(*s));
    s->ctr.received = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    savevm_init(&s->sv, machine);
    g_assert_true(savevm_register_live(&s->sv, "ram", 0, 4, 4, &ctr_ops, &s->ctr, &err));
    g_assert_true(savevm_register_vmsd(&s->sv, "dev", 0, vmsd, &s->a, &err));
    if (with_b)
        g_assert_true(savevm_register_vmsd(&s->sv, "dev", 1, vmsd, &s->b, &err));
    g_assert_no_error(err);
}

static void side_clear(struct side *s)
{
    savevm_destroy(&s->sv);
    g_array_free(s->ctr.received, TRUE);
}

/* A complete live stream: setup, PARTs until done, complete. */
static GByteArray *make_stream(struct side *src)
{
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;
    GByteArray *out = g_byte_array_new();
    int r;

    src->a = (struct dev){ 0x11223344, 1 };
    src->b = (struct dev){ 0x55667788, 2 };
    src->ctr.total = 10;
    savevm_write_header(&src->sv, f);
    savevm_write_command(f, MIG_CMD_OPEN_RETURN_PATH, NULL, 0);
    g_assert_true(savevm_save_setup(&src->sv, f, &err));
    g_assert_cmpuint(savevm_pending(&src->sv, 0), ==, 40 + src->extra_pending);
    while ((r = savevm_save_iterate(&src->sv, f, &err)) == 0)
        ;
    g_assert_cmpint(r, ==, 1);
    g_assert_true(savevm_save_complete(&src->sv, f, &err));
    g_assert_no_error(err);
    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    qemu_file_close(f, NULL);
    return out;
}

static bool load_stream(struct side *dst, const uint8_t *data, size_t len, GError **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(data, len);
    bool ok = savevm_load(&dst->sv, f, errp);

    qemu_file_close(f, NULL);
    return ok;
}

static void test_round_trip(void)
{
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;

    side_init(&src, "tern-1.0", true, &dev_vmsd);
    side_init(&dst, "tern-1.0", true, &dev_vmsd);
    s = make_stream(&src);
    g_assert_cmpmem(s->data, 8, "QEVM\0\0\0\3", 8);
    g_assert_true(load_stream(&dst, s->data, s->len, &err));
    g_assert_no_error(err);
    g_assert_cmphex(dst.a.reg, ==, 0x11223344);
    g_assert_cmphex(dst.b.reg, ==, 0x55667788);
    g_assert_cmpuint(dst.b.flags, ==, 2);
    g_assert_cmpuint(dst.ctr.received->len, ==, 10);
    for (unsigned i = 0; i < 10; i++)
        g_assert_cmpuint(g_array_index(dst.ctr.received, uint32_t, i), ==, i);
    g_assert_cmpint(dst.ctr.setups, ==, 1);
    g_assert_cmpint(dst.ctr.cleanups, ==, 1);
    g_assert_true(dst.sv.return_path_requested);
    /* the vmdesc trailer names both device sections */
    {
        static const char want[] = "\"devices\":[{\"name\":\"dev\",\"instance_id\":0";
        g_assert_nonnull(memmem(s->data, s->len, want, strlen(want)));
    }
    side_clear(&src);
    side_clear(&dst);
}

static void expect_fail(struct side *dst, const uint8_t *data, size_t len, const char *fragment)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(load_stream(dst, data, len, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, fragment))
        g_error("'%s' lacks '%s'", err->message, fragment);
}

static size_t find(const GByteArray *s, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= s->len; i++)
        if (!memcmp(s->data + i, needle, n))
            return i;
    g_assert_not_reached();
}

/* Offset just past the EOF byte: where "0x06, be32 len, JSON" ends the stream. */
static size_t eof_end(const GByteArray *s)
{
    for (size_t i = s->len - 6; i > 0; i--) {
        const uint8_t *p = s->data + i;
        uint32_t len = (uint32_t)p[2] << 24 | p[3] << 16 | p[4] << 8 | p[5];

        if (p[0] == 0x00 && p[1] == 0x06 && i + 6 + len == s->len)
            return i + 1;
    }
    g_assert_not_reached();
}

static void test_bad_streams(void)
{
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GByteArray) c = NULL;

    side_init(&src, "tern-1.0", true, &dev_vmsd);
    side_init(&dst, "tern-1.0", true, &dev_vmsd);
    s = make_stream(&src);

    c = g_byte_array_sized_new(s->len);
#define RESET() (g_byte_array_set_size(c, 0), g_byte_array_append(c, s->data, s->len))
    RESET();
    c->data[0] = 'X';
    expect_fail(&dst, c->data, c->len, "not a migration stream");
    RESET();
    c->data[7] = 2;
    expect_fail(&dst, c->data, c->len, "unsupported stream version 2");
    RESET();
    c->data[14] = 'X'; /* header 8 + 0x07 + be32 len: "tern-1.0" at 13 */
    expect_fail(&dst, c->data, c->len,
                "stream is for machine type 'tXrn-1.0', this VM is 'tern-1.0'");
    /* the last FULL section (dev instance 1, section id 2): corrupt its footer */
    RESET();
    {
        static const uint8_t footer[] = { 0x7e, 0, 0, 0, 2 };
        size_t at = find(c, footer, sizeof(footer));
        c->data[at + 4] = 9;
        expect_fail(&dst, c->data, c->len,
                    "section 'dev': footer has section id 9, expected 2");
    }
    RESET();
    {
        size_t at = find(c, "\x04\x00\x00\x00\x01\x03" "dev", 9);
        c->data[at + 6] = 'X';
        expect_fail(&dst, c->data, c->len, "unknown section 'Xev' instance 0");
    }
    RESET();
    {
        size_t at = find(c, "\x04\x00\x00\x00\x01\x03" "dev", 9);
        c->data[at] = 0x09;
        expect_fail(&dst, c->data, c->len, "unknown section type 0x09");
    }
    side_clear(&dst);

    /* a destination without the second device */
    side_init(&dst, "tern-1.0", false, &dev_vmsd);
    expect_fail(&dst, s->data, s->len, "unknown section 'dev' instance 1");
    side_clear(&dst);

    /* a destination whose device only accepts version 3 */
    side_init(&dst, "tern-1.0", true, &dev_vmsd_v3);
    expect_fail(&dst, s->data, s->len, "section 'dev': version 2 outside the supported range "
                                       "3..3");
    side_clear(&dst);

    /* a different machine type on the destination */
    side_init(&dst, "tern-2.0", true, &dev_vmsd);
    expect_fail(&dst, s->data, s->len, "stream is for machine type 'tern-1.0'");
    side_clear(&dst);

    /* every truncation point fails, and load_cleanup balances load_setup */
    side_init(&dst, "tern-1.0", true, &dev_vmsd);
    for (size_t len = 0; len < s->len; len++) {
        /* the stream may end right after EOF (the vmdesc trailer is optional,
         * as in QEMU); any other cut is an error */
        size_t after_eof = eof_end(s);
        g_autoptr(GError) err = NULL;
        bool ok = load_stream(&dst, s->data, len, &err);

        g_assert_cmpint(ok, ==, len == after_eof);
        g_assert_true(ok || err);
        g_assert_cmpint(dst.ctr.setups, ==, dst.ctr.cleanups);
    }
    side_clear(&dst);
    side_clear(&src);
}

/* Hand-made streams for tern-1.0 with @tail after the configuration. */
static GByteArray *stream_with(const uint8_t *tail, size_t len)
{
    static const uint8_t head[] = {
        'Q', 'E', 'V', 'M', 0, 0, 0, 3, 0x07, 0, 0, 0, 8, 't', 'e', 'r', 'n', '-', '1', '.', '0',
    };
    GByteArray *s = g_byte_array_new();

    g_byte_array_append(s, head, sizeof(head));
    g_byte_array_append(s, tail, len);
    return s;
}

#define EXPECT_TAIL(dst, tail, fragment)                                                          \
    do {                                                                                          \
        g_autoptr(GByteArray) _s = stream_with(tail, sizeof(tail));                               \
        expect_fail(dst, _s->data, _s->len, fragment);                                            \
    } while (0)

/* Every length and number field at 0xffffffff (0xffff for be16 ones): a
 * clear error, nothing sized by it. */
static void test_4g_lengths(void)
{
    struct side dst;
    static const uint8_t config_len[] = {
        'Q', 'E', 'V', 'M', 0, 0, 0, 3, 0x07, 0xff, 0xff, 0xff, 0xff, 't', 'e', 'r', 'n',
    };
    static const uint8_t config_256[] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3, 0x07, 0, 0, 1, 0 };
    static const uint8_t config_255[] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3, 0x07, 0, 0, 0, 255,
                                          't', 'e', 'r', 'n' };
    static const uint8_t version[] = { 'Q', 'E', 'V', 'M', 0xff, 0xff, 0xff, 0xff };
    static const uint8_t rp_len[] = { 0x08, 0, 1, 0xff, 0xff };
    static const uint8_t ping_len[] = { 0x08, 0, 2, 0xff, 0xff, 0, 0, 0, 1 };
    static const uint8_t cmd[] = { 0x08, 0xff, 0xff, 0, 0 };
    static const uint8_t vmdesc_len[] = { 0x06, 0xff, 0xff, 0xff, 0xff, '{', '}' };
    static const uint8_t vmdesc_max[] = { 0x06, 0x01, 0x00, 0x00, 0x00, '{', '}' };
    static const uint8_t sec_version[] = { 0x04, 0, 0, 0, 1, 3, 'd', 'e', 'v',
                                           0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t sec_instance[] = { 0x04, 0, 0, 0, 1, 3, 'd', 'e', 'v',
                                            0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2 };
    static const uint8_t sec_idstr[] = { 0x04, 0, 0, 0, 1, 0xff, 'd', 'e', 'v' };
    static const uint8_t part_id[] = { 0x02, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t footer_id[] = { 0x04, 0, 0, 0, 1, 3, 'd', 'e', 'v', 0, 0, 0, 0,
                                         0, 0, 0, 2, 0, 0, 0, 1, 7, 0x7e, 0xff, 0xff, 0xff, 0xff };

    side_init(&dst, "tern-1.0", true, &dev_vmsd);
    expect_fail(&dst, config_len, sizeof(config_len),
                "machine type name of 4294967295 bytes is too long");
    expect_fail(&dst, config_256, sizeof(config_256), "name of 256 bytes is too long");
    expect_fail(&dst, config_255, sizeof(config_255), "configuration: migration stream ended "
                                                      "early");
    expect_fail(&dst, version, sizeof(version), "unsupported stream version 4294967295");
    EXPECT_TAIL(&dst, rp_len, "command 1 with invalid length 65535");
    EXPECT_TAIL(&dst, ping_len, "command 2 with invalid length 65535");
    EXPECT_TAIL(&dst, cmd, "unknown command 65535");
    /* the trailer after a complete stream */
    {
        struct side src;
        g_autoptr(GByteArray) s = NULL;

        size_t eof;

        side_init(&src, "tern-1.0", true, &dev_vmsd);
        s = make_stream(&src);
        eof = eof_end(s);
        g_byte_array_set_size(s, eof);
        g_byte_array_append(s, vmdesc_len, sizeof(vmdesc_len));
        expect_fail(&dst, s->data, s->len, "vmdesc of 4294967295 bytes is too large");
        g_byte_array_set_size(s, eof);
        g_byte_array_append(s, vmdesc_max, sizeof(vmdesc_max));
        /* 16 MiB: skipped, not allocated; the stream has 2 bytes of it */
        expect_fail(&dst, s->data, s->len, "vmdesc: migration stream ended early");
        side_clear(&src);
    }
    EXPECT_TAIL(&dst, sec_version, "section 'dev': version -1 outside the supported range 1..2");
    EXPECT_TAIL(&dst, sec_instance, "unknown section 'dev' instance 4294967295");
    EXPECT_TAIL(&dst, sec_idstr, "section header: migration stream ended early");
    EXPECT_TAIL(&dst, part_id, "section id 4294967295 was never started");
    EXPECT_TAIL(&dst, footer_id, "section 'dev': footer has section id 4294967295, expected 1");
    side_clear(&dst);
}

/* A stream cut anywhere before its EOF byte (mid-header, mid-section,
 * mid-record) says so; cut inside the vmdesc trailer too. */
static void test_truncated_says_so(void)
{
    struct side src, dst;
    g_autoptr(GByteArray) s = NULL;

    side_init(&src, "tern-1.0", true, &dev_vmsd);
    side_init(&dst, "tern-1.0", true, &dev_vmsd);
    s = make_stream(&src);
    for (size_t len = 0; len < s->len; len++) {
        g_autoptr(GError) err = NULL;

        if (len == eof_end(s))
            continue; /* a complete stream without its trailer */
        g_assert_false(load_stream(&dst, s->data, len, &err));
        if (!strstr(err->message, "migration stream ended early"))
            g_error("cut at %zu of %u: '%s'", len, s->len, err->message);
    }
    side_clear(&dst);
    side_clear(&src);
}

static void test_registry_errors(void)
{
    struct savevm sv;
    struct dev d;
    g_autoptr(GError) e1 = NULL, e2 = NULL;
    char longname[300];

    savevm_init(&sv, "tern-1.0");
    g_assert_true(savevm_register_vmsd(&sv, "dev", 0, &dev_vmsd, &d, &e1));
    g_assert_false(savevm_register_vmsd(&sv, "dev", 0, &dev_vmsd, &d, &e1));
    g_assert_nonnull(strstr(e1->message, "already registered"));
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    g_assert_false(savevm_register_vmsd(&sv, longname, 0, &dev_vmsd, &d, &e2));
    g_assert_nonnull(e2);
    g_assert_nonnull(savevm_find(&sv, "dev", 0));
    g_assert_null(savevm_find(&sv, "dev", 1));
    savevm_destroy(&sv);
}

/* A handler whose is_active() says no sends nothing; a loader accepts a
 * stream with or without an optional handler's section, and runs
 * load_complete for a started one. */
static void test_optional_handler(void)
{
    for (int active = 0; active < 2; active++) {
        struct side src, dst;
        struct counter opt_src = { .total = 5, .active = active };
        struct counter opt_dst = { 0 };
        g_autoptr(GByteArray) s = NULL;
        g_autoptr(GError) err = NULL;

        opt_src.received = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        opt_dst.received = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        side_init(&src, "tern-1.0", true, &dev_vmsd);
        side_init(&dst, "tern-1.0", true, &dev_vmsd);
        g_assert_true(savevm_register_live(&src.sv, "opt", 0, 4, 4, &ctr_optional_ops, &opt_src,
                                           &err));
        g_assert_true(savevm_register_live(&dst.sv, "opt", 0, 4, 4, &ctr_optional_ops, &opt_dst,
                                           &err));
        /* inactive: its pending bytes are not counted, and its START
         * never appears */
        src.extra_pending = active ? 20 : 0;
        s = make_stream(&src);
        g_assert_cmpint(memmem(s->data, s->len, "\x03opt", 4) != NULL, ==, active);
        g_assert_true(load_stream(&dst, s->data, s->len, &err));
        g_assert_no_error(err);
        g_assert_cmpint(opt_dst.setups, ==, active);
        g_assert_cmpint(opt_dst.completes, ==, active);
        g_assert_cmpuint(opt_dst.received->len, ==, active ? 5 : 0);
        if (active) {
            /* a failing load_complete fails the load, naming the section */
            opt_dst.fail_complete = true;
            g_assert_false(load_stream(&dst, s->data, s->len, &err));
            g_assert_nonnull(strstr(err->message, "section 'opt': the writes did not"));
            g_assert_cmpint(opt_dst.cleanups, ==, 2);
        }
        side_clear(&src);
        side_clear(&dst);
        g_array_free(opt_src.received, TRUE);
        g_array_free(opt_dst.received, TRUE);
    }
}

/* A non-optional handler stays mandatory on the loader. */
static void test_mandatory_handler_missing(void)
{
    struct side src, dst;
    struct counter opt_src = { .total = 5 }, other = { 0 };
    static const struct savevm_live_ops mandatory = {
        .save_setup = ctr_save_setup,
        .save_live_iterate = ctr_iterate,
        .load_setup = ctr_load_setup,
        .load_state = ctr_load_state,
        .is_active = ctr_is_active,
    };
    g_autoptr(GByteArray) s = NULL;
    g_autoptr(GError) err = NULL;

    other.received = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    side_init(&src, "tern-1.0", true, &dev_vmsd);
    side_init(&dst, "tern-1.0", true, &dev_vmsd);
    g_assert_true(savevm_register_live(&src.sv, "opt", 0, 4, 4, &mandatory, &opt_src, &err));
    g_assert_true(savevm_register_live(&dst.sv, "opt", 0, 4, 4, &mandatory, &other, &err));
    s = make_stream(&src);
    expect_fail(&dst, s->data, s->len, "the stream has no section 'opt' instance 0");
    side_clear(&src);
    side_clear(&dst);
    g_array_free(other.received, TRUE);
}

static void test_dump(void)
{
    struct side s;
    g_autofree char *json = NULL;

    side_init(&s, "tern-1.0", true, &dev_vmsd);
    json = savevm_dump_vmstate(&s.sv);
    g_assert_nonnull(strstr(json, "\"vmschkmachine\""));
    g_assert_nonnull(strstr(json, "\"dev\" : {"));
    g_assert_null(strstr(json, "\"ram\"")); /* iterative handlers have no description */
    side_clear(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/savevm/round-trip", test_round_trip);
    g_test_add_func("/savevm/bad-streams", test_bad_streams);
    g_test_add_func("/savevm/4g-lengths", test_4g_lengths);
    g_test_add_func("/savevm/truncated-says-so", test_truncated_says_so);
    g_test_add_func("/savevm/registry-errors", test_registry_errors);
    g_test_add_func("/savevm/dump", test_dump);
    g_test_add_func("/savevm/optional-handler", test_optional_handler);
    g_test_add_func("/savevm/mandatory-handler-missing", test_mandatory_handler_missing);
    return g_test_run();
}
