/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "store/layer-symlinks.h"

struct LayerSymlinks {
        GHashTable *names;
};

LayerSymlinks *layer_symlinks_new(void)
{
        LayerSymlinks *s = g_new0(LayerSymlinks, 1);

        s->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        return s;
}

LayerSymlinks *layer_symlinks_free(LayerSymlinks *s)
{
        if (!s)
                return NULL;
        g_hash_table_unref(s->names);
        g_free(s);
        return NULL;
}

char *layer_path_canonical(const char *name)
{
        char *out = malloc(strlen(name) + 1), *o = out;

        if (!out)
                return NULL;
        for (const char *c = name; *c;) {
                size_t l = strcspn(c, "/");

                if (l > 0 && !(l == 1 && c[0] == '.')) {
                        if (o != out)
                                *o++ = '/';
                        memcpy(o, c, l);
                        o += l;
                }
                c += l;
                c += strspn(c, "/");
        }
        *o = 0;
        return out;
}

size_t layer_symlinks_on_the_way(LayerSymlinks *s, char *canonical)
{
        if (g_hash_table_size(s->names) == 0)
                return 0;
        for (char *slash = strchr(canonical, '/'); slash; slash = strchr(slash + 1, '/')) {
                bool found;

                *slash = 0;
                found = g_hash_table_contains(s->names, canonical);
                *slash = '/';
                if (found)
                        return (size_t) (slash - canonical);
        }
        return 0;
}

bool layer_symlinks_contains(LayerSymlinks *s, const char *canonical)
{
        return g_hash_table_contains(s->names, canonical);
}

void layer_symlinks_set(LayerSymlinks *s, const char *canonical, bool is_symlink)
{
        if (is_symlink)
                (void) g_hash_table_add(s->names, g_strdup(canonical));
        else
                (void) g_hash_table_remove(s->names, canonical);
}
