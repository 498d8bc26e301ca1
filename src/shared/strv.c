/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "shared/strv.h"

char **strv_free(char **l)
{
        STRV_FOREACH (s, l)
                free(*s);
        return mfree(l);
}

size_t strv_length(char *const *l)
{
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

bool strv_contains(char *const *l, const char *s)
{
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

char **strv_split(const char *s, char sep)
{
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, k = 0;
        const char *p;

        if (!s)
                return NULL;
        if (*s)
                for (p = s, n = 1; *p; p++)
                        n += *p == sep;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return NULL;
        for (p = s; k < n; k++) {
                const char *e = strchrnul(p, sep);

                l[k] = strndup(p, (size_t) (e - p));
                if (!l[k])
                        return NULL;
                p = *e ? e + 1 : e;
        }
        return TAKE_PTR(l);
}
