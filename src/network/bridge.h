/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "network/ipam.h"
#include "network/network-config.h"
#include "network/port-mapping.h"
#include "network/subnet6.h"

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
/* Dual stack: the bridge gets the IPv6 subnet's first address, each container the address whose host part is
 * its IPv4 one (subnet6.h), the first network's gateway as IPv6 default route too. */
void bridge_network_set_ipv6(BridgeNetwork *b, const Subnet6 *subnet6);
/* id's IPv6 address on a dual-stack network; -ENOENT without one. */
int bridge_network_address6(const BridgeNetwork *b, const char *id, struct in6_addr *ret);
/* The network is removed: its rules leave the table and its state files go. */
void bridge_network_forget(BridgeNetwork *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(BridgeNetwork *, bridge_network_free);

const NetworkConfig *bridge_network_config(const BridgeNetwork *b);

/* How a container joins: the interface's name in its namespace ("eth0" when NULL), whether the network's
 * gateway becomes its default route (its first network), the address it asked for (--ip; 0: the allocator's
 * choice), its published ports. */
typedef struct BridgeAttach {
        const char *ifname;
        bool default_route;
        uint32_t address;
        char **ports;
} BridgeAttach;

/* Joins the network namespace netns_fd to the bridge as container id: an address (the one id already holds,
 * else the one asked for or a new one), the veth pair, the route. The host side is made first if needed.
 * The address goes to *ret_address (host byte order). Logs its failures; *ret_error says what the user is
 * told (a taken port or address). */
int bridge_network_attach(BridgeNetwork *b, const char *id, const char *name, int netns_fd,
                          const BridgeAttach *attach, uint32_t *ret_address, char **ret_error);
/* A running container leaves the network (disconnect): its veth pair is deleted (the host end, which takes
 * the container's with it), then its address and ports are released. */
void bridge_network_detach(BridgeNetwork *b, const char *id);
uint32_t bridge_network_gateway(const BridgeNetwork *b);
bool bridge_network_internal(const BridgeNetwork *b);
/* The published ports of a running container, host ports resolved (NULL and 0 without). */
const PortMapping *bridge_network_ports(const BridgeNetwork *b, const char *id, size_t *ret_n);
/* The MAC address of a container's interface with IPv4 address address (host byte order): 02:42 and the four
 * bytes of the address, Docker's rule, so that it is known without asking the container's namespace; set as
 * the interface joins (interfaces made before berth set it keep the kernel's random one). */
#define BRIDGE_MAC_STRING_MAX 18
void bridge_network_mac(uint32_t address, uint8_t ret[static 6]);
char *bridge_network_mac_format(uint32_t address, char ret[static BRIDGE_MAC_STRING_MAX]);
/* The prefix lengths of the network's subnets (the IPv6 one 0 when it has none). */
unsigned bridge_network_prefixlen(const BridgeNetwork *b);
unsigned bridge_network_prefixlen6(const BridgeNetwork *b);
/* id's address, -ENOENT when it has none. */
int bridge_network_address(const BridgeNetwork *b, const char *id, uint32_t *ret);
/* The ids holding an address: the containers running on the network (a NULL-terminated array to g_free(),
 * strings owned by b). */
const char **bridge_network_ids(const BridgeNetwork *b);
/* id's address is free again (no-op without one). */
void bridge_network_release(BridgeNetwork *b, const char *id);
/* At start: allocations of containers for which alive() says false are freed; if any remain, the host side
 * is made again (a crash or a reboot of the host may have lost it) so running containers keep their way out.
 */
int bridge_network_sweep(BridgeNetwork *b, bool (*alive)(const char *id, void *userdata), void *userdata);

/* The host end of id's veth pair: "veth" + 11 hex digits of id on the default bridge; on a user network
 * (bridge "br-" + 12 hex of its id) "vb" + 7 hex of id + 6 of the network's, so that a container on several
 * networks has a pair on each. */
void bridge_network_veth_name(const BridgeNetwork *b, const char *id, char ret[static IFNAMSIZ]);
