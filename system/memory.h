/*
 * Guest RAM: one memfd, mapped MAP_SHARED once, cut into guest-physical
 * ranges by the machine (below 4 GiB, and above 4 GiB when RAM does not fit
 * under the PCI hole).  A memfd rather than anonymous memory so a later
 * migration or a second process can map the very same pages.
 *
 * Thread context: the layout is fixed before any vCPU runs; translation
 * functions are lock-free and safe from any thread.  Guest memory contents
 * are shared with running vCPUs: callers that need a stable view pause them.
 */
#ifndef SYSTEM_MEMORY_H
#define SYSTEM_MEMORY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef uint64_t gpa_t;

#define MEMORY_MAX_RANGES 2

/* A guest-physical RAM range, backed by memfd bytes [offset, offset + size). */
struct ram_range {
    gpa_t gpa;
    uint64_t size;
    uint64_t offset;
    uint8_t *hva;
};

struct guest_memory {
    int fd;
    bool shared; /* base maps fd shared (a memfd): the file holds the RAM */
    uint8_t *base;
    uint64_t size;
    unsigned nranges;
    struct ram_range ranges[MEMORY_MAX_RANGES];
};

/*
 * Allocate @size bytes of guest RAM laid out as @layout (@mem_path: a
 * private copy-on-write mapping of that file instead of a memfd) (gpa and size of each
 * range; offsets and host addresses are filled in).  Sizes that exceed the
 * host's memory are refused up front: the memfd would be created sparse and
 * the failure would come later, as SIGBUS inside the guest.
 */
bool memory_init(struct guest_memory *m, uint64_t size, const struct ram_range *layout,
                 unsigned nranges, const char *mem_path, GError **errp);
void memory_destroy(struct guest_memory *m);

/* Host address of [gpa, gpa + len), or NULL unless it lies inside one range. */
void *memory_gpa_to_hva(const struct guest_memory *m, gpa_t gpa, uint64_t len);

bool memory_write(const struct guest_memory *m, gpa_t gpa, const void *buf, uint64_t len,
                  GError **errp);
bool memory_read(const struct guest_memory *m, gpa_t gpa, void *buf, uint64_t len, GError **errp);

/* Physical memory of this host in bytes. */
uint64_t memory_host_total(void);

#endif
