/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "network/subnet6.h"
#include "shared/macro.h"

static void mask(struct in6_addr *a, unsigned prefixlen)
{
        for (unsigned i = 0; i < 16; i++) {
                unsigned bits = prefixlen > i * 8 ? MIN(prefixlen - i * 8, 8u) : 0;

                a->s6_addr[i] &= (uint8_t) (0xff00 >> bits);
        }
}

int subnet6_parse(const char *s, Subnet6 *ret)
{
        g_auto(GStrv) parts = g_strsplit(strempty(s), "/", -1);
        struct in6_addr a, m;
        guint64 prefixlen;

        if (g_strv_length(parts) != 2 || inet_pton(AF_INET6, parts[0], &a) != 1 ||
            !g_ascii_string_to_unsigned(parts[1], 10, 16, 112, &prefixlen, NULL) || parts[1][0] == '0' ||
            parts[1][0] == '+')
                return -EINVAL;
        m = a;
        mask(&m, (unsigned) prefixlen);
        if (memcmp(&m, &a, sizeof(a)) != 0)
                return -EINVAL;
        *ret = (Subnet6){ .network = a, .prefixlen = (unsigned) prefixlen };
        return 0;
}

const char *ipv6_format(const struct in6_addr *a, char buf[static INET6_ADDRSTRLEN])
{
        return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

void subnet6_format(const Subnet6 *s, char buf[static SUBNET6_STRING_MAX])
{
        char a[INET6_ADDRSTRLEN];

        snprintf(buf, SUBNET6_STRING_MAX, "%s/%u", ipv6_format(&s->network, a), s->prefixlen);
}

bool subnet6_overlaps(const Subnet6 *a, const Subnet6 *b)
{
        unsigned p = MIN(a->prefixlen, b->prefixlen);
        struct in6_addr x = a->network, y = b->network;

        mask(&x, p);
        mask(&y, p);
        return memcmp(&x, &y, sizeof(x)) == 0;
}

struct in6_addr subnet6_host(const Subnet6 *s, uint32_t index)
{
        struct in6_addr a = s->network;

        /* The prefix is at most /112: the last 4 bytes are the host's, below it. */
        a.s6_addr[12] |= (uint8_t) (index >> 24);
        a.s6_addr[13] |= (uint8_t) (index >> 16);
        a.s6_addr[14] |= (uint8_t) (index >> 8);
        a.s6_addr[15] |= (uint8_t) index;
        return a;
}
