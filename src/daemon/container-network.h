/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "daemon/container.h"
#include "shared/error.h"

/* A container's networks (ContainerConfig.network, .networks): the first is eth0 in its namespace with the
 * default route, the others eth1, … in the order they were joined; each holds an address from that network's
 * allocator (its --ip if it asked for one) and, on a user network, the names other containers resolve
 * (network-dns.c). `network connect` and `network disconnect` change the list of a stopped container (its
 * next start follows it) and of a running one at once: berthd opens the init's network namespace and adds or
 * deletes one veth pair, as it does at start (a CNI network's plugins: container-cni.h). */

struct BridgeNetwork;

/* The default bridge ("bridge") or a user network's BridgeNetwork; NULL when there is none of that name. */
struct BridgeNetwork *manager_network_bridge(Manager *m, const char *name);

/* At start, between the namespace's birth and "G": every network of c joins netns_fd, then /etc/hosts names
 * the first address. On failure c->start_error says why (a taken address or port, a missing network). */
int container_join_networks(Container *c, int netns_fd);
/* The journal entry of c joining a network (BERTH_MESSAGE_CONTAINER_NETWORK, where is the bridge device or
 * "CNI network NAME", ifname its interface) or leaving it (..._NETWORK_LEFT, ifname unused), with the
 * container's fields and address (docs/journal.md). */
void container_journal_network(Container *c, bool joined, const char *where, const char *ifname,
                               const char *address);
/* c's addresses and ports are freed on every network (its exit, a failed start). */
void container_leave_networks(Container *c);

/* -ENOENT: no such network; -EEXIST: already on it; -EINVAL: the host's network, a bad alias or address;
 * -EBUSY: starting; -EADDRINUSE and others: the running container could not join (nothing changed). */
int container_connect(Container *c, const char *network, const char *ip, char **aliases, BerthError *e);
/* -ENOENT when c is not on network (0 with force). */
int container_disconnect(Container *c, const char *network, bool force, BerthError *e);
/* /etc/resolv.conf of c for the networks it has now (at start; again once a CNI network's ADD is done). */
int container_write_resolv_conf(Container *c);
/* The lowest ethN that is free in netns_fd. */
int netns_free_ifname(int netns_fd, char **ret);
