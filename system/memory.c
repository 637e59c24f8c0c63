#include "system/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/size.h"

uint64_t memory_host_total(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long psize = sysconf(_SC_PAGESIZE);

    return (pages > 0 && psize > 0) ? (uint64_t)pages * (uint64_t)psize : UINT64_MAX;
}

static bool memory_open_memfd(struct guest_memory *m, uint64_t size, GError **errp)
{
    m->fd = memfd_create("tern-ram", MFD_CLOEXEC);
    if (m->fd < 0) {
        error_setg_errno(errp, errno, "memfd_create");
        return false;
    }
    if (ftruncate(m->fd, size) < 0) {
        error_setg_errno(errp, errno, "cannot size guest RAM to %" G_GUINT64_FORMAT " bytes",
                         size);
        return false;
    }
    return true;
}

/* -mem-path FILE: the file's first @size bytes are the initial RAM; the
 * mapping is private, so the guest's writes never reach the file. */
static bool memory_open_file(struct guest_memory *m, const char *path, uint64_t size,
                             GError **errp)
{
    struct stat st;

    m->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (m->fd < 0 || fstat(m->fd, &st) < 0) {
        error_setg_errno(errp, errno, "cannot open it");
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        error_setg(errp, "not a regular file (Tern maps a file whose contents become the "
                         "guest RAM)");
        return false;
    }
    if ((uint64_t)st.st_size < size) {
        g_autofree char *have = size_to_str(st.st_size), *want = size_to_str(size);
        error_setg(errp, "the file has %s, less than the guest RAM (%s)", have, want);
        return false;
    }
    return true;
}

bool memory_init(struct guest_memory *m, uint64_t size, const struct ram_range *layout,
                 unsigned nranges, const char *mem_path, GError **errp)
{
    uint64_t offset = 0, host = memory_host_total();

    memset(m, 0, sizeof(*m));
    m->fd = -1;
    if (size > host) {
        g_autofree char *want = size_to_str(size), *have = size_to_str(host & ~(MiB - 1));
        error_setg(errp, "%s of guest RAM exceeds host memory (%s)", want, have);
        return false;
    }
    if (nranges == 0 || nranges > MEMORY_MAX_RANGES) {
        error_setg(errp, "invalid RAM layout (%u ranges)", nranges);
        return false;
    }
    if (mem_path ? !memory_open_file(m, mem_path, size, errp) : !memory_open_memfd(m, size, errp))
        goto fail;
    m->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   (mem_path ? MAP_PRIVATE : MAP_SHARED) | MAP_NORESERVE, m->fd, 0);
    if (m->base == MAP_FAILED) {
        m->base = NULL;
        error_setg_errno(errp, errno, "cannot map guest RAM");
        goto fail;
    }
    m->size = size;
    m->shared = !mem_path;
    for (unsigned i = 0; i < nranges; i++) {
        m->ranges[i] = layout[i];
        m->ranges[i].offset = offset;
        m->ranges[i].hva = m->base + offset;
        offset += layout[i].size;
    }
    m->nranges = nranges;
    if (offset != size) {
        error_setg(errp, "RAM layout covers %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
                   offset, size);
        goto fail;
    }
    return true;
fail:
    memory_destroy(m);
    return false;
}

void memory_destroy(struct guest_memory *m)
{
    if (m->base)
        munmap(m->base, m->size);
    if (m->fd >= 0)
        close(m->fd);
    memset(m, 0, sizeof(*m));
    m->fd = -1;
}

void *memory_gpa_to_hva(const struct guest_memory *m, gpa_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < m->nranges; i++) {
        const struct ram_range *r = &m->ranges[i];

        if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
            return r->hva + (gpa - r->gpa);
    }
    return NULL;
}

/* Host pointer for a guest range, or an error naming the range. */
static void *memory_range(const struct guest_memory *m, gpa_t gpa, uint64_t len, GError **errp)
{
    void *p = memory_gpa_to_hva(m, gpa, len);

    if (!p)
        error_setg(errp, "guest range 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                         "x is not RAM",
                   gpa, len);
    return p;
}

bool memory_write(const struct guest_memory *m, gpa_t gpa, const void *buf, uint64_t len,
                  GError **errp)
{
    void *p = memory_range(m, gpa, len, errp);

    if (p)
        memcpy(p, buf, len);
    return p != NULL;
}

bool memory_read(const struct guest_memory *m, gpa_t gpa, void *buf, uint64_t len, GError **errp)
{
    const void *p = memory_range(m, gpa, len, errp);

    if (p)
        memcpy(buf, p, len);
    return p != NULL;
}
