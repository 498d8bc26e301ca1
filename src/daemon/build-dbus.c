/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>

#include "daemon/build-dbus.h"
#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/image.h"
#include "daemon/polkit.h"
#include "shared/log.h"

/* org.berth1.Build objects, one per running build, at /org/berth1/build/_<id>, as Transfers are: clients
 * subscribe to the interface's signals (any path) before calling BuildImage(). */

static int build_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                             void **found, sd_bus_error *error)
{
        Manager *m = userdata;
        const char *e;
        uint32_t id;

        e = startswith(path, "/org/berth1/build/_");
        if (!e || sscanf(e, "%" SCNu32, &id) != 1)
                return 0;
        *found = g_hash_table_lookup(m->builds, GUINT_TO_POINTER(id));
        return *found ? 1 : 0;
}

static int build_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                 sd_bus_error *error)
{
        Manager *m = userdata;
        char **l = g_new0(char *, g_hash_table_size(m->builds) + 1);
        GHashTableIter it;
        gpointer value;
        size_t n = 0;

        g_hash_table_iter_init(&it, m->builds);
        while (g_hash_table_iter_next(&it, NULL, &value))
                l[n++] = g_strdup(build_get_path(value));
        *nodes = l;
        return 1;
}

static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Build *b = userdata;
        Manager *m = build_get_manager(b);
        int r;

        const char *details[] = { "verb", "cancel", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_BUILD_IMAGE, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        r = sd_bus_reply_method_return(message, NULL);
        build_cancel(b);
        return r;
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "u", build_get_id(userdata));
}

static int property_get_status(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", build_get_status(userdata));
}

const sd_bus_vtable build_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Status", "s", property_get_status, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("StepStarted", SD_BUS_ARGS("u", index, "u", count, "s", text), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Output", SD_BUS_ARGS("s", text), 0),
        SD_BUS_SIGNAL_WITH_ARGS("StepFinished", SD_BUS_ARGS("u", index, "b", cached, "s", image_id), 0),
        SD_BUS_SIGNAL_WITH_ARGS(
                "Finished", SD_BUS_ARGS("s", result, "s", error_name, "s", error_message, "s", image_id), 0),
        SD_BUS_VTABLE_END,
};

static void emit(Build *b, const char *member, const char *types, ...)
{
        Manager *m = build_get_manager(b);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_signal(m->bus, &s, build_get_path(b), "org.berth1.Build", member);
        if (r < 0)
                return;
        va_start(ap, types);
        r = sd_bus_message_appendv(s, types, ap);
        va_end(ap);
        if (r >= 0)
                (void) sd_bus_send(m->bus, s, NULL);
}

void build_send_step_started(Build *b, unsigned index, unsigned count, const char *text)
{
        emit(b, "StepStarted", "uus", (uint32_t) index, (uint32_t) count, text);
}

void build_send_output(Build *b, const char *text)
{
        /* Output that is not UTF-8 cannot go in a D-Bus string: made valid, as the journal would show it. */
        g_autofree char *valid = g_utf8_make_valid(text, -1);
        emit(b, "Output", "s", valid);
}

void build_send_step_finished(Build *b, unsigned index, bool cached, const char *image_id)
{
        emit(b, "StepFinished", "ubs", (uint32_t) index, (int) cached, image_id);
}

void build_send_finished(Build *b, const BerthError *e, const char *image_id)
{
        g_autofree char *msg = e ? g_utf8_make_valid(berth_error_message(e), -1) : NULL;
        emit(b, "Finished", "ssss", build_get_status(b), bus_error_build_name(e), strempty(msg), image_id);
}

void build_send_changed(Build *b)
{
        Manager *m = build_get_manager(b);
        (void) sd_bus_emit_properties_changed(m->bus, build_get_path(b), "org.berth1.Build", "Status", NULL);
}

/* The caller is gone (berthctl killed, its connection closed): nobody reads the build, so it stops, as
 * Docker's does when its client disconnects. */
static int on_client_gone(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Build *b = userdata;
        const char *name, *old, *new;

        if (sd_bus_message_read(message, "sss", &name, &old, &new) >= 0 && isempty(new)) {
                log_info("The client of build %u is gone, cancelling it.", build_get_id(b));
                build_cancel(b);
        }
        return 0;
}

int bus_property_get_build_cache_usage(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error)
{
        unsigned count = 0;
        uint64_t bytes = 0;

        manager_build_cache_usage(userdata, &count, &bytes);
        return sd_bus_message_append(reply, "(ut)", (uint32_t) count, bytes);
}

typedef struct ReadOptions {
        Manager *manager;
        BuildOptions *o;
} ReadOptions;

static int read_dict(sd_bus_message *m, const char *key, char ***ret, bool env_form, sd_bus_error *error)
{
        const char *k, *v;
        int r;

        r = bus_option_enter(m, key, "a{ss}", error);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{ss}", &k, &v)) > 0) {
                size_t n = *ret ? g_strv_length(*ret) : 0;
                if (isempty(k))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s': an empty key.", key);
                *ret = g_renew(char *, *ret, n + 3);
                if (env_form) {
                        (*ret)[n++] = g_strdup_printf("%s=%s", k, v);
                } else {
                        (*ret)[n++] = g_strdup(k);
                        (*ret)[n++] = g_strdup(v);
                }
                (*ret)[n] = NULL;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_build_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        ReadOptions *ro = userdata;
        BuildOptions *o = ro->o;

        if (streq(key, "tags"))
                return bus_option_read_strv(m, key, &o->tags, error);
        if (streq(key, "dockerfile"))
                return bus_option_read_string(m, key, &o->dockerfile, error);
        if (streq(key, "build_args"))
                return read_dict(m, key, &o->build_args, true, error);
        if (streq(key, "target"))
                return bus_option_read_string(m, key, &o->target, error);
        if (streq(key, "no_cache"))
                return bus_option_read_bool(m, key, &o->no_cache, error);
        if (streq(key, "pull"))
                return bus_option_read_bool(m, key, &o->pull, error);
        if (streq(key, "quiet"))
                return bus_option_read_bool(m, key, &o->quiet, error);
        if (streq(key, "network"))
                return bus_option_read_string(m, key, &o->network, error);
        if (streq(key, "labels"))
                return read_dict(m, key, &o->labels, false, error);
        return bus_option_unknown(key, error);
}

int bus_method_build_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(build_options_done) BuildOptions o = {};
        _cleanup_(build_freep) Build *b = NULL;
        _cleanup_close_ int fd = -EBADF;
        Manager *m = userdata;
        Build *started;
        int r, context;

        r = sd_bus_message_read(message, "h", &context);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_build_option, &(ReadOptions){ m, &o }, error);
        if (r < 0)
                return r;
        for (char **t = o.tags; t && *t; t++) {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
                char *canonical = NULL;
                r = manager_canonical_reference(m, *t, &e, &canonical);
                if (r < 0)
                        return bus_error_set(error, &e, BERTH_ERROR_INVALID_REFERENCE);
                free(*t);
                *t = canonical;
        }
        if (o.dockerfile && (isempty(o.dockerfile) || strlen(o.dockerfile) > 4096))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid Dockerfile path.");
        if (o.network && streq(o.network, "host"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "A build's RUN steps cannot use the host's network.");
        if (o.network && !streq(o.network, "bridge") && !streq(o.network, "none") &&
            !g_hash_table_contains(m->networks, o.network))
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_NETWORK, "No such network: %s",
                                         o.network);

        const char *details[] = { "verb", "build", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_BUILD_IMAGE, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        fd = fcntl(context, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        r = build_new(m, &o, TAKE_FD(fd), &b);
        if (r < 0)
                return r;
        started = TAKE_PTR(b);
        g_hash_table_insert(m->builds, GUINT_TO_POINTER(build_get_id(started)), started);
        r = sd_bus_reply_method_return(message, "o", build_get_path(started));
        if (r < 0)
                return r;
        log_info("Build %u started.", build_get_id(started));
        g_autofree char *match =
                g_strdup_printf("type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'",
                                sd_bus_message_get_sender(message));
        r = sd_bus_add_match_async(m->bus, &build_client_slot(started), match, on_client_gone, NULL,
                                   started);
        if (r < 0)
                log_warning_errno(r, "Cannot watch the client of build %u, ignoring: %m",
                                  build_get_id(started));
        r = build_start(started);
        if (r < 0) {
                log_warning_errno(r, "Failed to start build %u: %m", build_get_id(started));
                build_cancel(started);
        }
        return 1;
}

const BusObjectImplementation build_object = {
        .path = "/org/berth1/build",
        .interface = "org.berth1.Build",
        .vtable = build_vtable,
        .find = build_object_find,
        .enumerator = build_node_enumerator,
};
