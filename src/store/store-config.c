/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <glib.h>
#include <stdlib.h>

#include "shared/keyfile.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "store/store-config.h"

int store_parse_size(const char *s, uint64_t *ret)
{
        static const char suffixes[] = "KMGT";
        const char *u;
        char *end;
        double v;

        if (isempty(s) || !ret)
                return -EINVAL;
        if (streq(s, "infinity")) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s)
                return -EINVAL;
        if (*end) {
                u = strchr(suffixes, toupper((unsigned char) *end));
                if (!u || end[1])
                        return -EINVAL;
                for (const char *p = suffixes; p <= u; p++)
                        v *= 1024;
        }
        if (v < 1 || v >= 18446744073709551615.0)
                return -ERANGE;
        *ret = (uint64_t) v;
        return 0;
}

static int parse_count(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (streq(s, "infinity")) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end || v == 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int get_value(GKeyFile *k, const char *key, int (*parse)(const char *, uint64_t *), uint64_t *v)
{
        g_autofree char *s = NULL;
        int r;

        s = g_key_file_get_string(k, "Store", key, NULL);
        if (!s)
                return 0; /* not set */
        g_strstrip(s);
        r = parse(s, v);
        if (r < 0)
                return log_debug_errno(-EINVAL, "Invalid value '%s' for %s= in [Store].", s, key);
        return 0;
}

int store_config_load(const char *path, StoreConfig *ret)
{
        g_autoptr(GKeyFile) k = NULL;
        StoreConfig c = STORE_CONFIG_DEFAULTS;
        int r;

        if (!path || !ret)
                return -EINVAL;

        r = keyfile_load(path, &k);
        if (r == -ENOENT) {
                *ret = c;
                return 0;
        }
        if (r < 0)
                return r;

        r = get_value(k, "MaxLayerSize", store_parse_size, &c.max_layer_size);
        if (r < 0)
                return r;
        r = get_value(k, "MaxLayerEntries", parse_count, &c.max_layer_entries);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}
