/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "daemon/bus-attach.h"
#include "daemon/bus-commit.h"
#include "daemon/container-dbus.h"
#include "daemon/bus-disk.h"
#include "daemon/bus-errors.h"
#include "daemon/image-dbus.h"
#include "daemon/bus-options.h"
#include "daemon/polkit.h"
#include "daemon/bus-search.h"
#include "daemon/transfer-dbus.h"
#include "daemon/image.h"
#include "daemon/manager.h"
#include "registry/reference.h"
#include "shared/log.h"
#include "store/image-store.h"

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", BERTH_VERSION);
}

/* Turns a failed image lookup into the error the user should read. */
static int image_lookup_error(sd_bus_error *error, int r, const char *key, const char *reason)
{
        switch (r) {
        case -EINVAL:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_REFERENCE, "'%s': %s", key,
                                         reason ?: "not a valid image reference");
        case -ENOENT:
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_IMAGE, "%s", key);
        case -ENOTUNIQ:
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_IMAGE,
                                         "'%s' matches more than one image id; give more characters", key);
        default:
                return r;
        }
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

static int method_get_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *path = NULL;
        Manager *m = userdata;
        const ImageRecord *image;
        const char *key, *reason = NULL;
        int r;

        r = sd_bus_message_read(message, "s", &key);
        if (r < 0)
                return r;
        r = manager_find_image(m, key, &image, &reason);
        if (r < 0)
                return image_lookup_error(error, r, key, reason);
        r = image_object_path(image->id, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}

static int method_remove_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *removed = NULL;
        Manager *m = userdata;
        const ImageRecord *image;
        const char *key, *reason = NULL;
        int force, r;

        r = sd_bus_message_read(message, "sb", &key, &force);
        if (r < 0)
                return r;
        r = manager_find_image(m, key, &image, &reason);
        if (r < 0)
                return image_lookup_error(error, r, key, reason);

        const char *details[] = { "image", key, "verb", "remove", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_IMAGES, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us back */

        r = manager_remove_image(m, key, force, &removed);
        if (r == -ENOTUNIQ)
                return sd_bus_error_setf(error, BERTH_ERROR_IMAGE_IN_USE,
                                         "Image %s has several tags; remove them one by one or force removal",
                                         key);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, BERTH_ERROR_IMAGE_IN_USE, "Image %s is used by a container", key);
        if (r < 0)
                return image_lookup_error(error, r, key, reason);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_tag_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *target = NULL, *path = NULL;
        Manager *m = userdata;
        const ImageRecord *image;
        const char *source, *target_in, *reason = NULL;
        int r;

        r = sd_bus_message_read(message, "ss", &source, &target_in);
        if (r < 0)
                return r;
        r = manager_find_image(m, source, &image, &reason);
        if (r < 0)
                return image_lookup_error(error, r, source, reason);
        r = manager_canonical_reference(m, target_in, &target, &reason);
        if (r < 0)
                return image_lookup_error(error, r, target_in, reason);
        if (strchr(target, '@'))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_REFERENCE,
                                         "'%s': a tag cannot contain a digest", target_in);

        const char *details[] = { "image", source, "verb", "tag", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_IMAGES, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_tag_image(m, image, target);
        if (r < 0)
                return log_error_errno(r, "Failed to tag %s as %s: %m", image->id, target);
        if (image_object_path(image->id, &path) >= 0)
                (void) sd_bus_emit_properties_changed(m->bus, path, "org.berth1.Image", "RepoTags", NULL);
        return sd_bus_reply_method_return(message, NULL);
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

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("ListImages", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sastto)", images), method_list_images, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetImage", SD_BUS_ARGS("s", ref_or_id), SD_BUS_RESULT("o", image),
                                method_get_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveImage", SD_BUS_ARGS("s", ref_or_id, "b", force), SD_BUS_NO_RESULT,
                                method_remove_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("TagImage", SD_BUS_ARGS("s", source, "s", target), SD_BUS_NO_RESULT,
                                method_tag_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PullImage", SD_BUS_ARGS("s", reference, "a{sv}", options),
                                SD_BUS_RESULT("o", transfer), method_pull_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SearchImages", SD_BUS_ARGS("s", term, "a{sv}", options),
                                SD_BUS_RESULT("a(ss)", results), method_search_images, SD_BUS_VTABLE_UNPRIVILEGED),
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
        SD_BUS_METHOD_WITH_ARGS("StopContainer", SD_BUS_ARGS("s", name_or_id, "t", timeout_usec), SD_BUS_NO_RESULT,
                                bus_method_stop_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("KillContainer", SD_BUS_ARGS("s", name_or_id, "i", signal), SD_BUS_NO_RESULT,
                                bus_method_kill_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveContainer", SD_BUS_ARGS("s", name_or_id, "b", force), SD_BUS_NO_RESULT,
                                bus_method_remove_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AttachContainer", SD_BUS_ARGS("s", name_or_id, "a{sv}", options),
                                SD_BUS_RESULT("h", stream), bus_method_attach_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResizeContainer", SD_BUS_ARGS("s", name_or_id, "u", rows, "u", columns),
                                SD_BUS_NO_RESULT, bus_method_resize_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListContainers", SD_BUS_ARGS("b", all), SD_BUS_RESULT("a(ssssuo)", containers),
                                bus_method_list_containers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetContainer", SD_BUS_ARGS("s", name_or_id), SD_BUS_RESULT("o", container),
                                bus_method_get_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CommitContainer", SD_BUS_ARGS("s", name_or_id, "s", reference, "a{sv}", options),
                                SD_BUS_RESULT("s", image_id), bus_method_commit_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetDiskUsage", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("a(sasttttu)", images, "a(sssstt)", containers, "t", layers_size,
                                              "t", layers_reclaimable),
                                bus_method_get_disk_usage, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PruneImages", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("as", removed_ids, "t", reclaimed_bytes), bus_method_prune_images,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PruneContainers", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("as", removed_ids, "t", reclaimed_bytes),
                                bus_method_prune_containers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("TransferNew", SD_BUS_ARGS("u", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("TransferRemoved", SD_BUS_ARGS("u", id, "o", path, "s", result), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ImageNew", SD_BUS_ARGS("s", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ImageRemoved", SD_BUS_ARGS("s", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerNew", SD_BUS_ARGS("s", id, "s", name, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerRemoved", SD_BUS_ARGS("s", id, "s", name, "o", path), 0),
        SD_BUS_VTABLE_END,
};

int bus_manager_register(Manager *m)
{
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, "/org/berth1", "org.berth1.Manager", manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register org.berth1.Manager: %m");
        r = bus_image_register(m);
        if (r < 0)
                return r;
        r = bus_transfer_register(m);
        if (r < 0)
                return r;
        r = bus_container_register(m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(m->bus, NULL, "/org/berth1");
        if (r < 0)
                return log_error_errno(r, "Failed to add object manager: %m");
        return 0;
}
