/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <json-glib/json-glib.h>

#include "daemon/blob-sources.h"
#include "shared/fs-util.h"
#include "shared/log.h"

#define BLOB_SOURCES_FILE     "blob-sources.json"
#define BLOB_SOURCES_FILE_MAX ((size_t) 64U * 1024U * 1024U)

struct BlobSources {
        int dir_fd;
        GHashTable *table; /* diff id → GPtrArray of BlobSource */
};

static void blob_source_free(gpointer p)
{
        BlobSource *b = p;

        if (!b)
                return;
        free(b->digest);
        free(b->media_type);
        free(b->registry);
        free(b->repository);
        free(b);
}

static GHashTable *table_new(void)
{
        return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
}

static BlobSource *blob_source_new(const char *digest, const char *media_type, uint64_t size,
                                   const char *registry, const char *repository)
{
        BlobSource *b = calloc(1, sizeof(*b));

        if (!b)
                return NULL;
        b->digest = strdup(digest);
        b->media_type = strdup(strempty(media_type));
        b->size = size;
        b->registry = strdup(registry);
        b->repository = strdup(repository);
        if (!b->digest || !b->media_type || !b->registry || !b->repository) {
                blob_source_free(b);
                return NULL;
        }
        return b;
}

int blob_sources_from_json(const char *data, size_t size, GHashTable **ret)
{
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GHashTable) table = table_new();
        g_autoptr(GError) error = NULL;
        JsonObjectIter it;
        const char *diff_id;
        JsonNode *value;
        JsonNode *root;

        if (!json_parser_load_from_data(parser, data, (gssize) size, &error)) {
                log_debug("blob-sources.json: %s", error->message);
                return -EBADMSG;
        }
        root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return -EBADMSG;

        json_object_iter_init(&it, json_node_get_object(root));
        while (json_object_iter_next(&it, &diff_id, &value)) {
                GPtrArray *list;
                JsonArray *a;

                if (!JSON_NODE_HOLDS_ARRAY(value))
                        return -EBADMSG;
                a = json_node_get_array(value);
                list = g_ptr_array_new_with_free_func(blob_source_free);
                g_hash_table_replace(table, g_strdup(diff_id), list);
                for (guint i = 0; i < json_array_get_length(a) && list->len < BLOB_SOURCES_MAX; i++) {
                        JsonNode *n = json_array_get_element(a, i);
                        JsonObject *o;
                        BlobSource *b;

                        if (!JSON_NODE_HOLDS_OBJECT(n))
                                return -EBADMSG;
                        o = json_node_get_object(n);
                        const char *digest = json_object_get_string_member_with_default(o, "digest", NULL);
                        const char *registry =
                                json_object_get_string_member_with_default(o, "registry", NULL);
                        const char *repo = json_object_get_string_member_with_default(o, "repository", NULL);
                        if (!digest || !registry || !repo)
                                return -EBADMSG;
                        b = blob_source_new(
                                digest, json_object_get_string_member_with_default(o, "mediaType", ""),
                                (uint64_t) MAX(json_object_get_int_member_with_default(o, "size", 0), 0),
                                registry, repo);
                        if (!b)
                                return -ENOMEM;
                        g_ptr_array_add(list, b);
                }
        }
        *ret = g_steal_pointer(&table);
        return 0;
}

int blob_sources_to_json(GHashTable *table, char **ret, size_t *ret_size)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = NULL;
        g_autoptr(GList) keys = g_hash_table_get_keys(table);
        gsize len;

        keys = g_list_sort(keys, (GCompareFunc) strcmp);
        json_builder_begin_object(b);
        for (GList *k = keys; k; k = k->next) {
                GPtrArray *list = g_hash_table_lookup(table, k->data);

                json_builder_set_member_name(b, k->data);
                json_builder_begin_array(b);
                for (guint i = 0; i < list->len; i++) {
                        BlobSource *s = list->pdata[i];

                        json_builder_begin_object(b);
                        json_builder_set_member_name(b, "digest");
                        json_builder_add_string_value(b, s->digest);
                        json_builder_set_member_name(b, "mediaType");
                        json_builder_add_string_value(b, s->media_type);
                        json_builder_set_member_name(b, "size");
                        json_builder_add_int_value(b, (gint64) s->size);
                        json_builder_set_member_name(b, "registry");
                        json_builder_add_string_value(b, s->registry);
                        json_builder_set_member_name(b, "repository");
                        json_builder_add_string_value(b, s->repository);
                        json_builder_end_object(b);
                }
                json_builder_end_array(b);
        }
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        json_generator_set_root(gen, root);
        *ret = json_generator_to_data(gen, &len);
        *ret_size = len;
        return *ret ? 0 : -ENOMEM;
}

int blob_sources_open(const char *state_dir, BlobSources **ret)
{
        _cleanup_free_ char *data = NULL;
        BlobSources *s;
        size_t size;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0) {
                r = -errno;
                free(s);
                return r;
        }
        r = read_file_at(s->dir_fd, BLOB_SOURCES_FILE, BLOB_SOURCES_FILE_MAX, &data, &size);
        if (r >= 0)
                r = blob_sources_from_json(data, size, &s->table);
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r, "Ignoring unreadable %s: %m", BLOB_SOURCES_FILE);
        if (!s->table)
                s->table = table_new();
        *ret = s;
        return 0;
}

BlobSources *blob_sources_free(BlobSources *s)
{
        if (!s)
                return NULL;
        safe_close(s->dir_fd);
        if (s->table)
                g_hash_table_unref(s->table);
        return mfree(s);
}

int blob_sources_note(BlobSources *s, const char *diff_id, const char *digest, const char *media_type,
                      uint64_t size, const char *registry, const char *repository)
{
        GPtrArray *list;
        BlobSource *b;

        if (!s || !diff_id || !digest || !registry || !repository)
                return -EINVAL;

        list = g_hash_table_lookup(s->table, diff_id);
        if (!list) {
                list = g_ptr_array_new_with_free_func(blob_source_free);
                g_hash_table_replace(s->table, g_strdup(diff_id), list);
        }
        for (guint i = 0; i < list->len; i++) {
                b = list->pdata[i];
                if (streq(b->digest, digest) && streq(b->registry, registry) &&
                    streq(b->repository, repository)) {
                        if (i == 0)
                                return 0; /* nothing new */
                        g_ptr_array_remove_index(list, i);
                        break;
                }
        }
        b = blob_source_new(digest, media_type, size, registry, repository);
        if (!b)
                return -ENOMEM;
        g_ptr_array_insert(list, 0, b);
        while (list->len > BLOB_SOURCES_MAX)
                g_ptr_array_remove_index(list, list->len - 1);
        return 1;
}

int blob_sources_save(BlobSources *s)
{
        _cleanup_free_ char *data = NULL;
        size_t data_size;
        int r;

        r = blob_sources_to_json(s->table, &data, &data_size);
        if (r < 0)
                return r;
        return write_file_atomic_at(s->dir_fd, BLOB_SOURCES_FILE, data, data_size, 0600);
}

int blob_sources_add(BlobSources *s, const char *diff_id, const char *digest, const char *media_type,
                     uint64_t size, const char *registry, const char *repository)
{
        int r = blob_sources_note(s, diff_id, digest, media_type, size, registry, repository);

        return r > 0 ? blob_sources_save(s) : r;
}

GPtrArray *blob_sources_get(BlobSources *s, const char *diff_id)
{
        GPtrArray *list = s && diff_id ? g_hash_table_lookup(s->table, diff_id) : NULL;
        return list && list->len > 0 ? list : NULL;
}
