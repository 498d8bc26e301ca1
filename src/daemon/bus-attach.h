/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* AttachContainer and ResizeContainer of org.berth1.Manager (listed in manager_vtable). */
int bus_method_attach_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_resize_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
