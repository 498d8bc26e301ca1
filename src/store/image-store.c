/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "shared/fs-util.h"
#include "shared/log.h"
#include "store/image-store.h"

#define STATE_FILE_MAX (4U * 1024U * 1024U)

struct ImageStore {
        int dir_fd;        /* <state> */
        int images_fd;     /* <state>/images */
        GHashTable *by_id; /* "sha256:<hex>" → ImageRecord */
        GHashTable *tags;  /* canonical tag → id */
};

static void image_record_destroy(gpointer p)
{
        image_record_free(p);
}

static const char *id_hex(const char *id)
{
        return startswith(id, "sha256:") ?: id;
}

ImageStore *image_store_free(ImageStore *s)
{
        if (!s)
                return NULL;
        safe_close(s->dir_fd);
        safe_close(s->images_fd);
        if (s->by_id)
                g_hash_table_destroy(s->by_id);
        if (s->tags)
                g_hash_table_destroy(s->tags);
        return mfree(s);
}

static int load_image(ImageStore *s, const char *hex)
{
        _cleanup_free_ char *data = NULL, *path = NULL;
        ImageRecord *r = NULL;
        size_t size;
        int k;

        if (asprintf(&path, "%s/image.json", hex) < 0)
                return -ENOMEM;
        k = read_file_at(s->images_fd, path, STATE_FILE_MAX, &data, &size);
        if (k < 0)
                return k;
        k = image_record_from_json(data, size, &r);
        if (k < 0)
                return k;
        if (!streq(id_hex(r->id), hex)) {
                image_record_free(r);
                return -EBADMSG;
        }
        g_hash_table_replace(s->by_id, r->id, r);
        return 0;
}

static int load_all(ImageStore *s)
{
        _cleanup_free_ char *data = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        size_t size;
        int k;

        k = opendir_at(s->images_fd, ".", &d);
        if (k < 0)
                return k;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.') {
                        /* A half-written image dir from a crash: never visible, remove it. */
                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                (void) rm_rf_at(s->images_fd, de->d_name);
                        continue;
                }
                k = load_image(s, de->d_name);
                if (k < 0)
                        log_debug_errno(k, "Ignoring unreadable image record '%s': %m", de->d_name);
        }

        k = read_file_at(s->dir_fd, "repositories.json", STATE_FILE_MAX, &data, &size);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        g_hash_table_destroy(s->tags);
        s->tags = NULL;
        k = tag_table_from_json(data, size, &s->tags);
        if (k < 0) {
                s->tags = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
                return k;
        }
        /* Drop tags of images whose record is gone. */
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, s->tags);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (!g_hash_table_contains(s->by_id, value))
                        g_hash_table_iter_remove(&it);
        return 0;
}

int image_store_open(const char *state_dir, ImageStore **ret)
{
        _cleanup_(image_store_freep) ImageStore *s = NULL;
        int k;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->dir_fd = s->images_fd = -EBADF;
        s->by_id = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, image_record_destroy);
        s->tags = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

        k = mkdir_p_at(AT_FDCWD, state_dir, 0700);
        if (k < 0)
                return k;
        s->dir_fd = open_dir_at(AT_FDCWD, state_dir);
        if (s->dir_fd < 0)
                return s->dir_fd;
        if (mkdirat(s->dir_fd, "images", 0700) < 0 && errno != EEXIST)
                return negative_errno();
        s->images_fd = open_dir_at(s->dir_fd, "images");
        if (s->images_fd < 0)
                return s->images_fd;

        k = load_all(s);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(s);
        return 0;
}

static int save_tags(ImageStore *s)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        int k;

        k = tag_table_to_json(s->tags, &data, &size);
        if (k < 0)
                return k;
        return write_file_atomic_at(s->dir_fd, "repositories.json", data, size, 0600);
}

static ImageRecord *image_record_copy(const ImageRecord *r)
{
        ImageRecord *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->id = strdup(r->id);
        c->manifest_digest = g_strdup(r->manifest_digest);
        c->repo_digests = g_strdupv(r->repo_digests);
        c->diff_ids = g_strdupv(r->diff_ids);
        c->chain_ids = g_strdupv(r->chain_ids);
        size_t n = r->diff_ids ? g_strv_length(r->diff_ids) : 0;
        c->layer_sizes = calloc(n + 1, sizeof(uint64_t));
        if (c->layer_sizes && r->layer_sizes)
                memcpy(c->layer_sizes, r->layer_sizes, n * sizeof(uint64_t));
        c->size = r->size;
        c->created_usec = r->created_usec;
        c->added_usec = r->added_usec;
        if (!c->id || !c->layer_sizes)
                return image_record_free(c);
        return c;
}

int image_store_add(ImageStore *s, const ImageRecord *record, const char *config, size_t config_size,
                    const char *manifest, size_t manifest_size)
{
        _cleanup_free_ char *json = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        ImageRecord *copy;
        const char *hex = id_hex(record->id);
        size_t json_size;
        int k;

        k = image_record_to_json(record, &json, &json_size);
        if (k < 0)
                return k;

        /* Build the whole dir under a dot name, then rename: a crash leaves a dot dir that load_all()
         * removes, never a half image. */
        if (asprintf(&tmp, ".tmp-%s", hex) < 0)
                return -ENOMEM;
        (void) rm_rf_at(s->images_fd, tmp);
        if (mkdirat(s->images_fd, tmp, 0700) < 0)
                return negative_errno();
        fd = open_dir_at(s->images_fd, tmp);
        if (fd < 0)
                return fd;
        k = write_file_atomic_at(fd, "config.json", config, config_size, 0600);
        if (k >= 0 && manifest)
                k = write_file_atomic_at(fd, "manifest.json", manifest, manifest_size, 0600);
        if (k >= 0)
                k = write_file_atomic_at(fd, "image.json", json, json_size, 0600);
        if (k >= 0) {
                (void) rm_rf_at(s->images_fd, hex); /* replacing an existing record */
                if (renameat(s->images_fd, tmp, s->images_fd, hex) < 0)
                        k = negative_errno();
        }
        if (k >= 0 && fsync(s->images_fd) < 0)
                k = negative_errno();
        if (k < 0) {
                (void) rm_rf_at(s->images_fd, tmp);
                return k;
        }

        copy = image_record_copy(record);
        if (!copy)
                return -ENOMEM;
        g_hash_table_replace(s->by_id, copy->id, copy);
        return 0;
}

int image_store_tag(ImageStore *s, const char *tag, const char *id)
{
        g_autofree char *old = NULL;
        int k;

        if (!g_hash_table_contains(s->by_id, id))
                return -ENOENT;
        old = g_strdup(g_hash_table_lookup(s->tags, tag));
        g_hash_table_replace(s->tags, g_strdup(tag), g_strdup(id));
        k = save_tags(s);
        if (k < 0) {
                if (old)
                        g_hash_table_replace(s->tags, g_strdup(tag), g_steal_pointer(&old));
                else
                        g_hash_table_remove(s->tags, tag);
        }
        return k;
}

int image_store_untag(ImageStore *s, const char *tag)
{
        g_autofree char *id = NULL;
        int k;

        id = g_strdup(g_hash_table_lookup(s->tags, tag));
        if (!id)
                return -ENOENT;
        g_hash_table_remove(s->tags, tag);
        k = save_tags(s);
        if (k < 0)
                g_hash_table_replace(s->tags, g_strdup(tag), g_steal_pointer(&id));
        return k;
}

int image_store_remove(ImageStore *s, const char *id)
{
        _cleanup_free_ char *trash = NULL;
        GHashTableIter it;
        gpointer value;
        int k;

        if (!g_hash_table_contains(s->by_id, id))
                return -ENOENT;
        g_hash_table_iter_init(&it, s->tags);
        while (g_hash_table_iter_next(&it, NULL, &value))
                if (streq(value, id))
                        return -EBUSY;

        /* Rename away first so the record disappears atomically, then delete. */
        if (asprintf(&trash, ".rm-%s", id_hex(id)) < 0)
                return -ENOMEM;
        if (renameat(s->images_fd, id_hex(id), s->images_fd, trash) < 0 && errno != ENOENT)
                return negative_errno();
        (void) fsync(s->images_fd);
        k = rm_rf_at(s->images_fd, trash);
        if (k < 0)
                log_debug_errno(k, "Failed to remove '%s', it will be removed on next start: %m", trash);
        g_hash_table_remove(s->by_id, id);
        return 0;
}

const ImageRecord *image_store_get(ImageStore *s, const char *id)
{
        return g_hash_table_lookup(s->by_id, id);
}

static bool is_hex(const char *s)
{
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

int image_store_find(ImageStore *s, const char *key, const ImageRecord **ret)
{
        const ImageRecord *found = NULL;
        GHashTableIter it;
        gpointer value;
        const char *id, *hex;

        id = g_hash_table_lookup(s->tags, key);
        if (id && (found = g_hash_table_lookup(s->by_id, id))) {
                *ret = found;
                return 0;
        }

        /* repo@digest: either a recorded repo digest or the manifest digest. */
        if (strchr(key, '@')) {
                g_hash_table_iter_init(&it, s->by_id);
                while (g_hash_table_iter_next(&it, NULL, &value)) {
                        const ImageRecord *r = value;
                        if (r->repo_digests && g_strv_contains((const char *const *) r->repo_digests, key)) {
                                *ret = r;
                                return 0;
                        }
                }
        }

        hex = startswith(key, "sha256:") ?: key;
        if (!is_hex(hex) || strlen(hex) < 4 || strlen(hex) > 64)
                return -ENOENT;
        g_hash_table_iter_init(&it, s->by_id);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                const ImageRecord *r = value;
                if (startswith(id_hex(r->id), hex)) {
                        if (found)
                                return -ENOTUNIQ;
                        found = r;
                }
        }
        if (!found)
                return -ENOENT;
        *ret = found;
        return 0;
}

static int compare_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

char **image_store_tags_of(ImageStore *s, const char *id)
{
        GPtrArray *a = g_ptr_array_new();
        GHashTableIter it;
        gpointer key, value;

        g_hash_table_iter_init(&it, s->tags);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (streq(value, id))
                        g_ptr_array_add(a, g_strdup(key));
        g_ptr_array_add(a, NULL);
        char **l = (char **) g_ptr_array_free(a, false);
        qsort(l, g_strv_length(l), sizeof(char *), compare_strp);
        return l;
}

const char *image_store_tag_target(ImageStore *s, const char *tag)
{
        return g_hash_table_lookup(s->tags, tag);
}

GPtrArray *image_store_list(ImageStore *s)
{
        GPtrArray *a = g_ptr_array_new();
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, s->by_id);
        while (g_hash_table_iter_next(&it, NULL, &value))
                g_ptr_array_add(a, value);
        return a;
}

static int read_image_file(ImageStore *s, const char *id, const char *name, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *path = NULL;

        if (!g_hash_table_contains(s->by_id, id))
                return -ENOENT;
        if (asprintf(&path, "%s/%s", id_hex(id), name) < 0)
                return -ENOMEM;
        return read_file_at(s->images_fd, path, STATE_FILE_MAX, ret, ret_size);
}

int image_store_read_config(ImageStore *s, const char *id, char **ret, size_t *ret_size)
{
        return read_image_file(s, id, "config.json", ret, ret_size);
}

int image_store_read_manifest(ImageStore *s, const char *id, char **ret, size_t *ret_size)
{
        return read_image_file(s, id, "manifest.json", ret, ret_size);
}

bool image_store_layer_in_use(ImageStore *s, const char *chain_id, const char *except_id)
{
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, s->by_id);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                const ImageRecord *r = value;
                if (except_id && streq(r->id, except_id))
                        continue;
                if (r->chain_ids && g_strv_contains((const char *const *) r->chain_ids, chain_id))
                        return true;
        }
        return false;
}
