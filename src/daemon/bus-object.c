/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/bus-object.h"
#include "shared/log.h"

int bus_add_implementation(sd_bus *bus, const BusObjectImplementation *impl, void *userdata)
{
        int r;

        if (impl->find)
                r = sd_bus_add_fallback_vtable(bus, NULL, impl->path, impl->interface, impl->vtable,
                                               impl->find, userdata);
        else
                r = sd_bus_add_object_vtable(bus, NULL, impl->path, impl->interface, impl->vtable, userdata);
        if (r < 0)
                return log_error_errno(r, "Failed to register %s at %s: %m", impl->interface, impl->path);
        if (impl->enumerator) {
                r = sd_bus_add_node_enumerator(bus, NULL, impl->path, impl->enumerator, userdata);
                if (r < 0)
                        return log_error_errno(r, "Failed to add the node enumerator of %s: %m", impl->path);
        }
        for (const BusObjectImplementation *const *c = impl->children; c && *c; c++) {
                r = bus_add_implementation(bus, *c, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}
