/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* An IPv6 subnet of a dual-stack user network (`network create --ipv6 --subnet fd00::/64`). Pure: no I/O.
 *
 * Containers need no second allocator: a container's IPv6 address is the subnet's prefix with the host part
 * of its IPv4 address in its IPv4 subnet (10.90.0.2 in 10.90.0.0/24 → fd00::2), unique because the IPv4
 * address is, and the gateway is the first (::1), as the IPv4 gateway is the first of its subnet. */
typedef struct Subnet6 {
        struct in6_addr network; /* host bits zero */
        unsigned prefixlen;
} Subnet6;

#define SUBNET6_STRING_MAX (INET6_ADDRSTRLEN + sizeof("/128"))

/* "fd00::/64" → Subnet6. -EINVAL for anything else: host bits set, no prefix, a prefix outside 16…112 (the
 * host part must hold an IPv4 host part of up to 16 bits). */
int subnet6_parse(const char *s, Subnet6 *ret);
void subnet6_format(const Subnet6 *s, char buf[static SUBNET6_STRING_MAX]);
bool subnet6_overlaps(const Subnet6 *a, const Subnet6 *b);
/* The address with host part index (index 1: the gateway). */
struct in6_addr subnet6_host(const Subnet6 *s, uint32_t index);
const char *ipv6_format(const struct in6_addr *a, char buf[static INET6_ADDRSTRLEN]);
