#include "util/error.h"

#include <string.h>

G_DEFINE_QUARK(tern-error-quark, error)

void error_setg_errno(GError **errp, int errnum, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, TERN_ERROR, 0, "%s: %s", msg, g_strerror(errnum));
}
