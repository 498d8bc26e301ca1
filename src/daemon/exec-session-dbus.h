/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon/bus-object.h"

/* org.berth1.ExecSession objects at /org/berth1/exec/<n> and Container.Exec() (container-exec.h). */
extern const BusObjectImplementation exec_session_object;

int bus_container_method_exec(sd_bus_message *message, void *userdata, sd_bus_error *error);
