/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/bus-object.h"
#include "daemon/manager.h"

/* org.berth1.Volume objects at /org/berth1/volume/<name, bus-path-encoded>, and the Manager's volume
 * methods (CreateVolume, RemoveVolume → Volume.Remove, ListVolumes, GetVolume, PruneVolumes). */
extern const BusObjectImplementation volume_object;

int volume_object_path(const char *name, char **ret);

int bus_method_create_volume(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_remove_volume(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_list_volumes(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_get_volume(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_prune_volumes(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* Hook for the model (volume.c): VolumeNew or VolumeRemoved on the Manager. */
void volume_send_signal(Manager *m, const char *name, bool new_volume);
