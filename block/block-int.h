/*
 * Inside the block layer: one request as it travels from block.c to an
 * engine (the thread pool calling raw_do(), or linux-aio.c) and back.
 */
#ifndef BLOCK_BLOCK_INT_H
#define BLOCK_BLOCK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block/block.h"

struct block_req {
    struct block_backend *bb;
    unsigned op; /* one BLOCK_OP_* */
    uint64_t offset, bytes;
    /* What the engine reads into / writes from: the caller's segments, or
     * one aligned bounce buffer. */
    struct iovec *iov;
    int iovcnt;
    /* The caller's segments when bounced (reads copy back at completion). */
    struct iovec *user_iov;
    int user_iovcnt;
    void *bounce;
    bool submitted; /* reached an engine (so it may have written) */
    int ret;
    block_complete_fn *cb;
    void *opaque;
};

/* Hand a finished request back; any thread (the pool's workers). */
void block_req_done_async(struct block_req *req);
/* Hand a finished request back from @ctx's thread (the Linux AIO reaper). */
void block_req_done(struct block_req *req);

#endif
