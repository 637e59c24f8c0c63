/*
 * The main loop: a GMainContext iterated by hand so that the VM lock (QEMU's
 * "big lock", simplified) is dropped exactly while the loop sleeps in poll().
 * Every main-loop callback (chardev input, timers, requests posted by vCPU
 * threads) therefore runs with the VM lock held, and vCPU threads that take
 * the lock for device I/O never wait for an idle main loop.
 *
 *   main thread:  lock -> [prepare, query] -> unlock -> poll -> lock ->
 *                 [check, dispatch callbacks] -> ... -> unlock at exit
 *
 * main_loop_post() may be called from any thread to run a function on the
 * main thread (with the lock held) at the next iteration.
 */
#ifndef SYSTEM_MAIN_LOOP_H
#define SYSTEM_MAIN_LOOP_H

#include <glib.h>
#include <stdbool.h>

struct main_loop {
    GMainContext *ctx;
    GMutex lock; /* the VM lock */
    GPollFD *fds;
    gint nfds_alloc;
    gint quit; /* atomic */
    GThread *owner; /* the thread that created the loop and runs it */
};

void main_loop_init(struct main_loop *ml);
void main_loop_destroy(struct main_loop *ml);

void main_loop_lock(struct main_loop *ml);
void main_loop_unlock(struct main_loop *ml);

/* One iteration; call with the lock held.  @timeout_ms < 0: block. */
void main_loop_iterate(struct main_loop *ml, int timeout_ms);
/* Iterate until main_loop_quit(); call with the lock held. */
void main_loop_run(struct main_loop *ml);
/* Ask main_loop_run() to return; any thread, lock held or not. */
void main_loop_quit(struct main_loop *ml);

/* Is the caller the loop's own (main) thread? */
bool main_loop_is_main_thread(const struct main_loop *ml);

/* Run fn(opaque) on the main thread soon.  Any thread. */
void main_loop_post(struct main_loop *ml, GSourceFunc fn, void *opaque);

#endif
