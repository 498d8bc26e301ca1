/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/container.h"

/* systemd-machined registration of running containers, so that `machinectl list` and `machinectl status
 * <name>` show them (class container, service berth, the leader and the berth-<name>.scope unit). Best
 * effort: failure is logged at debug level only and never affects the container. See machine.c. */

#define MACHINE_NAME_MAX 64

/* The machine name of a container: its name with '_' turned into '-' (machined takes hostnames only);
 * -EINVAL for a name that cannot be one (a leading, trailing or double '.', longer than 64). */
int container_machine_name(const char *name, char ret[static MACHINE_NAME_MAX + 1]);

/* Whether a container named name must wait before its scope is asked for: systemd-machined may still hold
 * a machine of that name from an earlier run (machine.c). containers_machine_settled() is called when that
 * wait is over. */
bool manager_machine_busy(Manager *m, const char *name);

/* Once the container's init runs (c->state.pid). */
void container_register_machine(Container *c);
/* At daemon start, once on the bus, for every container found running: take back the machine registered
 * before, or register one. */
void manager_adopt_machines(Manager *m);
/* When the container has ended: drop the machine registered for it, if any. */
void container_unregister_machine(Container *c);
