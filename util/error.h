/*
 * Tern's one GError domain.  Callers report with error_setg(); the top level
 * (system/main.c, a monitor, a test) decides what to do with the message.
 */
#ifndef UTIL_ERROR_H
#define UTIL_ERROR_H

#include <glib.h>

#define TERN_ERROR error_quark()

GQuark error_quark(void);

/* Set *errp (if errp is non-NULL) to a TERN_ERROR with a printf message. */
#define error_setg(errp, ...) g_set_error((errp), TERN_ERROR, 0, __VA_ARGS__)

/* Like error_setg() but appends ": strerror(errnum)". */
void error_setg_errno(GError **errp, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

#endif
