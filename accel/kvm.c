#include "accel/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hw/x86/layout.h"
#include "util/error.h"

#define KVM_CAP(x) { KVM_CAP_##x, "KVM_CAP_" #x }

/* Everything Tern relies on, now or for migration.  Checked in this order. */
static const struct {
    int cap;
    const char *name;
} kvm_required_caps[] = {
    KVM_CAP(USER_MEMORY),    KVM_CAP(SET_TSS_ADDR), KVM_CAP(SET_IDENTITY_MAP_ADDR),
    KVM_CAP(EXT_CPUID),      KVM_CAP(IRQCHIP),      KVM_CAP(PIT2),
    KVM_CAP(PIT_STATE2),     KVM_CAP(HLT),          KVM_CAP(IMMEDIATE_EXIT),
    KVM_CAP(MP_STATE),       KVM_CAP(SYNC_MMU),     KVM_CAP(IOEVENTFD),
    KVM_CAP(IRQFD),          KVM_CAP(IRQ_ROUTING),  KVM_CAP(VCPU_EVENTS),
    KVM_CAP(DEBUGREGS),      KVM_CAP(XSAVE),        KVM_CAP(XCRS),
    KVM_CAP(ADJUST_CLOCK),   KVM_CAP(KVMCLOCK_CTRL),
};

bool kvm_check_caps(int (*check)(void *opaque, int cap), void *opaque, GError **errp)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(kvm_required_caps); i++) {
        if (check(opaque, kvm_required_caps[i].cap) <= 0) {
            error_setg(errp, "KVM lacks required capability %s", kvm_required_caps[i].name);
            return false;
        }
    }
    return true;
}

static int kvm_check_extension(void *opaque, int cap)
{
    struct kvm *kvm = opaque;

    return ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, cap);
}

static bool kvm_get_supported_cpuid(struct kvm *kvm, GError **errp)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + n * sizeof(c->entries[0]));

        c->nent = n;
        if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            kvm->supported_cpuid = c;
            return true;
        }
        g_free(c);
        if (errno != E2BIG) {
            error_setg_errno(errp, errno, "KVM_GET_SUPPORTED_CPUID");
            return false;
        }
    }
    error_setg(errp, "KVM_GET_SUPPORTED_CPUID: too many entries");
    return false;
}

static bool kvm_open(struct kvm *kvm, const char *device, GError **errp)
{
    int version;

    kvm->fd = open(device, O_RDWR | O_CLOEXEC);
    if (kvm->fd < 0) {
        error_setg_errno(errp, errno, "cannot open %s (is KVM available and accessible?)",
                         device);
        return false;
    }
    version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        error_setg(errp, "%s: KVM API version %d, Tern needs %d", device, version,
                   KVM_API_VERSION);
        return false;
    }
    kvm->vm_fd = ioctl(kvm->fd, KVM_CREATE_VM, 0);
    if (kvm->vm_fd < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_VM");
        return false;
    }
    kvm->vcpu_mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (kvm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
        error_setg_errno(errp, errno, "KVM_GET_VCPU_MMAP_SIZE");
        return false;
    }
    return true;
}

static bool kvm_snapshot_irqchip(struct kvm *kvm, struct kvm_irqchip_snapshot *s, GError **errp)
{
    for (unsigned i = 0; i < 3; i++) {
        s->chip[i].chip_id = i;
        if (ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &s->chip[i]) < 0) {
            error_setg_errno(errp, errno, "KVM_GET_IRQCHIP");
            return false;
        }
    }
    if (ioctl(kvm->vm_fd, KVM_GET_PIT2, &s->pit) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_PIT2");
        return false;
    }
    return true;
}

static bool kvm_create_devices(struct kvm *kvm, GError **errp)
{
    uint64_t identity = LAYOUT_KVM_IDENTITY_MAP;
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

    if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_IDENTITY_MAP_ADDR");
        return false;
    }
    if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_TSS_ADDR");
        return false;
    }
    if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_IRQCHIP");
        return false;
    }
    if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_PIT2");
        return false;
    }
    return kvm_snapshot_irqchip(kvm, &kvm->reset_state, errp);
}

static bool kvm_get_msr_index_list(struct kvm *kvm, GError **errp)
{
    struct kvm_msr_list probe = { .nmsrs = 0 };
    g_autofree struct kvm_msr_list *l = NULL;

    /* The first call fails with E2BIG and says how many there are. */
    if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
        error_setg_errno(errp, errno, "KVM_GET_MSR_INDEX_LIST");
        return false;
    }
    l = g_malloc0(sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
    l->nmsrs = probe.nmsrs;
    if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_MSR_INDEX_LIST");
        return false;
    }
    kvm->msr_index = g_memdup2(l->indices, l->nmsrs * sizeof(l->indices[0]));
    kvm->nmsr_index = l->nmsrs;
    return true;
}

bool kvm_has_msr(const struct kvm *kvm, uint32_t index)
{
    for (unsigned i = 0; i < kvm->nmsr_index; i++) {
        if (kvm->msr_index[i] == index)
            return true;
    }
    return false;
}

/* Hosts where a process asked for AMX permission need a bigger area. */
static void kvm_get_xsave_size(struct kvm *kvm)
{
    int size = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

    kvm->xsave_size = size > (int)sizeof(struct kvm_xsave) ? (uint32_t)size
                                                            : sizeof(struct kvm_xsave);
}

bool kvm_init(struct kvm *kvm, const char *device, unsigned ncpus, GError **errp)
{
    int max;

    memset(kvm, 0, sizeof(*kvm));
    kvm->fd = kvm->vm_fd = -1;
    if (!device)
        device = getenv("TERN_KVM_DEVICE") ? getenv("TERN_KVM_DEVICE") : KVM_DEVICE_DEFAULT;
    if (!kvm_open(kvm, device, errp) || !kvm_check_caps(kvm_check_extension, kvm, errp))
        goto fail;
    max = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max <= 0)
        max = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    kvm->max_vcpus = max > 0 ? max : 1;
    if (ncpus > kvm->max_vcpus) {
        error_setg(errp, "-smp %u: KVM supports at most %u vCPUs", ncpus, kvm->max_vcpus);
        goto fail;
    }
    if (!kvm_get_supported_cpuid(kvm, errp) || !kvm_get_msr_index_list(kvm, errp) ||
        !kvm_create_devices(kvm, errp))
        goto fail;
    kvm_get_xsave_size(kvm);
    return true;
fail:
    kvm_destroy(kvm);
    return false;
}

void kvm_destroy(struct kvm *kvm)
{
    if (kvm->vm_fd >= 0)
        close(kvm->vm_fd);
    if (kvm->fd >= 0)
        close(kvm->fd);
    g_free(kvm->supported_cpuid);
    g_free(kvm->msr_index);
    g_free(kvm->dirty_bitmap);
    memset(kvm, 0, sizeof(*kvm));
    kvm->fd = kvm->vm_fd = -1;
}

static bool kvm_set_slot(struct kvm *kvm, unsigned i, uint32_t flags, GError **errp)
{
    const struct ram_range *r = &kvm->mem->ranges[i];
    struct kvm_userspace_memory_region region = {
        .slot = i,
        .flags = flags,
        .guest_phys_addr = r->gpa,
        .memory_size = r->size,
        .userspace_addr = (uintptr_t)r->hva,
    };

    if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_USER_MEMORY_REGION (slot %u)", i);
        return false;
    }
    return true;
}

bool kvm_map_memory(struct kvm *kvm, const struct guest_memory *mem, GError **errp)
{
    kvm->mem = mem;
    for (unsigned i = 0; i < mem->nranges; i++) {
        if (!kvm_set_slot(kvm, i, 0, errp))
            return false;
    }
    return true;
}

static uint64_t kvm_slot_pages(const struct kvm *kvm, unsigned i)
{
    return kvm->mem->ranges[i].size / RAM_PAGE_SIZE;
}

bool kvm_dirty_log_start(struct kvm *kvm, GError **errp)
{
    uint64_t most = 0;

    for (unsigned i = 0; i < kvm->mem->nranges; i++) {
        most = MAX(most, kvm_slot_pages(kvm, i));
        if (!kvm_set_slot(kvm, i, KVM_MEM_LOG_DIRTY_PAGES, errp))
            goto fail;
    }
    kvm->dirty_logging = true;
    g_free(kvm->dirty_bitmap);
    kvm->dirty_bitmap = g_new0(uint64_t, (most + 63) / 64);
    return true;
fail:
    kvm_dirty_log_stop(kvm); /* the slots before the failing one */
    return false;
}

bool kvm_dirty_log_sync(struct kvm *kvm, struct ram_state *rs, unsigned block, GError **errp)
{
    if (!kvm->dirty_logging && !kvm_dirty_log_start(kvm, errp))
        return false;
    for (unsigned i = 0; i < kvm->mem->nranges; i++) {
        struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = kvm->dirty_bitmap };

        if (ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
            error_setg_errno(errp, errno, "KVM_GET_DIRTY_LOG (slot %u)", i);
            return false;
        }
        ram_or_dirty_bitmap(rs, block, kvm->mem->ranges[i].offset / RAM_PAGE_SIZE,
                            kvm->dirty_bitmap, kvm_slot_pages(kvm, i));
    }
    return true;
}

void kvm_dirty_log_stop(struct kvm *kvm)
{
    g_autoptr(GError) err = NULL;

    /* Every slot, also after a partial start; a failure here only costs
     * speed (write-protect faults), so it is reported, not fatal. */
    for (unsigned i = 0; i < kvm->mem->nranges; i++) {
        if (!kvm_set_slot(kvm, i, 0, &err)) {
            fprintf(stderr, "tern: stopping dirty logging: %s\n", err->message);
            g_clear_error(&err);
        }
    }
    kvm->dirty_logging = false;
    g_clear_pointer(&kvm->dirty_bitmap, g_free);
}

void kvm_irq_set(void *opaque, unsigned gsi, int level)
{
    struct kvm *kvm = opaque;
    struct kvm_irq_level irq = { .irq = gsi, .level = level };

    if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
        fprintf(stderr, "tern: KVM_IRQ_LINE %u: %s\n", gsi, g_strerror(errno));
}

bool kvm_reset_irqchip(struct kvm *kvm, GError **errp)
{
    for (unsigned i = 0; i < 3; i++) {
        if (ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &kvm->reset_state.chip[i]) < 0) {
            error_setg_errno(errp, errno, "KVM_SET_IRQCHIP");
            return false;
        }
    }
    if (ioctl(kvm->vm_fd, KVM_SET_PIT2, &kvm->reset_state.pit) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_PIT2");
        return false;
    }
    return true;
}
