/*
 * vCPU threads and the pause/resume handshake.
 *
 * Each vCPU runs KVM_RUN in its own thread.  Exits that need the VMM (port
 * I/O, MMIO, shutdown, errors) are handled on that thread with the VM lock
 * held.  Pausing works as QEMU's pause_all_vcpus():
 *
 *   main thread (lock held)           vCPU thread
 *   pause_requested = true
 *   for each vCPU: run->immediate_exit = 1, pthread_kill(SIGUSR1)
 *                                     KVM_RUN returns (EINTR), takes the lock,
 *                                     completes in-flight I/O (one more
 *                                     KVM_RUN with immediate_exit = 1),
 *                                     parks: nparked++, signal ack_cond,
 *                                     wait on park_cond (lock released)
 *   wait on ack_cond until nparked == n
 *   ... vCPU/device state is stable ...
 *   pause_requested = false, broadcast park_cond   -> vCPUs run again
 *
 * immediate_exit is cleared only with the lock held and before the park
 * check, so a kick can never be lost between the check and KVM_RUN.
 * Threads start parked: cpus_resume() lets them run.
 */
#ifndef ACCEL_KVM_VCPU_H
#define ACCEL_KVM_VCPU_H

#include <glib.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "accel/kvm-cpu-state.h"
#include "accel/kvm-x86.h"
#include "accel/kvm.h"
#include "migration/savevm.h"
#include "system/iomap.h"

/* What a vCPU thread reports to the VM.  Called with the VM lock held on the
 * vCPU thread; the callee must not wait for vCPUs (post to the main loop). */
struct cpus_env {
    const struct iomap *pio;
    const struct iomap *mmio;
    void (*reset)(void *opaque);    /* triple fault, KVM reset event */
    void (*shutdown)(void *opaque); /* KVM shutdown event */
    void (*internal_error)(void *opaque, unsigned index, const char *msg);
    void *opaque;
};

struct cpus;

struct vcpu {
    struct cpus *cpus;
    unsigned index;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
    int tid; /* host thread id (query-cpus-fast), set by the thread */
    bool io_pending; /* last exit was I/O that KVM completes on the next entry */
    bool failed;     /* fatal KVM_RUN error: stays parked */
    struct kvm_x86_reset_state reset_state;
    struct kvm_cpu_section state; /* the "cpu" migration section */
};

struct cpus {
    struct kvm *kvm;
    GMutex *lock; /* the VM lock */
    struct cpus_env env;
    unsigned n;
    struct vcpu *vcpu;
    GCond park_cond;
    GCond ack_cond;
    bool pause_requested;
    bool stopping;
    unsigned nparked;
};

bool cpus_init(struct cpus *c, struct kvm *kvm, unsigned n, GMutex *lock,
               const struct cpus_env *env, GError **errp);
/* Start the threads, parked.  Lock held. */
bool cpus_start(struct cpus *c, GError **errp);
/* Ask every vCPU to park, without waiting.  Lock held, any thread. */
void cpus_request_pause(struct cpus *c);
/* Park every vCPU and wait for all of them.  Lock held, main thread. */
void cpus_pause(struct cpus *c);
/* Let parked vCPUs run.  Lock held. */
void cpus_resume(struct cpus *c);
bool cpus_all_parked(const struct cpus *c);
/* Reset every vCPU to power-on and point vCPU 0 at @entry.  Paused. */
bool cpus_reset(struct cpus *c, const struct boot_entry *entry, GError **errp);
/* Register one "cpu" section per vCPU (instance = index).  Loading one
 * also clears the vCPU's io_pending/failed: the loaded state is complete. */
bool cpus_register_vmstate(struct cpus *c, struct savevm *sv, GError **errp);
/* Stop and join the threads, close the vCPUs.  Lock held (dropped while
 * joining). */
void cpus_destroy(struct cpus *c);

#endif
