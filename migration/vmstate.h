/*
 * VMState: a device's migratable state as one const table.
 *
 *   static const struct vmstate_field uart_fields[] = {
 *       VMSTATE_FIELD(struct uart_state, divider),        // u16, any scalar
 *       VMSTATE_ARRAY(struct uart_state, fifo),           // fixed array
 *       VMSTATE_VARRAY(struct uart_state, data, count),   // count is a field
 *       VMSTATE_END_OF_LIST(),
 *   };
 *
 * Wire encoding (STREAM-FORMAT.md "VMState payload"): fields in table order,
 * no tags or lengths; bool/u8/i8 one byte, wider integers big-endian,
 * buffers raw, arrays element by element, nested structs inline, unused
 * bytes as zeros, timers as be64 expiry (-1 = not armed), bitmaps as be64
 * words.  Then, for each subsection whose needed() is true: u8 0x05, str8
 * name ("parent/child"), be32 version, its fields and subsections.
 *
 * Incoming data is hostile: counts are checked against capacities, bools
 * must be 0 or 1, bitmaps must not set bits past their length, "equal"
 * fields must match, VALIDATE entries must pass; any failure is a GError
 * naming the description and the field, never an abort.
 *
 * Hooks run on whichever thread saves or loads the section (the migration
 * thread or the incoming loader) with the VM lock held and vCPUs stopped.
 */
#ifndef MIGRATION_VMSTATE_H
#define MIGRATION_VMSTATE_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migration/qemu-file.h"

#define VMSTATE_SUBSECTION_MARK 0x05
/* A description's subsections the loader knows (the list may be longer:
 * the rest could only be saved). */
#define VMSTATE_MAX_SUBSECTIONS 64

enum vmstate_kind {
    VMS_BOOL,
    VMS_U8,
    VMS_U16,
    VMS_U32,
    VMS_U64,
    VMS_I8,
    VMS_I16,
    VMS_I32,
    VMS_I64,
    VMS_TIMER,    /* int64_t expiry in ns, -1 = not armed */
    VMS_BUFFER,   /* raw bytes */
    VMS_STRUCT,   /* nested description */
    VMS_UNUSED,   /* zeros on save, skipped on load */
    VMS_BITMAP,   /* unsigned long words, as be64 */
    VMS_VALIDATE, /* no bytes: a check run on load */
    VMS__KINDS,
};

/* Where a variable array's element count lives. */
enum vmstate_count {
    VMS_COUNT_FIXED,
    VMS_COUNT_U8,
    VMS_COUNT_U16,
    VMS_COUNT_U32,
};

struct vmstate_description;

struct vmstate_field {
    const char *name;
    enum vmstate_kind kind;
    size_t offset;
    size_t size;     /* one element (whole buffer; unused byte count) */
    unsigned num;    /* elements, or the capacity of a variable array;
                      * for bitmaps the number of bits */
    enum vmstate_count count_kind;
    size_t count_offset;
    const struct vmstate_description *vmsd; /* VMS_STRUCT */
    int version_id;  /* present in streams of this version and later */
    bool equal;      /* loaded value must equal the local one */
    bool (*validate)(void *opaque, int version_id); /* VMS_VALIDATE */
};

struct vmstate_description {
    const char *name;
    int version_id;
    int minimum_version_id;
    const struct vmstate_field *fields;
    const struct vmstate_description *const *subsections; /* NULL-terminated */
    /* Subsections: sent only if true.  A top-level device: its FULL
     * section is sent only if true, and a loader does not miss it. */
    bool (*needed)(void *opaque);
    bool (*pre_save)(void *opaque, GError **errp);
    bool (*pre_load)(void *opaque, GError **errp);
    bool (*post_load)(void *opaque, int version_id, GError **errp);
};

/* ---- field macros ---- */

#define VMSTATE_MEMBER(s, f) (((s *)0)->f)

/* The scalar kind of an expression's type; anything else does not compile. */
#define VMSTATE_SCALAR_KIND(x)                                                                    \
    _Generic((x),                                                                                 \
        bool: VMS_BOOL,                                                                           \
        uint8_t: VMS_U8,                                                                          \
        uint16_t: VMS_U16,                                                                        \
        uint32_t: VMS_U32,                                                                        \
        uint64_t: VMS_U64,                                                                        \
        int8_t: VMS_I8,                                                                           \
        int16_t: VMS_I16,                                                                         \
        int32_t: VMS_I32,                                                                         \
        int64_t: VMS_I64)

#define VMSTATE_COUNT_KIND(x)                                                                     \
    _Generic((x), uint8_t: VMS_COUNT_U8, uint16_t: VMS_COUNT_U16, uint32_t: VMS_COUNT_U32)

#define VMSTATE_ARRAY_LEN(s, f) (sizeof(VMSTATE_MEMBER(s, f)) / sizeof(VMSTATE_MEMBER(s, f)[0]))

/* A scalar member (bool, u8..u64, i8..i64), in streams of version >= v. */
#define VMSTATE_FIELD_V(s, f, v)                                                                  \
    { .name = #f, .kind = VMSTATE_SCALAR_KIND(VMSTATE_MEMBER(s, f)), .offset = offsetof(s, f),   \
      .size = sizeof(VMSTATE_MEMBER(s, f)), .num = 1, .version_id = (v) }
#define VMSTATE_FIELD(s, f) VMSTATE_FIELD_V(s, f, 0)

/* A scalar that must arrive equal to the local value (sizes, layouts). */
#define VMSTATE_EQUAL(s, f)                                                                       \
    { .name = #f, .kind = VMSTATE_SCALAR_KIND(VMSTATE_MEMBER(s, f)), .offset = offsetof(s, f),   \
      .size = sizeof(VMSTATE_MEMBER(s, f)), .num = 1, .equal = true }

/* An int64_t timer expiry, -1 when not armed. */
#define VMSTATE_TIMER(s, f)                                                                       \
    { .name = #f,                                                                                 \
      .kind = _Generic(VMSTATE_MEMBER(s, f), int64_t: VMS_TIMER),                                 \
      .offset = offsetof(s, f), .size = sizeof(int64_t), .num = 1 }

/* A fixed-size byte buffer (uint8_t member[N]). */
#define VMSTATE_BUFFER(s, f)                                                                      \
    { .name = #f, .kind = _Generic(VMSTATE_MEMBER(s, f)[0], uint8_t: VMS_BUFFER),                 \
      .offset = offsetof(s, f), .size = sizeof(VMSTATE_MEMBER(s, f)), .num = 1 }

/* A fixed array of scalars. */
#define VMSTATE_ARRAY_V(s, f, v)                                                                  \
    { .name = #f, .kind = VMSTATE_SCALAR_KIND(VMSTATE_MEMBER(s, f)[0]),                           \
      .offset = offsetof(s, f), .size = sizeof(VMSTATE_MEMBER(s, f)[0]),                          \
      .num = VMSTATE_ARRAY_LEN(s, f), .version_id = (v) }
#define VMSTATE_ARRAY(s, f) VMSTATE_ARRAY_V(s, f, 0)

/* The first @count (a u8/u16/u32 member saved earlier) elements of array @f. */
#define VMSTATE_VARRAY(s, f, count)                                                               \
    { .name = #f, .kind = VMSTATE_SCALAR_KIND(VMSTATE_MEMBER(s, f)[0]),                           \
      .offset = offsetof(s, f), .size = sizeof(VMSTATE_MEMBER(s, f)[0]),                          \
      .num = VMSTATE_ARRAY_LEN(s, f),                                                             \
      .count_kind = VMSTATE_COUNT_KIND(VMSTATE_MEMBER(s, count)),                                 \
      .count_offset = offsetof(s, count) }

#define VMSTATE_STRUCT(s, f, desc)                                                                \
    { .name = #f, .kind = VMS_STRUCT, .offset = offsetof(s, f),                                   \
      .size = sizeof(VMSTATE_MEMBER(s, f)), .num = 1, .vmsd = &(desc) }

#define VMSTATE_STRUCT_ARRAY(s, f, desc)                                                          \
    { .name = #f, .kind = VMS_STRUCT, .offset = offsetof(s, f),                                   \
      .size = sizeof(VMSTATE_MEMBER(s, f)[0]), .num = VMSTATE_ARRAY_LEN(s, f), .vmsd = &(desc) }

#define VMSTATE_STRUCT_VARRAY(s, f, count, desc)                                                  \
    { .name = #f, .kind = VMS_STRUCT, .offset = offsetof(s, f),                                   \
      .size = sizeof(VMSTATE_MEMBER(s, f)[0]), .num = VMSTATE_ARRAY_LEN(s, f),                    \
      .count_kind = VMSTATE_COUNT_KIND(VMSTATE_MEMBER(s, count)),                                 \
      .count_offset = offsetof(s, count), .vmsd = &(desc) }

/* @n reserved bytes: written as zeros, ignored on load. */
#define VMSTATE_UNUSED(n) { .name = "unused", .kind = VMS_UNUSED, .size = (n), .num = 1 }

/* A bitmap of @nbits bits in an unsigned long array member. */
#define VMSTATE_BITMAP(s, f, nbits)                                                               \
    { .name = #f, .kind = _Generic(VMSTATE_MEMBER(s, f)[0], unsigned long: VMS_BITMAP),           \
      .offset = offsetof(s, f), .size = sizeof(VMSTATE_MEMBER(s, f)), .num = (nbits) }

/* Run @fn(opaque, version) at this point of the load; false rejects the
 * section with @label in the message. */
#define VMSTATE_VALIDATE(label, fn) { .name = (label), .kind = VMS_VALIDATE, .validate = (fn) }

#define VMSTATE_END_OF_LIST() { .name = NULL }

/* ---- save and load ---- */

/*
 * Write @opaque as described.  With @vmdesc, also add this description's
 * members "vmsd_name", "version", "fields" and "subsections" (what the
 * stream's vmdesc trailer holds) to the JSON object the caller has open.
 */
bool vmstate_save(QEMUFile *f, const struct vmstate_description *vmsd, void *opaque,
                  JsonBuilder *vmdesc, GError **errp);

/* Read a section written by a peer at @version_id into @opaque. */
bool vmstate_load(QEMUFile *f, const struct vmstate_description *vmsd, void *opaque,
                  int version_id, GError **errp);

/* QEMU -dump-vmstate style description: {"name", "version_id",
 * "minimum_version_id", "Fields": [...], "Subsections": [...]}. */
void vmstate_dump(JsonBuilder *b, const struct vmstate_description *vmsd);

/* The type name a field has in vmdesc and dumps ("uint32", "struct", ...). */
const char *vmstate_kind_name(enum vmstate_kind kind);

#endif
