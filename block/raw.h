/*
 * A raw image file: opening it with its checks, O_DIRECT alignment probing,
 * and the synchronous operations the thread pool runs.  No state changes
 * after raw_open(), so raw_do() may run on several threads at once.
 */
#ifndef BLOCK_RAW_H
#define BLOCK_RAW_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct raw_file {
    int fd;
    char *filename;
    uint64_t length;
    bool readonly;
    bool direct;
    uint64_t req_align; /* 1 unless direct */
    uint64_t mem_align; /* 1 unless direct */
};

/* Clear messages for a missing, unreadable, directory, empty or
 * not-512-multiple image, and for O_DIRECT on a file system without it. */
bool raw_open(struct raw_file *f, const char *filename, bool readonly, bool direct,
              GError **errp);
void raw_close(struct raw_file *f);

/* Run one BLOCK_OP_* synchronously: 0 or -errno. */
int raw_do(const struct raw_file *f, unsigned op, uint64_t offset, uint64_t bytes,
           const struct iovec *iov, int iovcnt);

#endif
