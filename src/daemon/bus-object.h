/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* What a bus file exports about its objects (systemd's BusObjectImplementation): one description per
 * interface, and bus_add_implementation() registers it and its children. With find, the vtable is a
 * fallback under path serving one object per sub-path (the Container, Image and Transfer objects, resolved
 * on each call); without, a single object at path (the Manager). */
typedef struct BusObjectImplementation {
        const char *path;
        const char *interface;
        const sd_bus_vtable *vtable;
        sd_bus_object_find_t find;
        sd_bus_node_enumerator_t enumerator;
        const struct BusObjectImplementation *const *children; /* NULL-terminated */
} BusObjectImplementation;

/* Registers impl and its children with userdata (the Manager) for the bus's lifetime. */
int bus_add_implementation(sd_bus *bus, const BusObjectImplementation *impl, void *userdata);
