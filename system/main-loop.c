#include "system/main-loop.h"

void main_loop_init(struct main_loop *ml)
{
    ml->ctx = g_main_context_new();
    g_mutex_init(&ml->lock);
    ml->fds = NULL;
    ml->nfds_alloc = 0;
    ml->quit = 0;
    ml->owner = g_thread_self();
}

void main_loop_destroy(struct main_loop *ml)
{
    /* Sources still attached (chardev watches...) belong to their owners,
     * which are destroyed before the loop; this only drops the context. */
    g_main_context_unref(ml->ctx);
    g_mutex_clear(&ml->lock);
    g_free(ml->fds);
    ml->fds = NULL;
}

void main_loop_lock(struct main_loop *ml)
{
    g_mutex_lock(&ml->lock);
}

void main_loop_unlock(struct main_loop *ml)
{
    g_mutex_unlock(&ml->lock);
}

void main_loop_iterate(struct main_loop *ml, int timeout_ms)
{
    gint max_prio, timeout, n;

    if (!g_main_context_acquire(ml->ctx))
        return;
    g_main_context_prepare(ml->ctx, &max_prio);
    while ((n = g_main_context_query(ml->ctx, max_prio, &timeout, ml->fds, ml->nfds_alloc)) >
           ml->nfds_alloc) {
        ml->nfds_alloc = n;
        ml->fds = g_renew(GPollFD, ml->fds, n);
    }
    if (timeout < 0 || (timeout_ms >= 0 && timeout_ms < timeout))
        timeout = timeout_ms;
    if (ml->quit)
        timeout = 0;

    g_mutex_unlock(&ml->lock);
    g_poll(ml->fds, n, timeout);
    g_mutex_lock(&ml->lock);

    if (g_main_context_check(ml->ctx, max_prio, ml->fds, n))
        g_main_context_dispatch(ml->ctx);
    g_main_context_release(ml->ctx);
}

void main_loop_run(struct main_loop *ml)
{
    while (!g_atomic_int_get(&ml->quit))
        main_loop_iterate(ml, -1);
}

void main_loop_quit(struct main_loop *ml)
{
    g_atomic_int_set(&ml->quit, true);
    g_main_context_wakeup(ml->ctx);
}

bool main_loop_is_main_thread(const struct main_loop *ml)
{
    return g_thread_self() == ml->owner;
}

void main_loop_post(struct main_loop *ml, GSourceFunc fn, void *opaque)
{
    GSource *s = g_idle_source_new();

    g_source_set_callback(s, fn, opaque, NULL);
    g_source_attach(s, ml->ctx);
    g_source_unref(s);
}
