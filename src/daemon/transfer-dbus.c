/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "daemon/bus-errors.h"
#include "daemon/polkit.h"
#include "daemon/transfer-dbus.h"
#include "shared/log.h"
#include "daemon/transfer.h"

/* org.berth1.Transfer objects, one per running pull, at /org/berth1/transfer/_<id>, as importd does.
 * Clients subscribe to the org.berth1.Transfer signals before calling PullImage() (a match on the
 * interface, any path) so no progress is missed; the object goes away right after the Manager's
 * TransferRemoved signal, which carries the result. */

static int transfer_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                                void **found, sd_bus_error *error)
{
        Manager *m = userdata;
        const char *e;
        uint32_t id;

        e = startswith(path, "/org/berth1/transfer/_");
        if (!e || sscanf(e, "%" SCNu32, &id) != 1)
                return 0;
        *found = g_hash_table_lookup(m->transfers, GUINT_TO_POINTER(id));
        return *found ? 1 : 0;
}

static int transfer_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                    sd_bus_error *error)
{
        Manager *m = userdata;
        char **l = g_new0(char *, g_hash_table_size(m->transfers) + 1);
        GHashTableIter it;
        gpointer value;
        size_t n = 0;

        g_hash_table_iter_init(&it, m->transfers);
        while (g_hash_table_iter_next(&it, NULL, &value))
                l[n++] = g_strdup(transfer_get_path(value));
        *nodes = l;
        return 1;
}

static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Transfer *t = userdata;
        Manager *m = transfer_get_manager(t);
        int r;

        const char *details[] = { "image", transfer_get_reference(t), "verb", "cancel", NULL };
        r = bus_verify_polkit_async(message,
                                    transfer_get_push(t) ? BERTH_ACTION_PUSH_IMAGE : BERTH_ACTION_PULL_IMAGE,
                                    details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = sd_bus_reply_method_return(message, NULL);
        transfer_cancel(t); /* frees t */
        return r;
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "u", transfer_get_id(userdata));
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Transfer *t = userdata;
        const char *v = streq(property, "Reference")        ? transfer_get_reference(t)
                        : streq(property, "Status")         ? transfer_get_status(t)
                        : streq(property, "ManifestDigest") ? transfer_get_manifest_digest(t)
                                                            : transfer_get_image_id(t);
        return sd_bus_message_append(reply, "s", v);
}

static int property_get_progress(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "d", transfer_get_progress(userdata));
}

const sd_bus_vtable transfer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Reference", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Status", "s", property_get_string, 0, 0),
        SD_BUS_PROPERTY("ManifestDigest", "s", property_get_string, 0, 0),
        SD_BUS_PROPERTY("ImageId", "s", property_get_string, 0, 0),
        SD_BUS_PROPERTY("Progress", "d", property_get_progress, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Message", SD_BUS_ARGS("s", text), 0),
        SD_BUS_SIGNAL_WITH_ARGS("LayerProgress",
                                SD_BUS_ARGS("s", layer, "s", status, "t", current, "t", total), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Finished",
                                SD_BUS_ARGS("s", result, "s", error_name, "s", error_message, "s",
                                            manifest_digest, "s", image_id),
                                0),
        SD_BUS_VTABLE_END,
};

void transfer_send_message(Transfer *t, const char *text)
{
        (void) sd_bus_emit_signal(transfer_get_manager(t)->bus, transfer_get_path(t), "org.berth1.Transfer",
                                  "Message", "s", text);
}

void transfer_send_layer_progress(Transfer *t, const char *layer, const char *status, uint64_t done,
                                  uint64_t total)
{
        (void) sd_bus_emit_signal(transfer_get_manager(t)->bus, transfer_get_path(t), "org.berth1.Transfer",
                                  "LayerProgress", "sstt", layer, status, done, total);
}

static int on_free_transfer(sd_event_source *s, void *userdata)
{
        Transfer *t = userdata;

        sd_event_source_disable_unref(s);
        transfer_free(t);
        return 0;
}

void transfer_send_finished(Transfer *t, const BerthError *e)
{
        Manager *m = transfer_get_manager(t);
        const char *result = transfer_get_status(t);
        sd_event_source *s = NULL;

        (void) sd_bus_emit_signal(m->bus, transfer_get_path(t), "org.berth1.Transfer", "Finished", "sssss",
                                  result, bus_error_transfer_name(e), e ? berth_error_message(e) : "",
                                  transfer_get_manifest_digest(t), transfer_get_image_id(t));
        (void) sd_bus_emit_signal(m->bus, "/org/berth1", "org.berth1.Manager", "TransferRemoved", "uos",
                                  transfer_get_id(t), transfer_get_path(t), result);
        g_hash_table_remove(m->transfers, GUINT_TO_POINTER(transfer_get_id(t)));
        manager_set_status(m, "Serving org.berth1, %u transfers running.", g_hash_table_size(m->transfers));

        /* We may be deep inside one of t's own callbacks: free it from the loop. */
        if (sd_event_add_defer(m->event, &s, on_free_transfer, t) < 0)
                log_warning("Failed to schedule freeing of a finished transfer, leaking it.");
}

int bus_transfer_pull(Manager *m, sd_bus_message *message, const char *reference, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_(transfer_freep) Transfer *t = NULL;
        int r;

        r = transfer_new(m, reference, &e, &t);
        if (r == -EINVAL)
                return bus_error_set_image_lookup(error, &e);
        if (r < 0)
                return r;

        const char *details[] = { "image", transfer_get_reference(t), "verb", "pull", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_PULL_IMAGE, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* t is dropped; the call comes back once polkit answers */

        return bus_transfer_begin(m, message, TAKE_PTR(t));
}

int bus_transfer_begin(Manager *m, sd_bus_message *message, Transfer *started)
{
        int r;

        g_hash_table_insert(m->transfers, GUINT_TO_POINTER(transfer_get_id(started)), started);
        r = sd_bus_reply_method_return(message, "o", transfer_get_path(started));
        if (r < 0)
                return r;
        (void) sd_bus_emit_signal(m->bus, "/org/berth1", "org.berth1.Manager", "TransferNew", "uo",
                                  transfer_get_id(started), transfer_get_path(started));
        manager_set_status(m, "Serving org.berth1, %u transfers running.", g_hash_table_size(m->transfers));

        r = transfer_start(started);
        if (r < 0) {
                log_warning_errno(r, "Failed to start transfer of %s: %m", transfer_get_reference(started));
                transfer_cancel(started);
        }
        return 1;
}

const BusObjectImplementation transfer_object = {
        .path = "/org/berth1/transfer",
        .interface = "org.berth1.Transfer",
        .vtable = transfer_vtable,
        .find = transfer_object_find,
        .enumerator = transfer_node_enumerator,
};
