/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>

#include "oci/image-record.h"
#include "oci/manifest.h"
#include "shared/json-build.h"
#include "shared/json-read.h"
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
        json_build_strv(b, "repo_digests", r->repo_digests);
        json_build_strv(b, "diff_ids", r->diff_ids);
        json_build_strv(b, "chain_ids", r->chain_ids);
        json_builder_set_member_name(b, "layer_sizes");
        json_builder_begin_array(b);
        for (size_t i = 0; r->layer_sizes && r->diff_ids && r->diff_ids[i]; i++)
                json_builder_add_int_value(b, (gint64) r->layer_sizes[i]);
        json_builder_end_array(b);
        json_build_int(b, "size", (gint64) r->size);
        json_build_int(b, "created_usec", (gint64) r->created_usec);
        json_build_int(b, "added_usec", (gint64) r->added_usec);
        json_builder_end_object(b);

        return builder_to_string(b, ret, ret_size);
}

static int parse_root_object(const char *data, size_t size, JsonParser **ret_parser, JsonObject **ret)
{
        g_autoptr(JsonParser) p = json_parser_new();
        g_autoptr(GError) error = NULL;
        JsonNode *root;

        /* json-glib lets invalid escapes through and writes them back out in a form it cannot read: an
         * image.json rewritten later would lose the image (found by tests/fuzz/fuzz-image-record.c). */
        if (oci_json_check_text(data, size) < 0) {
                log_debug("State file is not valid JSON text");
                return -EBADMSG;
        }
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

/* Members are read with shared/json-read.h, which checks each type first: a hand-edited or torn file must
 * read as -EBADMSG, not as GLib criticals and half-filled records (found by tests/fuzz/fuzz-image-record.c).
 */
static int get_uint64(JsonObject *o, const char *key, uint64_t *ret)
{
        int64_t v = 0;

        if (json_read_int64(o, key, NULL, &v) < 0)
                return -EBADMSG;
        *ret = (uint64_t) v;
        return 0;
}

int image_record_from_json(const char *data, size_t size, ImageRecord **ret)
{
        g_autoptr(JsonParser) p = NULL;
        _cleanup_(image_record_freep) ImageRecord *r = NULL;
        JsonArray *sizes;
        JsonObject *o;
        guint n;
        int k;

        k = parse_root_object(data, size, &p, &o);
        if (k < 0)
                return k;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        /* The strvs are malloc()ed and freed with g_strfreev(): GLib's allocator is malloc() since 2.46. */
        if (json_read_string_dup(o, "id", &r->id) < 0 || !r->id ||
            json_read_string_dup(o, "manifest_digest", &r->manifest_digest) < 0 ||
            json_read_strv_or_empty(o, "repo_digests", &r->repo_digests) < 0 ||
            json_read_strv_or_empty(o, "diff_ids", &r->diff_ids) < 0 ||
            json_read_strv_or_empty(o, "chain_ids", &r->chain_ids) < 0 ||
            get_uint64(o, "size", &r->size) < 0 || get_uint64(o, "created_usec", &r->created_usec) < 0 ||
            get_uint64(o, "added_usec", &r->added_usec) < 0 || json_read_array(o, "layer_sizes", &sizes) < 0)
                return -EBADMSG;
        if (g_strv_length(r->diff_ids) != g_strv_length(r->chain_ids))
                return -EBADMSG;

        n = g_strv_length(r->diff_ids);
        r->layer_sizes = calloc(n + 1, sizeof(uint64_t));
        if (!r->layer_sizes)
                return -ENOMEM;
        for (guint i = 0; sizes && i < n && i < json_array_get_length(sizes); i++) {
                JsonNode *e = json_array_get_element(sizes, i);

                if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_INT64)
                        return -EBADMSG;
                r->layer_sizes[i] = (uint64_t) json_node_get_int(e);
        }

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
        JsonNode *node;
        int k;

        k = parse_root_object(data, size, &p, &o);
        if (k < 0)
                return k;
        node = json_object_get_member(o, "tags");
        if (!node || !JSON_NODE_HOLDS_OBJECT(node))
                return -EBADMSG;
        tags = json_node_get_object(node);
        members = json_object_get_members(tags);
        for (GList *l = members; l; l = l->next) {
                const char *v;

                /* Entries that are not strings are dropped, as before; only their type is checked first. */
                if (json_read_string(tags, l->data, &v) == 0 && v)
                        g_hash_table_insert(t, g_strdup(l->data), g_strdup(v));
        }
        *ret = g_steal_pointer(&t);
        return 0;
}
