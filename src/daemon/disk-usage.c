/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/container.h"
#include "daemon/disk-usage.h"
#include "daemon/image.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/signal-util.h"
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
                STRV_FOREACH (c, image->chain_ids) {
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
                        STRV_FOREACH (c, image->chain_ids)
                                g_hash_table_add(active, *c);
        }

        for (guint i = 0; i < images->len; i++) {
                const ImageRecord *image = images->pdata[i];
                ImageUsage iu = { .image = image, .containers = count_containers_of(m, image->id) };
                size_t k = 0;

                STRV_FOREACH (c, image->chain_ids) {
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

/* Docker's directory.Size of a container's writable layer, which its processes may change meanwhile. */
static int disk_usage_walk_dir(const char *path, uint64_t *ret_bytes)
{
        uint64_t total = 0;
        int fd, r;

        fd = open_dir_at(AT_FDCWD, path);
        if (fd < 0)
                return fd;
        r = dir_usage_at(fd, DIR_USAGE_APPARENT | DIR_USAGE_IGNORE_VANISHED, &total);
        if (r < 0)
                return r;
        *ret_bytes = total;
        return 0;
}

/* A walk of every container's writable layer, in a child. The child writes one uint64_t per container (in
 * the order of ids; UINT64_MAX where the walk failed) into a memfd that the parent reads when it exits: no
 * pipe to drain while the child runs, and nothing to parse. */
typedef struct DiskWalkRequest {
        DiskWalkDone done;
        void *userdata;
} DiskWalkRequest;

struct DiskWalk {
        Manager *manager;
        pid_t pid;
        int memfd;
        sd_event_source *child_source;
        GPtrArray *ids;   /* container ids, in the order of the results */
        GArray *requests; /* DiskWalkRequest, served by this walk */
};

static void disk_walk_finish(DiskWalk *w, GHashTable *sizes)
{
        for (guint i = 0; i < w->requests->len; i++) {
                const DiskWalkRequest *q = &g_array_index(w->requests, DiskWalkRequest, i);
                q->done(w->manager, sizes, q->userdata);
        }
        g_array_set_size(w->requests, 0);
}

static DiskWalk *disk_walk_free(DiskWalk *w)
{
        if (!w)
                return NULL;
        if (w->pid > 0) {
                (void) kill(w->pid, SIGKILL); /* not reaped yet: the pid is still ours */
                (void) waitpid(w->pid, NULL, 0);
        }
        sd_event_source_disable_unref(w->child_source);
        if (w->requests) {
                disk_walk_finish(w, NULL);
                g_array_unref(w->requests);
        }
        if (w->ids)
                g_ptr_array_unref(w->ids);
        safe_close(w->memfd);
        return mfree(w);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(DiskWalk *, disk_walk_free);

static DiskWalk *disk_walk_new(Manager *m)
{
        DiskWalk *w = calloc(1, sizeof(*w));

        if (!w)
                return NULL;
        w->manager = m;
        w->memfd = -EBADF;
        w->requests = g_array_new(false, false, sizeof(DiskWalkRequest));
        w->ids = g_ptr_array_new_with_free_func(g_free);
        return w;
}

static _Noreturn void disk_walk_child(DiskWalk *w, char **dirs)
{
        /* berthd blocks the signals it handles through sd-event; the child must die of them. */
        reset_signal_mask();
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        (void) nice(10);
        for (size_t i = 0; dirs[i]; i++) {
                uint64_t bytes = UINT64_MAX;

                if (disk_usage_walk_dir(dirs[i], &bytes) < 0)
                        bytes = UINT64_MAX;
                if (write(w->memfd, &bytes, sizeof(bytes)) != sizeof(bytes))
                        _exit(EXIT_FAILURE);
        }
        _exit(EXIT_SUCCESS);
}

static int disk_walk_start(Manager *m);

static int on_disk_walk_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        _cleanup_(disk_walk_freep) DiskWalk *w = userdata;
        g_autoptr(GHashTable) sizes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
        Manager *m = w->manager;

        w->pid = 0; /* reaped by sd-event */
        w->child_source = sd_event_source_disable_unref(w->child_source);
        m->disk_walk = NULL;
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning("Measuring the containers' writable layers failed; reporting them as empty.");
        else
                for (guint i = 0; i < w->ids->len; i++) {
                        uint64_t bytes;

                        if (pread(w->memfd, &bytes, sizeof(bytes), (off_t) (i * sizeof(bytes))) !=
                            sizeof(bytes))
                                break;
                        if (bytes != UINT64_MAX)
                                g_hash_table_insert(sizes, w->ids->pdata[i],
                                                    g_memdup2(&bytes, sizeof(bytes)));
                }
        disk_walk_finish(w, sizes);
        /* Requests that came while this walk ran get a walk of their own, which starts after them. */
        if (m->disk_walk_queue && m->disk_walk_queue->len > 0)
                (void) disk_walk_start(m);
        return 0;
}

static int disk_walk_start(Manager *m)
{
        _cleanup_(disk_walk_freep) DiskWalk *w = NULL;
        g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        Container *c;
        int r;

        g_assert(!m->disk_walk);
        w = disk_walk_new(m);
        if (!w)
                return -ENOMEM;
        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c)) {
                char dir[PATH_MAX];

                g_ptr_array_add(w->ids, g_strdup(c->id));
                g_ptr_array_add(dirs, g_strdup_printf("%s/diff", container_dir(c, dir, sizeof(dir))));
        }
        g_ptr_array_add(dirs, NULL);
        /* The queue moves to this walk now, so a failure below answers every request in it. */
        g_array_append_vals(w->requests, m->disk_walk_queue->data, m->disk_walk_queue->len);
        g_array_set_size(m->disk_walk_queue, 0);

        w->memfd = memfd_create("berth-disk-usage", MFD_CLOEXEC);
        if (w->memfd < 0)
                return -errno;
        w->pid = fork();
        if (w->pid < 0)
                return -errno;
        if (w->pid == 0)
                disk_walk_child(w, (char **) dirs->pdata);
        r = sd_event_add_child(m->event, &w->child_source, w->pid, WEXITED, on_disk_walk_exit, w);
        if (r < 0)
                return r;
        m->disk_walk = TAKE_PTR(w);
        return 0;
}

int manager_walk_containers(Manager *m, DiskWalkDone done, void *userdata)
{
        DiskWalkRequest q = { .done = done, .userdata = userdata };

        if (!m->disk_walk_queue)
                m->disk_walk_queue = g_array_new(false, false, sizeof(DiskWalkRequest));
        g_array_append_val(m->disk_walk_queue, q);
        /* One walk at a time, whoever asks: a caller that repeats its request while a walk runs joins the
         * next walk instead of starting another. */
        if (m->disk_walk)
                return 0;
        return disk_walk_start(m);
}

void manager_stop_disk_walk(Manager *m)
{
        m->disk_walk = disk_walk_free(m->disk_walk);
        if (m->disk_walk_queue) {
                for (guint i = 0; i < m->disk_walk_queue->len; i++) {
                        const DiskWalkRequest *q = &g_array_index(m->disk_walk_queue, DiskWalkRequest, i);
                        q->done(m, NULL, q->userdata);
                }
                g_array_unref(m->disk_walk_queue);
                m->disk_walk_queue = NULL;
        }
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
                STRV_FOREACH (c, image->chain_ids) {
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
                        log_warning_errno(r, "Failed to prune image %s, ignoring: %m",
                                          (char *) ids->pdata[i]);
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

int manager_prune_containers(Manager *m, GHashTable *sizes, char ***ret_removed, uint64_t *ret_reclaimed)
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
                const uint64_t *bytes;

                c = victims->pdata[i];
                id = g_strdup(c->id);
                bytes = sizes ? g_hash_table_lookup(sizes, c->id) : NULL;
                r = container_remove(c); /* frees c */
                if (r < 0) {
                        log_warning_errno(r, "Failed to prune container %s, ignoring: %m", id);
                        continue;
                }
                reclaimed += bytes ? *bytes : 0;
                g_ptr_array_add(removed, g_steal_pointer(&id));
        }

        g_ptr_array_add(removed, NULL);
        *ret_removed = (char **) g_ptr_array_free(g_steal_pointer(&removed), false);
        *ret_reclaimed = reclaimed;
        return 0;
}
