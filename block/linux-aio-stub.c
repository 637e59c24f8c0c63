/* Tern built without libaio: every backend uses the thread pool. */
#include "block/linux-aio.h"

#include "util/error.h"

struct linux_aio *linux_aio_new(int eventfd, GError **errp)
{
    (void)eventfd;
    error_setg(errp, "aio=native is not available: Tern was built without libaio");
    return NULL;
}

void linux_aio_free(struct linux_aio *la)
{
    (void)la;
}

void linux_aio_submit(struct linux_aio *la, int fd, struct block_req *req)
{
    (void)la;
    (void)fd;
    (void)req;
    g_assert_not_reached();
}

void linux_aio_reap(struct linux_aio *la)
{
    (void)la;
}
