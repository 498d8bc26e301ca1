/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/bus-errors.h"
#include "daemon/image-dbus.h"
#include "daemon/polkit.h"
#include "daemon/image.h"
#include "shared/log.h"
#include "store/image-store.h"

/* The getters and methods receive the record as userdata; what needs the Manager finds it as the userdata
 * of the vtable's slot (the fallback vtable is registered with the Manager, and sd-bus makes that slot the
 * current one while it calls a getter or a method). */
static Manager *image_bus_manager(sd_bus *bus)
{
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus));
}

/* org.berth1.Image objects at /org/berth1/image/<hex id>: one fallback vtable serves them all; the path is
 * resolved to the record on each call, so objects come and go with the store without registration. */

static int image_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                             void **found, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_free_ char *hex = NULL, *id = NULL;
        const ImageRecord *image;
        int r;

        r = sd_bus_path_decode(path, "/org/berth1/image", &hex);
        if (r <= 0)
                return r;
        if (asprintf(&id, "sha256:%s", hex) < 0)
                return -ENOMEM;
        image = image_store_get(m->images, id);
        if (!image)
                return 0;
        *found = (void *) image;
        return 1;
}

static int image_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                 sd_bus_error *error)
{
        Manager *m = userdata;
        g_autoptr(GPtrArray) images = image_store_list(m->images);
        char **l = g_new0(char *, images->len + 1);

        for (guint i = 0; i < images->len; i++) {
                const ImageRecord *image = images->pdata[i];
                char *p;
                if (image_object_path(image->id, &p) < 0) {
                        g_strfreev(l);
                        return -ENOMEM;
                }
                l[i] = p;
        }
        *nodes = l;
        return 1;
}

static int append_strv(sd_bus_message *reply, char **l)
{
        return sd_bus_message_append_strv(reply, l ?: (char *[]){ NULL });
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        return sd_bus_message_append(reply, "s", image->id);
}

static int property_get_repo_tags(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        Manager *m = image_bus_manager(bus);
        g_auto(GStrv) tags = manager_image_familiar_tags(m, image->id);
        return append_strv(reply, tags);
}

static int property_get_repo_digests(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        return append_strv(reply, image->repo_digests);
}

static int property_get_layers(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        return append_strv(reply, image->diff_ids);
}

static int property_get_layer_sizes(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        size_t n = image->diff_ids ? g_strv_length(image->diff_ids) : 0;

        return sd_bus_message_append_array(reply, 't', image->layer_sizes, n * sizeof(uint64_t));
}

static int property_get_size(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        return sd_bus_message_append(reply, "t", image->size);
}

static int property_get_created(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        return sd_bus_message_append(reply, "t", image->created_usec);
}

static int property_get_config(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        _cleanup_free_ char *config = NULL;
        int r;

        r = image_store_read_config(image_bus_manager(bus)->images, image->id, &config, NULL);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot read the config of %s: %m", image->id);
        return sd_bus_message_append(reply, "s", config);
}

static int property_get_manifest_digest(sd_bus *bus, const char *path, const char *interface,
                                        const char *property, sd_bus_message *reply, void *userdata,
                                        sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        return sd_bus_message_append(reply, "s", strempty(image->manifest_digest));
}

/* ---- The image's own methods (org.berth1.Image.Remove, Tag). The Manager's by-name forms (RemoveImage,
 * TagImage) find the image and call the same functions with the name the user gave, which Remove needs:
 * removing a tag untags, removing an id deletes (Docker's `image rm`). Polkit's details name the image
 * as the caller did on both paths. ---- */

int bus_image_method_remove(sd_bus_message *message, Manager *m, const ImageRecord *image, const char *key,
                            sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *removed = NULL;
        int force, r;

        r = sd_bus_message_read(message, "b", &force);
        if (r < 0)
                return r;

        const char *details[] = { "image", key, "verb", "remove", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_IMAGES, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us back */

        r = manager_remove_image(m, key, force, &removed);
        if (r == -ENOTUNIQ)
                return sd_bus_error_setf(
                        error, BERTH_ERROR_IMAGE_IN_USE,
                        "Image %s has several tags; remove them one by one or force removal", key);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, BERTH_ERROR_IMAGE_IN_USE, "Image %s is used by a container",
                                         key);
        if (r < 0) {
                /* The record went between the lookup and the removal. */
                berth_error_set(&e, r, "%s", key);
                return bus_error_set_image_lookup(error, &e);
        }
        return sd_bus_reply_method_return(message, NULL);
}

int bus_image_method_tag(sd_bus_message *message, Manager *m, const ImageRecord *image, const char *key,
                         sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *target = NULL;
        const char *target_in;
        int r;

        r = sd_bus_message_read(message, "s", &target_in);
        if (r < 0)
                return r;
        r = manager_canonical_reference(m, target_in, &e, &target);
        if (r < 0)
                return bus_error_set_image_lookup(error, &e);
        if (strchr(target, '@'))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_REFERENCE,
                                         "'%s': a tag cannot contain a digest", target_in);

        const char *details[] = { "image", key, "verb", "tag", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_IMAGES, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_tag_image(m, image, target);
        if (r < 0)
                return log_error_errno(r, "Failed to tag %s as %s: %m", image->id, target);
        image_send_changed(m, image->id);
        return sd_bus_reply_method_return(message, NULL);
}

void image_send_signal(Manager *m, const char *id, bool new_image)
{
        _cleanup_free_ char *path = NULL;

        if (!m->bus || image_object_path(id, &path) < 0)
                return;
        (void) sd_bus_emit_signal(m->bus, "/org/berth1", "org.berth1.Manager",
                                  new_image ? "ImageNew" : "ImageRemoved", "so", id, path);
}

void image_send_changed(Manager *m, const char *id)
{
        _cleanup_free_ char *path = NULL;

        if (!m->bus || image_object_path(id, &path) < 0)
                return;
        (void) sd_bus_emit_properties_changed(m->bus, path, "org.berth1.Image", "RepoTags", NULL);
}

static int method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        return bus_image_method_remove(message, image_bus_manager(sd_bus_message_get_bus(message)), image,
                                       image->id, error);
}

static int method_tag(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        const ImageRecord *image = userdata;
        return bus_image_method_tag(message, image_bus_manager(sd_bus_message_get_bus(message)), image,
                                    image->id, error);
}

int bus_redirect_method_to_image(sd_bus_message *message, Manager *m, sd_bus_error *error,
                                 ImageMethod method)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        const ImageRecord *image;
        const char *key;
        int r;

        r = sd_bus_message_read(message, "s", &key);
        if (r < 0)
                return r;
        r = manager_find_image(m, key, &e, &image);
        if (r < 0)
                return bus_error_set_image_lookup(error, &e);
        return method(message, m, image, key, error);
}

const sd_bus_vtable image_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RepoTags", "as", property_get_repo_tags, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("RepoDigests", "as", property_get_repo_digests, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ManifestDigest", "s", property_get_manifest_digest, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Layers", "as", property_get_layers, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LayerSizes", "at", property_get_layer_sizes, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Size", "t", property_get_size, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Created", "t", property_get_created, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Config", "s", property_get_config, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_ARGS("b", force), SD_BUS_NO_RESULT, method_remove,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Tag", SD_BUS_ARGS("s", target), SD_BUS_NO_RESULT, method_tag,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectImplementation image_object = {
        .path = "/org/berth1/image",
        .interface = "org.berth1.Image",
        .vtable = image_vtable,
        .find = image_object_find,
        .enumerator = image_node_enumerator,
};
