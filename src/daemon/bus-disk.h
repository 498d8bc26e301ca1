/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* org.berth1.Manager.GetDiskUsage, PruneImages and PruneContainers (listed in manager_vtable); the work is
 * in disk-usage.c. */
int bus_method_get_disk_usage(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_prune_images(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_prune_containers(sd_bus_message *message, void *userdata, sd_bus_error *error);
