#include "hw/debug-exit.h"

void debug_exit_init(struct debug_exit *d, struct machine_ctl ctl)
{
    d->ctl = ctl;
}

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
