/*
 * The PC keyboard controller, only as much as a guest needs to reset the
 * machine: ports 0x60 (data) and 0x64 (status/command).  Command 0xFE pulses
 * the CPU reset line; so does writing an output port value with bit 0 clear
 * (command 0xD1).  There is no keyboard or mouse behind it.
 *
 * Thread context: VM lock held (vCPU threads).
 */
#ifndef HW_I8042_H
#define HW_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/machine-ctl.h"
#include "migration/vmstate.h"
#include "system/iomap.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

struct i8042_state {
    uint8_t status;
    uint8_t cmd_byte;  /* controller configuration byte */
    uint8_t out_port;
    uint8_t pending;   /* command waiting for its data byte (0: none) */
    uint8_t out_data;  /* byte for the guest to read from 0x60 */
};

struct i8042 {
    struct i8042_state s;
    struct machine_ctl ctl;
};

/* Registered as one range 0x60..0x64; offsets 0 (data) and 4 (command). */
extern const struct iomap_ops i8042_ops;
/* Describes struct i8042_state (the opaque is &k->s). */
extern const struct vmstate_description i8042_vmstate;

void i8042_init(struct i8042 *k, struct machine_ctl ctl);
void i8042_reset(struct i8042 *k);

#endif
