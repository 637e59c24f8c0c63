#include "util/keyval.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static void keyval_add_flag(GHashTable *kv, const char *word)
{
    if (g_str_has_prefix(word, "no") && word[2])
        g_hash_table_replace(kv, g_strdup(word + 2), g_strdup("off"));
    else
        g_hash_table_replace(kv, g_strdup(word), g_strdup("on"));
}

GHashTable *keyval_parse(const char *str, const char *implied_key, GError **errp)
{
    g_autoptr(GHashTable) kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_auto(GStrv) words = g_strsplit(str, ",", -1);

    for (unsigned i = 0; words[i]; i++) {
        const char *w = words[i];
        const char *eq = strchr(w, '=');

        if (!*w) {
            error_setg(errp, "empty parameter in '%s'", str);
            return NULL;
        }
        if (eq) {
            if (eq == w) {
                error_setg(errp, "parameter without a name in '%s'", str);
                return NULL;
            }
            g_hash_table_replace(kv, g_strndup(w, eq - w), g_strdup(eq + 1));
        } else if (i == 0 && implied_key) {
            g_hash_table_replace(kv, g_strdup(implied_key), g_strdup(w));
        } else {
            keyval_add_flag(kv, w);
        }
    }
    return g_steal_pointer(&kv);
}

char *keyval_take_str(GHashTable *kv, const char *key)
{
    gpointer k, v;

    if (!g_hash_table_steal_extended(kv, key, &k, &v))
        return NULL;
    g_free(k);
    return v;
}

bool keyval_parse_uint(const char *str, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long n;

    if (!*str || *str == '-' || *str == '+' || *str == ' ')
        return false;
    errno = 0;
    n = strtoull(str, &end, 0);
    if (errno || *end || n > max)
        return false;
    *out = n;
    return true;
}

bool keyval_take_uint(GHashTable *kv, const char *key, uint64_t max, uint64_t *out, bool *present,
                      GError **errp)
{
    g_autofree char *v = keyval_take_str(kv, key);

    if (present)
        *present = v != NULL;
    if (!v)
        return true;
    if (!keyval_parse_uint(v, max, out)) {
        error_setg(errp, "%s=%s: expected an integer between 0 and %" G_GUINT64_FORMAT, key, v,
                   max);
        return false;
    }
    return true;
}

bool keyval_take_bool(GHashTable *kv, const char *key, bool *out, GError **errp)
{
    g_autofree char *v = keyval_take_str(kv, key);

    if (!v)
        return true;
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
        *out = true;
    } else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
        *out = false;
    } else {
        error_setg(errp, "%s=%s: expected 'on' or 'off'", key, v);
        return false;
    }
    return true;
}

bool keyval_check_empty(GHashTable *kv, const char *what, GError **errp)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, kv);
    if (g_hash_table_iter_next(&it, &key, NULL)) {
        error_setg(errp, "%s has no parameter '%s'", what, (const char *)key);
        return false;
    }
    return true;
}
