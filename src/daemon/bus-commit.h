/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* org.berth1.Manager.CommitContainer (listed in manager_vtable): arguments, options, polkit; the work is
 * container_commit() (container-commit.c). */
int bus_method_commit_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
