/*
 * Monitor endpoints and their clients: where QMP and HMP sessions meet the
 * outside world.
 *
 *   -qmp / -monitor stdio               one session on stdin/stdout
 *   ... unix:PATH,server[,nowait]        listen; every client that connects
 *   ... tcp:HOST:PORT,server[,nowait]    gets its own session (up to
 *                                        MONITOR_MAX_CLIENTS at once; more
 *                                        wait in the backlog)
 *   ... unix:PATH / tcp:HOST:PORT        connect out, one session
 *   -chardev socket,id=X,... -mon chardev=X,mode=control|readline
 *
 * QEMU's socket chardev serves one client at a time; Tern serves several,
 * each with its own negotiation state, so a stuck or hostile client never
 * locks out the next.  Without nowait, startup waits (in the main loop, so
 * signals still work) for a first client on that endpoint.
 *
 * Output never blocks the main loop: each client has a queue flushed when
 * its socket is writable (a stdio monitor's stdout is made non-blocking
 * for the monitor's life and restored after).  A client whose queue passes MONITOR_OUT_THROTTLE
 * is not read from until it drains (a client that sends requests but never
 * reads replies stalls only itself); past MONITOR_OUT_MAX it is dropped.
 * Events go to every negotiated QMP client.
 *
 * Thread context: everything here runs on the main thread with the VM lock
 * held (main-loop callbacks, vm->event).  Clients are freed from an idle
 * callback, never inside their own I/O callbacks.
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include <glib.h>

#include "system/options.h"

#define MONITOR_MAX_CLIENTS 64
#define MONITOR_OUT_THROTTLE (1u << 20)
#define MONITOR_OUT_MAX (4u << 20)

struct vm;
struct monitors;

/* Open every endpoint in @configs (struct monitor_config *) and hook the
 * VM's events; waits for first clients where asked.  Lock held. */
struct monitors *monitors_new(struct vm *vm, GPtrArray *configs, GError **errp);
/* Send what is still queued (bounded wait), close everything. Lock held. */
void monitors_free(struct monitors *m);

#endif
