/*
 * Guest RAM for device tests without KVM: one range at guest address 0 in
 * plain memory, with the dirty reporting devices do (virtqueue_ram) kept
 * as one flag per 4 KiB page.
 */
#ifndef TESTS_UNIT_FAKE_RAM_H
#define TESTS_UNIT_FAKE_RAM_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/virtio/virtqueue.h"

#define FAKE_RAM_PAGE 4096

struct fake_ram {
    uint8_t *ram;
    uint64_t size;
    struct guest_memory mem;
    struct virtqueue_ram vram; /* for virtio_*_init() */
    bool *dirty;               /* size / FAKE_RAM_PAGE flags */
};

void fake_ram_init(struct fake_ram *r, uint64_t size);
void fake_ram_clear(struct fake_ram *r);
void fake_ram_clear_dirty(struct fake_ram *r);
bool fake_ram_dirty(const struct fake_ram *r, gpa_t gpa);

#endif
