/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "daemon/container.h"
#include "network/port-mapping.h"

/* Containers on CNI networks (`network create --driver cni`): berthd runs the conflist's plugins
 * (network/cni.h) in a child of its own, never on its event loop. At start, after the namespace's birth and
 * the bridge networks, ADD for each CNI network of the container (CNI_IFNAME its ethN, CNI_NETNS
 * /proc/<monitor pid>/ns/net: the monitor lives in the container's namespace); the results, with the
 * conflists, are recorded in state_dir/cni/<container id>.json. When the container's namespace is gone
 * (exit, failed start, rm), DEL for each with its recorded result as prevResult and no CNI_NETNS (the veth
 * went with the namespace; the IPAM plugin releases the address), and the record goes. At berthd's start,
 * records of containers that do not run are swept the same way, and those of running ones get a CHECK
 * (logged). */

bool manager_network_is_cni(Manager *m, const char *name);
bool container_has_cni_networks(const Container *c);
/* Whether the CNI network name's conflist has a plugin that takes portMappings (portmap): c's published
 * ports go to it, as runtimeConfig, when it is c's first network. */
bool container_cni_publishes(Manager *m, const char *name);

/* Starts ADD in the network namespace of monitor_pid (the container's monitor lives in it); done is called
 * from the event loop with 0 or a negative errno and a message. */
typedef void (*ContainerCniDone)(Container *c, int r, const char *error);
int container_cni_add(Container *c, pid_t monitor_pid, ContainerCniDone done);
/* Starts DEL of what the record of container id holds, if there is one. */
void manager_cni_del(Manager *m, const char *id);
/* At berthd's start: DEL for every record whose container does not run. */
void manager_sweep_cni(Manager *m, bool (*alive)(const char *id, void *userdata));
/* The host ports published through c's first network when that is a CNI network (the portMappings its ADD
 * was given, recorded); NULL and 0 otherwise. */
PortMapping *container_cni_ports(const Container *c, size_t *ret_n);
/* c's IPv4 address and its gateway on the CNI network, from the recorded result of its ADD; -ENOENT when
 * there is none (not added yet, or no gateway in the result). */
int container_cni_address(const Container *c, const char *network, uint32_t *ret_address,
                          uint32_t *ret_gateway);
/* Whether address is one of the host's (berthd's namespace): aardvark-dns can serve there. */
bool host_has_ipv4(uint32_t address);
/* The nameserver of c when its first network is a CNI network whose result's gateway is on the host and
 * aardvark-dns is installed: that gateway, where aardvark-dns serves the network's names (network-dns.c). */
int container_cni_nameserver(const Container *c, uint32_t *ret);
/* The IPv4 address of c's first network when that is a CNI network (its recorded result); NULL otherwise. */
char *container_cni_ipv4(const Container *c);
/* The journal entries (container_journal_network()) of every CNI network c holds an address on, from its
 * record: joined once the plugins are done at start, left before the DEL at its exit. */
void container_cni_journal(Container *c, bool joined);

/* network connect / disconnect of a CNI network while c runs: ADD (as the lowest free ethN) or DEL (with the
 * recorded result) in its namespace, in a child; the record of c's networks is changed when the plugins
 * succeeded, and done is called from the event loop (c NULL when it was removed meanwhile). 1 when started,
 * 0 when there is nothing to run here (not a CNI network, c not running, or not on it for a disconnect:
 * container_connect() / container_disconnect() do the rest), negative with e set on a failure. */
typedef void (*ContainerCniChanged)(Container *c, int r, const char *error, void *userdata);
int container_cni_change(Container *c, const char *network, bool connect, const char *ip, char **aliases,
                         bool force, ContainerCniChanged done, void *userdata, BerthError *e);
/* A CNI network takes no fixed address: its IPAM plugin gives it. */
int container_cni_connect_check(const char *network, const char *ip, BerthError *e);
