/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdio.h>

#include "machine.h"
#include "shared/log.h"

/* machined takes hostname-like names only: letters, digits, '-' and '.'. */
static bool machine_name_is_valid(const char *name)
{
        for (const char *p = name; *p; p++)
                if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
                        return false;
        return strlen(name) <= 64;
}

static int on_registered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_debug("Not registered with systemd-machined: %s", e->message ?: e->name);
        return 0;
}

void container_register_machine(Container *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint8_t id[16];
        int r;

        if (!c->manager->bus || c->state.pid <= 0 || !machine_name_is_valid(c->name))
                return;
        /* The machine id is the first 128 bits of the container id. */
        for (size_t i = 0; i < sizeof(id); i++)
                sscanf(c->id + 2 * i, "%2hhx", &id[i]);
        r = sd_bus_message_new_method_call(c->manager->bus, &m, "org.freedesktop.machine1",
                                           "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager",
                                           "RegisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", c->name);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', id, sizeof(id));
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", "berth", "container", (uint32_t) c->state.pid, "");
        /* machined is bus-activated; where it is not installed the bus answers ServiceUnknown at once. */
        if (r >= 0)
                r = sd_bus_call_async(c->manager->bus, NULL, m, on_registered, NULL, 0);
        if (r < 0)
                log_debug_errno(r, "Failed to register container %s with systemd-machined: %m", c->name);
}
