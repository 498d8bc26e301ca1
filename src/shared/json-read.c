/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/json-read.h"
#include "shared/macro.h"

/* The member, or NULL when it is absent or null. */
static JsonNode *member(JsonObject *o, const char *key)
{
        JsonNode *n = json_object_get_member(o, key);

        return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

static bool holds_type(JsonNode *n, GType type)
{
        return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == type;
}

int json_read_string(JsonObject *o, const char *key, const char **ret)
{
        JsonNode *n = member(o, key);

        if (n && !holds_type(n, G_TYPE_STRING))
                return -EBADMSG;
        *ret = n ? json_node_get_string(n) : NULL;
        return 0;
}

int json_read_string_dup(JsonObject *o, const char *key, char **ret)
{
        const char *s;
        char *copy = NULL;

        if (json_read_string(o, key, &s) < 0)
                return -EBADMSG;
        if (s) {
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
        }
        *ret = copy;
        return 0;
}

int json_read_int64(JsonObject *o, const char *key, bool *ret_present, int64_t *ret)
{
        JsonNode *n = member(o, key);

        if (n && !holds_type(n, G_TYPE_INT64))
                return -EBADMSG;
        if (ret_present)
                *ret_present = n;
        if (n)
                *ret = json_node_get_int(n);
        return 0;
}

int json_read_bool(JsonObject *o, const char *key, bool *ret)
{
        JsonNode *n = member(o, key);

        if (n && !holds_type(n, G_TYPE_BOOLEAN))
                return -EBADMSG;
        *ret = n && json_node_get_boolean(n);
        return 0;
}

int json_read_object(JsonObject *o, const char *key, JsonObject **ret)
{
        JsonNode *n = member(o, key);

        if (n && !JSON_NODE_HOLDS_OBJECT(n))
                return -EBADMSG;
        *ret = n ? json_node_get_object(n) : NULL;
        return 0;
}

int json_read_array(JsonObject *o, const char *key, JsonArray **ret)
{
        JsonNode *n = member(o, key);

        if (n && !JSON_NODE_HOLDS_ARRAY(n))
                return -EBADMSG;
        *ret = n ? json_node_get_array(n) : NULL;
        return 0;
}

static char **strv_free_n(char **l, guint n)
{
        for (guint i = 0; i < n; i++)
                free(l[i]);
        return mfree(l);
}

int json_read_strv(JsonObject *o, const char *key, char ***ret)
{
        JsonArray *a;
        char **l;
        guint len;

        if (json_read_array(o, key, &a) < 0)
                return -EBADMSG;
        if (!a) {
                *ret = NULL;
                return 0;
        }

        len = json_array_get_length(a);
        l = calloc((size_t) len + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (guint i = 0; i < len; i++) {
                JsonNode *e = json_array_get_element(a, i);

                if (!holds_type(e, G_TYPE_STRING)) {
                        strv_free_n(l, i);
                        return -EBADMSG;
                }
                l[i] = strdup(json_node_get_string(e));
                if (!l[i]) {
                        strv_free_n(l, i);
                        return -ENOMEM;
                }
        }

        *ret = l;
        return 0;
}

int json_read_strv_or_empty(JsonObject *o, const char *key, char ***ret)
{
        char **l;
        int r;

        r = json_read_strv(o, key, &l);
        if (r < 0)
                return r;
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = l;
        return 0;
}
