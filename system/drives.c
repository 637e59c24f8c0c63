#include "system/drives.h"

#include <string.h>

#include "util/error.h"
#include "util/keyval.h"

static void drive_def_free(gpointer p)
{
    struct drive_def *def = p;

    g_free(def->id);
    g_free(def->spec);
    block_options_clear(&def->bo);
    g_free(def);
}

static void disk_config_free(gpointer p)
{
    struct disk_config *disk = p;

    g_free(disk->drive_ref);
    g_free(disk->serial);
    g_free(disk);
}

void drives_init(struct drives *d)
{
    d->defs = g_ptr_array_new_with_free_func(drive_def_free);
    d->disks = g_ptr_array_new_with_free_func(disk_config_free);
    d->nvirtio = 0;
}

void drives_clear(struct drives *d)
{
    if (d->defs)
        g_ptr_array_unref(d->defs);
    if (d->disks)
        g_ptr_array_unref(d->disks);
    memset(d, 0, sizeof(*d));
}

static struct drive_def *drives_find(struct drives *d, const char *id)
{
    for (unsigned i = 0; i < d->defs->len; i++) {
        struct drive_def *def = d->defs->pdata[i];

        if (!strcmp(def->id, id))
            return def;
    }
    return NULL;
}

/* Take the block layer's keys and add the definition under @id. */
static struct drive_def *drives_add(struct drives *d, const char *option, const char *arg,
                                    char *id, GHashTable *kv, GError **errp)
{
    g_autofree char *owned_id = id;
    struct drive_def *def;

    if (drives_find(d, id)) {
        error_setg(errp, "Duplicate ID '%s' for drive", id);
        return NULL;
    }
    def = g_new0(struct drive_def, 1);
    if (!block_options_take(kv, &def->bo, errp) || !keyval_check_empty(kv, option + 1, errp)) {
        drive_def_free(def);
        return NULL;
    }
    def->id = g_steal_pointer(&owned_id);
    def->option = option;
    def->spec = g_strdup_printf("%s %s", option, arg);
    g_ptr_array_add(d->defs, def);
    return def;
}

static struct disk_config *drives_add_disk(struct drives *d, char *serial)
{
    struct disk_config *disk = g_new0(struct disk_config, 1);

    disk->serial = serial;
    g_ptr_array_add(d->disks, disk);
    return disk;
}

static bool drives_check_format(GHashTable *kv, GError **errp)
{
    g_autofree char *format = keyval_take_str(kv, "format");
    g_autofree char *media = keyval_take_str(kv, "media");

    if (format && strcmp(format, "raw")) {
        error_setg(errp, "format '%s' is not supported (Tern opens raw images only)", format);
        return false;
    }
    if (media && strcmp(media, "disk")) {
        error_setg(errp, "media '%s' is not supported (only disk)", media);
        return false;
    }
    return true;
}

bool drives_parse_drive(struct drives *d, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, NULL, errp);
    g_autofree char *iface = NULL, *id = NULL, *serial = NULL;
    struct drive_def *def;
    bool virtio;

    if (!kv || !drives_check_format(kv, errp))
        return false;
    iface = keyval_take_str(kv, "if");
    id = keyval_take_str(kv, "id");
    serial = keyval_take_str(kv, "serial");
    virtio = !iface || !strcmp(iface, "virtio");
    if (!virtio && strcmp(iface, "none")) {
        error_setg(errp, "if=%s is not supported (Tern has virtio disks: if=virtio or if=none "
                         "with -device virtio-blk)", iface);
        return false;
    }
    if (!virtio && serial) {
        error_setg(errp, "serial= belongs on -device virtio-blk for an if=none drive");
        return false;
    }
    if (!virtio && !id) {
        error_setg(errp, "an if=none drive needs id= (for -device virtio-blk,drive=ID)");
        return false;
    }
    if (!id)
        id = g_strdup_printf("virtio%u", d->nvirtio);
    def = drives_add(d, "-drive", arg, g_steal_pointer(&id), kv, errp);
    if (!def)
        return false;
    if (virtio) {
        d->nvirtio++;
        def->used = true;
        drives_add_disk(d, g_steal_pointer(&serial))->drive = def;
    }
    return true;
}

/* Rename -blockdev's keys to -drive's (block_options_take() knows those). */
static bool drives_blockdev_keys(GHashTable *kv, const char *prefix, GError **errp)
{
    static const char *const renames[][2] = {
        { "filename", "file" },
        { "read-only", "readonly" },
        { "locking", "file.locking" },
    };
    bool direct = false;

    for (unsigned i = 0; i < G_N_ELEMENTS(renames); i++) {
        g_autofree char *from = g_strconcat(prefix, renames[i][0], NULL);
        char *v = keyval_take_str(kv, from);

        if (v)
            g_hash_table_replace(kv, g_strdup(renames[i][1]), v);
    }
    {
        g_autofree char *key = g_strconcat(prefix, "cache.direct", NULL);
        if (!keyval_take_bool(kv, key, &direct, errp))
            return false;
    }
    if (direct)
        g_hash_table_replace(kv, g_strdup("cache"), g_strdup("none"));
    return true;
}

/* driver=raw over file=NODE: the raw node takes the file node's image. */
static bool drives_blockdev_raw(struct drives *d, const char *arg, GHashTable *kv, char *node,
                                GError **errp)
{
    g_autofree char *node_owned = node;
    g_autofree char *file = keyval_take_str(kv, "file");
    g_autofree char *file_driver = keyval_take_str(kv, "file.driver");
    struct drive_def *base, *def;

    if (file_driver) {
        /* Nested: file.driver=file,file.filename=PATH,... */
        if (strcmp(file_driver, "file")) {
            error_setg(errp, "file.driver=%s is not supported (only file)", file_driver);
            return false;
        }
        if (file) {
            error_setg(errp, "file= and file.driver= cannot both be given");
            return false;
        }
        return drives_blockdev_keys(kv, "file.", errp) &&
               drives_add(d, "-blockdev", arg, g_steal_pointer(&node_owned), kv, errp);
    }
    if (!file) {
        error_setg(errp, "driver=raw needs file=NODE (a driver=file node)");
        return false;
    }
    base = drives_find(d, file);
    if (!base || strcmp(base->option, "-blockdev")) {
        error_setg(errp, "Cannot find device='' nor node-name='%s'", file);
        return false;
    }
    if (base->used) {
        error_setg(errp, "node '%s' is already in use", file);
        return false;
    }
    if (!keyval_check_empty(kv, "blockdev", errp))
        return false;
    if (drives_find(d, node)) {
        error_setg(errp, "Duplicate node name '%s'", node);
        return false;
    }
    base->used = true;
    def = g_new0(struct drive_def, 1);
    def->id = g_steal_pointer(&node_owned);
    def->option = "-blockdev";
    def->spec = g_strdup(base->spec);
    def->bo = base->bo;
    def->bo.file = g_strdup(base->bo.file);
    g_ptr_array_add(d->defs, def);
    return true;
}

bool drives_parse_blockdev(struct drives *d, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, NULL, errp);
    g_autofree char *driver = NULL;
    char *node;

    if (!kv)
        return false;
    driver = keyval_take_str(kv, "driver");
    node = keyval_take_str(kv, "node-name");
    if (!driver || !node) {
        g_free(node);
        error_setg(errp, "driver= and node-name= are required");
        return false;
    }
    if (!strcmp(driver, "raw"))
        return drives_blockdev_raw(d, arg, kv, node, errp);
    if (strcmp(driver, "file") && strcmp(driver, "host_device")) {
        g_free(node);
        error_setg(errp, "driver '%s' is not supported (file, host_device or raw)", driver);
        return false;
    }
    return drives_blockdev_keys(kv, "", errp) && drives_add(d, "-blockdev", arg, node, kv, errp);
}

bool drives_parse_device(struct drives *d, GHashTable *kv, GError **errp)
{
    g_autofree char *drive = keyval_take_str(kv, "drive");
    g_autofree char *serial = keyval_take_str(kv, "serial");

    g_free(keyval_take_str(kv, "id")); /* QEMU's device id: accepted, unused */
    if (!keyval_check_empty(kv, "device 'virtio-blk'", errp))
        return false;
    if (!drive) {
        error_setg(errp, "virtio-blk: drive property not set");
        return false;
    }
    drives_add_disk(d, g_steal_pointer(&serial))->drive_ref = g_steal_pointer(&drive);
    return true;
}

bool drives_resolve(struct drives *d, GError **errp)
{
    for (unsigned i = 0; i < d->disks->len; i++) {
        struct disk_config *disk = d->disks->pdata[i];
        struct drive_def *def;

        if (disk->drive)
            continue;
        def = drives_find(d, disk->drive_ref);
        if (!def) {
            error_setg(errp, "-device virtio-blk,drive=%s: no drive or node named '%s'",
                       disk->drive_ref, disk->drive_ref);
            return false;
        }
        if (def->used) {
            error_setg(errp, "-device virtio-blk,drive=%s: drive '%s' is already in use",
                       disk->drive_ref, disk->drive_ref);
            return false;
        }
        def->used = true;
        disk->drive = def;
    }
    if (d->disks->len > DRIVES_MAX) {
        error_setg(errp, "%u virtio disks, but the tern-1.0 machine has %d virtio-mmio slots",
                   d->disks->len, DRIVES_MAX);
        return false;
    }
    return true;
}
