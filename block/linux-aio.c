#include "block/linux-aio.h"

#include <errno.h>
#include <libaio.h>
#include <string.h>

#include "block/block-int.h"
#include "util/error.h"

struct la_req {
    struct iocb iocb; /* first: io_event.obj points here */
    struct block_req *req;
};

struct linux_aio {
    io_context_t ctx;
    int efd;
    GQueue pending; /* struct la_req not yet accepted by io_submit() */
    unsigned in_kernel;
};

struct linux_aio *linux_aio_new(int eventfd, GError **errp)
{
    struct linux_aio *la = g_new0(struct linux_aio, 1);
    int r = io_setup(LINUX_AIO_MAX_EVENTS, &la->ctx);

    if (r < 0) {
        error_setg_errno(errp, -r, "Linux AIO io_setup failed (aio=threads avoids it)");
        g_free(la);
        return NULL;
    }
    la->efd = eventfd;
    g_queue_init(&la->pending);
    return la;
}

void linux_aio_free(struct linux_aio *la)
{
    if (!la)
        return;
    g_assert(la->in_kernel == 0 && g_queue_is_empty(&la->pending));
    io_destroy(la->ctx);
    g_free(la);
}

static void fail(struct la_req *r, int err)
{
    r->req->ret = err;
    block_req_done_async(r->req);
    g_free(r);
}

static void submit_pending(struct linux_aio *la)
{
    while (!g_queue_is_empty(&la->pending) && la->in_kernel < LINUX_AIO_MAX_EVENTS) {
        struct la_req *r = g_queue_peek_head(&la->pending);
        struct iocb *p = &r->iocb;
        int n = io_submit(la->ctx, 1, &p);

        if (n == -EAGAIN && la->in_kernel > 0)
            return; /* retried when something completes */
        g_queue_pop_head(&la->pending);
        if (n == 1)
            la->in_kernel++;
        else
            fail(r, n < 0 ? n : -EIO);
    }
}

void linux_aio_submit(struct linux_aio *la, int fd, struct block_req *req)
{
    struct la_req *r = g_new0(struct la_req, 1);

    r->req = req;
    if (req->op == BLOCK_OP_READ)
        io_prep_preadv(&r->iocb, fd, req->iov, req->iovcnt, req->offset);
    else
        io_prep_pwritev(&r->iocb, fd, req->iov, req->iovcnt, req->offset);
    io_set_eventfd(&r->iocb, la->efd);
    g_queue_push_tail(&la->pending, r);
    submit_pending(la);
}

/* A short read means the file shrank under us: the rest reads as zeroes. */
static void zero_tail(struct block_req *req, uint64_t done)
{
    for (int i = 0; i < req->iovcnt; i++) {
        size_t len = req->iov[i].iov_len;

        if (done < len)
            memset((char *)req->iov[i].iov_base + done, 0, len - done);
        done = done > len ? done - len : 0;
    }
}

static void complete(struct la_req *r, long res)
{
    struct block_req *req = r->req;

    if (res < 0)
        req->ret = res;
    else if ((uint64_t)res == req->bytes)
        req->ret = 0;
    else if (req->op == BLOCK_OP_READ) {
        zero_tail(req, res);
        req->ret = 0;
    } else
        req->ret = -ENOSPC;
    g_free(r);
    block_req_done(req);
}

void linux_aio_reap(struct linux_aio *la)
{
    struct io_event ev[LINUX_AIO_MAX_EVENTS];
    struct timespec zero = { 0, 0 };
    int n;

    do {
        n = io_getevents(la->ctx, 0, LINUX_AIO_MAX_EVENTS, ev, &zero);
        if (n == -EINTR)
            continue;
        for (int i = 0; i < n; i++) {
            la->in_kernel--;
            complete((struct la_req *)ev[i].obj, (long)ev[i].res);
        }
    } while (n == LINUX_AIO_MAX_EVENTS || n == -EINTR);
    submit_pending(la);
}
