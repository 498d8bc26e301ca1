/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "daemon/build-dbus.h"
#include "daemon/network-dbus.h"
#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/container-dbus.h"
#include "daemon/container.h"
#include "daemon/disk-usage.h"
#include "daemon/image-archive-dbus.h"
#include "daemon/image-dbus.h"
#include "daemon/image.h"
#include "daemon/manager.h"
#include "daemon/polkit.h"
#include "daemon/login-dbus.h"
#include "daemon/push-dbus.h"
#include "daemon/transfer-dbus.h"
#include "daemon/exec-session-dbus.h"
#include "daemon/volume-dbus.h"
#include "registry/reference.h"
#include "registry/registry-client.h"
#include "registry/registry-config.h"
#include "shared/log.h"
#include "store/image-store.h"

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", BERTH_VERSION);
}

static int method_list_images(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        g_autoptr(GPtrArray) images = image_store_list(m->images);
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sastto)");
        if (r < 0)
                return r;
        for (guint i = 0; i < images->len; i++) {
                const ImageRecord *image = images->pdata[i];
                g_auto(GStrv) tags = manager_image_familiar_tags(m, image->id);
                _cleanup_free_ char *path = NULL;

                r = image_object_path(image->id, &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(reply, 'r', "sastto");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", image->id);
                if (r >= 0)
                        r = sd_bus_message_append_strv(reply, tags);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "tto", image->created_usec, image->size, path);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int reply_image_path(sd_bus_message *message, Manager *m, const ImageRecord *image, const char *key,
                            sd_bus_error *error)
{
        _cleanup_free_ char *path = NULL;
        int r;

        r = image_object_path(image->id, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}

static int method_get_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return bus_redirect_method_to_image(message, userdata, error, reply_image_path);
}

static int method_remove_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return bus_redirect_method_to_image(message, userdata, error, bus_image_method_remove);
}

static int method_tag_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return bus_redirect_method_to_image(message, userdata, error, bus_image_method_tag);
}

static int method_pull_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const char *reference;
        int r;

        r = sd_bus_message_read(message, "s", &reference);
        if (r < 0)
                return r;
        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;
        return bus_transfer_pull(m, message, reference, error);
}

/* ---- SearchImages(s term, a{sv} options) -> a(ss): asks the registry and replies from the request's
 * callback, so the bus is never blocked ---- */

#define SEARCH_LIMIT_MAX 100U

/* A search makes berthd talk to a registry on the caller's behalf, with root's network position and stored
 * credentials: it is authorised as a pull (org.berth1.pull-image), and bounded. At most SEARCHES_MAX wait
 * at once, each for at most SEARCH_TIMEOUT_USEC; the registry client caps what one may read (see
 * registry_search()). */
#define SEARCHES_MAX        4U
#define SEARCH_TIMEOUT_USEC (30 * USEC_PER_SEC)

/* One SearchImages() call waiting for its registry. The method message is kept until the answer comes;
 * should berthd exit first, the exit source cancels the request and drops the call (the caller sees the
 * name vanish). */
typedef struct Search {
        Manager *manager;
        sd_bus_message *message;
        RegistryRequest *request;
        sd_event_source *exit_source;
        sd_event_source *timeout_source;
        char *domain;
        unsigned limit;
} Search;

static Search *search_free(Search *s)
{
        if (!s)
                return NULL;
        if (s->manager)
                s->manager->n_searches--;
        sd_event_source_disable_unref(s->exit_source);
        sd_event_source_disable_unref(s->timeout_source);
        sd_bus_message_unref(s->message);
        free(s->domain);
        return mfree(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Search *, search_free);

static int on_exit_event(sd_event_source *source, void *userdata)
{
        Search *s = userdata;

        registry_request_cancel(s->request);
        search_free(s);
        return 0;
}

static int on_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
        Search *s = userdata;
        int r;

        registry_request_cancel(s->request);
        s->request = NULL;
        log_info("Search of %s took too long, cancelled.", s->domain);
        r = sd_bus_reply_method_errorf(s->message, BERTH_ERROR_REGISTRY_ERROR, "%s: no answer within %u s.",
                                       s->domain, (unsigned) (SEARCH_TIMEOUT_USEC / USEC_PER_SEC));
        if (r < 0)
                log_warning_errno(r, "Failed to send search error: %m");
        search_free(s);
        return 0;
}

static int reply_results(Search *s, const RegistrySearchResult *results, size_t n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(s->message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        /* The catalog fallback filters but does not count: the limit applies here to both kinds. */
        for (size_t i = 0; i < n && i < s->limit; i++) {
                r = sd_bus_message_append(reply, "(ss)", results[i].name, results[i].description);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void on_search_done(RegistryRequest *req, const RegistryError *error,
                           const RegistrySearchResult *results, size_t n_results, void *userdata)
{
        _cleanup_(search_freep) Search *s = userdata;
        const char *name;
        int r;

        /* The request frees itself after this callback. */
        s->request = NULL;

        if (!error) {
                r = reply_results(s, results, n_results);
                if (r < 0) {
                        log_warning_errno(r, "Failed to send search results: %m");
                        (void) sd_bus_reply_method_errnof(s->message, r,
                                                          "Failed to send search results: %m");
                }
                return;
        }

        name = error->kind == REGISTRY_ERROR_UNAUTHORIZED ? BERTH_ERROR_UNAUTHORIZED
                                                          : BERTH_ERROR_REGISTRY_ERROR;
        log_info("Search of %s failed: %s", s->domain, berth_error_message(&error->base));
        if (error->http_status > 0)
                r = sd_bus_reply_method_errorf(s->message, name, "%s: %s (HTTP %ld)", s->domain,
                                               berth_error_message(&error->base), error->http_status);
        else
                r = sd_bus_reply_method_errorf(s->message, name, "%s: %s", s->domain,
                                               berth_error_message(&error->base));
        if (r < 0)
                log_warning_errno(r, "Failed to send search error: %m");
}

typedef struct SearchOptions {
        uint32_t limit;
        const char *registry;
} SearchOptions;

static int read_search_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        SearchOptions *o = userdata;
        int r;

        if (streq(key, "registry"))
                return bus_option_read_basic(m, key, 's', &o->registry, error);
        if (!streq(key, "limit"))
                return bus_option_unknown(key, error);
        r = bus_option_read_basic(m, key, 'u', &o->limit, error);
        if (r < 0)
                return r;
        if (o->limit == 0 || o->limit > SEARCH_LIMIT_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'limit' must be between 1 and %u.", SEARCH_LIMIT_MAX);
        return 0;
}

static int method_search_images(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(search_freep) Search *s = NULL;
        _cleanup_free_ char *domain = NULL;
        Manager *m = userdata;
        SearchOptions o = { .limit = 25 };
        const char *term;
        int r;

        r = sd_bus_message_read(message, "s", &term);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_search_option, &o, error);
        if (r < 0)
                return r;
        if (isempty(term) || strlen(term) > 256 || !g_utf8_validate(term, -1, NULL))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The search term must be 1 to 256 characters of UTF-8.");

        /* The registry is a domain in the reference grammar (host[:port]), nothing more: a URL parser finds
         * another host in "127.0.0.1@10.1.2.3:8080". */
        if (!isempty(o.registry) && !reference_domain_is_valid(o.registry))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid registry '%s': expected host[:port].", o.registry);
        r = registry_normalize_domain(isempty(o.registry) ? m->default_domain : o.registry, &domain);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid registry '%s'.",
                                         o.registry);

        const char *details[] = { "registry", domain, "verb", "search", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_PULL_IMAGE, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        if (m->n_searches >= SEARCHES_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "%u searches are waiting for registries already; try again later.",
                                         m->n_searches);

        s = calloc(1, sizeof(Search));
        if (!s)
                return -ENOMEM;
        s->manager = m;
        m->n_searches++;
        s->limit = o.limit;
        s->domain = TAKE_PTR(domain);

        r = sd_event_add_exit(m->event, &s->exit_source, on_exit_event, s);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &s->timeout_source, CLOCK_MONOTONIC, SEARCH_TIMEOUT_USEC, 0,
                                       on_timeout, s);
        if (r < 0)
                return r;
        r = registry_search(m->registry, s->domain, term, o.limit, on_search_done, s, &s->request);
        if (r < 0)
                return r;
        s->message = sd_bus_message_ref(message);
        TAKE_PTR(s);
        return 1;
}

/* ---- GetDiskUsage, PruneImages, PruneContainers: the walk is in disk-usage.c ---- */

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

static int bus_method_get_disk_usage(sd_bus_message *message, void *userdata, sd_bus_error *error)
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

static int bus_method_prune_images(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        g_auto(GStrv) removed = NULL;
        Manager *m = userdata;
        uint64_t reclaimed = 0;
        int all = false, r;

        r = bus_read_options(message, read_prune_images_option, &all, error);
        if (r < 0)
                return r;

        const char *details[] = { "verb", all ? "prune-all" : "prune", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_IMAGES, details, &m->polkit_registry,
                                    error);
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

static int bus_method_prune_containers(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;

        const char *details[] = { "verb", "prune", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CONTAINERS, details, &m->polkit_registry,
                                    error);
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

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BuildCacheUsage", "(ut)", bus_property_get_build_cache_usage, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("ListImages", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sastto)", images),
                                method_list_images, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetImage", SD_BUS_ARGS("s", ref_or_id), SD_BUS_RESULT("o", image),
                                method_get_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveImage", SD_BUS_ARGS("s", ref_or_id, "b", force), SD_BUS_NO_RESULT,
                                method_remove_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("TagImage", SD_BUS_ARGS("s", source, "s", target), SD_BUS_NO_RESULT,
                                method_tag_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("BuildImage", SD_BUS_ARGS("h", context, "a{sv}", options),
                                SD_BUS_RESULT("o", build), bus_method_build_image,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PullImage", SD_BUS_ARGS("s", reference, "a{sv}", options),
                                SD_BUS_RESULT("o", transfer), method_pull_image, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Push and credentials (push-dbus.c). */
        SD_BUS_METHOD_WITH_ARGS("PushImage", SD_BUS_ARGS("s", reference, "a{sv}", options),
                                SD_BUS_RESULT("o", transfer), bus_method_push_image,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Login", SD_BUS_ARGS("s", registry, "s", username, "s", password),
                                SD_BUS_NO_RESULT, bus_method_login,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Logout", SD_BUS_ARGS("s", registry), SD_BUS_RESULT("b", removed),
                                bus_method_logout, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SearchImages", SD_BUS_ARGS("s", term, "a{sv}", options),
                                SD_BUS_RESULT("a(ss)", results), method_search_images,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateContainer",
                                SD_BUS_ARGS("s", image, "s", name, "as", command, "a{sv}", options),
                                SD_BUS_RESULT("s", id, "o", container), bus_method_create_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RunContainer",
                                SD_BUS_ARGS("s", image, "s", name, "as", command, "a{sv}", options),
                                SD_BUS_RESULT("s", id, "o", container), bus_method_run_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartContainer", SD_BUS_ARGS("s", name_or_id), SD_BUS_NO_RESULT,
                                bus_method_start_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StopContainer", SD_BUS_ARGS("s", name_or_id, "t", timeout_usec),
                                SD_BUS_NO_RESULT, bus_method_stop_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("KillContainer", SD_BUS_ARGS("s", name_or_id, "i", signal), SD_BUS_NO_RESULT,
                                bus_method_kill_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RestartContainer", SD_BUS_ARGS("s", name_or_id, "t", timeout_usec),
                                SD_BUS_NO_RESULT, bus_method_restart_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PauseContainer", SD_BUS_ARGS("s", name_or_id), SD_BUS_NO_RESULT,
                                bus_method_pause_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UnpauseContainer", SD_BUS_ARGS("s", name_or_id), SD_BUS_NO_RESULT,
                                bus_method_unpause_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("WaitContainer", SD_BUS_ARGS("s", name_or_id, "a{sv}", options),
                                SD_BUS_RESULT("i", exit_code), bus_method_wait_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("TopContainer", SD_BUS_ARGS("s", name_or_id, "a{sv}", options),
                                SD_BUS_RESULT("a(us)", processes), bus_method_top_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RenameContainer", SD_BUS_ARGS("s", name_or_id, "s", name), SD_BUS_NO_RESULT,
                                bus_method_rename_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateContainer",
                                SD_BUS_ARGS("s", name_or_id, "a(sv)", properties, "a{sv}", options),
                                SD_BUS_NO_RESULT, bus_method_update_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveContainer", SD_BUS_ARGS("s", name_or_id, "b", force),
                                SD_BUS_NO_RESULT, bus_method_remove_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AttachContainer", SD_BUS_ARGS("s", name_or_id, "a{sv}", options),
                                SD_BUS_RESULT("h", stream), bus_method_attach_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ExecContainer",
                                SD_BUS_ARGS("s", name_or_id, "as", command, "a{sv}", options),
                                SD_BUS_RESULT("h", stream, "o", session), bus_method_exec_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResizeContainer", SD_BUS_ARGS("s", name_or_id, "u", rows, "u", columns),
                                SD_BUS_NO_RESULT, bus_method_resize_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListContainers", SD_BUS_ARGS("b", all),
                                SD_BUS_RESULT("a(ssssuo)", containers), bus_method_list_containers,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetContainer", SD_BUS_ARGS("s", name_or_id), SD_BUS_RESULT("o", container),
                                bus_method_get_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "CommitContainer", SD_BUS_ARGS("s", name_or_id, "s", reference, "a{sv}", options),
                SD_BUS_RESULT("s", image_id), bus_method_commit_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetDiskUsage", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("a(sasttttu)", images, "a(sssstt)", containers, "t",
                                              layers_size, "t", layers_reclaimable),
                                bus_method_get_disk_usage, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PruneImages", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("as", removed_ids, "t", reclaimed_bytes),
                                bus_method_prune_images, SD_BUS_VTABLE_UNPRIVILEGED),
        /* save and load: daemon/image-archive-dbus.c */
        SD_BUS_METHOD_WITH_ARGS("SaveImages", SD_BUS_ARGS("as", refs, "h", fd, "a{sv}", options),
                                SD_BUS_NO_RESULT, bus_manager_method_save_images,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LoadImages", SD_BUS_ARGS("h", fd, "a{sv}", options),
                                SD_BUS_RESULT("as", loaded), bus_manager_method_load_images,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("ArchiveProgress", SD_BUS_ARGS("t", done, "t", total), 0),
        SD_BUS_METHOD_WITH_ARGS("PruneContainers", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("as", removed_ids, "t", reclaimed_bytes),
                                bus_method_prune_containers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateVolume", SD_BUS_ARGS("s", name, "a{sv}", options),
                                SD_BUS_RESULT("o", volume), bus_method_create_volume,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveVolume", SD_BUS_ARGS("s", name, "b", force), SD_BUS_NO_RESULT,
                                bus_method_remove_volume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListVolumes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssbto)", volumes),
                                bus_method_list_volumes, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetVolume", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", volume),
                                bus_method_get_volume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PruneVolumes", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("as", removed, "t", reclaimed), bus_method_prune_volumes,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("VolumeNew", SD_BUS_ARGS("s", name, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("VolumeRemoved", SD_BUS_ARGS("s", name, "o", path), 0),
        /* User networks (network-dbus.c). */
        SD_BUS_METHOD_WITH_ARGS("CreateNetwork", SD_BUS_ARGS("s", name, "a{sv}", options),
                                SD_BUS_RESULT("o", network), bus_method_create_network,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveNetwork", SD_BUS_ARGS("s", name, "b", force), SD_BUS_NO_RESULT,
                                bus_method_remove_network, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNetworks", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssssbo)", networks),
                                bus_method_list_networks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetNetwork", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", network),
                                bus_method_get_network, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PruneNetworks", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("as", removed),
                                bus_method_prune_networks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ConnectNetwork",
                                SD_BUS_ARGS("s", network, "s", container, "a{sv}", options),
                                SD_BUS_NO_RESULT, bus_method_connect_network, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DisconnectNetwork", SD_BUS_ARGS("s", network, "s", container, "b", force),
                                SD_BUS_NO_RESULT, bus_method_disconnect_network, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("NetworkNew", SD_BUS_ARGS("s", id, "s", name, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("NetworkRemoved", SD_BUS_ARGS("s", id, "s", name, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("TransferNew", SD_BUS_ARGS("u", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("TransferRemoved", SD_BUS_ARGS("u", id, "o", path, "s", result), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ImageNew", SD_BUS_ARGS("s", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ImageRemoved", SD_BUS_ARGS("s", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerNew", SD_BUS_ARGS("s", id, "s", name, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerRemoved", SD_BUS_ARGS("s", id, "s", name, "o", path), 0),
        SD_BUS_VTABLE_END,
};

static const BusObjectImplementation manager_object = {
        .path = "/org/berth1",
        .interface = "org.berth1.Manager",
        .vtable = manager_vtable,
        .children = (const BusObjectImplementation *const[]){ &image_object, &transfer_object,
                                                              &exec_session_object, &container_object,
                                                              &volume_object, &network_object, &build_object,
                                                              NULL },
};

int bus_manager_register(Manager *m)
{
        int r;

        r = bus_add_implementation(m->bus, &manager_object, m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(m->bus, NULL, "/org/berth1");
        if (r < 0)
                return log_error_errno(r, "Failed to add object manager: %m");
        return 0;
}
