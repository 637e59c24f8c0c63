#include "accel/kvm-vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/error.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void vcpu_kick_handler(int sig)
{
    (void)sig; /* only there to make KVM_RUN return EINTR */
}

static void vcpu_install_kick_handler(void)
{
    struct sigaction sa = { .sa_handler = vcpu_kick_handler };

    sigemptyset(&sa.sa_mask);
    sigaction(VCPU_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: ioctl must return */
}

/* A "cpu" section was loaded (VM lock held, vCPU parked): whatever this
 * vCPU was doing before is gone with its old state. */
static void vcpu_loaded(void *opaque)
{
    struct vcpu *v = opaque;

    v->io_pending = false;
    v->failed = false;
}

static bool vcpu_create(struct cpus *c, struct vcpu *v, unsigned index, GError **errp)
{
    v->cpus = c;
    v->index = index;
    v->fd = ioctl(c->kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (v->fd < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_VCPU %u", index);
        return false;
    }
    v->run = mmap(NULL, c->kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        v->run = NULL;
        error_setg_errno(errp, errno, "mmap vCPU %u", index);
        return false;
    }
    return kvm_x86_vcpu_setup(v->fd, c->kvm->supported_cpuid, index, c->n, errp) &&
           kvm_x86_save_reset_state(v->fd, &v->reset_state, errp) &&
           kvm_cpu_state_init(&v->state, c->kvm, v->fd, index, vcpu_loaded, v, errp);
}

bool cpus_init(struct cpus *c, struct kvm *kvm, unsigned n, GMutex *lock,
               const struct cpus_env *env, GError **errp)
{
    memset(c, 0, sizeof(*c));
    c->kvm = kvm;
    c->lock = lock;
    c->env = *env;
    c->n = n;
    c->vcpu = g_new0(struct vcpu, n);
    for (unsigned i = 0; i < n; i++)
        c->vcpu[i].fd = -1;
    g_cond_init(&c->park_cond);
    g_cond_init(&c->ack_cond);
    c->pause_requested = true; /* threads start parked */
    vcpu_install_kick_handler();
    for (unsigned i = 0; i < n; i++) {
        if (!vcpu_create(c, &c->vcpu[i], i, errp))
            return false;
    }
    return true;
}

/* Report a fatal exit and park this vCPU for good. */
static void vcpu_fail(struct vcpu *v, const char *what)
{
    g_autofree char *regs = kvm_x86_describe_regs(v->fd);
    g_autofree char *msg = g_strdup_printf("%s; %s", what, regs);

    v->failed = true;
    if (v->cpus->env.internal_error)
        v->cpus->env.internal_error(v->cpus->env.opaque, v->index, msg);
}

static void vcpu_handle_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool out = run->io.direction == KVM_EXIT_IO_OUT;

    /* "rep ins/outs" arrive as one exit with count > 1 */
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
        iomap_dispatch(v->cpus->env.pio, run->io.port, data, run->io.size, out);
    v->io_pending = true;
}

static void vcpu_handle_exit(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    const struct cpus_env *env = &v->cpus->env;
    char what[160];

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        vcpu_handle_io(v);
        return;
    case KVM_EXIT_MMIO:
        iomap_dispatch(env->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
                       run->mmio.is_write);
        v->io_pending = true;
        return;
    case KVM_EXIT_HLT:
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        return;
    case KVM_EXIT_SHUTDOWN: /* triple fault: a PC resets */
        if (env->reset)
            env->reset(env->opaque);
        return;
    case KVM_EXIT_SYSTEM_EVENT:
        if (run->system_event.type == KVM_SYSTEM_EVENT_RESET && env->reset)
            env->reset(env->opaque);
        else if (env->shutdown)
            env->shutdown(env->opaque);
        return;
    case KVM_EXIT_INTERNAL_ERROR:
        snprintf(what, sizeof(what), "KVM internal error, suberror %u%s",
                 run->internal.suberror,
                 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure)"
                                                                        : "");
        vcpu_fail(v, what);
        return;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof(what), "KVM entry failed, hardware reason 0x%llx",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        vcpu_fail(v, what);
        return;
    default:
        snprintf(what, sizeof(what), "unhandled KVM exit reason %u", run->exit_reason);
        vcpu_fail(v, what);
        return;
    }
}

static bool vcpu_should_park(const struct vcpu *v)
{
    return v->cpus->pause_requested || v->cpus->stopping || v->failed;
}

/* Let KVM finish an I/O instruction whose data we just supplied, so that
 * saved state never holds a half-done instruction.  Lock held. */
static void vcpu_complete_io(struct vcpu *v)
{
    int r;

    v->run->immediate_exit = 1;
    g_mutex_unlock(v->cpus->lock);
    r = ioctl(v->fd, KVM_RUN, 0);
    g_mutex_lock(v->cpus->lock);
    v->io_pending = false;
    /* A split access (an MMIO instruction crossing 8 bytes) can come back
     * with its next exit instead of EINTR: serve it; the caller completes
     * again while io_pending is set. */
    if (r == 0)
        vcpu_handle_exit(v);
}

static void vcpu_park(struct vcpu *v)
{
    struct cpus *c = v->cpus;

    c->nparked++;
    g_cond_broadcast(&c->ack_cond);
    while (vcpu_should_park(v) && !c->stopping)
        g_cond_wait(&c->park_cond, c->lock);
    c->nparked--;
}

static void *vcpu_thread(void *opaque)
{
    struct vcpu *v = opaque;
    struct cpus *c = v->cpus;
    sigset_t set;
    int r, err;

    sigemptyset(&set);
    sigaddset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    g_mutex_lock(c->lock);
    v->tid = gettid();
    for (;;) {
        v->run->immediate_exit = 0;
        if (vcpu_should_park(v)) {
            if (v->io_pending && !v->failed) {
                vcpu_complete_io(v);
                continue;
            }
            if (c->stopping)
                break;
            vcpu_park(v);
            continue;
        }
        g_mutex_unlock(c->lock);
        r = ioctl(v->fd, KVM_RUN, 0);
        err = errno;
        g_mutex_lock(c->lock);
        if (r < 0) {
            if (err != EINTR && err != EAGAIN)
                vcpu_fail(v, g_strerror(err));
            continue;
        }
        v->io_pending = false;
        vcpu_handle_exit(v);
    }
    c->nparked++;
    g_cond_broadcast(&c->ack_cond);
    g_mutex_unlock(c->lock);
    return NULL;
}

bool cpus_start(struct cpus *c, GError **errp)
{
    for (unsigned i = 0; i < c->n; i++) {
        struct vcpu *v = &c->vcpu[i];
        int err = pthread_create(&v->thread, NULL, vcpu_thread, v);

        if (err) {
            error_setg_errno(errp, err, "cannot start vCPU %u thread", i);
            return false;
        }
        v->thread_started = true;
    }
    return true;
}

static void vcpu_kick(struct vcpu *v)
{
    if (!v->run)
        return;
    v->run->immediate_exit = 1;
    if (v->thread_started)
        pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void cpus_request_pause(struct cpus *c)
{
    c->pause_requested = true;
    for (unsigned i = 0; i < c->n; i++)
        vcpu_kick(&c->vcpu[i]);
}

static unsigned cpus_started(const struct cpus *c)
{
    unsigned n = 0;

    for (unsigned i = 0; i < c->n; i++)
        n += c->vcpu[i].thread_started;
    return n;
}

bool cpus_all_parked(const struct cpus *c)
{
    return c->nparked == cpus_started(c);
}

void cpus_pause(struct cpus *c)
{
    cpus_request_pause(c);
    while (!cpus_all_parked(c))
        g_cond_wait(&c->ack_cond, c->lock);
}

void cpus_resume(struct cpus *c)
{
    c->pause_requested = false;
    g_cond_broadcast(&c->park_cond);
}

bool cpus_reset(struct cpus *c, const struct boot_entry *entry, GError **errp)
{
    for (unsigned i = 0; i < c->n; i++) {
        struct vcpu *v = &c->vcpu[i];

        v->failed = false;
        v->io_pending = false;
        if (!kvm_x86_load_reset_state(v->fd, &v->reset_state, errp))
            return false;
    }
    return kvm_x86_set_boot_entry(c->vcpu[0].fd, entry, errp);
}

bool cpus_register_vmstate(struct cpus *c, struct savevm *sv, GError **errp)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (!savevm_register_vmsd(sv, "cpu", i, &kvm_cpu_state_vmstate, &c->vcpu[i].state.s,
                                  errp))
            return false;
    }
    return true;
}

void cpus_destroy(struct cpus *c)
{
    if (!c->vcpu)
        return;
    c->stopping = true;
    g_cond_broadcast(&c->park_cond);
    for (unsigned i = 0; i < c->n; i++)
        vcpu_kick(&c->vcpu[i]);
    g_mutex_unlock(c->lock);
    for (unsigned i = 0; i < c->n; i++) {
        if (c->vcpu[i].thread_started)
            pthread_join(c->vcpu[i].thread, NULL);
    }
    g_mutex_lock(c->lock);
    for (unsigned i = 0; i < c->n; i++) {
        struct vcpu *v = &c->vcpu[i];

        if (v->run)
            munmap(v->run, c->kvm->vcpu_mmap_size);
        if (v->fd >= 0)
            close(v->fd);
    }
    g_free(c->vcpu);
    c->vcpu = NULL;
    g_cond_clear(&c->park_cond);
    g_cond_clear(&c->ack_cond);
}
