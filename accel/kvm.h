/*
 * The KVM VM: /dev/kvm, the VM file descriptor, the capabilities Tern
 * requires (kvm_required_caps[] in kvm.c, checked before anything else so a
 * host without them gets one clear message), memory slots, the in-kernel
 * irqchip (PIC + IOAPIC + local APICs) and PIT.
 *
 * Thread context: set-up and tear-down on the main thread; kvm_irq_set() is
 * called by devices with the VM lock held, from any thread.
 */
#ifndef ACCEL_KVM_H
#define ACCEL_KVM_H

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "system/memory.h"

#define KVM_DEVICE_DEFAULT "/dev/kvm"

struct kvm_irqchip_snapshot {
    struct kvm_irqchip chip[3]; /* PIC master, PIC slave, IOAPIC */
    struct kvm_pit_state2 pit;
};

struct kvm {
    int fd;
    int vm_fd;
    int vcpu_mmap_size;
    unsigned max_vcpus;
    struct kvm_cpuid2 *supported_cpuid;
    struct kvm_irqchip_snapshot reset_state; /* irqchip + PIT at power-on */
};

/*
 * Probe a list of required capabilities through @check (returns the
 * KVM_CHECK_EXTENSION value).  Fails naming the first one missing.
 * Separate from kvm_init() so the table can be tested without /dev/kvm.
 */
bool kvm_check_caps(int (*check)(void *opaque, int cap), void *opaque, GError **errp);

/* Open @device (NULL: $TERN_KVM_DEVICE or /dev/kvm), create the VM with its
 * in-kernel irqchip and PIT. */
bool kvm_init(struct kvm *kvm, const char *device, unsigned ncpus, GError **errp);
void kvm_destroy(struct kvm *kvm);

bool kvm_map_memory(struct kvm *kvm, const struct guest_memory *mem, GError **errp);

/* Set the level of in-kernel irqchip input @gsi (signature of irq_line.set). */
void kvm_irq_set(void *opaque, unsigned gsi, int level);

/* Put the irqchip and PIT back to their power-on state. */
bool kvm_reset_irqchip(struct kvm *kvm, GError **errp);

#endif
