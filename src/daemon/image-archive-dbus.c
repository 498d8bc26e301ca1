/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.SaveImages and LoadImages. save hands out every file of the images, those only root may read
 * included, so it is authorised as managing images is (org.berth1.manage-images, verb "save"), not as a
 * look at them; load adds images as a pull does (org.berth1.pull-image, verb "load") and its archive is
 * untrusted input (docs/security.md). */
#include <fcntl.h>

#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/image-archive-dbus.h"
#include "daemon/image-archive.h"
#include "daemon/polkit.h"
#include "shared/berth-errors.h"
#include "shared/log.h"

void image_archive_send_progress(sd_bus_message *call, uint64_t done, uint64_t total)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        sd_bus *bus = sd_bus_message_get_bus(call);

        /* To the caller alone: nobody else needs to know how far its archive got. */
        if (sd_bus_message_new_signal(bus, &s, "/org/berth1", "org.berth1.Manager", "ArchiveProgress") < 0 ||
            sd_bus_message_set_destination(s, sd_bus_message_get_sender(call)) < 0 ||
            sd_bus_message_append(s, "tt", done, total) < 0)
                return;
        (void) sd_bus_send(bus, s, NULL);
}

void image_archive_send_save_reply(sd_bus_message *call, const BerthError *e)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (!e) {
                (void) sd_bus_reply_method_return(call, NULL);
                return;
        }
        /* The lookups were answered already: what is left failed part way (Failed, or NoSpace). */
        (void) bus_error_set_failed(&error, e);
        (void) sd_bus_reply_method_error(call, &error);
}

void image_archive_send_load_reply(sd_bus_message *call, char **loaded, const BerthError *e)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (e) {
                /* A corrupt or mismatching archive: InvalidImage; a full disk: NoSpace. */
                (void) bus_error_set(&error, e, BERTH_ERROR_INVALID_IMAGE);
                (void) sd_bus_reply_method_error(call, &error);
                return;
        }
        if (sd_bus_message_new_method_return(call, &reply) >= 0 &&
            sd_bus_message_append_strv(reply, loaded) >= 0)
                (void) sd_bus_send(NULL, reply, NULL);
}

static int read_save_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        ImageArchiveFormat *format = userdata;
        _cleanup_free_ char *s = NULL;
        int r;

        if (!streq(key, "format"))
                return bus_option_unknown(key, error);
        r = bus_option_read_string(m, key, &s, error);
        if (r < 0)
                return r;
        *format = image_archive_format_from_string(s);
        if (*format < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown archive format '%s': docker-archive or oci-archive", s);
        return 0;
}

int bus_manager_method_save_images(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_auto(GStrv) refs = NULL;
        ImageArchiveFormat format = IMAGE_ARCHIVE_DOCKER;
        Manager *m = userdata;
        int r, fd;

        r = sd_bus_message_read_strv(message, &refs);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "h", &fd);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_save_option, &format, error);
        if (r < 0)
                return r;
        if (!refs || !refs[0])
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "No image to save.");

        const char *details[] = { "image", refs[0], "verb", "save", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_IMAGES, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_save_images(m, refs, fd, format, message, &e);
        if (r < 0)
                return bus_error_set_image_lookup(error, &e);
        return 1; /* answered when the archive is written */
}

int bus_manager_method_load_images(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Manager *m = userdata;
        int r, fd;

        r = sd_bus_message_read(message, "h", &fd);
        if (r < 0)
                return r;
        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;

        const char *details[] = { "verb", "load", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_PULL_IMAGE, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_load_images(m, fd, message, &e);
        if (r < 0)
                return bus_error_set(error, &e, BERTH_ERROR_INVALID_IMAGE);
        return 1; /* answered when the archive is read and its images recorded */
}
