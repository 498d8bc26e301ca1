/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading a container's files is what a shell in it gives, so GetArchive is authorised as attaching is
 * (org.berth1.attach-container); writing them changes the container, so PutArchive needs
 * org.berth1.manage-containers (docs/security.md). */
#include <fcntl.h>

#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/container-archive-dbus.h"
#include "daemon/container-archive.h"
#include "daemon/polkit.h"
#include "shared/berth-errors.h"
#include "shared/log.h"

void container_send_archive_reply(sd_bus_message *call, int fd, const BerthError *e)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (!e) {
                if (fd >= 0)
                        (void) sd_bus_reply_method_return(call, "h", fd);
                else
                        (void) sd_bus_reply_method_return(call, NULL);
                return;
        }
        /* ENOENT: no such path in the container; EROFS: a read-only mount; others as they come. */
        (void) bus_error_set(&error, e, SD_BUS_ERROR_FILE_NOT_FOUND);
        (void) sd_bus_reply_method_error(call, &error);
}

static int read_archive_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        ArchiveRequest *req = userdata;

        if (req->put && streq(key, "owners"))
                return bus_option_read_bool(m, key, &req->owners, error);
        return bus_option_unknown(key, error);
}

static int method_archive(sd_bus_message *message, Container *c, bool put, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Manager *m = c->manager;
        ArchiveRequest req = { .put = put, .tar_fd = -EBADF };
        const char *path;
        int r, fd;

        r = sd_bus_message_read(message, "s", &path);
        if (r < 0)
                return r;
        if (put) {
                r = sd_bus_message_read(message, "h", &fd);
                if (r < 0)
                        return r;
        }
        r = bus_read_options(message, read_archive_option, &req, error);
        if (r < 0)
                return r;
        if (path[0] != '/')
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The path '%s' is not absolute.",
                                         path);

        const char *details[] = { "container", c->name, "verb", put ? "put-archive" : "get-archive", NULL };
        r = bus_verify_polkit_async(message,
                                    put ? BERTH_ACTION_MANAGE_CONTAINERS : BERTH_ACTION_ATTACH_CONTAINER,
                                    details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        if (put) {
                req.tar_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (req.tar_fd < 0)
                        return -errno;
        }
        req.path = (char *) path;
        r = container_archive(c, &req, message, &e);
        safe_close(req.tar_fd); /* the child has its own */
        if (r < 0)
                return bus_error_set(error, &e, SD_BUS_ERROR_FAILED);
        return 1; /* answered when the child has */
}

int bus_container_method_get_archive(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return method_archive(message, userdata, false, error);
}

int bus_container_method_put_archive(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return method_archive(message, userdata, true, error);
}
