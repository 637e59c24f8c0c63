#include "tests/unit/fake-ram.h"

#include <glib.h>
#include <string.h>

/* virtqueue_ram.mark_dirty: a device wrote [gpa, gpa + len). */
static void fake_ram_mark_dirty(void *opaque, gpa_t gpa, uint64_t len)
{
    struct fake_ram *r = opaque;

    g_assert_cmpuint(gpa + len, <=, r->size);
    for (uint64_t p = gpa / FAKE_RAM_PAGE; p <= (gpa + len - 1) / FAKE_RAM_PAGE; p++)
        r->dirty[p] = true;
}

void fake_ram_init(struct fake_ram *r, uint64_t size)
{
    memset(r, 0, sizeof(*r));
    r->size = size;
    r->ram = g_malloc0(size);
    r->dirty = g_new0(bool, size / FAKE_RAM_PAGE);
    r->mem.fd = -1;
    r->mem.base = r->ram;
    r->mem.size = size;
    r->mem.nranges = 1;
    r->mem.ranges[0] = (struct ram_range){ .gpa = 0, .size = size, .hva = r->ram };
    r->vram = (struct virtqueue_ram){ &r->mem, fake_ram_mark_dirty, r };
}

void fake_ram_clear(struct fake_ram *r)
{
    g_free(r->ram);
    g_free(r->dirty);
    memset(r, 0, sizeof(*r));
}

void fake_ram_clear_dirty(struct fake_ram *r)
{
    memset(r->dirty, 0, r->size / FAKE_RAM_PAGE * sizeof(bool));
}

bool fake_ram_dirty(const struct fake_ram *r, gpa_t gpa)
{
    g_assert_cmpuint(gpa, <, r->size);
    return r->dirty[gpa / FAKE_RAM_PAGE];
}
