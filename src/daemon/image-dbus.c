/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/image-dbus.h"
#include "daemon/image.h"
#include "shared/log.h"
#include "store/image-store.h"

/* The getters receive the record as userdata; the few that need the store reach it through this. */
static Manager *bus_image_manager = NULL;

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
        return sd_bus_message_append_strv(reply, l ?: (char *[]) { NULL });
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
        Manager *m = bus_image_manager;
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

        r = image_store_read_config(bus_image_manager->images, image->id, &config, NULL);
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


const sd_bus_vtable image_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RepoTags", "as", property_get_repo_tags, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("RepoDigests", "as", property_get_repo_digests, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ManifestDigest", "s", property_get_manifest_digest, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Layers", "as", property_get_layers, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LayerSizes", "at", property_get_layer_sizes, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Size", "t", property_get_size, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Created", "t", property_get_created, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Config", "s", property_get_config, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

int bus_image_register(Manager *m)
{
        int r;

        bus_image_manager = m;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, "/org/berth1/image", "org.berth1.Image", image_vtable,
                                       image_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register org.berth1.Image: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, "/org/berth1/image", image_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add image node enumerator: %m");
        return 0;
}
