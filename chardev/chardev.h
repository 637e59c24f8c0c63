/*
 * Character device backends for the serial port (and, later, monitors):
 *
 *   stdio                       write to stdout, read stdin
 *   null                        discard output, no input
 *   file:PATH                   write (truncate) PATH
 *   unix:PATH,server[,nowait]   listen on a UNIX socket, one client at a time;
 *                               without nowait, wait for the first client
 *   unix:PATH                   connect to an existing UNIX socket
 *
 * Thread context: chardev_write() is called by a device with the VM lock held,
 * often from a vCPU thread.  Input and connection events run on the main
 * thread (main loop callbacks, VM lock held) and are handed to the frontend's
 * receive handler.  Output while no client is connected is dropped, as QEMU
 * does for a disconnected socket.
 */
#ifndef CHARDEV_CHARDEV_H
#define CHARDEV_CHARDEV_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct chardev;

/* How many bytes the frontend can take now (0 = stop reading for a while). */
typedef size_t (*chardev_can_receive_fn)(void *opaque);
typedef void (*chardev_receive_fn)(void *opaque, const uint8_t *buf, size_t len);

struct chardev *chardev_new(const char *spec, GMainContext *ctx, GError **errp);
void chardev_free(struct chardev *chr);

/* Write all of @buf (blocking) unless no peer is connected. */
void chardev_write(struct chardev *chr, const uint8_t *buf, size_t len);

void chardev_set_handlers(struct chardev *chr, chardev_can_receive_fn can_receive,
                          chardev_receive_fn receive, void *opaque);
/* The frontend's can_receive went from 0 to non-zero: poll input again. */
void chardev_accept_input(struct chardev *chr);

const char *chardev_spec(const struct chardev *chr);

#endif
