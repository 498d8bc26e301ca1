/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "container.h"
#include "disk-usage.h"
#include "image.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "store/image-store.h"
#include "store/layer-store.h"

void disk_usage_done(DiskUsage *u)
{
        if (u->images)
                g_array_unref(u->images);
        u->images = NULL;
}

static int compare_usage_newest(gconstpointer a, gconstpointer b)
{
        const ImageUsage *x = a, *y = b;

        if (x->image->created_usec != y->image->created_usec)
                return x->image->created_usec < y->image->created_usec ? 1 : -1;
        return strcmp(x->image->id, y->image->id);
}

/* chain id → number of images using the layer */
static GHashTable *count_layer_users(GPtrArray *images)
{
        GHashTable *users = g_hash_table_new(g_str_hash, g_str_equal);

        for (guint i = 0; i < images->len; i++) {
                const ImageRecord *image = images->pdata[i];
                STRV_FOREACH(c, image->chain_ids) {
                        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(users, *c));
                        g_hash_table_insert(users, *c, GUINT_TO_POINTER(n + 1));
                }
        }
        return users;
}

static uint32_t count_containers_of(Manager *m, const char *image_id)
{
        GHashTableIter it;
        Container *c;
        uint32_t n = 0;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c))
                if (streq(c->image_id, image_id))
                        n++;
        return n;
}

int manager_disk_usage(Manager *m, DiskUsage *ret)
{
        g_autoptr(GPtrArray) images = image_store_list(m->images);
        g_autoptr(GHashTable) users = count_layer_users(images);
        g_autoptr(GHashTable) counted = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GHashTable) active = g_hash_table_new(g_str_hash, g_str_equal);
        DiskUsage u = { .images = g_array_new(false, true, sizeof(ImageUsage)) };

        /* Layers of images some container uses cannot be reclaimed. */
        for (guint i = 0; i < images->len; i++) {
                const ImageRecord *image = images->pdata[i];
                if (manager_image_used_by_container(m, image->id))
                        STRV_FOREACH(c, image->chain_ids)
                                g_hash_table_add(active, *c);
        }

        for (guint i = 0; i < images->len; i++) {
                const ImageRecord *image = images->pdata[i];
                ImageUsage iu = { .image = image, .containers = count_containers_of(m, image->id) };
                size_t k = 0;

                STRV_FOREACH(c, image->chain_ids) {
                        uint64_t bytes = image->layer_sizes ? image->layer_sizes[k] : 0;

                        k++;
                        if (GPOINTER_TO_UINT(g_hash_table_lookup(users, *c)) > 1)
                                iu.shared_size += bytes;
                        if (!g_hash_table_add(counted, *c))
                                continue;
                        u.layers_size += bytes;
                        if (!g_hash_table_contains(active, *c))
                                u.layers_reclaimable += bytes;
                }
                iu.unique_size = image->size >= iu.shared_size ? image->size - iu.shared_size : 0;
                g_array_append_val(u.images, iu);
        }
        g_array_sort(u.images, compare_usage_newest);
        *ret = u;
        return 0;
}

/* Docker's directory.Size: apparent bytes, each inode once; directories themselves are not counted. */
static int apparent_size_walk(int dir_fd, GHashTable *seen, uint64_t *total)
{
        DIR *d;
        int r = 0;

        d = fdopendir(dir_fd);
        if (!d) {
                r = negative_errno();
                safe_close(dir_fd);
                return r;
        }
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT) /* the container deleted it meanwhile */
                                continue;
                        r = negative_errno();
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0) {
                                if (errno == ENOENT)
                                        continue;
                                r = negative_errno();
                                break;
                        }
                        r = apparent_size_walk(fd, seen, total);
                        if (r < 0)
                                break;
                        continue;
                }
                if (st.st_nlink > 1) {
                        gint64 ino = (gint64) st.st_ino;
                        if (g_hash_table_contains(seen, &ino))
                                continue;
                        g_hash_table_add(seen, g_memdup2(&ino, sizeof(ino)));
                }
                if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
                        *total += (uint64_t) st.st_size;
        }
        closedir(d);
        return r;
}

int container_disk_usage(Container *c, uint64_t *ret_bytes)
{
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
        char dir[PATH_MAX], path[PATH_MAX + 8];
        uint64_t total = 0;
        int fd, r;

        snprintf(path, sizeof(path), "%s/diff", container_dir(c, dir, sizeof(dir)));
        fd = open_dir_at(AT_FDCWD, path);
        if (fd < 0)
                return fd;
        r = apparent_size_walk(fd, seen, &total);
        if (r < 0)
                return r;
        *ret_bytes = total;
        return 0;
}

int manager_prune_images(Manager *m, bool all, char ***ret_removed, uint64_t *ret_reclaimed)
{
        g_autoptr(GPtrArray) images = image_store_list(m->images);
        g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GHashTable) layer_bytes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        uint64_t reclaimed = 0;
        GHashTableIter it;
        gpointer key, value;
        int r;

        for (guint i = 0; i < images->len; i++) {
                const ImageRecord *image = images->pdata[i];
                size_t k = 0;

                if (manager_image_used_by_container(m, image->id))
                        continue;
                if (!all) {
                        g_auto(GStrv) tags = image_store_tags_of(m->images, image->id);
                        if (tags && tags[0])
                                continue;
                }
                g_ptr_array_add(ids, g_strdup(image->id));
                STRV_FOREACH(c, image->chain_ids) {
                        uint64_t bytes = image->layer_sizes ? image->layer_sizes[k] : 0;
                        k++;
                        g_hash_table_insert(layer_bytes, g_strdup(*c), GSIZE_TO_POINTER((gsize) bytes));
                }
        }
        /* Records go away below: nothing from images is touched after this point. */
        g_ptr_array_set_size(images, 0);

        for (guint i = 0; i < ids->len; i++) {
                _cleanup_free_ char *gone = NULL;

                /* By full id and forced: every tag and the image go, as `image rm -f ID` does. */
                r = manager_remove_image(m, ids->pdata[i], true, &gone);
                if (r < 0) {
                        log_warning_errno(r, "Failed to prune image %s, ignoring: %m", (char *) ids->pdata[i]);
                        continue;
                }
                if (gone)
                        g_ptr_array_add(removed, g_strdup(gone));
        }

        /* What was reclaimed is what left the layer store; layers a kept image shares stayed. */
        g_hash_table_iter_init(&it, layer_bytes);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (layer_store_has(m->layers, key) == 0)
                        reclaimed += (uint64_t) GPOINTER_TO_SIZE(value);
        if (removed->len > 0)
                manager_empty_trash(m);

        g_ptr_array_add(removed, NULL);
        *ret_removed = (char **) g_ptr_array_free(g_steal_pointer(&removed), false);
        *ret_reclaimed = reclaimed;
        return 0;
}

int manager_prune_containers(Manager *m, char ***ret_removed, uint64_t *ret_reclaimed)
{
        g_autoptr(GPtrArray) victims = g_ptr_array_new();
        g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func(g_free);
        uint64_t reclaimed = 0;
        GHashTableIter it;
        Container *c;
        int r;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c))
                if (c->state.status != CONTAINER_RUNNING && !c->monitor_source && !c->starting)
                        g_ptr_array_add(victims, c);

        for (guint i = 0; i < victims->len; i++) {
                g_autofree char *id = NULL;
                uint64_t bytes = 0;

                c = victims->pdata[i];
                id = g_strdup(c->id);
                r = container_disk_usage(c, &bytes);
                if (r < 0)
                        log_debug_errno(r, "Failed to measure container %s, ignoring: %m", c->name);
                r = container_remove(c); /* frees c */
                if (r < 0) {
                        log_warning_errno(r, "Failed to prune container %s, ignoring: %m", id);
                        continue;
                }
                reclaimed += bytes;
                g_ptr_array_add(removed, g_steal_pointer(&id));
        }

        g_ptr_array_add(removed, NULL);
        *ret_removed = (char **) g_ptr_array_free(g_steal_pointer(&removed), false);
        *ret_reclaimed = reclaimed;
        return 0;
}
