#include "util/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "util/error.h"

static bool size_suffix(char c, uint64_t *unit)
{
    switch (toupper((unsigned char)c)) {
    case 'B': *unit = 1; return true;
    case 'K': *unit = KiB; return true;
    case 'M': *unit = MiB; return true;
    case 'G': *unit = GiB; return true;
    case 'T': *unit = TiB; return true;
    default: return false;
    }
}

bool size_parse(const char *str, uint64_t default_unit, uint64_t *out, GError **errp)
{
    const char *p = str;
    char *end;
    uint64_t unit = default_unit;
    unsigned long long n;

    if (!isdigit((unsigned char)*p)) {
        error_setg(errp, "invalid size '%s'", str);
        return false;
    }
    errno = 0;
    n = strtoull(p, &end, 10);
    if (errno == ERANGE) {
        error_setg(errp, "size '%s' is too large", str);
        return false;
    }
    if (*end) {
        if (!size_suffix(*end, &unit)) {
            error_setg(errp, "invalid size '%s': unknown suffix '%c'", str, *end);
            return false;
        }
        end++;
        /* "16MB" / "16mb": a trailing B after a unit letter is allowed */
        if (unit != 1 && (*end == 'B' || *end == 'b'))
            end++;
        if (*end) {
            error_setg(errp, "invalid size '%s': trailing characters", str);
            return false;
        }
    }
    if (n > UINT64_MAX / unit) {
        error_setg(errp, "size '%s' is too large", str);
        return false;
    }
    *out = n * unit;
    return true;
}

char *size_to_str(uint64_t size)
{
    static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    unsigned i = 0;

    while (i + 1 < G_N_ELEMENTS(names) && size && (size % 1024) == 0) {
        size /= 1024;
        i++;
    }
    return g_strdup_printf("%" G_GUINT64_FORMAT " %s", size, names[i]);
}
