#include "migration/vmstate-types.h"

#include <string.h>

#include "util/error.h"

static void put_bool(QEMUFile *f, const void *p, size_t size)
{
    (void)size;
    qemu_file_put_byte(f, *(const bool *)p ? 1 : 0);
}

static bool get_bool(QEMUFile *f, void *p, size_t size, GError **errp)
{
    uint8_t v = qemu_file_get_byte(f);

    (void)size;
    if (v > 1) {
        error_setg(errp, "invalid bool value %u", v);
        return false;
    }
    *(bool *)p = v;
    return true;
}

/* Integers of 1, 2, 4 or 8 bytes; signedness does not change the bytes. */
static void put_int(QEMUFile *f, const void *p, size_t size)
{
    switch (size) {
    case 1: qemu_file_put_byte(f, *(const uint8_t *)p); break;
    case 2: qemu_file_put_be16(f, *(const uint16_t *)p); break;
    case 4: qemu_file_put_be32(f, *(const uint32_t *)p); break;
    default: qemu_file_put_be64(f, *(const uint64_t *)p); break;
    }
}

static bool get_int(QEMUFile *f, void *p, size_t size, GError **errp)
{
    (void)errp;
    switch (size) {
    case 1: *(uint8_t *)p = qemu_file_get_byte(f); break;
    case 2: *(uint16_t *)p = qemu_file_get_be16(f); break;
    case 4: *(uint32_t *)p = qemu_file_get_be32(f); break;
    default: *(uint64_t *)p = qemu_file_get_be64(f); break;
    }
    return true;
}

static bool get_timer(QEMUFile *f, void *p, size_t size, GError **errp)
{
    int64_t v = (int64_t)qemu_file_get_be64(f);

    (void)size;
    if (v < -1) {
        error_setg(errp, "invalid timer expiry %" G_GINT64_FORMAT, v);
        return false;
    }
    *(int64_t *)p = v;
    return true;
}

static void put_buffer(QEMUFile *f, const void *p, size_t size)
{
    qemu_file_put_buffer(f, p, size);
}

static bool get_buffer(QEMUFile *f, void *p, size_t size, GError **errp)
{
    (void)errp;
    qemu_file_get_buffer(f, p, size); /* truncation: the sticky error */
    return true;
}

static void put_unused(QEMUFile *f, const void *p, size_t size)
{
    static const uint8_t zeros[64];

    (void)p;
    while (size) {
        size_t n = MIN(size, sizeof(zeros));
        qemu_file_put_buffer(f, zeros, n);
        size -= n;
    }
}

static bool get_unused(QEMUFile *f, void *p, size_t size, GError **errp)
{
    (void)p, (void)errp;
    qemu_file_skip(f, size);
    return true;
}

/* Bitmaps: the member's unsigned longs as be64 words.  @size is the
 * member's byte size; the bit count is checked by vmstate.c. */
static void put_bitmap(QEMUFile *f, const void *p, size_t size)
{
    const unsigned long *w = p;

    for (size_t i = 0; i < size / sizeof(unsigned long); i++)
        qemu_file_put_be64(f, w[i]);
}

static bool get_bitmap(QEMUFile *f, void *p, size_t size, GError **errp)
{
    unsigned long *w = p;

    (void)errp;
    for (size_t i = 0; i < size / sizeof(unsigned long); i++)
        w[i] = qemu_file_get_be64(f);
    return true;
}

static const struct vmstate_info vmstate_infos[VMS__KINDS] = {
    [VMS_BOOL] = { "bool", put_bool, get_bool },
    [VMS_U8] = { "uint8", put_int, get_int },
    [VMS_U16] = { "uint16", put_int, get_int },
    [VMS_U32] = { "uint32", put_int, get_int },
    [VMS_U64] = { "uint64", put_int, get_int },
    [VMS_I8] = { "int8", put_int, get_int },
    [VMS_I16] = { "int16", put_int, get_int },
    [VMS_I32] = { "int32", put_int, get_int },
    [VMS_I64] = { "int64", put_int, get_int },
    [VMS_TIMER] = { "timer", put_int, get_timer },
    [VMS_BUFFER] = { "buffer", put_buffer, get_buffer },
    [VMS_STRUCT] = { "struct", NULL, NULL },
    [VMS_UNUSED] = { "unused_buffer", put_unused, get_unused },
    [VMS_BITMAP] = { "bitmap", put_bitmap, get_bitmap },
    [VMS_VALIDATE] = { "validate", NULL, NULL },
};

const struct vmstate_info *vmstate_info_for(enum vmstate_kind kind)
{
    return (unsigned)kind < VMS__KINDS && vmstate_infos[kind].put ? &vmstate_infos[kind] : NULL;
}

const char *vmstate_kind_name(enum vmstate_kind kind)
{
    return (unsigned)kind < VMS__KINDS ? vmstate_infos[kind].name : "invalid";
}
