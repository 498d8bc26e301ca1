/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "network/port-mapping.h"
#include "network/subnet.h"
#include "shared/macro.h"

static const char *const protocols[_PORT_PROTOCOL_MAX] = {
        [PORT_PROTOCOL_TCP] = "tcp",
        [PORT_PROTOCOL_UDP] = "udp",
};

const char *port_protocol_to_string(PortProtocol p)
{
        return p >= 0 && p < _PORT_PROTOCOL_MAX ? protocols[p] : NULL;
}

PortProtocol port_protocol_from_string(const char *s)
{
        for (int i = 0; i < _PORT_PROTOCOL_MAX; i++)
                if (streq_ptr(s, protocols[i]))
                        return i;
        return _PORT_PROTOCOL_INVALID;
}

/* "" → 0 when empty_ok; "1"…"65535" otherwise. */
static int parse_port(const char *s, bool empty_ok, uint16_t *ret)
{
        unsigned long v;
        char *end;

        if (isempty(s)) {
                if (!empty_ok)
                        return -EINVAL;
                *ret = 0;
                return 0;
        }
        if (!g_ascii_isdigit(s[0]) || strlen(s) > 5)
                return -EINVAL;
        v = strtoul(s, &end, 10);
        if (*end || v == 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

int port_mapping_parse(const char *s, PortMapping *ret)
{
        _cleanup_free_ char *copy = NULL;
        g_auto(GStrv) parts = NULL;
        PortMapping m = { .protocol = PORT_PROTOCOL_TCP };
        char *slash;
        guint n;

        if (isempty(s))
                return -EINVAL;
        copy = g_strdup(s);
        if (copy[0] == '[') {
                /* "[IPV6]:HOSTPORT:CTRPORT": the address, then the rest as "HOSTPORT:CTRPORT". */
                char *end = strstr(copy, "]:");

                if (!end)
                        return -EINVAL;
                *end = 0;
                if (inet_pton(AF_INET6, copy + 1, &m.host_address6) != 1)
                        return -EINVAL;
                m.host_ipv6 = true;
                memmove(copy, end + 2, strlen(end + 2) + 1);
                if (!strchr(copy, ':'))
                        return -EINVAL;
        }
        slash = strchr(copy, '/');
        if (slash) {
                *slash = 0;
                m.protocol = port_protocol_from_string(slash + 1);
                if (m.protocol < 0)
                        return -EINVAL;
        }
        parts = g_strsplit(copy, ":", -1);
        n = g_strv_length(parts);
        if (n < 1 || n > 3)
                return -EINVAL;
        if (parse_port(parts[n - 1], false, &m.container_port) < 0)
                return -EINVAL;
        if (n >= 2 && parse_port(parts[n - 2], n == 3 || m.host_ipv6, &m.host_port) < 0)
                return -EINVAL;
        if (n == 3 && (m.host_ipv6 || ipv4_parse(parts[0], &m.host_address) < 0))
                return -EINVAL;
        if (m.host_ipv6 && n != 2)
                return -EINVAL;
        *ret = m;
        return 0;
}

const char *port_mapping_host_format(const PortMapping *m, bool brackets,
                                     char buf[static PORT_HOST_STRING_MAX])
{
        char a[INET6_ADDRSTRLEN];

        if (!m->host_ipv6)
                return ipv4_format(m->host_address, buf);
        inet_ntop(AF_INET6, &m->host_address6, a, sizeof(a));
        snprintf(buf, PORT_HOST_STRING_MAX, brackets ? "[%s]" : "%s", a);
        return buf;
}

char *port_mapping_to_string(const PortMapping *m)
{
        char a[PORT_HOST_STRING_MAX];

        return g_strdup_printf("%u/%s -> %s:%u", m->container_port, port_protocol_to_string(m->protocol),
                               port_mapping_host_format(m, true, a), m->host_port);
}

bool port_mapping_is_privileged(const PortMapping *m)
{
        return m->host_address != 0 || (m->host_ipv6 && !IN6_IS_ADDR_UNSPECIFIED(&m->host_address6)) ||
               (m->host_port > 0 && m->host_port < 1024);
}
