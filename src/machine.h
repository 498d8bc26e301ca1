/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "container.h"

/* Registers a running container with systemd-machined (when it runs), so that `machinectl list` and
 * `machinectl status <name>` show it. machined finds the scope from the leader's cgroup and forgets the
 * machine when the scope ends. Best effort: failure is logged at debug level only. */
void container_register_machine(Container *c);
