/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "daemon/bus-errors.h"

/* Only names whose errno is distinct enough to round-trip are mapped; everything user-facing is set with
 * sd_bus_error_setf() and a message that says what went wrong. */
const sd_bus_error_map berth_bus_errors[] = {
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_IMAGE, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_CONTAINER, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_TRANSFER, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NAME_IN_USE, EEXIST),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_REFERENCE, EINVAL),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_NAME, EINVAL),
        SD_BUS_ERROR_MAP(BERTH_ERROR_IMAGE_IN_USE, EBUSY),
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
        SD_BUS_ERROR_MAP_END,
};

int bus_errors_register(void)
{
        return sd_bus_error_add_map(berth_bus_errors);
}
