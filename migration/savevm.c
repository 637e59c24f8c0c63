#include "migration/savevm.h"

#include <string.h>

#include "util/error.h"

void savevm_init(struct savevm *sv, const char *machine_type)
{
    memset(sv, 0, sizeof(*sv));
    sv->machine_type = g_strdup(machine_type);
    sv->entries = g_ptr_array_new_with_free_func(g_free);
}

void savevm_destroy(struct savevm *sv)
{
    g_free(sv->machine_type);
    if (sv->entries)
        g_ptr_array_unref(sv->entries);
    memset(sv, 0, sizeof(*sv));
}

const struct savevm_entry *savevm_find(const struct savevm *sv, const char *idstr,
                                       uint32_t instance_id)
{
    for (unsigned i = 0; i < sv->entries->len; i++) {
        const struct savevm_entry *e = g_ptr_array_index(sv->entries, i);

        if (e->instance_id == instance_id && !strcmp(e->idstr, idstr))
            return e;
    }
    return NULL;
}

static struct savevm_entry *savevm_add(struct savevm *sv, const char *idstr,
                                       uint32_t instance_id, GError **errp)
{
    struct savevm_entry *e;

    if (!*idstr || strlen(idstr) > 255) {
        error_setg(errp, "section name '%s' must be 1 to 255 bytes", idstr);
        return NULL;
    }
    if (savevm_find(sv, idstr, instance_id)) {
        error_setg(errp, "section '%s' instance %u is already registered", idstr, instance_id);
        return NULL;
    }
    e = g_new0(struct savevm_entry, 1);
    g_strlcpy(e->idstr, idstr, sizeof(e->idstr));
    e->instance_id = instance_id;
    e->section_id = sv->next_section_id++;
    g_ptr_array_add(sv->entries, e);
    return e;
}

bool savevm_register_vmsd(struct savevm *sv, const char *idstr, uint32_t instance_id,
                          const struct vmstate_description *vmsd, void *opaque, GError **errp)
{
    struct savevm_entry *e = savevm_add(sv, idstr, instance_id, errp);

    if (!e)
        return false;
    e->vmsd = vmsd;
    e->version_id = vmsd->version_id;
    e->minimum_version_id = vmsd->minimum_version_id;
    e->opaque = opaque;
    return true;
}

bool savevm_register_live(struct savevm *sv, const char *idstr, uint32_t instance_id,
                          int version_id, int minimum_version_id,
                          const struct savevm_live_ops *ops, void *opaque, GError **errp)
{
    struct savevm_entry *e = savevm_add(sv, idstr, instance_id, errp);

    if (!e)
        return false;
    e->ops = ops;
    e->version_id = version_id;
    e->minimum_version_id = minimum_version_id;
    e->opaque = opaque;
    return true;
}

#define SAVEVM_FOREACH(sv, e)                                                                     \
    for (unsigned _i = 0; _i < (sv)->entries->len &&                                              \
                          ((e) = g_ptr_array_index((sv)->entries, _i), true);                     \
         _i++)

/* ---- writer ---- */

void savevm_write_header(struct savevm *sv, QEMUFile *f)
{
    qemu_file_put_be32(f, QEMU_VM_FILE_MAGIC);
    qemu_file_put_be32(f, QEMU_VM_FILE_VERSION);
    qemu_file_put_byte(f, QEMU_VM_CONFIGURATION);
    qemu_file_put_be32(f, strlen(sv->machine_type));
    qemu_file_put_buffer(f, sv->machine_type, strlen(sv->machine_type));
}

void savevm_write_command(QEMUFile *f, uint16_t cmd, const void *data, uint16_t len)
{
    qemu_file_put_byte(f, QEMU_VM_COMMAND);
    qemu_file_put_be16(f, cmd);
    qemu_file_put_be16(f, len);
    if (len)
        qemu_file_put_buffer(f, data, len);
}

static void savevm_section_header(QEMUFile *f, uint8_t type, const struct savevm_entry *e)
{
    qemu_file_put_byte(f, type);
    qemu_file_put_be32(f, e->section_id);
    if (type == QEMU_VM_SECTION_START || type == QEMU_VM_SECTION_FULL) {
        qemu_file_put_str8(f, e->idstr);
        qemu_file_put_be32(f, e->instance_id);
        qemu_file_put_be32(f, e->version_id);
    }
}

static void savevm_section_footer(QEMUFile *f, const struct savevm_entry *e)
{
    qemu_file_put_byte(f, QEMU_VM_SECTION_FOOTER);
    qemu_file_put_be32(f, e->section_id);
}

static bool savevm_check_stream(QEMUFile *f, GError **errp)
{
    return qemu_file_take_error(f, errp);
}

bool savevm_save_setup(struct savevm *sv, QEMUFile *f, GError **errp)
{
    struct savevm_entry *e;

    SAVEVM_FOREACH(sv, e)
    {
        if (!e->ops)
            continue;
        e->save_active = !e->ops->is_active || e->ops->is_active(e->opaque);
        if (!e->save_active)
            continue;
        savevm_section_header(f, QEMU_VM_SECTION_START, e);
        e->save_setup_called = true;
        if (e->ops->save_setup && !e->ops->save_setup(f, e->opaque, errp)) {
            g_prefix_error(errp, "section '%s': ", e->idstr);
            return false;
        }
        savevm_section_footer(f, e);
    }
    return savevm_check_stream(f, errp);
}

int savevm_save_iterate(struct savevm *sv, QEMUFile *f, GError **errp)
{
    struct savevm_entry *e;
    int all_done = 1;

    SAVEVM_FOREACH(sv, e)
    {
        int r;

        if (!e->ops || !e->save_active || !e->ops->save_live_iterate)
            continue;
        savevm_section_header(f, QEMU_VM_SECTION_PART, e);
        r = e->ops->save_live_iterate(f, e->opaque, errp);
        if (r < 0) {
            g_prefix_error(errp, "section '%s': ", e->idstr);
            return -1;
        }
        savevm_section_footer(f, e);
        if (r == 0)
            all_done = 0;
    }
    return savevm_check_stream(f, errp) ? all_done : -1;
}

uint64_t savevm_pending(struct savevm *sv, uint64_t threshold)
{
    struct savevm_entry *e;
    uint64_t sum = 0;

    SAVEVM_FOREACH(sv, e)
    {
        if (e->ops && e->save_active && e->ops->state_pending)
            sum += e->ops->state_pending(e->opaque, threshold);
    }
    return sum;
}

bool savevm_first_pass_done(struct savevm *sv)
{
    struct savevm_entry *e;

    SAVEVM_FOREACH(sv, e)
    {
        if (e->ops && e->save_active && e->ops->first_pass_done &&
            !e->ops->first_pass_done(e->opaque))
            return false;
    }
    return true;
}

static bool savevm_save_device(QEMUFile *f, struct savevm_entry *e, JsonBuilder *vmdesc,
                               GError **errp)
{
    savevm_section_header(f, QEMU_VM_SECTION_FULL, e);
    json_builder_begin_object(vmdesc);
    json_builder_set_member_name(vmdesc, "name");
    json_builder_add_string_value(vmdesc, e->idstr);
    json_builder_set_member_name(vmdesc, "instance_id");
    json_builder_add_int_value(vmdesc, e->instance_id);
    if (!vmstate_save(f, e->vmsd, e->opaque, vmdesc, errp)) {
        g_prefix_error(errp, "section '%s': ", e->idstr);
        return false;
    }
    json_builder_end_object(vmdesc);
    savevm_section_footer(f, e);
    return true;
}

static void savevm_write_vmdesc(QEMUFile *f, JsonBuilder *b)
{
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *json = NULL;
    gsize len;

    json_generator_set_root(gen, root);
    json = json_generator_to_data(gen, &len);
    qemu_file_put_byte(f, QEMU_VM_VMDESCRIPTION);
    qemu_file_put_be32(f, len);
    qemu_file_put_buffer(f, json, len);
}

bool savevm_save_complete_live(struct savevm *sv, QEMUFile *f, GError **errp)
{
    struct savevm_entry *e;

    SAVEVM_FOREACH(sv, e)
    {
        if (!e->ops || !e->save_active)
            continue;
        savevm_section_header(f, QEMU_VM_SECTION_END, e);
        if (e->ops->save_live_complete && !e->ops->save_live_complete(f, e->opaque, errp)) {
            g_prefix_error(errp, "section '%s': ", e->idstr);
            return false;
        }
        savevm_section_footer(f, e);
    }
    return savevm_check_stream(f, errp);
}

bool savevm_save_devices(struct savevm *sv, QEMUFile *f, GError **errp)
{
    g_autoptr(JsonBuilder) vmdesc = json_builder_new();
    struct savevm_entry *e;

    json_builder_begin_object(vmdesc);
    json_builder_set_member_name(vmdesc, "page_size");
    json_builder_add_int_value(vmdesc, 4096);
    json_builder_set_member_name(vmdesc, "devices");
    json_builder_begin_array(vmdesc);
    SAVEVM_FOREACH(sv, e)
    {
        /* As QEMU: a device whose needed() says no sends no section. */
        if (!e->vmsd || (e->vmsd->needed && !e->vmsd->needed(e->opaque)))
            continue;
        if (!savevm_save_device(f, e, vmdesc, errp))
            return false;
    }
    json_builder_end_array(vmdesc);
    json_builder_end_object(vmdesc);
    qemu_file_put_byte(f, QEMU_VM_EOF);
    savevm_write_vmdesc(f, vmdesc);
    qemu_file_flush(f);
    return savevm_check_stream(f, errp);
}

bool savevm_save_complete(struct savevm *sv, QEMUFile *f, GError **errp)
{
    return savevm_save_complete_live(sv, f, errp) && savevm_save_devices(sv, f, errp);
}

void savevm_save_cleanup(struct savevm *sv)
{
    struct savevm_entry *e;

    SAVEVM_FOREACH(sv, e)
    {
        if (e->save_setup_called && e->ops->save_cleanup)
            e->ops->save_cleanup(e->opaque);
        e->save_setup_called = e->save_active = false;
    }
}

bool savevm_save_all(struct savevm *sv, QEMUFile *f, GError **errp)
{
    bool ok;

    savevm_write_header(sv, f);
    ok = savevm_save_setup(sv, f, errp) && savevm_save_complete(sv, f, errp);
    savevm_save_cleanup(sv);
    return ok;
}

/* ---- loader ---- */

/* The sticky stream error as a GError with @what in front. */
static bool savevm_stream_failed(QEMUFile *f, const char *what, GError **errp)
{
    const GError *e = qemu_file_get_error(f);

    if (!e)
        return false;
    error_setg(errp, "%s: %s", what, e->message);
    return true;
}

static bool savevm_load_header(struct savevm *sv, QEMUFile *f, GError **errp)
{
    uint32_t magic = qemu_file_get_be32(f), version = qemu_file_get_be32(f), len;
    char name[256];

    if (savevm_stream_failed(f, "stream header", errp))
        return false;
    if (magic != QEMU_VM_FILE_MAGIC) {
        error_setg(errp, "not a migration stream (magic 0x%08x, expected 0x%08x \"QEVM\")",
                   magic, QEMU_VM_FILE_MAGIC);
        return false;
    }
    if (version != QEMU_VM_FILE_VERSION) {
        error_setg(errp, "unsupported stream version %u (expected %d)", version,
                   QEMU_VM_FILE_VERSION);
        return false;
    }
    if (qemu_file_get_byte(f) != QEMU_VM_CONFIGURATION) {
        if (!savevm_stream_failed(f, "configuration", errp))
            error_setg(errp, "stream has no configuration section");
        return false;
    }
    len = qemu_file_get_be32(f);
    if (len >= sizeof(name)) {
        error_setg(errp, "configuration: machine type name of %u bytes is too long", len);
        return false;
    }
    qemu_file_get_buffer(f, name, len);
    name[len] = 0;
    if (savevm_stream_failed(f, "configuration", errp))
        return false;
    if (strcmp(name, sv->machine_type)) {
        error_setg(errp, "configuration: stream is for machine type '%s', this VM is '%s'", name,
                   sv->machine_type);
        return false;
    }
    if (qemu_file_peek_byte(f, 0) == QEMU_VM_SUBSECTION) {
        error_setg(errp, "configuration: unknown subsection");
        return false;
    }
    return true;
}

static bool savevm_load_command(struct savevm *sv, QEMUFile *f, GError **errp)
{
    uint16_t cmd = qemu_file_get_be16(f), len = qemu_file_get_be16(f);

    if (savevm_stream_failed(f, "command", errp))
        return false;
    switch (cmd) {
    case MIG_CMD_OPEN_RETURN_PATH:
        if (len != 0)
            break;
        sv->return_path_requested = true;
        return true;
    case MIG_CMD_PING:
        if (len != 4)
            break;
        qemu_file_get_be32(f);
        return !savevm_stream_failed(f, "command PING", errp);
    default:
        error_setg(errp, "unknown command %u", cmd);
        return false;
    }
    error_setg(errp, "command %u with invalid length %u", cmd, len);
    return false;
}

static bool savevm_load_footer(QEMUFile *f, const struct savevm_entry *e, uint32_t id,
                               GError **errp)
{
    uint8_t mark = qemu_file_get_byte(f);
    uint32_t fid = qemu_file_get_be32(f);

    if (savevm_stream_failed(f, "section footer", errp)) {
        g_prefix_error(errp, "section '%s': ", e->idstr);
        return false;
    }
    if (mark != QEMU_VM_SECTION_FOOTER) {
        error_setg(errp, "section '%s': missing footer (found 0x%02x)", e->idstr, mark);
        return false;
    }
    if (fid != id) {
        error_setg(errp, "section '%s': footer has section id %u, expected %u", e->idstr, fid,
                   id);
        return false;
    }
    return true;
}

/* START and FULL: header with idstr, instance and version. */
static struct savevm_entry *savevm_load_section_header(struct savevm *sv, QEMUFile *f,
                                                       uint8_t type, uint32_t *id,
                                                       int *version, GError **errp)
{
    char idstr[257];
    uint32_t instance;
    struct savevm_entry *e;

    *id = qemu_file_get_be32(f);
    qemu_file_get_str8(f, idstr);
    instance = qemu_file_get_be32(f);
    *version = (int)qemu_file_get_be32(f);
    if (savevm_stream_failed(f, "section header", errp))
        return NULL;
    e = (struct savevm_entry *)savevm_find(sv, idstr, instance);
    if (!e) {
        error_setg(errp, "unknown section '%s' instance %u (no such device here)", idstr,
                   instance);
        return NULL;
    }
    if ((type == QEMU_VM_SECTION_FULL) != (e->vmsd != NULL)) {
        error_setg(errp, "section '%s': wrong section type %u", idstr, type);
        return NULL;
    }
    if (*version > e->version_id || *version < e->minimum_version_id) {
        error_setg(errp, "section '%s': version %d outside the supported range %d..%d", idstr,
                   *version, e->minimum_version_id, e->version_id);
        return NULL;
    }
    return e;
}

static bool savevm_load_full(struct savevm *sv, QEMUFile *f, GError **errp)
{
    uint32_t id;
    int version;
    bool ok;
    struct savevm_entry *e = savevm_load_section_header(sv, f, QEMU_VM_SECTION_FULL, &id,
                                                        &version, errp);

    if (!e)
        return false;
    if (e->loaded) {
        error_setg(errp, "section '%s': sent twice", e->idstr);
        return false;
    }
    if (sv->device_lock)
        g_mutex_lock(sv->device_lock);
    ok = vmstate_load(f, e->vmsd, e->opaque, version, errp);
    if (sv->device_lock)
        g_mutex_unlock(sv->device_lock);
    if (!ok) {
        g_prefix_error(errp, "section '%s': ", e->idstr);
        return false;
    }
    e->loaded = true;
    return savevm_load_footer(f, e, id, errp);
}

static bool savevm_load_live(struct savevm_entry *e, QEMUFile *f, uint32_t id, int version,
                             GError **errp)
{
    if (e->ops->load_state && !e->ops->load_state(f, e->opaque, version, errp)) {
        g_prefix_error(errp, "section '%s': ", e->idstr);
        return false;
    }
    if (savevm_stream_failed(f, e->idstr, errp)) {
        g_prefix_error(errp, "section: ");
        return false;
    }
    return savevm_load_footer(f, e, id, errp);
}

static bool savevm_load_start(struct savevm *sv, QEMUFile *f, GError **errp)
{
    uint32_t id;
    int version;
    struct savevm_entry *e = savevm_load_section_header(sv, f, QEMU_VM_SECTION_START, &id,
                                                        &version, errp);

    if (!e)
        return false;
    if (e->started) {
        error_setg(errp, "section '%s': started twice", e->idstr);
        return false;
    }
    e->started = true;
    e->stream_section_id = id;
    e->stream_version = version; /* PART/END of this handler are at this version */
    if (e->ops->load_setup && !e->ops->load_setup(e->opaque, errp)) {
        g_prefix_error(errp, "section '%s': load_setup: ", e->idstr);
        return false;
    }
    e->setup_done = true;
    return savevm_load_live(e, f, id, version, errp);
}

static bool savevm_load_part(struct savevm *sv, QEMUFile *f, GError **errp)
{
    uint32_t id = qemu_file_get_be32(f);
    struct savevm_entry *e;

    if (savevm_stream_failed(f, "section header", errp))
        return false;
    SAVEVM_FOREACH(sv, e)
    {
        if (e->ops && e->started && e->stream_section_id == id)
            return savevm_load_live(e, f, id, e->stream_version, errp);
    }
    error_setg(errp, "section id %u was never started", id);
    return false;
}

static bool savevm_skip_vmdesc(QEMUFile *f, GError **errp)
{
    uint32_t len;

    if (qemu_file_peek_byte(f, 0) != QEMU_VM_VMDESCRIPTION)
        return true;
    qemu_file_get_byte(f);
    len = qemu_file_get_be32(f);
    if (len > SAVEVM_VMDESC_MAX) {
        error_setg(errp, "vmdesc of %u bytes is too large", len);
        return false;
    }
    qemu_file_skip(f, len);
    return !savevm_stream_failed(f, "vmdesc", errp);
}

/* At EOF: every section this VM expects has arrived.  A section the
 * source lacks (another -smp, a device missing there) would leave that
 * device in its reset state under a running guest.  Sections whose
 * description has needed() are optional, as the sender may skip them;
 * so are iterative handlers marked optional.  Then every handler that
 * was started finishes its work (load_complete). */
static bool savevm_load_complete(struct savevm *sv, GError **errp)
{
    struct savevm_entry *e;

    SAVEVM_FOREACH(sv, e)
    {
        if (e->ops ? e->started || e->ops->optional : e->loaded || e->vmsd->needed)
            continue;
        error_setg(errp, "the stream has no section '%s' instance %u (the source has no "
                         "such device: the machine configurations differ)",
                   e->idstr, e->instance_id);
        return false;
    }
    SAVEVM_FOREACH(sv, e)
    {
        if (e->ops && e->started && e->ops->load_complete &&
            !e->ops->load_complete(e->opaque, errp)) {
            g_prefix_error(errp, "section '%s': ", e->idstr);
            return false;
        }
    }
    return true;
}

static void savevm_load_cleanup(struct savevm *sv)
{
    struct savevm_entry *e;

    SAVEVM_FOREACH(sv, e)
    {
        if (e->setup_done && e->ops->load_cleanup)
            e->ops->load_cleanup(e->opaque);
        e->started = e->setup_done = e->loaded = false;
    }
}

static bool savevm_load_sections(struct savevm *sv, QEMUFile *f, GError **errp)
{
    for (;;) {
        uint8_t type = qemu_file_get_byte(f);
        bool ok;

        if (savevm_stream_failed(f, "section type", errp))
            return false;
        switch (type) {
        case QEMU_VM_EOF:
            return savevm_load_complete(sv, errp) && savevm_skip_vmdesc(f, errp);
        case QEMU_VM_SECTION_START: ok = savevm_load_start(sv, f, errp); break;
        case QEMU_VM_SECTION_PART:
        case QEMU_VM_SECTION_END: ok = savevm_load_part(sv, f, errp); break;
        case QEMU_VM_SECTION_FULL: ok = savevm_load_full(sv, f, errp); break;
        case QEMU_VM_COMMAND: ok = savevm_load_command(sv, f, errp); break;
        default:
            error_setg(errp, "unknown section type 0x%02x", type);
            return false;
        }
        if (!ok)
            return false;
    }
}

bool savevm_load(struct savevm *sv, QEMUFile *f, GError **errp)
{
    bool ok = savevm_load_header(sv, f, errp) && savevm_load_sections(sv, f, errp);

    savevm_load_cleanup(sv);
    return ok;
}

/* ---- -dump-vmstate ---- */

char *savevm_dump_vmstate(const struct savevm *sv)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    struct savevm_entry *e;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "vmschkmachine");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "Name");
    json_builder_add_string_value(b, sv->machine_type);
    json_builder_end_object(b);
    SAVEVM_FOREACH(sv, e)
    {
        if (!e->vmsd || e->instance_id != 0)
            continue; /* one entry per device type, as QEMU */
        json_builder_set_member_name(b, e->idstr);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "Name");
        json_builder_add_string_value(b, e->vmsd->name);
        json_builder_set_member_name(b, "version_id");
        json_builder_add_int_value(b, e->vmsd->version_id);
        json_builder_set_member_name(b, "minimum_version_id");
        json_builder_add_int_value(b, e->vmsd->minimum_version_id);
        json_builder_set_member_name(b, "Description");
        vmstate_dump(b, e->vmsd);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    return json_generator_to_data(gen, NULL);
}
