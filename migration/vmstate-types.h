/*
 * Per-kind encoders for VMState fields: one element of a field, big-endian
 * on the wire.  Used by vmstate.c only.
 */
#ifndef MIGRATION_VMSTATE_TYPES_H
#define MIGRATION_VMSTATE_TYPES_H

#include "migration/vmstate.h"

struct vmstate_info {
    const char *name; /* as in QEMU's vmdesc and -dump-vmstate */
    /* Write one element of @size bytes at @p. */
    void (*put)(QEMUFile *f, const void *p, size_t size);
    /* Read one element into @p; false with a message on bad data. */
    bool (*get)(QEMUFile *f, void *p, size_t size, GError **errp);
};

/* NULL for kinds that vmstate.c handles itself (struct, validate). */
const struct vmstate_info *vmstate_info_for(enum vmstate_kind kind);

#endif
