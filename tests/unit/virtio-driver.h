/*
 * The driver side of the virtio device tests: what a guest driver writes
 * to a virtio-mmio transport's registers to negotiate (spec 3.1.1).
 */
#ifndef TESTS_UNIT_VIRTIO_DRIVER_H
#define TESTS_UNIT_VIRTIO_DRIVER_H

#include <stdint.h>

#include "hw/virtio/virtio-mmio.h"

/* ACKNOWLEDGE, DRIVER, both halves of @features, FEATURES_OK.  The caller
 * reads the status back to see whether the device kept FEATURES_OK. */
void virtio_driver_negotiate(struct virtio_mmio *t, uint64_t features);
/* Queue @q: @num entries, its three rings at those guest addresses, READY. */
void virtio_driver_setup_queue(struct virtio_mmio *t, unsigned q, unsigned num, uint64_t desc,
                               uint64_t avail, uint64_t used);

#endif
