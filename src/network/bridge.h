/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "network/ipam.h"
#include "network/network-config.h"
#include "network/port-mapping.h"

/* The default "bridge" network (Docker's model), held by berthd:
 *
 *   - the bridge device (berth.conf [Network] Bridge=, default berth0) with the subnet's first address, made
 *     when the first container joins and left in place after (like docker0); an existing device of that name
 *     is used if it is a bridge;
 *   - net.ipv4.ip_forward=1 in berthd's network namespace (set once, never reset: other software may rely on
 *     it by then; Docker and podman do the same);
 *   - outbound NAT in nftables' `table ip berth` (firewall.h);
 *   - per container, a veth pair: "veth" + the first 11 hex digits of its id on the bridge, "eth0" in the
 *     container's namespace with its address from berth's allocator, up, and the bridge's address as default
 *     route.
 *
 * Published ports (Docker's -p): each host port is bound by berthd while the container runs, so nothing else
 * takes it and a port already taken fails the start; the traffic itself is DNATed by the table (firewall.h).
 * The bridge gets route_localnet, for 127.0.0.1, with the table dropping what comes from the bridge to or
 * from 127.0.0.0/8.
 *
 * The container's end lives in its network namespace, so the pair vanishes with the container's last process
 * whatever happens to berthd; what outlives a crash is the allocation and the published ports (state dir
 * network/bridge.addresses and bridge.ports), swept at start for containers that are gone. */
typedef struct BridgeNetwork BridgeNetwork;

/* Loads the allocations from state_dir/network/bridge.addresses (a missing file: none). */
int bridge_network_new(const char *state_dir, const NetworkConfig *config, BridgeNetwork **ret);
/* The same for a user network (daemon/network.c): its state files are network/<state_name>.addresses and
 * .ports, its bridge's address gateway, and internal keeps it from the outside (firewall.h). */
int bridge_network_new_full(const char *state_dir, const char *state_name, const NetworkConfig *config,
                            uint32_t gateway, bool internal, BridgeNetwork **ret);
BridgeNetwork *bridge_network_free(BridgeNetwork *b);
/* The network is removed: its rules leave the table and its state files go. */
void bridge_network_forget(BridgeNetwork *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(BridgeNetwork *, bridge_network_free);

const NetworkConfig *bridge_network_config(const BridgeNetwork *b);

/* Joins the network namespace netns_fd (a fresh one: only lo) to the bridge as container id: an address
 * (the one id already holds, else a new one), the veth pair, the route. The host side is made first if
 * needed. The address goes to *ret_address (host byte order). Logs its failures. */
int bridge_network_attach(BridgeNetwork *b, const char *id, const char *name, int netns_fd, char **ports,
                          uint32_t *ret_address, char **ret_error);
/* The published ports of a running container, host ports resolved (NULL and 0 without). */
const PortMapping *bridge_network_ports(const BridgeNetwork *b, const char *id, size_t *ret_n);
/* id's address, -ENOENT when it has none. */
int bridge_network_address(const BridgeNetwork *b, const char *id, uint32_t *ret);
/* id's address is free again (no-op without one). */
void bridge_network_release(BridgeNetwork *b, const char *id);
/* At start: allocations of containers for which alive() says false are freed; if any remain, the host side
 * is made again (a crash or a reboot of the host may have lost it) so running containers keep their way out.
 */
int bridge_network_sweep(BridgeNetwork *b, bool (*alive)(const char *id, void *userdata), void *userdata);

/* "veth" + 11 hex digits of id. */
void bridge_network_veth_name(const char *id, char ret[static IFNAMSIZ]);
