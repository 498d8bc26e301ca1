/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/polkit.h"
#include "daemon/volume-dbus.h"
#include "daemon/volume.h"
#include "runtime/mount-entry.h"
#include "shared/log.h"

/* The fallback vtable is registered with the Manager as userdata; find checks that the volume exists and
 * hands the Manager on, and each getter and method takes the volume's name from the object path. */
static Manager *volume_bus_manager(sd_bus *bus)
{
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus));
}

int volume_object_path(const char *name, char **ret)
{
        return sd_bus_path_encode("/org/berth1/volume", name, ret);
}

static int volume_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                              void **found, sd_bus_error *error)
{
        _cleanup_free_ char *name = NULL;
        _cleanup_(volume_info_done) VolumeInfo v = {};
        int r;

        r = sd_bus_path_decode(path, "/org/berth1/volume", &name);
        if (r <= 0)
                return r;
        if (volume_get(userdata, name, &v) < 0)
                return 0;
        *found = userdata;
        return 1;
}

static int volume_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                  sd_bus_error *error)
{
        g_auto(GStrv) names = volume_list(userdata);
        char **l = g_new0(char *, g_strv_length(names) + 1);

        for (size_t i = 0; names[i]; i++)
                if (volume_object_path(names[i], &l[i]) < 0) {
                        g_strfreev(l);
                        return -ENOMEM;
                }
        *nodes = l;
        return 1;
}

static int volume_load(sd_bus *bus, const char *path, VolumeInfo *v, sd_bus_error *error)
{
        _cleanup_free_ char *name = NULL;

        if (sd_bus_path_decode(path, "/org/berth1/volume", &name) <= 0 ||
            volume_get(volume_bus_manager(bus), name, v) < 0)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_VOLUME, "No such volume at %s", path);
        return 0;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        _cleanup_(volume_info_done) VolumeInfo v = {};
        int r;

        r = volume_load(bus, path, &v, error);
        if (r < 0)
                return r;
        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", v.name);
        if (streq(property, "Mountpoint"))
                return sd_bus_message_append(reply, "s", v.mountpoint);
        if (streq(property, "CreatedUSec"))
                return sd_bus_message_append(reply, "t", v.created_usec);
        if (streq(property, "Anonymous"))
                return sd_bus_message_append(reply, "b", v.anonymous);
        if (streq(property, "UsedBy")) {
                g_auto(GStrv) users = volume_used_by(volume_bus_manager(bus), v.name);
                return sd_bus_message_append_strv(reply, users);
        }
        if (streq(property, "Size"))
                return sd_bus_message_append(reply, "t", volume_size(volume_bus_manager(bus), v.name));
        /* Labels */
        r = sd_bus_message_open_container(reply, 'a', "{ss}");
        STRV_FOREACH (l, v.labels) {
                g_autofree char *k = g_strndup(*l, strcspn(*l, "="));
                const char *eq = strchr(*l, '=');
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{ss}", k, eq ? eq + 1 : "");
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int volume_remove_as(sd_bus_message *message, Manager *m, const char *name, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        int force, r;

        r = sd_bus_message_read(message, "b", &force);
        if (r < 0)
                return r;
        const char *details[] = { "volume", name, "verb", "remove", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_VOLUMES, details, &m->polkit_registry,
                                    error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = volume_remove(m, name, force, &e);
        if (r < 0)
                return bus_error_set_volume(error, &e);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *name = NULL;
        int r;

        r = sd_bus_path_decode(sd_bus_message_get_path(message), "/org/berth1/volume", &name);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        return volume_remove_as(message, userdata, name, error);
}

int bus_method_remove_volume(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(volume_info_done) VolumeInfo v = {};
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (volume_get(userdata, name, &v) < 0)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_VOLUME, "No such volume: %s", name);
        return volume_remove_as(message, userdata, name, error);
}

typedef struct CreateOptions {
        char **labels;
} CreateOptions;

static int read_create_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        CreateOptions *o = userdata;
        if (streq(key, "labels"))
                return bus_option_read_strv(m, key, &o->labels, error);
        return bus_option_unknown(key, error);
}

int bus_method_create_volume(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *path = NULL;
        g_auto(GStrv) labels = NULL;
        CreateOptions o = {};
        Manager *m = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_create_option, &o, error);
        labels = o.labels;
        if (r < 0)
                return r;
        if (!volume_name_is_valid(name))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_NAME,
                                         "Invalid volume name '%s': [a-zA-Z0-9][a-zA-Z0-9_.-]*", name);
        const char *details[] = { "volume", name, "verb", "create", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_VOLUMES, details, &m->polkit_registry,
                                    error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = volume_create(m, name, labels, false, &e, NULL);
        if (r < 0)
                return bus_error_set_volume(error, &e);
        r = volume_object_path(name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}

int bus_method_get_volume(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(volume_info_done) VolumeInfo v = {};
        _cleanup_free_ char *path = NULL;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (volume_get(userdata, name, &v) < 0)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_VOLUME, "No such volume: %s", name);
        r = volume_object_path(name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}

int bus_method_list_volumes(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_auto(GStrv) names = volume_list(userdata);
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssbto)");
        STRV_FOREACH (n, names) {
                _cleanup_(volume_info_done) VolumeInfo v = {};
                _cleanup_free_ char *path = NULL;

                if (r < 0)
                        return r;
                if (volume_get(userdata, *n, &v) < 0)
                        continue;
                r = volume_object_path(*n, &path);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(ssbto)", v.name, v.mountpoint, v.anonymous,
                                                  v.created_usec, path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int read_prune_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        if (streq(key, "all"))
                return bus_option_read_bool(m, key, userdata, error);
        return bus_option_unknown(key, error);
}

int bus_method_prune_volumes(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_auto(GStrv) removed = NULL;
        Manager *m = userdata;
        uint64_t reclaimed = 0;
        bool all = false;
        int r;

        r = bus_read_options(message, read_prune_option, &all, error);
        if (r < 0)
                return r;
        const char *details[] = { "verb", "prune", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_VOLUMES, details, &m->polkit_registry,
                                    error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = volume_prune(m, all, &removed, &reclaimed);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, removed);
        if (r >= 0)
                r = sd_bus_message_append(reply, "t", reclaimed);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

void volume_send_signal(Manager *m, const char *name, bool new_volume)
{
        _cleanup_free_ char *path = NULL;

        if (!m->bus || volume_object_path(name, &path) < 0)
                return;
        (void) sd_bus_emit_signal(m->bus, "/org/berth1", "org.berth1.Manager",
                                  new_volume ? "VolumeNew" : "VolumeRemoved", "so", name, path);
}

static const sd_bus_vtable volume_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mountpoint", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Labels", "a{ss}", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedUSec", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Anonymous", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UsedBy", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("Size", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_ARGS("b", force), SD_BUS_NO_RESULT, method_remove,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectImplementation volume_object = {
        .path = "/org/berth1/volume",
        .interface = "org.berth1.Volume",
        .vtable = volume_vtable,
        .find = volume_object_find,
        .enumerator = volume_node_enumerator,
};
