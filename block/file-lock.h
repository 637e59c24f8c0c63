/*
 * Image locking with open file description (OFD) locks, byte for byte as
 * QEMU's file-posix.c does it, so that two Terns -- or a Tern and a QEMU --
 * cannot both write one image.
 *
 * Each permission bit i (FILE_LOCK_PERM_*) owns two bytes of the file:
 *
 *   byte 100 + i  shared-locked (F_RDLCK) by every open that *uses* perm i
 *   byte 200 + i  shared-locked by every open that *refuses to share* perm i
 *
 * An open that wants perm i fails if anybody else holds byte 200 + i ("Failed
 * to get "write" lock"); an open that refuses to share perm i fails if anybody
 * else holds byte 100 + i ("Failed to get shared "write" lock").  F_OFD_GETLK
 * ignores locks held through the same open file description, so the checks
 * see only other opens -- including other opens in the same process.
 *
 * The block layer uses:  writer:   perm READ|WRITE, shared READ|WRITE_UNCHANGED
 *                        reader:   perm READ,       shared READ|WRITE_UNCHANGED
 *                        inactive: perm 0,          shared ALL (no bytes locked)
 * so readers share with readers, and a writer excludes readers and writers.
 * The locks are advisory and only cover the first 204 bytes' lock space; they
 * never affect I/O.
 */
#ifndef BLOCK_FILE_LOCK_H
#define BLOCK_FILE_LOCK_H

#include <glib.h>
#include <stdbool.h>

enum {
    FILE_LOCK_PERM_CONSISTENT_READ = 0x1,
    FILE_LOCK_PERM_WRITE = 0x2,
    FILE_LOCK_PERM_WRITE_UNCHANGED = 0x4,
    FILE_LOCK_PERM_RESIZE = 0x8,
    FILE_LOCK_PERM_ALL = 0xf,
};

/*
 * Move @fd's locks from (@old_perm, @old_shared) to (@perm, @shared) and check
 * for conflicts with other opens.  On a conflict, restore the old locks and
 * fail with QEMU's message naming @filename.
 */
bool file_lock_set(int fd, const char *filename, unsigned old_perm, unsigned old_shared,
                   unsigned perm, unsigned shared, GError **errp);

#endif
