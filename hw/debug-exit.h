/*
 * isa-debug-exit, as QEMU's: a write of V to the port ends the process with
 * status (V << 1) | 1, so a test guest can report success or failure through
 * the VMM's exit status.  Reads return 0.  Test-only; configured with
 * `-device isa-debug-exit,iobase=0xf4,iosize=4`.
 *
 * Thread context: VM lock held (vCPU threads).
 */
#ifndef HW_DEBUG_EXIT_H
#define HW_DEBUG_EXIT_H

#include <stdint.h>

#include "hw/machine-ctl.h"
#include "migration/vmstate.h"
#include "system/iomap.h"

/* Its only state is where it sits: migrated so that a destination
 * configured with another port refuses the stream. */
struct debug_exit_state {
    uint16_t iobase;
    uint16_t iosize;
};

struct debug_exit {
    struct machine_ctl ctl;
    struct debug_exit_state s;
};

extern const struct iomap_ops debug_exit_ops;
extern const struct vmstate_description debug_exit_vmstate;

void debug_exit_init(struct debug_exit *d, struct machine_ctl ctl, uint16_t iobase,
                     uint16_t iosize);
/* (value << 1) | 1, as a process exit status (truncated to 8 bits by exit). */
int debug_exit_status(uint64_t value);

#endif
