/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "daemon/bus-errors.h"

/* The errno each name stands for when sd-bus turns a reply back into an errno (sd_bus_error_get_errno()).
 * The other direction, a failure to a name, is bus_error_set() and its helpers below, from a BerthError
 * whose message says what went wrong. */
const sd_bus_error_map berth_bus_errors[] = {
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_IMAGE, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_CONTAINER, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_TRANSFER, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NAME_IN_USE, EEXIST),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_REFERENCE, EINVAL),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_NAME, EINVAL),
        SD_BUS_ERROR_MAP(BERTH_ERROR_IMAGE_IN_USE, EBUSY),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_VOLUME, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_VOLUME_IN_USE, EBUSY),
        SD_BUS_ERROR_MAP(BERTH_ERROR_CONTAINER_RUNNING, EBUSY),
        SD_BUS_ERROR_MAP(BERTH_ERROR_CONTAINER_NOT_RUNNING, ESRCH),
        SD_BUS_ERROR_MAP(BERTH_ERROR_REGISTRY_ERROR, EPROTO),
        SD_BUS_ERROR_MAP(BERTH_ERROR_MANIFEST_UNKNOWN, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_UNAUTHORIZED, EACCES),
        SD_BUS_ERROR_MAP(BERTH_ERROR_DIGEST_MISMATCH, EBADMSG),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_MATCHING_PLATFORM, ENOEXEC),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_IMAGE, EBADMSG),
        SD_BUS_ERROR_MAP(BERTH_ERROR_TRANSFER_CANCELLED, ECANCELED),
        SD_BUS_ERROR_MAP(BERTH_ERROR_START_FAILED, ENOEXEC),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_NETWORK, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NETWORK_IN_USE, EBUSY),
        SD_BUS_ERROR_MAP(BERTH_ERROR_SUBNET_IN_USE, EADDRINUSE),
        SD_BUS_ERROR_MAP(BERTH_ERROR_BUILD_FAILED, EIO),
        SD_BUS_ERROR_MAP(BERTH_ERROR_BUILD_CANCELLED, ECANCELED),
        SD_BUS_ERROR_MAP_END,
};

int bus_errors_register(void)
{
        return sd_bus_error_add_map(berth_bus_errors);
}

int bus_error_set(sd_bus_error *error, const BerthError *e, const char *fallback_name)
{
        const char *name = NULL;

        if (e->error >= 0) /* a caller's bug: say something rather than nothing */
                return sd_bus_error_set_errno(error, EIO);

        switch (e->error) {
        case -ESRCH:
                name = BERTH_ERROR_CONTAINER_NOT_RUNNING;
                break;
        case -ECANCELED:
                name = BERTH_ERROR_TRANSFER_CANCELLED;
                break;
        case -ENOSPC:
                name = BERTH_ERROR_NO_SPACE;
                break;
        case -ENOENT:
        case -ENOTUNIQ:
        case -EINVAL:
        case -EEXIST:
        case -EBUSY:
        case -ENOEXEC:
        case -EBADMSG:
        case -EPROTO:
        case -EACCES:
                name = fallback_name;
                break;
        case -ENOMEM:
                return -ENOMEM;
        }
        if (!name)
                return sd_bus_error_set_errnof(error, e->error, "%s", berth_error_message(e));
        sd_bus_error_set(error, name, berth_error_message(e));
        return e->error;
}

int bus_error_set_image_lookup(sd_bus_error *error, const BerthError *e)
{
        return bus_error_set(
                error, e, e->error == -EINVAL ? BERTH_ERROR_INVALID_REFERENCE : BERTH_ERROR_NO_SUCH_IMAGE);
}

int bus_error_set_container_lookup(sd_bus_error *error, const BerthError *e)
{
        return bus_error_set(error, e, BERTH_ERROR_NO_SUCH_CONTAINER);
}

int bus_error_set_volume(sd_bus_error *error, const BerthError *e)
{
        return bus_error_set(error, e,
                             e->error == -EBUSY    ? BERTH_ERROR_VOLUME_IN_USE
                             : e->error == -EINVAL ? BERTH_ERROR_INVALID_NAME
                                                   : BERTH_ERROR_NO_SUCH_VOLUME);
}

int bus_error_set_failed(sd_bus_error *error, const BerthError *e)
{
        if (e->error == -ENOSPC)
                return bus_error_set(error, e, NULL);
        sd_bus_error_set(error, SD_BUS_ERROR_FAILED, berth_error_message(e));
        return e->error < 0 ? e->error : -EIO;
}

int bus_error_set_start_failed(sd_bus_error *error, const BerthError *e)
{
        sd_bus_error_set(error,
                         e->error == -EBUSY ? BERTH_ERROR_CONTAINER_RUNNING : BERTH_ERROR_START_FAILED,
                         berth_error_message(e));
        return e->error < 0 ? e->error : -EIO;
}

const char *bus_error_transfer_name(const BerthError *e)
{
        if (!e || e->error >= 0)
                return "";
        switch (e->error) {
        case -ECANCELED:
                return BERTH_ERROR_TRANSFER_CANCELLED;
        case -ENOSPC:
                return BERTH_ERROR_NO_SPACE;
        case -EACCES:
                return BERTH_ERROR_UNAUTHORIZED;
        case -ENOENT:
                return BERTH_ERROR_MANIFEST_UNKNOWN;
        case -EBADMSG:
                return BERTH_ERROR_DIGEST_MISMATCH;
        case -EINVAL:
                return BERTH_ERROR_INVALID_IMAGE;
        case -ENOEXEC:
                return BERTH_ERROR_NO_MATCHING_PLATFORM;
        default:
                return BERTH_ERROR_REGISTRY_ERROR;
        }
}

const char *bus_error_build_name(const BerthError *e)
{
        if (!e || e->error >= 0)
                return "";
        switch (e->error) {
        case -ECANCELED:
                return BERTH_ERROR_BUILD_CANCELLED;
        case -ENOSPC:
                return BERTH_ERROR_NO_SPACE;
        default:
                return BERTH_ERROR_BUILD_FAILED;
        }
}
