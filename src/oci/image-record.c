/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>

#include "oci/image-record.h"
#include "shared/log.h"

ImageRecord *image_record_free(ImageRecord *r)
{
        if (!r)
                return NULL;
        free(r->id);
        free(r->manifest_digest);
        g_strfreev(r->repo_digests);
        g_strfreev(r->diff_ids);
        g_strfreev(r->chain_ids);
        free(r->layer_sizes);
        return mfree(r);
}

static void add_strv(JsonBuilder *b, const char *key, char **l)
{
        json_builder_set_member_name(b, key);
        json_builder_begin_array(b);
        STRV_FOREACH(s, l)
                json_builder_add_string_value(b, *s);
        json_builder_end_array(b);
}

static int builder_to_string(JsonBuilder *b, char **ret, size_t *ret_size)
{
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = json_builder_get_root(b);
        gsize len;
        char *s;

        json_generator_set_root(gen, root);
        json_generator_set_pretty(gen, true);
        s = json_generator_to_data(gen, &len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        if (ret_size)
                *ret_size = len;
        return 0;
}

int image_record_to_json(const ImageRecord *r, char **ret, size_t *ret_size)
{
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, r->id);
        if (r->manifest_digest) {
                json_builder_set_member_name(b, "manifest_digest");
                json_builder_add_string_value(b, r->manifest_digest);
        }
        add_strv(b, "repo_digests", r->repo_digests);
        add_strv(b, "diff_ids", r->diff_ids);
        add_strv(b, "chain_ids", r->chain_ids);
        json_builder_set_member_name(b, "layer_sizes");
        json_builder_begin_array(b);
        for (size_t i = 0; r->layer_sizes && r->diff_ids && r->diff_ids[i]; i++)
                json_builder_add_int_value(b, (gint64) r->layer_sizes[i]);
        json_builder_end_array(b);
        json_builder_set_member_name(b, "size");
        json_builder_add_int_value(b, (gint64) r->size);
        json_builder_set_member_name(b, "created_usec");
        json_builder_add_int_value(b, (gint64) r->created_usec);
        json_builder_set_member_name(b, "added_usec");
        json_builder_add_int_value(b, (gint64) r->added_usec);
        json_builder_end_object(b);

        return builder_to_string(b, ret, ret_size);
}

static int parse_root_object(const char *data, size_t size, JsonParser **ret_parser, JsonObject **ret)
{
        g_autoptr(JsonParser) p = json_parser_new();
        g_autoptr(GError) error = NULL;
        JsonNode *root;

        if (!json_parser_load_from_data(p, data, (gssize) size, &error)) {
                log_debug("Failed to parse state file: %s", error->message);
                return -EBADMSG;
        }
        root = json_parser_get_root(p);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return -EBADMSG;
        *ret = json_node_get_object(root);
        *ret_parser = g_steal_pointer(&p);
        return 0;
}

static char **get_strv(JsonObject *o, const char *key)
{
        JsonArray *a = json_object_has_member(o, key) ? json_object_get_array_member(o, key) : NULL;
        guint n = a ? json_array_get_length(a) : 0;
        char **l = g_new0(char *, n + 1);

        for (guint i = 0; i < n; i++) {
                const char *s = json_array_get_string_element(a, i);
                l[i] = g_strdup(s ?: "");
        }
        return l;
}

int image_record_from_json(const char *data, size_t size, ImageRecord **ret)
{
        g_autoptr(JsonParser) p = NULL;
        _cleanup_(image_record_freep) ImageRecord *r = NULL;
        JsonObject *o;
        const char *id;
        int k;

        k = parse_root_object(data, size, &p, &o);
        if (k < 0)
                return k;
        id = json_object_get_string_member_with_default(o, "id", NULL);
        if (!id)
                return -EBADMSG;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->id = strdup(id);
        if (json_object_has_member(o, "manifest_digest"))
                r->manifest_digest = g_strdup(json_object_get_string_member(o, "manifest_digest"));
        r->repo_digests = get_strv(o, "repo_digests");
        r->diff_ids = get_strv(o, "diff_ids");
        r->chain_ids = get_strv(o, "chain_ids");
        r->size = (uint64_t) json_object_get_int_member_with_default(o, "size", 0);
        r->created_usec = (uint64_t) json_object_get_int_member_with_default(o, "created_usec", 0);
        r->added_usec = (uint64_t) json_object_get_int_member_with_default(o, "added_usec", 0);
        if (!r->id || g_strv_length(r->diff_ids) != g_strv_length(r->chain_ids))
                return -EBADMSG;

        guint n = g_strv_length(r->diff_ids);
        JsonArray *sizes = json_object_has_member(o, "layer_sizes") ? json_object_get_array_member(o, "layer_sizes")
                                                                    : NULL;
        r->layer_sizes = calloc(n + 1, sizeof(uint64_t));
        if (!r->layer_sizes)
                return -ENOMEM;
        for (guint i = 0; sizes && i < n && i < json_array_get_length(sizes); i++)
                r->layer_sizes[i] = (uint64_t) json_array_get_int_element(sizes, i);

        *ret = TAKE_PTR(r);
        return 0;
}

int tag_table_to_json(GHashTable *tags, char **ret, size_t *ret_size)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(tags), (GCompareFunc) strcmp);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "tags");
        json_builder_begin_object(b);
        for (GList *l = keys; l; l = l->next) {
                json_builder_set_member_name(b, l->data);
                json_builder_add_string_value(b, g_hash_table_lookup(tags, l->data));
        }
        json_builder_end_object(b);
        json_builder_end_object(b);
        return builder_to_string(b, ret, ret_size);
}

int tag_table_from_json(const char *data, size_t size, GHashTable **ret)
{
        g_autoptr(JsonParser) p = NULL;
        g_autoptr(GHashTable) t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_autoptr(GList) members = NULL;
        JsonObject *o, *tags;
        int k;

        k = parse_root_object(data, size, &p, &o);
        if (k < 0)
                return k;
        if (!json_object_has_member(o, "tags"))
                return -EBADMSG;
        tags = json_object_get_object_member(o, "tags");
        if (!tags)
                return -EBADMSG;
        members = json_object_get_members(tags);
        for (GList *l = members; l; l = l->next) {
                const char *v = json_object_get_string_member_with_default(tags, l->data, NULL);
                if (v)
                        g_hash_table_insert(t, g_strdup(l->data), g_strdup(v));
        }
        *ret = g_steal_pointer(&t);
        return 0;
}
