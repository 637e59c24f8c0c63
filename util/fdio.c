#include "util/fdio.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

void fdio_source_drop(GSource **s)
{
    if (*s) {
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = NULL;
    }
}

ssize_t fdio_write_some(int fd, bool socket, const void *buf, size_t len)
{
    const char *p = buf;
    size_t done = 0;

    while (done < len) {
        ssize_t n = socket ? send(fd, p + done, len - done, MSG_NOSIGNAL)
                           : write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return -1;
        done += n;
    }
    return done;
}
