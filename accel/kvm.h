/*
 * The KVM VM: /dev/kvm, the VM file descriptor, the capabilities Tern
 * requires (kvm_required_caps[] in kvm.c, checked before anything else so a
 * host without them gets one clear message), memory slots, the in-kernel
 * irqchip (PIC + IOAPIC + local APICs) and PIT.
 *
 * Thread context: set-up and tear-down on the main thread; kvm_irq_set() is
 * called by devices with the VM lock held, from any thread.  Dirty logging
 * (kvm_dirty_log_*) runs on the migration thread: it is the "ram" section's
 * sync callback (migration/ram.h: called with the ram dirty_lock held, VM
 * lock held or not); KVM allows slot flag changes and KVM_GET_DIRTY_LOG
 * while vCPUs run.
 */
#ifndef ACCEL_KVM_H
#define ACCEL_KVM_H

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migration/ram.h"
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
    uint32_t *msr_index;     /* KVM_GET_MSR_INDEX_LIST */
    unsigned nmsr_index;
    uint32_t xsave_size;     /* bytes of a vCPU's XSAVE area (KVM_CAP_XSAVE2) */
    const struct guest_memory *mem; /* slot i = mem->ranges[i] */
    bool dirty_logging;      /* KVM_MEM_LOG_DIRTY_PAGES on every slot */
    uint64_t *dirty_bitmap;  /* scratch for KVM_GET_DIRTY_LOG, largest slot */
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

/* One memory slot per range of @mem (kept: dirty logging re-issues them). */
bool kvm_map_memory(struct kvm *kvm, const struct guest_memory *mem, GError **errp);

/* KVM_GET_MSRS / KVM_SET_MSRS of one MSR: struct kvm_msrs with room for
 * its one entry (a struct kvm_msrs member followed by an entry would be a
 * GNU extension: it ends in a flexible array). */
struct kvm_msrs_one {
    uint32_t nmsrs; /* 1 */
    uint32_t pad;
    struct kvm_msr_entry e;
};
G_STATIC_ASSERT(offsetof(struct kvm_msrs_one, e) == offsetof(struct kvm_msrs, entries));

/* Does KVM_GET_MSR_INDEX_LIST name @index? */
bool kvm_has_msr(const struct kvm *kvm, uint32_t index);

/*
 * Dirty logging for migration.  sync turns logging on for every slot the
 * first time (KVM_MEM_LOG_DIRTY_PAGES), then ORs each slot's
 * KVM_GET_DIRTY_LOG (which also clears it) into RAM block @block of @rs at
 * the slot's memfd offset: block offsets are memfd offsets.  stop turns
 * logging off again.  Signatures of ram_sync_fn / ram_sync_stop_fn with a
 * wrapper supplying @block.
 */
bool kvm_dirty_log_start(struct kvm *kvm, GError **errp);
bool kvm_dirty_log_sync(struct kvm *kvm, struct ram_state *rs, unsigned block, GError **errp);
void kvm_dirty_log_stop(struct kvm *kvm);

/* Set the level of in-kernel irqchip input @gsi (signature of irq_line.set). */
void kvm_irq_set(void *opaque, unsigned gsi, int level);

/* Put the irqchip and PIT back to their power-on state. */
bool kvm_reset_irqchip(struct kvm *kvm, GError **errp);

#endif
