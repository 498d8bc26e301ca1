/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* An IPv4 subnet in host byte order. Pure: no I/O. */
typedef struct Subnet {
        uint32_t network; /* host byte order, host bits zero */
        unsigned prefixlen;
} Subnet;

#define SUBNET_STRING_MAX sizeof("255.255.255.255/32")

/* "10.87.0.0/16" → Subnet. -EINVAL for anything else: host bits set, no prefix, a prefix outside 8…30 (a /31
 * or /32 has no room for a gateway and a container). */
int subnet_parse(const char *s, Subnet *ret);
void subnet_format(const Subnet *s, char buf[static SUBNET_STRING_MAX]);
bool subnet_contains(const Subnet *s, uint32_t address);
bool subnet_overlaps(const Subnet *a, const Subnet *b);
/* Host addresses, .network + 1 … broadcast - 1. */
uint32_t subnet_first_host(const Subnet *s); /* the gateway (the bridge's address) */
uint32_t subnet_last_host(const Subnet *s);

/* Host byte order ↔ dotted quad. */
int ipv4_parse(const char *s, uint32_t *ret);
const char *ipv4_format(uint32_t address, char buf[static INET_ADDRSTRLEN]);
static inline struct in_addr ipv4_to_in_addr(uint32_t address)
{
        return (struct in_addr){ .s_addr = htonl(address) };
}
