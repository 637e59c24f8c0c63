#include "block/file-lock.h"

#include <errno.h>
#include <fcntl.h>

#include "util/error.h"

#define PERM_BASE 100
#define SHARED_BASE 200
#define NPERMS 4

static const char *const perm_names[NPERMS] = {
    "consistent read",
    "write",
    "write unchanged",
    "resize",
};

static int lock_byte(int fd, off_t off, short type)
{
    struct flock fl = { .l_whence = SEEK_SET, .l_start = off, .l_len = 1, .l_type = type };

    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* 1: another open holds a lock on byte @off; 0: nobody; -errno on failure. */
static int byte_locked_by_other(int fd, off_t off)
{
    struct flock fl = { .l_whence = SEEK_SET, .l_start = off, .l_len = 1, .l_type = F_WRLCK };

    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return -errno;
    return fl.l_type != F_UNLCK;
}

/* Lock what (perm, ~shared) needs, unlock what it does not. */
static int apply(int fd, unsigned perm, unsigned shared)
{
    for (int i = 0; i < NPERMS; i++) {
        int r = lock_byte(fd, PERM_BASE + i, (perm & (1u << i)) ? F_RDLCK : F_UNLCK);

        if (!r)
            r = lock_byte(fd, SHARED_BASE + i, (shared & (1u << i)) ? F_UNLCK : F_RDLCK);
        if (r)
            return r;
    }
    return 0;
}

static bool check(int fd, const char *filename, unsigned perm, unsigned shared, GError **errp)
{
    for (int i = 0; i < NPERMS; i++) {
        int r;

        if (perm & (1u << i)) {
            r = byte_locked_by_other(fd, SHARED_BASE + i);
            if (r) {
                error_setg(errp,
                           "Failed to get \"%s\" lock: Is another process using the image [%s]?",
                           perm_names[i], filename);
                return false;
            }
        }
        if (!(shared & (1u << i))) {
            r = byte_locked_by_other(fd, PERM_BASE + i);
            if (r) {
                error_setg(
                    errp,
                    "Failed to get shared \"%s\" lock: Is another process using the image [%s]?",
                    perm_names[i], filename);
                return false;
            }
        }
    }
    return true;
}

bool file_lock_set(int fd, const char *filename, unsigned old_perm, unsigned old_shared,
                   unsigned perm, unsigned shared, GError **errp)
{
    int r = apply(fd, perm, shared);

    if (r) {
        apply(fd, old_perm, old_shared);
        error_setg_errno(errp, -r, "Failed to lock image '%s'", filename);
        return false;
    }
    if (!check(fd, filename, perm, shared, errp)) {
        apply(fd, old_perm, old_shared);
        return false;
    }
    return true;
}
