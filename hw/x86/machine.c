#include "hw/x86/machine.h"

#include "util/error.h"

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

static unsigned machine_count_debug_exit(const struct machine *m)
{
    return m->has_debug_exit;
}

static void *machine_debug_exit_state(struct machine *m, unsigned i)
{
    (void)i;
    return &m->debug_exit.s;
}

static unsigned machine_count_uart(const struct machine *m)
{
    return m->has_uart;
}

static void *machine_uart_state(struct machine *m, unsigned i)
{
    (void)i;
    return &m->uart.s;
}

static unsigned machine_count_i8042(const struct machine *m)
{
    (void)m;
    return 1;
}

static void *machine_i8042_state(struct machine *m, unsigned i)
{
    (void)i;
    return &m->i8042.s;
}

static gpa_t machine_virtio_base(unsigned slot)
{
    return LAYOUT_VIRTIO_MMIO + slot * LAYOUT_VIRTIO_MMIO_STRIDE;
}

/* Slot @slot's line: irqfd (or KVM_IRQ_LINE) where the VM has them. */
static struct irq_line machine_virtio_irq(const struct machine_config *cfg, unsigned slot)
{
    if (cfg->level_irq)
        return cfg->level_irq(cfg->level_irq_opaque, LAYOUT_VIRTIO_IRQ(slot));
    return (struct irq_line){ cfg->irq_set, cfg->irq_opaque, LAYOUT_VIRTIO_IRQ(slot) };
}

/* An initialised transport into slot @slot: doorbells, then the MMIO window. */
static bool machine_map_virtio(const struct machine_config *cfg, unsigned slot,
                               struct virtio_mmio *t, const char *name, GError **errp)
{
    virtio_mmio_set_host_notifiers(t, cfg->notifiers);
    return iomap_add(cfg->mmio, machine_virtio_base(slot), VIRTIO_MMIO_SIZE, &virtio_mmio_ops, t,
                     name, errp);
}

static bool machine_init_virtio_blk(struct machine *m, const struct machine_config *cfg,
                                    GError **errp)
{
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        struct irq_line irq = machine_virtio_irq(cfg, i);
        g_autofree char *name = g_strdup_printf("virtio-blk%u", i);

        virtio_blk_init(&m->blk[i], cfg->disks[i].bb, cfg->disks[i].serial, &cfg->ram,
                        machine_virtio_base(i), irq);
        m->nblk = i + 1;
        if (!machine_map_virtio(cfg, i, &m->blk[i].mmio, name, errp))
            return false;
    }
    return true;
}

static void machine_reset_virtio_blk(struct machine *m)
{
    for (unsigned i = 0; i < m->nblk; i++)
        virtio_blk_reset(&m->blk[i]);
}

static unsigned machine_count_virtio_blk(const struct machine *m)
{
    return m->nblk;
}

static void *machine_virtio_blk_state(struct machine *m, unsigned i)
{
    return &m->blk[i];
}

/* NIC i sits in slot ndisks + i, with the same irqfd and ioeventfd
 * wiring as a disk. */
static bool machine_init_virtio_net(struct machine *m, const struct machine_config *cfg,
                                    GError **errp)
{
    for (unsigned i = 0; i < cfg->nnics; i++) {
        unsigned slot = cfg->ndisks + i;
        g_autofree char *name = g_strdup_printf("virtio-net%u", i);

        if (slot >= LAYOUT_VIRTIO_MMIO_SLOTS) {
            error_setg(errp, "virtio-net%u: no virtio-mmio slot left", i);
            return false;
        }
        if (!virtio_net_init(&m->net[i], cfg->nics[i].nb, cfg->nics[i].mac, &cfg->ram,
                             machine_virtio_base(slot), machine_virtio_irq(cfg, slot), errp))
            return false;
        m->nnet = i + 1;
        if (!machine_map_virtio(cfg, slot, &m->net[i].mmio, name, errp))
            return false;
    }
    return true;
}

static void machine_reset_virtio_net(struct machine *m)
{
    for (unsigned i = 0; i < m->nnet; i++)
        virtio_net_reset(&m->net[i]);
}

static unsigned machine_count_virtio_net(const struct machine *m)
{
    return m->nnet;
}

static void *machine_virtio_net_state(struct machine *m, unsigned i)
{
    return &m->net[i];
}

/*
 * The machine's devices.  idstr and the instance number (0 .. count - 1)
 * name each instance's section in the migration stream (as QEMU names
 * "serial" instance 0); devices without guest-visible state have no vmsd.
 */
static const struct machine_device {
    const char *name;
    bool (*init)(struct machine *m, const struct machine_config *cfg, GError **errp);
    void (*reset)(struct machine *m);
    const char *idstr;
    const struct vmstate_description *vmsd;
    unsigned (*count)(const struct machine *m);
    void *(*state)(struct machine *m, unsigned i);
} machine_devices[] = {
    { "serial0", machine_init_uart, machine_reset_uart, "serial", &uart16550_vmstate,
      machine_count_uart, machine_uart_state },
    { "i8042", machine_init_i8042, machine_reset_i8042, "i8042", &i8042_vmstate,
      machine_count_i8042, machine_i8042_state },
    { "isa-debug-exit", machine_init_debug_exit, NULL, "isa-debug-exit", &debug_exit_vmstate,
      machine_count_debug_exit, machine_debug_exit_state },
    { "virtio-blk", machine_init_virtio_blk, machine_reset_virtio_blk, "virtio-blk",
      &virtio_blk_vmstate, machine_count_virtio_blk, machine_virtio_blk_state },
    { "virtio-net", machine_init_virtio_net, machine_reset_virtio_net, "virtio-net",
      &virtio_net_vmstate, machine_count_virtio_net, machine_virtio_net_state },
};

bool machine_init(struct machine *m, const struct machine_config *cfg, GError **errp)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(machine_devices); i++) {
        if (!machine_devices[i].init(m, cfg, errp))
            return false;
    }
    return true;
}

void machine_destroy(struct machine *m)
{
    for (unsigned i = 0; i < m->nblk; i++)
        virtio_mmio_destroy(&m->blk[i].mmio);
    m->nblk = 0;
    for (unsigned i = 0; i < m->nnet; i++)
        virtio_net_destroy(&m->net[i]);
    m->nnet = 0;
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
        unsigned n = all ? 1 : d->count(m);

        for (unsigned j = 0; d->vmsd && j < n; j++) {
            if (!savevm_register_vmsd(sv, d->idstr, j, d->vmsd, all ? NULL : d->state(m, j),
                                      errp))
                return false;
        }
    }
    return true;
}

char *machine_kernel_cmdline(const char *append, unsigned nvirtio)
{
    GString *s = g_string_new(append ? append : "");

    for (unsigned i = 0; i < nvirtio && i < LAYOUT_VIRTIO_MMIO_SLOTS; i++) {
        g_autofree char *word = virtio_mmio_cmdline(machine_virtio_base(i), LAYOUT_VIRTIO_IRQ(i));

        g_string_append_printf(s, "%s%s", s->len ? " " : "", word);
    }
    return g_string_free(s, false);
}

void machine_drain_disks(struct machine *m)
{
    for (unsigned i = 0; i < m->nblk; i++)
        virtio_blk_drain(&m->blk[i]);
}

void machine_kick_disks(struct machine *m)
{
    for (unsigned i = 0; i < m->nblk; i++)
        virtio_blk_kick(&m->blk[i]);
}

void machine_set_running(struct machine *m, bool running)
{
    for (unsigned i = 0; i < m->nnet; i++)
        virtio_net_set_running(&m->net[i], running);
}
