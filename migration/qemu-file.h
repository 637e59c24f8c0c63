/*
 * QEMUFile: the buffered migration stream.
 *
 * Output: small writes (put_be32...) are copied into a 32 KiB buffer; large
 * ones and guest pages are queued as iovecs pointing at the caller's memory
 * (qemu_file_put_buffer_async: valid until the next flush) and everything
 * goes out in writev() calls of at most IOV_MAX entries.  Input: reads fill
 * the same buffer from the channel; qemu_file_peek() looks ahead without
 * consuming.  Channels: a file descriptor (socket, pipe, file) or memory (a
 * GByteArray for output, a copy of a buffer for input) for tests and fuzzing.
 *
 * All integers are big-endian.  str8 = u8 length + bytes, no NUL.
 *
 * Errors are sticky (STYLE.md rule 5): the first failure is recorded, every
 * later operation is a no-op (gets return 0), and the caller checks once
 * with qemu_file_get_error() / qemu_file_take_error().
 *
 * Rate limiting: with a limit of B bytes/s, each 100 ms window may carry
 * B / 10 bytes.  The sender asks qemu_file_may_send() before queueing more;
 * when it says no, qemu_file_window_wait_ns() tells how long until the next
 * window.  Bytes count when they are handed to the stream, not when writev
 * completes, so the limit also bounds what the buffer holds.
 *
 * Thread context: a QEMUFile is used by one thread at a time (the migration
 * thread for output, the incoming loader for input); no locking inside.
 */
#ifndef MIGRATION_QEMU_FILE_H
#define MIGRATION_QEMU_FILE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QEMU_FILE_BUF_SIZE 32768
#define QEMU_FILE_MAX_IOV 64
#define QEMU_FILE_WINDOW_NS 100000000LL /* rate-limit window: 100 ms */

typedef struct QEMUFile QEMUFile;

/* A clock for the rate limiter, in nanoseconds (tests pass a fake one). */
typedef int64_t (*qemu_file_clock_fn)(void *opaque);

QEMUFile *qemu_file_new_fd_output(int fd);
QEMUFile *qemu_file_new_fd_input(int fd);
/* Output collected in memory; see qemu_file_mem_data(). */
QEMUFile *qemu_file_new_mem_output(void);
/* Input from a copy of @len bytes at @data. */
QEMUFile *qemu_file_new_mem_input(const void *data, size_t len);

/* Flush, then free.  Returns false (with the stream's error) if anything
 * failed; the fd is not closed (the channel owns it). */
bool qemu_file_close(QEMUFile *f, GError **errp);
/* The bytes written so far to a memory output (after a flush). */
const GByteArray *qemu_file_mem_data(QEMUFile *f);

/* -- output -- */
void qemu_file_put_byte(QEMUFile *f, uint8_t v);
void qemu_file_put_be16(QEMUFile *f, uint16_t v);
void qemu_file_put_be32(QEMUFile *f, uint32_t v);
void qemu_file_put_be64(QEMUFile *f, uint64_t v);
void qemu_file_put_buffer(QEMUFile *f, const void *buf, size_t len);
/* Queue @buf without copying; it must stay valid until the next flush. */
void qemu_file_put_buffer_async(QEMUFile *f, const void *buf, size_t len);
/* u8 length + bytes; strings longer than 255 bytes are an error. */
void qemu_file_put_str8(QEMUFile *f, const char *s);
void qemu_file_flush(QEMUFile *f);

/* -- input -- */
uint8_t qemu_file_get_byte(QEMUFile *f);
uint16_t qemu_file_get_be16(QEMUFile *f);
uint32_t qemu_file_get_be32(QEMUFile *f);
uint64_t qemu_file_get_be64(QEMUFile *f);
/* Read exactly @len bytes; a short stream is an error. */
bool qemu_file_get_buffer(QEMUFile *f, void *buf, size_t len);
/* Read a str8 into @buf (at least 256 bytes), NUL-terminated. */
bool qemu_file_get_str8(QEMUFile *f, char *buf);
/* Skip @len bytes. */
bool qemu_file_skip(QEMUFile *f, size_t len);
/* Byte @offset ahead without consuming it; -1 at the end of the stream
 * (not an error) or when @offset >= QEMU_FILE_BUF_SIZE. */
int qemu_file_peek_byte(QEMUFile *f, size_t offset);
/* Copy up to @len bytes ahead without consuming; returns how many exist. */
size_t qemu_file_peek_buffer(QEMUFile *f, void *buf, size_t len);
/* True when no byte remains (input), without setting an error. */
bool qemu_file_eof(QEMUFile *f);

/* -- errors -- */
/* Record @err (taken) unless an error is already set. */
void qemu_file_set_error(QEMUFile *f, GError *err);
/* Record a formatted error unless one is already set. */
void qemu_file_fail(QEMUFile *f, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The sticky error, or NULL. */
const GError *qemu_file_get_error(QEMUFile *f);
/* Propagate the error to @errp once: later calls report nothing new and
 * return false while the stream stays failed. */
bool qemu_file_take_error(QEMUFile *f, GError **errp);

/* -- counters and rate limit -- */
/* Bytes handed to the stream (output) or consumed from it (input). */
uint64_t qemu_file_transferred(QEMUFile *f);
/* Bytes per second; 0 = unlimited. */
void qemu_file_set_rate_limit(QEMUFile *f, uint64_t bytes_per_sec);
uint64_t qemu_file_get_rate_limit(QEMUFile *f);
void qemu_file_set_clock(QEMUFile *f, qemu_file_clock_fn clock, void *opaque);
/* Output to a non-blocking fd: a write that would block waits for room or
 * for @cancel_fd to become readable, which fails the stream ("cancelled").
 * Without it a reader that stalls (a pipe) would hold a write forever. */
void qemu_file_set_cancel_fd(QEMUFile *f, int cancel_fd);
/* May the sender queue more in the current 100 ms window? */
bool qemu_file_may_send(QEMUFile *f);
/* Bytes the current window still takes: 0 after an error, UINT64_MAX
 * without a limit.  For senders that reserve room for data still being
 * read (block migration's reads in flight). */
uint64_t qemu_file_window_left(QEMUFile *f);
/* Nanoseconds until the current window ends (0 if unlimited). */
int64_t qemu_file_window_wait_ns(QEMUFile *f);

#endif
