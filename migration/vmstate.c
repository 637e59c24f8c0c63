#include "migration/vmstate.h"

#include <string.h>

#include "migration/vmstate-types.h"
#include "util/error.h"

/* ---- helpers shared by save and load ---- */

static uint64_t vmstate_read_count(const void *opaque, const struct vmstate_field *field)
{
    const uint8_t *p = (const uint8_t *)opaque + field->count_offset;

    switch (field->count_kind) {
    case VMS_COUNT_U8: return *p;
    case VMS_COUNT_U16: return *(const uint16_t *)p;
    case VMS_COUNT_U32: return *(const uint32_t *)p;
    default: return field->num;
    }
}

/* Elements in the stream for @field; for variable arrays the count must fit
 * the array (hostile input on load, a bug on save). */
static bool vmstate_elements(const void *opaque, const struct vmstate_field *field,
                             uint64_t *n, GError **errp)
{
    if (field->kind == VMS_BITMAP || field->kind == VMS_UNUSED) {
        *n = 1;
        return true;
    }
    *n = vmstate_read_count(opaque, field);
    if (*n > field->num) {
        error_setg(errp, "%" G_GUINT64_FORMAT " elements exceed the capacity of %u", *n,
                   field->num);
        return false;
    }
    return true;
}

static size_t vmstate_bitmap_words(const struct vmstate_field *field)
{
    return (field->num + 63) / 64;
}

/* The unsigned long words of a bitmap field that carry bits. */
static size_t vmstate_bitmap_bytes(const struct vmstate_field *field)
{
    return vmstate_bitmap_words(field) * sizeof(unsigned long);
}

/* Bytes one element takes in the stream. */
static size_t vmstate_wire_size(const struct vmstate_field *field)
{
    if (field->kind == VMS_BOOL)
        return 1;
    if (field->kind == VMS_BITMAP)
        return vmstate_bitmap_words(field) * 8;
    return field->size;
}

static bool vmstate_stream_error(QEMUFile *f, GError **errp)
{
    const GError *e = qemu_file_get_error(f);

    if (!e)
        return false;
    error_setg(errp, "%s", e->message);
    return true;
}

/* ---- vmdesc (the JSON trailer describing what was written) ---- */

static void vmdesc_field(JsonBuilder *b, const struct vmstate_field *field, uint64_t n,
                         int64_t index)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, field->name);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, vmstate_kind_name(field->kind));
    if (index >= 0) {
        json_builder_set_member_name(b, "index");
        json_builder_add_int_value(b, index);
    } else if (n != 1) {
        json_builder_set_member_name(b, "array_len");
        json_builder_add_int_value(b, n);
    }
    if (field->kind != VMS_STRUCT) {
        json_builder_set_member_name(b, "size");
        json_builder_add_int_value(b, vmstate_wire_size(field));
    }
}

/* ---- save ---- */

static bool vmstate_save_field(QEMUFile *f, const struct vmstate_field *field, void *opaque,
                               JsonBuilder *vmdesc, GError **errp)
{
    uint8_t *base = (uint8_t *)opaque + field->offset;
    const struct vmstate_info *info = vmstate_info_for(field->kind);
    uint64_t n;

    if (field->kind == VMS_VALIDATE)
        return true;
    if (!vmstate_elements(opaque, field, &n, errp))
        return false;
    if (field->kind != VMS_STRUCT) {
        /* an empty variable array has no vmdesc entry, as in QEMU, whose
         * analyze-migration.py would otherwise read one element */
        if (vmdesc && n) {
            vmdesc_field(vmdesc, field, n, -1);
            json_builder_end_object(vmdesc);
        }
        for (uint64_t i = 0; i < n; i++)
            info->put(f, base + i * field->size,
                      field->kind == VMS_BITMAP ? vmstate_bitmap_bytes(field) : field->size);
        return true;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (vmdesc) {
            vmdesc_field(vmdesc, field, n, field->num > 1 ? (int64_t)i : -1);
            json_builder_set_member_name(vmdesc, "struct");
            json_builder_begin_object(vmdesc);
        }
        if (!vmstate_save(f, field->vmsd, base + i * field->size, vmdesc, errp))
            return false;
        if (vmdesc) {
            json_builder_end_object(vmdesc); /* struct */
            json_builder_end_object(vmdesc); /* field */
        }
    }
    return true;
}

static bool vmstate_save_subsections(QEMUFile *f, const struct vmstate_description *vmsd,
                                     void *opaque, JsonBuilder *vmdesc, GError **errp)
{
    bool any = false;

    for (const struct vmstate_description *const *sub = vmsd->subsections; sub && *sub; sub++) {
        if ((*sub)->needed && !(*sub)->needed(opaque))
            continue;
        if (vmdesc && !any) {
            json_builder_set_member_name(vmdesc, "subsections");
            json_builder_begin_array(vmdesc);
        }
        any = true;
        qemu_file_put_byte(f, VMSTATE_SUBSECTION_MARK);
        qemu_file_put_str8(f, (*sub)->name);
        qemu_file_put_be32(f, (*sub)->version_id);
        if (vmdesc)
            json_builder_begin_object(vmdesc);
        if (!vmstate_save(f, *sub, opaque, vmdesc, errp))
            return false;
        if (vmdesc)
            json_builder_end_object(vmdesc);
    }
    if (vmdesc && any)
        json_builder_end_array(vmdesc);
    return true;
}

bool vmstate_save(QEMUFile *f, const struct vmstate_description *vmsd, void *opaque,
                  JsonBuilder *vmdesc, GError **errp)
{
    if (vmsd->pre_save && !vmsd->pre_save(opaque, errp)) {
        g_prefix_error(errp, "%s: pre_save: ", vmsd->name);
        return false;
    }
    if (vmdesc) {
        json_builder_set_member_name(vmdesc, "vmsd_name");
        json_builder_add_string_value(vmdesc, vmsd->name);
        json_builder_set_member_name(vmdesc, "version");
        json_builder_add_int_value(vmdesc, vmsd->version_id);
        json_builder_set_member_name(vmdesc, "fields");
        json_builder_begin_array(vmdesc);
    }
    for (const struct vmstate_field *field = vmsd->fields; field && field->name; field++) {
        if (!vmstate_save_field(f, field, opaque, vmdesc, errp)) {
            g_prefix_error(errp, "%s: field '%s': ", vmsd->name, field->name);
            return false;
        }
    }
    if (vmdesc)
        json_builder_end_array(vmdesc);
    if (!vmstate_save_subsections(f, vmsd, opaque, vmdesc, errp))
        return false;
    if (vmstate_stream_error(f, errp)) {
        g_prefix_error(errp, "%s: ", vmsd->name);
        return false;
    }
    return true;
}

/* ---- load ---- */

/* "equal" fields: read into a scratch copy and compare with the local one. */
static bool vmstate_load_equal(QEMUFile *f, const struct vmstate_field *field, uint8_t *p,
                               const struct vmstate_info *info, GError **errp)
{
    uint64_t got = 0, want = 0;

    if (!info->get(f, &got, field->size, errp))
        return false;
    memcpy(&want, p, field->size);
    if (!qemu_file_get_error(f) && got != want) {
        error_setg(errp, "stream has %" G_GUINT64_FORMAT ", this side has %" G_GUINT64_FORMAT,
                   got, want);
        return false;
    }
    return true;
}

/* No bit past @num may be set: the sender's bitmap was longer. */
static bool vmstate_check_bitmap(const struct vmstate_field *field, const uint8_t *p,
                                 GError **errp)
{
    const unsigned long *w = (const unsigned long *)p;
    size_t words = vmstate_bitmap_words(field);
    unsigned tail = field->num % 64;

    if (tail && (w[words - 1] >> tail)) {
        error_setg(errp, "bits set beyond the bitmap's %u bits", field->num);
        return false;
    }
    return true;
}

static bool vmstate_load_field(QEMUFile *f, const struct vmstate_field *field, void *opaque,
                               int version_id, GError **errp)
{
    uint8_t *base = (uint8_t *)opaque + field->offset;
    const struct vmstate_info *info = vmstate_info_for(field->kind);
    uint64_t n;

    if (field->kind == VMS_VALIDATE) {
        if (!field->validate(opaque, version_id)) {
            error_setg(errp, "validation failed");
            return false;
        }
        return true;
    }
    if (!vmstate_elements(opaque, field, &n, errp))
        return false;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *p = base + i * field->size;
        bool ok;

        if (field->kind == VMS_STRUCT)
            ok = vmstate_load(f, field->vmsd, p, field->vmsd->version_id, errp);
        else if (field->equal)
            ok = vmstate_load_equal(f, field, p, info, errp);
        else if (field->kind == VMS_BITMAP)
            ok = info->get(f, p, vmstate_bitmap_bytes(field), errp) &&
                 vmstate_check_bitmap(field, p, errp);
        else
            ok = info->get(f, p, field->size, errp);
        if (!ok)
            return false;
        if (vmstate_stream_error(f, errp))
            return false;
    }
    return true;
}

/* The index of @vmsd's subsection @name, or -1. */
static int vmstate_find_subsection(const struct vmstate_description *vmsd, const char *name)
{
    for (int i = 0; i < VMSTATE_MAX_SUBSECTIONS && vmsd->subsections && vmsd->subsections[i];
         i++) {
        if (!strcmp(vmsd->subsections[i]->name, name))
            return i;
    }
    return -1;
}

/* Is the next thing in the stream a subsection of @vmsd ("vmsd/...")?  Peeks
 * the marker and the name; fills @name (>= 257 bytes) when it is. */
static bool vmstate_peek_subsection(QEMUFile *f, const struct vmstate_description *vmsd,
                                    char *name)
{
    size_t plen = strlen(vmsd->name);
    uint8_t hdr[2 + 255];
    size_t got;

    if (qemu_file_peek_byte(f, 0) != VMSTATE_SUBSECTION_MARK)
        return false;
    got = qemu_file_peek_buffer(f, hdr, 2);
    if (got < 2)
        return false;
    got = qemu_file_peek_buffer(f, hdr, 2 + hdr[1]);
    if (got < 2u + hdr[1])
        return false;
    if (hdr[1] <= plen || memcmp(hdr + 2, vmsd->name, plen) || hdr[2 + plen] != '/')
        return false;
    memcpy(name, hdr + 2, hdr[1]);
    name[hdr[1]] = 0;
    return true;
}

/* Each subsection at most once: a stream repeating one would have its
 * fields and post_load applied again and again. */
static bool vmstate_load_subsections(QEMUFile *f, const struct vmstate_description *vmsd,
                                     void *opaque, GError **errp)
{
    char name[257];
    uint64_t loaded = 0; /* bit i: vmsd->subsections[i] */

    while (vmstate_peek_subsection(f, vmsd, name)) {
        int i = vmstate_find_subsection(vmsd, name);
        const struct vmstate_description *sub;
        int version;

        if (i < 0) {
            error_setg(errp, "%s: unknown subsection '%s'", vmsd->name, name);
            return false;
        }
        if (loaded & (1ull << i)) {
            error_setg(errp, "%s: subsection '%s' sent twice", vmsd->name, name);
            return false;
        }
        loaded |= 1ull << i;
        sub = vmsd->subsections[i];
        qemu_file_skip(f, 2 + strlen(name));
        version = (int)qemu_file_get_be32(f);
        if (vmstate_stream_error(f, errp))
            return false;
        if (!vmstate_load(f, sub, opaque, version, errp))
            return false;
    }
    return true;
}

static bool vmstate_check_version(const struct vmstate_description *vmsd, int version_id,
                                  GError **errp)
{
    if (version_id > vmsd->version_id) {
        error_setg(errp, "%s: stream version %d is newer than this side's %d", vmsd->name,
                   version_id, vmsd->version_id);
        return false;
    }
    if (version_id < vmsd->minimum_version_id) {
        error_setg(errp, "%s: stream version %d is older than the minimum %d", vmsd->name,
                   version_id, vmsd->minimum_version_id);
        return false;
    }
    return true;
}

bool vmstate_load(QEMUFile *f, const struct vmstate_description *vmsd, void *opaque,
                  int version_id, GError **errp)
{
    if (!vmstate_check_version(vmsd, version_id, errp))
        return false;
    if (vmsd->pre_load && !vmsd->pre_load(opaque, errp)) {
        g_prefix_error(errp, "%s: pre_load: ", vmsd->name);
        return false;
    }
    for (const struct vmstate_field *field = vmsd->fields; field && field->name; field++) {
        if (field->version_id > version_id)
            continue; /* not in streams this old */
        if (!vmstate_load_field(f, field, opaque, version_id, errp)) {
            g_prefix_error(errp, "%s: field '%s': ", vmsd->name, field->name);
            return false;
        }
    }
    if (!vmstate_load_subsections(f, vmsd, opaque, errp))
        return false;
    if (vmstate_stream_error(f, errp)) {
        g_prefix_error(errp, "%s: ", vmsd->name);
        return false;
    }
    if (vmsd->post_load && !vmsd->post_load(opaque, version_id, errp)) {
        g_prefix_error(errp, "%s: post_load: ", vmsd->name);
        return false;
    }
    return true;
}

/* ---- -dump-vmstate ---- */

static void vmstate_dump_field(JsonBuilder *b, const struct vmstate_field *field)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "field");
    json_builder_add_string_value(b, field->name);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, vmstate_kind_name(field->kind));
    json_builder_set_member_name(b, "version_id");
    json_builder_add_int_value(b, field->version_id);
    json_builder_set_member_name(b, "field_exists");
    json_builder_add_boolean_value(b, false);
    json_builder_set_member_name(b, "size");
    json_builder_add_int_value(b, field->kind == VMS_VALIDATE ? 0 : vmstate_wire_size(field));
    if (field->num != 1 && field->kind != VMS_BITMAP) {
        json_builder_set_member_name(b, "num");
        json_builder_add_int_value(b, field->num);
        json_builder_set_member_name(b, "variable");
        json_builder_add_boolean_value(b, field->count_kind != VMS_COUNT_FIXED);
    }
    if (field->kind == VMS_BITMAP) {
        json_builder_set_member_name(b, "bits");
        json_builder_add_int_value(b, field->num);
    }
    if (field->equal) {
        json_builder_set_member_name(b, "equal");
        json_builder_add_boolean_value(b, true);
    }
    if (field->kind == VMS_STRUCT) {
        json_builder_set_member_name(b, "Description");
        vmstate_dump(b, field->vmsd);
    }
    json_builder_end_object(b);
}

void vmstate_dump(JsonBuilder *b, const struct vmstate_description *vmsd)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, vmsd->name);
    json_builder_set_member_name(b, "version_id");
    json_builder_add_int_value(b, vmsd->version_id);
    json_builder_set_member_name(b, "minimum_version_id");
    json_builder_add_int_value(b, vmsd->minimum_version_id);
    json_builder_set_member_name(b, "Fields");
    json_builder_begin_array(b);
    for (const struct vmstate_field *field = vmsd->fields; field && field->name; field++)
        vmstate_dump_field(b, field);
    json_builder_end_array(b);
    if (vmsd->subsections && vmsd->subsections[0]) {
        json_builder_set_member_name(b, "Subsections");
        json_builder_begin_array(b);
        for (const struct vmstate_description *const *s = vmsd->subsections; *s; s++)
            vmstate_dump(b, *s);
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
}
