#include "hw/x86/machine.h"

static bool machine_init_uart(struct machine *m, const struct machine_config *cfg,
                              GError **errp)
{
    struct irq_line irq = { cfg->irq_set, cfg->irq_opaque, MACHINE_COM1_IRQ };

    if (!cfg->serial)
        return true;
    m->has_uart = true;
    uart16550_init(&m->uart, cfg->serial, irq);
    return iomap_add(cfg->pio, MACHINE_COM1_BASE, 8, &uart16550_ops, &m->uart, "serial0", errp);
}

static void machine_reset_uart(struct machine *m)
{
    if (m->has_uart)
        uart16550_reset(&m->uart);
}

static bool machine_init_i8042(struct machine *m, const struct machine_config *cfg,
                               GError **errp)
{
    i8042_init(&m->i8042, cfg->ctl);
    /* One range 0x60-0x64; 0x61 (PIT speaker) never gets here: KVM's
     * in-kernel PIT claims it, and 0x62/0x63 read as all ones. */
    return iomap_add(cfg->pio, I8042_DATA_PORT, I8042_CMD_PORT - I8042_DATA_PORT + 1, &i8042_ops,
                     &m->i8042, "i8042", errp);
}

static void machine_reset_i8042(struct machine *m)
{
    i8042_reset(&m->i8042);
}

static bool machine_init_debug_exit(struct machine *m, const struct machine_config *cfg,
                                    GError **errp)
{
    if (!cfg->debug_exit)
        return true;
    m->has_debug_exit = true;
    debug_exit_init(&m->debug_exit, cfg->ctl, cfg->debug_exit_base, cfg->debug_exit_size);
    return iomap_add(cfg->pio, cfg->debug_exit_base, cfg->debug_exit_size, &debug_exit_ops,
                     &m->debug_exit, "isa-debug-exit", errp);
}

static bool machine_has_debug_exit(const struct machine *m)
{
    return m->has_debug_exit;
}

static void *machine_debug_exit_state(struct machine *m)
{
    return &m->debug_exit.s;
}

static bool machine_has_uart(const struct machine *m)
{
    return m->has_uart;
}

static void *machine_uart_state(struct machine *m)
{
    return &m->uart.s;
}

static bool machine_has_i8042(const struct machine *m)
{
    (void)m;
    return true;
}

static void *machine_i8042_state(struct machine *m)
{
    return &m->i8042.s;
}

/*
 * The machine's devices.  idstr/instance name the device's section in the
 * migration stream (as QEMU names "serial" instance 0); devices without
 * guest-visible state have no vmsd.
 */
static const struct machine_device {
    const char *name;
    bool (*init)(struct machine *m, const struct machine_config *cfg, GError **errp);
    void (*reset)(struct machine *m);
    const char *idstr;
    const struct vmstate_description *vmsd;
    bool (*present)(const struct machine *m);
    void *(*state)(struct machine *m);
} machine_devices[] = {
    { "serial0", machine_init_uart, machine_reset_uart, "serial", &uart16550_vmstate,
      machine_has_uart, machine_uart_state },
    { "i8042", machine_init_i8042, machine_reset_i8042, "i8042", &i8042_vmstate,
      machine_has_i8042, machine_i8042_state },
    { "isa-debug-exit", machine_init_debug_exit, NULL, "isa-debug-exit", &debug_exit_vmstate,
      machine_has_debug_exit, machine_debug_exit_state },
};

bool machine_init(struct machine *m, const struct machine_config *cfg, GError **errp)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(machine_devices); i++) {
        if (!machine_devices[i].init(m, cfg, errp))
            return false;
    }
    return true;
}

void machine_reset(struct machine *m)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(machine_devices); i++) {
        if (machine_devices[i].reset)
            machine_devices[i].reset(m);
    }
}

bool machine_register_vmstate(struct machine *m, struct savevm *sv, bool all, GError **errp)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(machine_devices); i++) {
        const struct machine_device *d = &machine_devices[i];

        if (!d->vmsd || (!all && !d->present(m)))
            continue;
        if (!savevm_register_vmsd(sv, d->idstr, 0, d->vmsd, d->state(m), errp))
            return false;
    }
    return true;
}
