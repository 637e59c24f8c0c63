/*
 * Migration transports: where a stream goes to (outgoing) or comes from
 * (incoming), named by QEMU's URIs.
 *
 *   tcp:HOST:PORT[,to=PORT2]   TCP, IPv4 or [IPv6]; incoming HOST may be
 *                              empty or 0 (any); to= tries PORT..PORT2
 *   unix:PATH                  a UNIX stream socket
 *   exec:CMD                   "sh -c CMD": outgoing writes its stdin,
 *                              incoming reads its stdout
 *   fd:N | fd:NAME             a descriptor the process inherited (a
 *                              number) or one passed with "getfd NAME"
 *   file:PATH                  a regular file: the stream saved to it, or
 *                              loaded from it (a snapshot)
 *
 * Sockets carry the return path (destination -> source acknowledgements)
 * over the same connection; exec, file and non-socket fds have none.
 *
 * Thread context: mig_channel_open_out() runs on the migration thread;
 * mig_channel_cancel() on the main thread while another thread may be
 * blocked in a read or write of the channel; everything else on one thread
 * at a time.
 */
#ifndef MIGRATION_CHANNEL_H
#define MIGRATION_CHANNEL_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/sockets.h"

enum mig_transport {
    MIG_TRANSPORT_TCP,
    MIG_TRANSPORT_UNIX,
    MIG_TRANSPORT_EXEC,
    MIG_TRANSPORT_FD,
    MIG_TRANSPORT_FILE,
};

struct mig_uri {
    enum mig_transport kind;
    struct sock_addr addr; /* tcp, unix */
    char *port_to;         /* tcp ",to=": last port to try when listening */
    char *arg;             /* exec: the command; fd: number or name; file: path */
};

/* Look up a descriptor passed with "getfd NAME"; the caller gets its own
 * copy (dup) or -1 with @errp set. */
typedef int (*mig_fd_lookup_fn)(void *opaque, const char *name, GError **errp);

struct mig_channel {
    int fd;          /* the stream; -1 when closed */
    bool socket;     /* fd is a connected stream socket: a return path */
    GPid pid;        /* exec: the shell, 0 otherwise */
    char *desc;      /* the URI, for messages */
    bool cancelled;  /* mig_channel_cancel() ran */
};

/* After a cancel, how long an exec command has to obey SIGTERM before
 * close sends SIGKILL to its process group. */
#define MIG_CHANNEL_KILL_AFTER_MS 3000

bool mig_uri_parse(const char *uri, struct mig_uri *u, GError **errp);
void mig_uri_clear(struct mig_uri *u);

void mig_channel_init(struct mig_channel *ch);
/* Outgoing: connect, spawn, open or take the descriptor (blocking fd).
 * A connect gives up when @cancel_fd (-1: none) becomes readable. */
bool mig_channel_open_out(struct mig_channel *ch, const struct mig_uri *u,
                          mig_fd_lookup_fn lookup, void *lookup_opaque, int cancel_fd,
                          GError **errp);
/* Incoming channels that need no listener: exec, fd, file. */
bool mig_channel_open_in(struct mig_channel *ch, const struct mig_uri *u,
                         mig_fd_lookup_fn lookup, void *lookup_opaque, GError **errp);
/* Incoming tcp/unix: a non-blocking listening socket (a to= range is tried
 * in order; sock_local_port() tells which port was bound). */
int mig_channel_listen(const struct mig_uri *u, GError **errp);
/* Wake a thread blocked on the channel: sockets are shut down, an exec
 * command's process group is sent SIGTERM.  Any thread; the fd stays open
 * until close.  (Pipes cannot be woken this way: the outgoing stream
 * writes them non-blocking and watches the migration's cancel eventfd,
 * qemu_file_set_cancel_fd().) */
void mig_channel_cancel(struct mig_channel *ch);
/* Close; for exec, wait for the shell and fail unless it exited 0 (after
 * a cancel, SIGKILL once MIG_CHANNEL_KILL_AFTER_MS have passed). */
bool mig_channel_close(struct mig_channel *ch, GError **errp);

/* Write/read all of @len bytes on a blocking fd; false on EOF or error. */
bool mig_channel_write_all(int fd, const void *buf, size_t len, GError **errp);
bool mig_channel_read_all(int fd, void *buf, size_t len, GError **errp);

#endif
