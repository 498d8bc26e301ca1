/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "network/port-mapping.h"
#include "network/subnet.h"

/* berth's firewall rules, through libnftables, all in the one table berth owns: `table ip berth`. Nothing
 * else's table, chain or rule is ever touched, so a host firewall (firewalld, a plain nftables ruleset,
 * Docker's iptables-nft rules) keeps working beside it.
 *
 * The table is replaced whole in one transaction ("add table; delete table; table { … }"), so applying it
 * again (berthd restarted, the bridge's settings changed) never duplicates a rule, and a reader never sees
 * it half made. */
#define FIREWALL_TABLE "berth"

/* A published port of a running container: mapping (its host port resolved) to container_address. */
typedef struct FirewallPort {
        PortMapping mapping;
        uint32_t container_address;
} FirewallPort;

/* The whole table:
 *   - outbound NAT: traffic from subnet leaving through any interface but bridge is masqueraded;
 *   - published ports: traffic to a local address of the host's (any, or the mapping's one) and the host
 * port is DNATed to the container, in prerouting (from other hosts, from containers: hairpin) and in output
 *     (from the host itself, 127.0.0.1 included);
 *   - what the DNAT sends into the bridge from 127.0.0.0/8 (the host's own loopback) or from the subnet (a
 *     container reaching a published port) is masqueraded, so the answer comes back through the host;
 *   - what comes in from the bridge to or from 127.0.0.0/8 is dropped (the bridge has route_localnet). */
int firewall_apply(const char *bridge, const Subnet *subnet, const FirewallPort *ports, size_t n_ports);
/* The table holds several networks (the default bridge and the user networks), each set or unset by its
 * bridge name and the whole table applied again. Besides the rules above, per network: traffic between two
 * networks' bridges is dropped (forward), and an internal network gets no masquerade and no forwarding
 * beyond its bridge. Unsetting the last network removes the table. */
int firewall_set_network(const char *bridge, const Subnet *subnet, bool internal, const FirewallPort *ports,
                         size_t n_ports);
int firewall_unset_network(const char *bridge);
/* The table gone; 0 if it was not there. */
int firewall_remove(void);

/* IPv6 on dual-stack user networks: berth neither masquerades nor forwards it (no way out over IPv6 yet),
 * and a host that forwards IPv6 itself must not join two networks either. So `table ip6 berth` holds one
 * forward chain dropping everything that would be forwarded into or out of these bridges; with none, no
 * table. */
int firewall_set_ipv6_bridges(char **bridges);
