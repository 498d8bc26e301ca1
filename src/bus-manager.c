/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-errors.h"
#include "bus-polkit.h"
#include "manager.h"
#include "shared/log.h"

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", BERTH_VERSION);
}

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

int bus_manager_register(Manager *m)
{
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, "/org/berth1", "org.berth1.Manager", manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register org.berth1.Manager: %m");
        return 0;
}
