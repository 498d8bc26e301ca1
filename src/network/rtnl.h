/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "shared/macro.h"

/* rtnetlink through libmnl: the few link, address and route requests the bridge network needs. Each call
 * waits for the kernel's answer and returns its errno (negative). Logs at debug level only. */

typedef struct Rtnl Rtnl;

/* A route socket in the network namespace netns_fd (-EBADF: our own). The socket stays in the namespace it
 * was made in, so berthd switches into the namespace only for the socket() call, then back. */
int rtnl_open(int netns_fd, Rtnl **ret);
Rtnl *rtnl_close(Rtnl *nl);
DEFINE_TRIVIAL_CLEANUP_FUNC(Rtnl *, rtnl_close);

/* ifindex of name, -ENODEV if there is none; ret_kind (may be NULL) gets its IFLA_INFO_KIND ("bridge",
 * "veth"; "" when it has none). */
int rtnl_link_get(Rtnl *nl, const char *name, int *ret_ifindex, char **ret_kind);
/* -EEXIST if the name is taken. */
int rtnl_bridge_add(Rtnl *nl, const char *name);
int rtnl_link_up(Rtnl *nl, int ifindex);
/* The link's hardware address (IFLA_ADDRESS), while it is down. */
int rtnl_link_set_address(Rtnl *nl, int ifindex, const uint8_t mac[static 6]);
/* net.ipv4.conf.<ifindex>.route_localnet=1, through rtnetlink (IFLA_INET_CONF): 127.0.0.0/8 may be routed
 * through it, which a published port reached at 127.0.0.1 needs. */
int rtnl_link_set_route_localnet(Rtnl *nl, int ifindex);
int rtnl_link_del(Rtnl *nl, int ifindex);
/* Hairpin mode on a bridge port (IFLA_BRPORT_MODE): frames may leave through the port they came in by.
 * With br_netfilter loaded, a container reaching its own published port needs it (Docker sets it too). */
int rtnl_bridge_port_set_hairpin(Rtnl *nl, int ifindex);
/* A veth pair: name here, up, enslaved to master_ifindex; its peer named peer_name in the namespace
 * peer_netns_fd (down). */
int rtnl_veth_add(Rtnl *nl, const char *name, int master_ifindex, const char *peer_name, int peer_netns_fd);
/* address (IPv4, host byte order)/prefixlen on ifindex; an address already there is kept. */
int rtnl_addr_add(Rtnl *nl, int ifindex, uint32_t address, unsigned prefixlen);
int rtnl_route_add_default(Rtnl *nl, int ifindex, uint32_t gateway);
/* The same for IPv6; the address without duplicate address detection (the bridge's allocator is the only
 * one handing out its addresses), so that it is usable at once. */
struct in6_addr;
int rtnl_addr_add6(Rtnl *nl, int ifindex, const struct in6_addr *address, unsigned prefixlen);
int rtnl_route_add_default6(Rtnl *nl, int ifindex, const struct in6_addr *gateway);

/* An IPv4 route of the main table to a network (not the default route), host byte order. */
typedef struct RtnlRoute {
        uint32_t dst;
        unsigned prefixlen;
        int oif; /* 0 when the route names no device */
} RtnlRoute;
/* The unicast IPv4 routes of the main table with a prefix, as an array to g_free(). */
int rtnl_route_list_ipv4(Rtnl *nl, RtnlRoute **ret, size_t *ret_n);

/* The bytes received and sent by every link of the socket's namespace but loopback (IFLA_STATS64): a
 * container's network I/O, as docker stats counts it. */
int rtnl_link_stats_sum(Rtnl *nl, uint64_t *ret_rx_bytes, uint64_t *ret_tx_bytes);
