/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon/bus-object.h"
#include "daemon/manager.h"

/* org.berth1.Network objects at /org/berth1/network/<name>, and the Manager's network methods. */
extern const BusObjectImplementation network_object;

int network_object_path(const char *name, char **ret);

int bus_method_create_network(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_remove_network(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_list_networks(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_get_network(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_prune_networks(sd_bus_message *message, void *userdata, sd_bus_error *error);
/* Network.Connect and .Disconnect, and the Manager's by-name forms (which also know "bridge"). */
int bus_method_connect_network(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_disconnect_network(sd_bus_message *message, void *userdata, sd_bus_error *error);
