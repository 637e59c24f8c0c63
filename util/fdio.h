/*
 * Small pieces shared by everything that owns descriptors watched by the
 * main loop (chardevs, monitor clients).
 */
#ifndef UTIL_FDIO_H
#define UTIL_FDIO_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

/* Destroy and unref a source we hold a reference to; NULL it.  No-op on NULL. */
void fdio_source_drop(GSource **s);
/* Write what fits now without blocking (@fd non-blocking, or a file):
 * bytes written, possibly 0, or -1 when the reader is gone.  Sockets use
 * send(MSG_NOSIGNAL). */
ssize_t fdio_write_some(int fd, bool socket, const void *buf, size_t len);

#endif
