/*
 * The KVM VM's own guest-visible state as migration sections: the kvmclock
 * and the in-kernel irqchip (two PICs, the IOAPIC) and PIT.  Each section
 * is a plain struct of named fields, read with KVM_GET_CLOCK /
 * KVM_GET_IRQCHIP / KVM_GET_PIT2 before saving and written back with the
 * matching SET ioctl after loading.
 *
 * Sections, in registration (= load) order, all version 1:
 *   "kvmclock" 0  clock be64: kvmclock ns at the stop (QEMU's kvmclock
 *                 saves it when the vCPUs stop, so the guest's clock does
 *                 not jump by the migration's duration; here pre_save runs
 *                 at switch-over, after the vCPUs stopped)
 *   "i8259" 0, 1  master, slave PIC: struct kvm_pic_state member by member,
 *                 16 x u8
 *   "ioapic" 0    base_address be64, ioregsel id irr be32, redirtbl 24 x be64
 *   "i8254" 0     channels 3 x (count be32, latched_count be16,
 *                 count_latched status_latched status read_state
 *                 write_state write_latch rw_mode mode bcd gate u8,
 *                 count_load_time be64), flags be32
 * The vCPU sections (LAPICs) are registered before these: restoring the
 * IOAPIC and PICs can deliver pending interrupts to the LAPICs, which must
 * hold their final state by then.
 *
 * Without a struct kvm (detached: -dump-vmstate, the stream-loader fuzzer,
 * unit tests) the hooks make no KVM call: pre_save sends the structs as
 * they stand and loaded state stays in them.
 *
 * Thread context: hooks run as any VMState hook (migration thread or
 * incoming loader, VM lock held, vCPUs stopped).
 */
#ifndef ACCEL_KVM_VM_STATE_H
#define ACCEL_KVM_VM_STATE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/kvm.h"
#include "migration/savevm.h"

#define KVM_VM_STATE_IOAPIC_PINS 24

struct kvm_vm_state_clock {
    uint64_t clock;
};

struct kvm_vm_state_pic {
    uint8_t last_irr, irr, imr, isr, priority_add, irq_base, read_reg_select, poll;
    uint8_t special_mask, init_state, auto_eoi, rotate_on_auto_eoi, special_fully_nested_mode;
    uint8_t init4, elcr, elcr_mask;
};

struct kvm_vm_state_ioapic {
    uint64_t base_address;
    uint32_t ioregsel, id, irr;
    uint64_t redirtbl[KVM_VM_STATE_IOAPIC_PINS];
};

struct kvm_vm_state_pit_channel {
    uint32_t count;
    uint16_t latched_count;
    uint8_t count_latched, status_latched, status, read_state, write_state, write_latch;
    uint8_t rw_mode, mode, bcd, gate;
    int64_t count_load_time;
};

struct kvm_vm_state_pit {
    struct kvm_vm_state_pit_channel channels[3];
    uint32_t flags;
};

/* A PIC section: which chip, around its state. */
struct kvm_vm_state_pic_section {
    struct kvm *kvm;
    unsigned chip_id;
    struct kvm_vm_state_pic s;
};

struct kvm_vm_state {
    struct kvm *kvm; /* NULL: detached */
    struct kvm_vm_state_clock clock;
    struct kvm_vm_state_pic_section pic[2];
    struct kvm_vm_state_ioapic ioapic;
    struct kvm_vm_state_pit pit;
};

/* Register the sections above with @sv in their order; @kvm NULL:
 * detached. */
bool kvm_vm_state_register(struct kvm_vm_state *vs, struct kvm *kvm, struct savevm *sv,
                           GError **errp);

#endif
