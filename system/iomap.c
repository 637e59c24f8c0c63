#include "system/iomap.h"

#include <string.h>

#include "util/error.h"
#include "util/le.h"

void iomap_init(struct iomap *map, const char *name)
{
    map->name = name;
    map->ranges = g_array_new(FALSE, TRUE, sizeof(struct iomap_range));
}

void iomap_destroy(struct iomap *map)
{
    if (map->ranges)
        g_array_free(map->ranges, TRUE);
    map->ranges = NULL;
}

bool iomap_add(struct iomap *map, uint64_t base, uint64_t size, const struct iomap_ops *ops,
               void *opaque, const char *name, GError **errp)
{
    struct iomap_range r = { base, size, ops, opaque, name };
    unsigned i;

    if (size == 0 || base + size < base) {
        error_setg(errp, "%s: invalid %s range 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                         "x",
                   name, map->name, base, size);
        return false;
    }
    for (i = 0; i < map->ranges->len; i++) {
        const struct iomap_range *o = &g_array_index(map->ranges, struct iomap_range, i);

        if (base < o->base + o->size && o->base < base + size) {
            error_setg(errp, "%s: %s range 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                             "x overlaps %s",
                       name, map->name, base, size, o->name);
            return false;
        }
        if (o->base > base)
            break;
    }
    g_array_insert_val(map->ranges, i, r);
    return true;
}

const struct iomap_range *iomap_find(const struct iomap *map, uint64_t addr)
{
    unsigned lo = 0, hi = map->ranges->len;

    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        const struct iomap_range *r = &g_array_index(map->ranges, struct iomap_range, mid);

        if (addr < r->base)
            hi = mid;
        else if (addr - r->base >= r->size)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

bool iomap_dispatch(const struct iomap *map, uint64_t addr, uint8_t *data, unsigned size,
                    bool is_write)
{
    const struct iomap_range *r = iomap_find(map, addr);
    uint64_t v;

    if (!r) {
        if (!is_write)
            memset(data, 0xff, size);
        return false;
    }
    if (is_write) {
        if (r->ops->write)
            r->ops->write(r->opaque, addr - r->base, le_get_n(data, size), size);
    } else {
        v = r->ops->read ? r->ops->read(r->opaque, addr - r->base, size) : ~0ULL;
        le_put_n(data, size, v);
    }
    return true;
}
