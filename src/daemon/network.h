/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "daemon/manager.h"
#include "network/bridge.h"
#include "network/user-network.h"
#include "shared/error.h"

/* User networks (`berthctl network create`), held by the Manager: name → UserNetwork
 * (network/user-network.h). Each has its record, state_dir/networks/<name>.json, and its bridge device,
 * "br-" + 12 hex digits of its id, with the gateway as address, made when the network is created and deleted
 * with it. A network is created whole or not at all: the record is written first, and removed again if the
 * device cannot be made; at start, each record's device is made again if it is gone (a reboot), and records
 * that do not read are logged and left alone. */

/* The Manager's table, name → UserNetwork, owning both. */
GHashTable *manager_networks_new(void);
/* name → BridgeNetwork, owning both. */
GHashTable *manager_network_bridges_new(void);

/* Loads the records and makes the devices that are missing. */
int manager_load_networks(Manager *m);

/* -EEXIST when the name is taken; the errors of user_network_new() for the options. */
int manager_create_network(Manager *m, const char *name, const UserNetworkOptions *options,
                           UserNetwork **ret, BerthError *e);
/* -ENOENT (with the message "no such network: NAME") when there is none. */
int manager_find_network(Manager *m, const char *name, UserNetwork **ret, BerthError *e);
/* The device and the record go, then the object. */
int manager_remove_network(Manager *m, UserNetwork *n, bool force, BerthError *e);
/* Every user network no container uses (today: all of them); the names removed go to *ret. */
int manager_prune_networks(Manager *m, char ***ret, BerthError *e);
/* The containers on n (names, NULL-terminated; none until containers can join a user network). */
char **manager_network_containers(Manager *m, const UserNetwork *n);

/* Containers on a network: the default bridge or a user network (not none or host). */
struct Container;
bool container_joins_network(const struct Container *c);
/* The network a container joins: the default bridge, or its user network's (NULL: none, host, or a user
 * network that is gone). Each user network has one, made at create or at start: its allocations in
 * network/<name>.addresses, its rules in berth's table. */
struct BridgeNetwork *container_bridge(const struct Container *c);
/* At start, after the containers are loaded: each user network's allocations of containers that are gone are
 * freed, and its host side made again when some remain. */
void manager_sweep_networks(Manager *m, bool (*alive)(const char *id, void *userdata));

/* The default network "bridge" described as a user network (name "bridge", driver bridge, berth.conf's
 * subnet, an id derived from its device's name), for its org.berth1.Network object; NULL without one. */
const UserNetwork *manager_bridge_record(Manager *m);

/* A container on a network with its addresses, as `docker network inspect` lists it under "Containers". */
typedef struct NetworkEndpoint {
        const char *name, *id;           /* the container's */
        char ipv4[SUBNET_STRING_MAX];    /* "10.90.0.2/24" */
        char ipv6[SUBNET6_STRING_MAX];   /* "fd00:1::2/64", "" on a network without IPv6 */
        char mac[BRIDGE_MAC_STRING_MAX]; /* "02:42:0a:5a:00:02" */
} NetworkEndpoint;
/* The containers holding an address on network (a user network's name or "bridge"), sorted by name: those
 * running now (a stopped or disconnected container holds none). Empty on a CNI network, whose plugins hold
 * its addresses. */
GArray *manager_network_endpoints(Manager *m, const char *network);

/* network-dbus.c: NetworkNew / NetworkRemoved. */
void network_send_signal(Manager *m, const UserNetwork *n, bool new_network);
/* network-dbus.c: PropertiesChanged of Containers and Endpoints on network name's object (none for "none",
 * "host" or a name without one), when a container joined or left it, or one on it was created, removed or
 * renamed. */
void network_send_members_changed(Manager *m, const char *name);
