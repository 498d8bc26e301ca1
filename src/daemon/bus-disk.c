/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/bus-disk.h"
#include "daemon/bus-options.h"
#include "daemon/polkit.h"
#include "daemon/container.h"
#include "daemon/disk-usage.h"
#include "daemon/image.h"
#include "shared/log.h"

/* PruneImages' one option. */
static int read_prune_images_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        if (streq(key, "all"))
                return bus_option_read_basic(m, key, 'b', userdata, error);
        return bus_option_unknown(key, error);
}

static gint compare_created_desc(gconstpointer a, gconstpointer b)
{
        const Container *x = *(Container *const *) a, *y = *(Container *const *) b;
        return x->created_usec < y->created_usec ? 1 : x->created_usec > y->created_usec ? -1 : 0;
}

static int append_images(Manager *m, sd_bus_message *reply, const DiskUsage *u)
{
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sasttttu)");
        if (r < 0)
                return r;
        for (guint i = 0; i < u->images->len; i++) {
                const ImageUsage *iu = &g_array_index(u->images, ImageUsage, i);
                g_auto(GStrv) tags = manager_image_familiar_tags(m, iu->image->id);

                r = sd_bus_message_open_container(reply, 'r', "sasttttu");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", iu->image->id);
                if (r >= 0)
                        r = sd_bus_message_append_strv(reply, tags);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ttttu", iu->image->created_usec, iu->image->size,
                                                  iu->shared_size, iu->unique_size, iu->containers);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int append_containers(Manager *m, sd_bus_message *reply, GHashTable *sizes)
{
        g_autoptr(GPtrArray) list = g_ptr_array_new();
        GHashTableIter it;
        Container *c;
        int r;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c))
                g_ptr_array_add(list, c);
        g_ptr_array_sort(list, compare_created_desc);

        r = sd_bus_message_open_container(reply, 'a', "(sssstt)");
        if (r < 0)
                return r;
        for (guint i = 0; i < list->len; i++) {
                const uint64_t *bytes;

                c = list->pdata[i];
                /* Missing: created after the walk began, or its walk failed (logged by the walker). */
                bytes = g_hash_table_lookup(sizes, c->id);
                r = sd_bus_message_append(reply, "(sssstt)", c->id, c->name, c->image_name,
                                          container_status_to_string(c->state.status), bytes ? *bytes : 0,
                                          c->created_usec);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int reply_disk_usage(Manager *m, sd_bus_message *message, GHashTable *sizes)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(disk_usage_done) DiskUsage u = {};
        int r;

        r = manager_disk_usage(m, &u);
        if (r < 0)
                return log_error_errno(r, "Failed to compute disk usage: %m");
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = append_images(m, reply, &u);
        if (r < 0)
                return r;
        r = append_containers(m, reply, sizes);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "tt", u.layers_size, u.layers_reclaimable);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void on_disk_usage_walked(Manager *m, GHashTable *sizes, void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = userdata;
        int r;

        r = sizes ? reply_disk_usage(m, message, sizes) : -ECANCELED;
        if (r < 0)
                (void) sd_bus_reply_method_errnof(message, r, "Failed to compute disk usage: %m");
}

int bus_method_get_disk_usage(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;
        /* The image part is a loop over the records; the containers' writable layers are walked in a child
         * (disk-usage.h), and the reply goes out when it is done. */
        r = manager_walk_containers(m, on_disk_usage_walked, sd_bus_message_ref(message));
        if (r < 0)
                log_warning_errno(r, "Failed to measure the containers' writable layers: %m");
        return 1;
}

static int reply_pruned(sd_bus_message *message, char **removed, uint64_t reclaimed)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, removed);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "t", reclaimed);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_method_prune_images(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        g_auto(GStrv) removed = NULL;
        Manager *m = userdata;
        uint64_t reclaimed = 0;
        int all = false, r;

        r = bus_read_options(message, read_prune_images_option, &all, error);
        if (r < 0)
                return r;

        const char *details[] = { "verb", all ? "prune-all" : "prune", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_IMAGES, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us back */

        r = manager_prune_images(m, all, &removed, &reclaimed);
        if (r < 0)
                return log_error_errno(r, "Failed to prune images: %m");
        return reply_pruned(message, removed, reclaimed);
}

static void on_prune_walked(Manager *m, GHashTable *sizes, void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = userdata;
        g_auto(GStrv) removed = NULL;
        uint64_t reclaimed = 0;
        int r;

        if (!sizes) {
                (void) sd_bus_reply_method_errnof(message, ECANCELED, "Pruning containers was cancelled.");
                return;
        }
        /* Chosen now, not when asked: a container started during the walk stays. */
        r = manager_prune_containers(m, sizes, &removed, &reclaimed);
        if (r >= 0)
                r = reply_pruned(message, removed, reclaimed);
        if (r < 0)
                (void) sd_bus_reply_method_errnof(message, r, "Failed to prune containers: %m");
}

int bus_method_prune_containers(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;

        const char *details[] = { "verb", "prune", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CONTAINERS, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        /* The reclaimed bytes need the walk of the writable layers, off the loop as for GetDiskUsage. */
        r = manager_walk_containers(m, on_prune_walked, sd_bus_message_ref(message));
        if (r < 0)
                log_warning_errno(r, "Failed to measure the containers' writable layers: %m");
        return 1;
}
