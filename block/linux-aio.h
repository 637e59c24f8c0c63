/*
 * Reads and writes through Linux native AIO (libaio).  One io_context per
 * backend with up to LINUX_AIO_MAX_EVENTS requests in the kernel; more wait
 * in a queue and go in as earlier ones complete.  Every iocb signals the
 * backend's eventfd (io_set_eventfd); the backend's main-loop source then
 * calls linux_aio_reap().  Not thread-safe: @ctx's thread or the VM lock.
 *
 * Built without libaio (linux-aio-stub.c), linux_aio_new() fails cleanly.
 */
#ifndef BLOCK_LINUX_AIO_H
#define BLOCK_LINUX_AIO_H

#include <glib.h>

#define LINUX_AIO_MAX_EVENTS 128

struct linux_aio;
struct block_req;

struct linux_aio *linux_aio_new(int eventfd, GError **errp);
/* Call only with nothing in flight (after a drain).  NULL ok. */
void linux_aio_free(struct linux_aio *la);
/* Queue a BLOCK_OP_READ or BLOCK_OP_WRITE; it completes through
 * block_req_done() or block_req_done_async(), never before this returns. */
void linux_aio_submit(struct linux_aio *la, int fd, struct block_req *req);
/* Complete whatever the kernel has finished and submit what was waiting. */
void linux_aio_reap(struct linux_aio *la);

#endif
