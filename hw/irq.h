/*
 * An interrupt line as a device sees it: the device sets the level, the
 * machine decides where it goes (in-kernel PIC + IOAPIC via KVM_IRQ_LINE).
 * Devices never call KVM themselves.
 *
 * Thread context: called with the VM lock held, from any thread.
 */
#ifndef HW_IRQ_H
#define HW_IRQ_H

struct irq_line {
    void (*set)(void *opaque, unsigned gsi, int level);
    void *opaque;
    unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *irq, int level)
{
    if (irq->set)
        irq->set(irq->opaque, irq->gsi, level);
}

#endif
