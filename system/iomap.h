/*
 * Port I/O and MMIO dispatch: a table of [base, base + size) ranges, each with
 * one read and one write handler.  Accesses that hit no range read as all
 * ones and writes are dropped, as on a PC bus with nothing decoding them.
 *
 * Thread context: ranges are added while the machine is built (before any
 * vCPU runs) and never removed while vCPUs run.  iomap_dispatch() runs on a
 * vCPU thread with the VM lock held, so handlers run with the VM lock held.
 */
#ifndef SYSTEM_IOMAP_H
#define SYSTEM_IOMAP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct iomap_ops {
    /* @offset is relative to the range base; @size is 1, 2, 4 or 8. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
};

struct iomap_range {
    uint64_t base;
    uint64_t size;
    const struct iomap_ops *ops;
    void *opaque;
    const char *name;
};

struct iomap {
    const char *name; /* "pio" / "mmio", for messages */
    GArray *ranges;   /* struct iomap_range, sorted by base, disjoint */
};

void iomap_init(struct iomap *map, const char *name);
void iomap_destroy(struct iomap *map);
bool iomap_add(struct iomap *map, uint64_t base, uint64_t size, const struct iomap_ops *ops,
               void *opaque, const char *name, GError **errp);
const struct iomap_range *iomap_find(const struct iomap *map, uint64_t addr);

/*
 * Perform one access.  @data holds @size little-endian bytes (KVM's layout);
 * reads fill it.  Returns false when no range claimed the address.
 */
bool iomap_dispatch(const struct iomap *map, uint64_t addr, uint8_t *data, unsigned size,
                    bool is_write);

#endif
