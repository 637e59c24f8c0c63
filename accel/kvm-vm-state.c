#include "accel/kvm-vm-state.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "util/container.h"
#include "util/error.h"

#define KVM_VM_STATE_PIC(X)                                                                       \
    X(last_irr) X(irr) X(imr) X(isr) X(priority_add) X(irq_base) X(read_reg_select) X(poll)      \
    X(special_mask) X(init_state) X(auto_eoi) X(rotate_on_auto_eoi)                              \
    X(special_fully_nested_mode) X(init4) X(elcr) X(elcr_mask)
#define KVM_VM_STATE_PIT_CHANNEL(X)                                                               \
    X(count) X(latched_count) X(count_latched) X(status_latched) X(status) X(read_state)         \
    X(write_state) X(write_latch) X(rw_mode) X(mode) X(bcd) X(gate) X(count_load_time)

#define COPY(f) d->f = k->f;

static bool kvm_vm_state_ioctl(struct kvm *kvm, unsigned long req, void *arg, const char *name,
                               GError **errp)
{
    if (ioctl(kvm->vm_fd, req, arg) < 0) {
        error_setg_errno(errp, errno, "%s", name);
        return false;
    }
    return true;
}

#define VM_IOCTL(kvm, req, arg, errp) kvm_vm_state_ioctl(kvm, req, arg, #req, errp)

/* ---- kvmclock ---- */

static bool kvm_vm_state_clock_pre_save(void *opaque, GError **errp)
{
    struct kvm_vm_state *vs = container_of(opaque, struct kvm_vm_state, clock);
    struct kvm_clock_data data = { 0 };

    if (!vs->kvm)
        return true;
    if (!VM_IOCTL(vs->kvm, KVM_GET_CLOCK, &data, errp))
        return false;
    vs->clock.clock = data.clock;
    return true;
}

static bool kvm_vm_state_clock_post_load(void *opaque, int version_id, GError **errp)
{
    struct kvm_vm_state *vs = container_of(opaque, struct kvm_vm_state, clock);
    struct kvm_clock_data data = { .clock = vs->clock.clock };

    (void)version_id;
    if (!vs->kvm)
        return true;
    return VM_IOCTL(vs->kvm, KVM_SET_CLOCK, &data, errp);
}

static const struct vmstate_field kvm_vm_state_clock_fields[] = {
    VMSTATE_FIELD(struct kvm_vm_state_clock, clock),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description kvm_vm_state_clock_vmsd = {
    .name = "kvmclock", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_vm_state_clock_fields,
    .pre_save = kvm_vm_state_clock_pre_save,
    .post_load = kvm_vm_state_clock_post_load,
};

/* ---- irqchip: chip 0 and 1 the PICs, 2 the IOAPIC ---- */

static bool kvm_vm_state_get_chip(struct kvm *kvm, unsigned id, struct kvm_irqchip *chip,
                                  GError **errp)
{
    memset(chip, 0, sizeof(*chip));
    chip->chip_id = id;
    return VM_IOCTL(kvm, KVM_GET_IRQCHIP, chip, errp);
}

static bool kvm_vm_state_pic_pre_save(void *opaque, GError **errp)
{
    struct kvm_vm_state_pic_section *p = container_of(opaque, struct kvm_vm_state_pic_section, s);
    struct kvm_vm_state_pic *d = &p->s;
    struct kvm_irqchip chip;
    const struct kvm_pic_state *k = &chip.chip.pic;

    if (!p->kvm)
        return true;
    if (!kvm_vm_state_get_chip(p->kvm, p->chip_id, &chip, errp))
        return false;
    KVM_VM_STATE_PIC(COPY)
    return true;
}

static bool kvm_vm_state_pic_post_load(void *opaque, int version_id, GError **errp)
{
    struct kvm_vm_state_pic_section *p = container_of(opaque, struct kvm_vm_state_pic_section, s);
    const struct kvm_vm_state_pic *k = &p->s;
    struct kvm_irqchip chip = { .chip_id = p->chip_id };
    struct kvm_pic_state *d = &chip.chip.pic;

    (void)version_id;
    if (!p->kvm)
        return true;
    KVM_VM_STATE_PIC(COPY)
    return VM_IOCTL(p->kvm, KVM_SET_IRQCHIP, &chip, errp);
}

#define PIC_FIELD(f) VMSTATE_FIELD(struct kvm_vm_state_pic, f),
static const struct vmstate_field kvm_vm_state_pic_fields[] = {
    KVM_VM_STATE_PIC(PIC_FIELD) VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description kvm_vm_state_pic_vmsd = {
    .name = "i8259", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_vm_state_pic_fields,
    .pre_save = kvm_vm_state_pic_pre_save,
    .post_load = kvm_vm_state_pic_post_load,
};

static bool kvm_vm_state_ioapic_pre_save(void *opaque, GError **errp)
{
    struct kvm_vm_state *vs = container_of(opaque, struct kvm_vm_state, ioapic);
    struct kvm_vm_state_ioapic *d = &vs->ioapic;
    struct kvm_irqchip chip;
    const struct kvm_ioapic_state *k = &chip.chip.ioapic;

    if (!vs->kvm)
        return true;
    if (!kvm_vm_state_get_chip(vs->kvm, KVM_IRQCHIP_IOAPIC, &chip, errp))
        return false;
    d->base_address = k->base_address;
    d->ioregsel = k->ioregsel;
    d->id = k->id;
    d->irr = k->irr;
    for (unsigned i = 0; i < KVM_VM_STATE_IOAPIC_PINS; i++)
        d->redirtbl[i] = k->redirtbl[i].bits;
    return true;
}

static bool kvm_vm_state_ioapic_post_load(void *opaque, int version_id, GError **errp)
{
    struct kvm_vm_state *vs = container_of(opaque, struct kvm_vm_state, ioapic);
    const struct kvm_vm_state_ioapic *k = &vs->ioapic;
    struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
    struct kvm_ioapic_state *d = &chip.chip.ioapic;

    (void)version_id;
    if (!vs->kvm)
        return true;
    d->base_address = k->base_address;
    d->ioregsel = k->ioregsel;
    d->id = k->id;
    d->irr = k->irr;
    for (unsigned i = 0; i < KVM_VM_STATE_IOAPIC_PINS; i++)
        d->redirtbl[i].bits = k->redirtbl[i];
    return VM_IOCTL(vs->kvm, KVM_SET_IRQCHIP, &chip, errp);
}

static const struct vmstate_field kvm_vm_state_ioapic_fields[] = {
    VMSTATE_FIELD(struct kvm_vm_state_ioapic, base_address),
    VMSTATE_FIELD(struct kvm_vm_state_ioapic, ioregsel),
    VMSTATE_FIELD(struct kvm_vm_state_ioapic, id),
    VMSTATE_FIELD(struct kvm_vm_state_ioapic, irr),
    VMSTATE_ARRAY(struct kvm_vm_state_ioapic, redirtbl),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description kvm_vm_state_ioapic_vmsd = {
    .name = "ioapic", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_vm_state_ioapic_fields,
    .pre_save = kvm_vm_state_ioapic_pre_save,
    .post_load = kvm_vm_state_ioapic_post_load,
};

/* ---- PIT ---- */

static bool kvm_vm_state_pit_pre_save(void *opaque, GError **errp)
{
    struct kvm_vm_state *vs = container_of(opaque, struct kvm_vm_state, pit);
    struct kvm_pit_state2 pit;

    if (!vs->kvm)
        return true;
    if (!VM_IOCTL(vs->kvm, KVM_GET_PIT2, &pit, errp))
        return false;
    for (unsigned i = 0; i < 3; i++) {
        struct kvm_vm_state_pit_channel *d = &vs->pit.channels[i];
        const struct kvm_pit_channel_state *k = &pit.channels[i];

        KVM_VM_STATE_PIT_CHANNEL(COPY)
    }
    vs->pit.flags = pit.flags;
    return true;
}

static bool kvm_vm_state_pit_post_load(void *opaque, int version_id, GError **errp)
{
    struct kvm_vm_state *vs = container_of(opaque, struct kvm_vm_state, pit);
    struct kvm_pit_state2 pit = { .flags = vs->pit.flags };

    (void)version_id;
    if (!vs->kvm)
        return true;
    for (unsigned i = 0; i < 3; i++) {
        struct kvm_pit_channel_state *d = &pit.channels[i];
        const struct kvm_vm_state_pit_channel *k = &vs->pit.channels[i];

        KVM_VM_STATE_PIT_CHANNEL(COPY)
    }
    return VM_IOCTL(vs->kvm, KVM_SET_PIT2, &pit, errp);
}

#define PIT_FIELD(f) VMSTATE_FIELD(struct kvm_vm_state_pit_channel, f),
static const struct vmstate_field kvm_vm_state_pit_channel_fields[] = {
    KVM_VM_STATE_PIT_CHANNEL(PIT_FIELD) VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description kvm_vm_state_pit_channel_vmsd = {
    .name = "i8254/channel", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_vm_state_pit_channel_fields,
};

static const struct vmstate_field kvm_vm_state_pit_fields[] = {
    VMSTATE_STRUCT_ARRAY(struct kvm_vm_state_pit, channels, kvm_vm_state_pit_channel_vmsd),
    VMSTATE_FIELD(struct kvm_vm_state_pit, flags),
    VMSTATE_END_OF_LIST(),
};

static const struct vmstate_description kvm_vm_state_pit_vmsd = {
    .name = "i8254", .version_id = 1, .minimum_version_id = 1,
    .fields = kvm_vm_state_pit_fields,
    .pre_save = kvm_vm_state_pit_pre_save,
    .post_load = kvm_vm_state_pit_post_load,
};

/* ---- registration ---- */

bool kvm_vm_state_register(struct kvm_vm_state *vs, struct kvm *kvm, struct savevm *sv,
                           GError **errp)
{
    const struct {
        const char *idstr;
        uint32_t instance;
        const struct vmstate_description *vmsd;
        void *opaque;
    } sections[] = {
        { "kvmclock", 0, &kvm_vm_state_clock_vmsd, &vs->clock },
        { "i8259", 0, &kvm_vm_state_pic_vmsd, &vs->pic[0].s },
        { "i8259", 1, &kvm_vm_state_pic_vmsd, &vs->pic[1].s },
        { "ioapic", 0, &kvm_vm_state_ioapic_vmsd, &vs->ioapic },
        { "i8254", 0, &kvm_vm_state_pit_vmsd, &vs->pit },
    };

    vs->kvm = kvm;
    for (unsigned i = 0; i < 2; i++) {
        vs->pic[i].kvm = kvm;
        vs->pic[i].chip_id = i == 0 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(sections); i++) {
        if (!savevm_register_vmsd(sv, sections[i].idstr, sections[i].instance, sections[i].vmsd,
                                  sections[i].opaque, errp))
            return false;
    }
    return true;
}
