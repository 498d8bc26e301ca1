/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/subnet.h"
#include "shared/macro.h"

static uint32_t prefix_mask(unsigned prefixlen)
{
        return prefixlen == 0 ? 0 : UINT32_MAX << (32 - prefixlen);
}

int ipv4_parse(const char *s, uint32_t *ret)
{
        struct in_addr a;

        /* inet_pton() takes only the four-part dotted decimal form: no "10.1", no octal. */
        if (isempty(s) || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

const char *ipv4_format(uint32_t address, char buf[static INET_ADDRSTRLEN])
{
        struct in_addr a = ipv4_to_in_addr(address);

        return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

int subnet_parse(const char *s, Subnet *ret)
{
        char addr[INET_ADDRSTRLEN], *end;
        const char *slash;
        unsigned long prefixlen;
        uint32_t network;

        if (isempty(s))
                return -EINVAL;
        slash = strchr(s, '/');
        if (!slash || (size_t) (slash - s) >= sizeof(addr) || !slash[1] || slash[1] == '+' ||
            slash[1] == '-')
                return -EINVAL;
        memcpy(addr, s, slash - s);
        addr[slash - s] = 0;
        if (ipv4_parse(addr, &network) < 0)
                return -EINVAL;
        errno = 0;
        prefixlen = strtoul(slash + 1, &end, 10);
        if (errno != 0 || *end || prefixlen < 8 || prefixlen > 30)
                return -EINVAL;
        if (network & ~prefix_mask(prefixlen))
                return -EINVAL;
        *ret = (Subnet){ .network = network, .prefixlen = prefixlen };
        return 0;
}

void subnet_format(const Subnet *s, char buf[static SUBNET_STRING_MAX])
{
        char a[INET_ADDRSTRLEN];

        snprintf(buf, SUBNET_STRING_MAX, "%s/%u", ipv4_format(s->network, a), s->prefixlen);
}

bool subnet_contains(const Subnet *s, uint32_t address)
{
        return (address & prefix_mask(s->prefixlen)) == s->network;
}

bool subnet_overlaps(const Subnet *a, const Subnet *b)
{
        unsigned p = MIN(a->prefixlen, b->prefixlen);

        return (a->network & prefix_mask(p)) == (b->network & prefix_mask(p));
}

uint32_t subnet_first_host(const Subnet *s)
{
        return s->network + 1;
}

uint32_t subnet_last_host(const Subnet *s)
{
        return (s->network | ~prefix_mask(s->prefixlen)) - 1;
}
