/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "network/port-mapping.h"
#include "network/subnet.h"
#include "network/subnet6.h"

/* berth's firewall rules, through libnftables, all in the one table berth owns: `table ip berth`. Nothing
 * else's table, chain or rule is ever touched, so a host firewall (firewalld, a plain nftables ruleset,
 * Docker's iptables-nft rules) keeps working beside it.
 *
 * The table is replaced whole in one transaction ("add table; delete table; table { … }"), so applying it
 * again (berthd restarted, the bridge's settings changed) never duplicates a rule, and a reader never sees
 * it half made. */
#define FIREWALL_TABLE "berth"

/* A published port of a running container: mapping (its host port resolved) to container_address, and on a
 * dual-stack network to container_address6 too. */
typedef struct FirewallPort {
        PortMapping mapping;
        uint32_t container_address;
        struct in6_addr container_address6;
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
/* The same for a dual-stack network (subnet6 NULL: IPv4 only). Its IPv6 rules go to `table ip6 berth`,
 * made in the same transaction while a dual-stack network is set, and mirror the IPv4 ones:
 *   - outbound NAT66: traffic from subnet6 leaving through any interface but bridge is masqueraded (not on
 *     an internal network);
 *   - published ports without a host address, or with an IPv6 one, are DNATed to container_address6, in
 *     prerouting and output, but for ::1 (which no DNAT can take off lo: port-proxy.h); what the DNAT sends
 *     into the bridge from subnet6 (hairpin) is masqueraded;
 *   - forward: into the bridge from elsewhere only answers (ct state established,related) and DNATed
 *     connections (published ports): an IPv6 subnet may be routed to the host, and then nothing but the
 *     published ports is reachable; an internal network forwards nothing beyond its bridge either way; and
 *     two networks never reach each other. */
int firewall_set_network6(const char *bridge, const Subnet *subnet, const Subnet6 *subnet6, bool internal,
                          const FirewallPort *ports, size_t n_ports);
int firewall_unset_network(const char *bridge);
/* The table gone; 0 if it was not there. */
int firewall_remove(void);
