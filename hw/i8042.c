#include "hw/i8042.h"

#include <string.h>

enum {
    I8042_STR_OBF = 0x01,     /* output buffer full: data for the guest */
    I8042_STR_SYSFLAG = 0x04, /* self test passed */
    I8042_STR_CMDDAT = 0x08,  /* last write was a command */
    I8042_CMD_READ_CB = 0x20,
    I8042_CMD_WRITE_CB = 0x60,
    I8042_CMD_SELF_TEST = 0xaa,
    I8042_CMD_IF_TEST = 0xab,
    I8042_CMD_READ_OUTPORT = 0xd0,
    I8042_CMD_WRITE_OUTPORT = 0xd1,
    I8042_CMD_RESET = 0xfe,
};

void i8042_reset(struct i8042 *k)
{
    memset(&k->s, 0, sizeof(k->s));
    k->s.status = I8042_STR_SYSFLAG;
    k->s.cmd_byte = 0x45;
    k->s.out_port = 0x01; /* bit 0: reset line not asserted */
}

void i8042_init(struct i8042 *k, struct machine_ctl ctl)
{
    k->ctl = ctl;
    i8042_reset(k);
}

static void i8042_output(struct i8042 *k, uint8_t v)
{
    k->s.out_data = v;
    k->s.status |= I8042_STR_OBF;
}

static void i8042_pulse_reset(struct i8042 *k)
{
    if (k->ctl.reset)
        k->ctl.reset(k->ctl.opaque);
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
    k->s.status |= I8042_STR_CMDDAT;
    switch (cmd) {
    case I8042_CMD_READ_CB: i8042_output(k, k->s.cmd_byte); break;
    case I8042_CMD_WRITE_CB:
    case I8042_CMD_WRITE_OUTPORT: k->s.pending = cmd; break;
    case I8042_CMD_SELF_TEST: i8042_output(k, 0x55); break;
    case I8042_CMD_IF_TEST: i8042_output(k, 0x00); break;
    case I8042_CMD_READ_OUTPORT: i8042_output(k, k->s.out_port); break;
    default:
        /* 0xF0-0xFF pulse output-port lines; bit 0 of the low nibble clear
         * pulses the reset line (0xFE is the classic one). */
        if (cmd >= 0xf0 && !(cmd & 0x01))
            i8042_pulse_reset(k);
        break;
    }
}

static void i8042_data(struct i8042 *k, uint8_t v)
{
    k->s.status &= ~I8042_STR_CMDDAT;
    switch (k->s.pending) {
    case I8042_CMD_WRITE_CB: k->s.cmd_byte = v; break;
    case I8042_CMD_WRITE_OUTPORT:
        k->s.out_port = v;
        if (!(v & 0x01))
            i8042_pulse_reset(k);
        break;
    default: break; /* no keyboard to talk to */
    }
    k->s.pending = 0;
}

static uint64_t i8042_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *k = opaque;

    (void)size;
    if (offset == 0) {
        k->s.status &= ~I8042_STR_OBF;
        return k->s.out_data;
    }
    if (offset == 4)
        return k->s.status;
    return 0xff;
}

static void i8042_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct i8042 *k = opaque;

    (void)size;
    if (offset == 0)
        i8042_data(k, value);
    else if (offset == 4)
        i8042_command(k, value);
}

const struct iomap_ops i8042_ops = {
    .read = i8042_read,
    .write = i8042_write,
};

static const struct vmstate_field i8042_fields[] = {
    VMSTATE_FIELD(struct i8042_state, status),
    VMSTATE_FIELD(struct i8042_state, cmd_byte),
    VMSTATE_FIELD(struct i8042_state, out_port),
    VMSTATE_FIELD(struct i8042_state, pending),
    VMSTATE_FIELD(struct i8042_state, out_data),
    VMSTATE_END_OF_LIST(),
};

const struct vmstate_description i8042_vmstate = {
    .name = "i8042",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = i8042_fields,
};
