/*
 * Socket addresses as QEMU writes them, and the listen/connect/accept calls
 * every user of them (monitors, and later migration channels) shares.
 *
 *   unix:PATH              a UNIX stream socket
 *   tcp:HOST:PORT          TCP; HOST may be empty or "0" (any address),
 *                          a name, an IPv4 address or [IPv6]
 *
 * Every descriptor returned is close-on-exec.  Listening and accepted
 * sockets are non-blocking; connected ones are blocking (callers switch).
 */
#ifndef UTIL_SOCKETS_H
#define UTIL_SOCKETS_H

#include <glib.h>
#include <stdbool.h>

enum sock_kind {
    SOCK_UNIX,
    SOCK_TCP,
};

struct sock_addr {
    enum sock_kind kind;
    char *path; /* unix */
    char *host; /* tcp: NULL means any address */
    char *port; /* tcp */
};

/* Parse "unix:PATH" or "tcp:HOST:PORT" (the whole string). */
bool sock_addr_parse(const char *str, struct sock_addr *a, GError **errp);
/* Fill @a from QEMU's -chardev socket keys: path=, or host= and port=. */
bool sock_addr_from_keys(struct sock_addr *a, char *path, char *host, char *port,
                         GError **errp);
void sock_addr_copy(struct sock_addr *dst, const struct sock_addr *src);
void sock_addr_clear(struct sock_addr *a);
/* "unix:PATH" / "tcp:HOST:PORT", for messages. */
char *sock_addr_to_str(const struct sock_addr *a);

/* Listen on @a (a UNIX path is replaced).  Returns the fd or -1. */
int sock_listen(const struct sock_addr *a, int backlog, GError **errp);
/* Connect to @a (blocking).  Returns the fd or -1. */
int sock_connect(const struct sock_addr *a, GError **errp);
/* sock_connect() that gives up with ECANCELED once @cancel_fd is
 * readable (-1: never); the socket it returns is blocking. */
int sock_connect_cancellable(const struct sock_addr *a, int cancel_fd, GError **errp);
/* Accept one pending client (non-blocking, close-on-exec) or -1. */
int sock_accept(int listen_fd);
/* The address socket @fd is bound to, numeric (a TCP listener's port
 * 0 resolved); false for another family.  sock_addr_clear() it after. */
bool sock_local_addr(int fd, struct sock_addr *a);
/* The port a TCP listener got (for port 0), or 0. */
int sock_local_port(int fd);

#endif
