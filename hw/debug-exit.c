#include "hw/debug-exit.h"

void debug_exit_init(struct debug_exit *d, struct machine_ctl ctl, uint16_t iobase,
                     uint16_t iosize)
{
    d->ctl = ctl;
    d->s.iobase = iobase;
    d->s.iosize = iosize;
}

static const struct vmstate_field debug_exit_fields[] = {
    VMSTATE_EQUAL(struct debug_exit_state, iobase),
    VMSTATE_EQUAL(struct debug_exit_state, iosize),
    VMSTATE_END_OF_LIST(),
};

const struct vmstate_description debug_exit_vmstate = {
    .name = "isa-debug-exit",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = debug_exit_fields,
};

int debug_exit_status(uint64_t value)
{
    return (int)(((value << 1) | 1) & 0xff);
}

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque, (void)offset, (void)size;
    return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct debug_exit *d = opaque;

    (void)offset, (void)size;
    if (d->ctl.exit)
        d->ctl.exit(d->ctl.opaque, debug_exit_status(value));
}

const struct iomap_ops debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
};
