/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/bus-commit.h"
#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/polkit.h"
#include "daemon/container-commit.h"
#include "daemon/image.h"
#include "oci/config-change.h"
#include "shared/log.h"
#include "store/image-store.h"

typedef struct CommitOptions {
        char *author;
        char *message;
        char **changes;
        bool pause;
} CommitOptions;

static void commit_options_done(CommitOptions *o)
{
        o->author = mfree(o->author);
        o->message = mfree(o->message);
        g_strfreev(o->changes);
        o->changes = NULL;
}

static int read_commit_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        CommitOptions *o = userdata;

        if (streq(key, "author"))
                return bus_option_read_string(m, key, &o->author, error);
        if (streq(key, "message"))
                return bus_option_read_string(m, key, &o->message, error);
        if (streq(key, "changes"))
                return bus_option_read_strv(m, key, &o->changes, error);
        if (streq(key, "pause"))
                return bus_option_read_bool(m, key, &o->pause, error);
        return bus_option_unknown(key, error);
}

int bus_method_commit_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(commit_options_done) CommitOptions o = { .pause = true };
        _cleanup_(commit_request_done) CommitRequest req = {};
        _cleanup_free_ char *config = NULL;
        Manager *m = userdata;
        const char *key, *reference, *reason = NULL;
        const ImageRecord *parent;
        OciConfigChangeState change_state = {};
        size_t config_size;
        Container *c;
        int r;

        r = sd_bus_message_read(message, "ss", &key, &reference);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_commit_option, &o, error);
        if (r < 0)
                return r;

        r = manager_find_container(m, key, &c);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_CONTAINER, "No such container: %s", key);
        if (r == -ENOTUNIQ)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_CONTAINER,
                                         "'%s' matches more than one container id; give more characters", key);
        if (r < 0)
                return r;

        if (!isempty(reference)) {
                r = manager_canonical_reference(m, reference, &req.tag, &reason);
                if (r == -EINVAL)
                        return sd_bus_error_setf(error, BERTH_ERROR_INVALID_REFERENCE, "'%s': %s", reference,
                                                 reason ?: "not a valid image reference");
                if (r < 0)
                        return r;
                if (strchr(req.tag, '@'))
                        return sd_bus_error_setf(error, BERTH_ERROR_INVALID_REFERENCE,
                                                 "'%s': a commit is tagged, it cannot name a digest", reference);
        }

        parent = image_store_get(m->images, c->image_id);
        if (!parent)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_IMAGE,
                                         "The image of container %s (%s) is no longer in the store", c->name,
                                         c->image_id);
        r = image_store_read_config(m->images, parent->id, &config, &config_size);
        if (r < 0)
                return log_error_errno(r, "Failed to read the config of image %s: %m", parent->id);
        r = oci_image_config_parse(config, config_size, &req.config, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the config of image %s: %m", parent->id);
        STRV_FOREACH(change, o.changes) {
                r = oci_image_config_apply_change(req.config, *change, &change_state, &reason);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Change '%s': %s", *change,
                                                 reason ?: "invalid");
        }

        const char *details[] = { "container", c->name, "image", strempty(req.tag), "verb", "commit", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_IMAGES, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us back */

        req.author = TAKE_PTR(o.author);
        req.comment = TAKE_PTR(o.message);
        req.pause = o.pause;
        r = container_commit(c, &req, message);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_IMAGE, "The image of container %s is gone",
                                         c->name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot commit container %s: %m", c->name);
        return 1; /* answered when the copy is done */
}
