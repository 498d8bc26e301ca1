/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* A published port, Docker's -p: "[IP:][HOSTPORT:]CTRPORT[/tcp|/udp]" ("127.0.0.1::80" too). Pure. */
typedef enum PortProtocol {
        PORT_PROTOCOL_TCP,
        PORT_PROTOCOL_UDP,
        _PORT_PROTOCOL_MAX,
        _PORT_PROTOCOL_INVALID = -22,
} PortProtocol;

const char *port_protocol_to_string(PortProtocol p);
PortProtocol port_protocol_from_string(const char *s);

typedef struct PortMapping {
        PortProtocol protocol;
        uint32_t host_address; /* host byte order; 0: every address of the host's (IPv4 and IPv6) */
        bool host_ipv6;        /* an IPv6 host address ("[::1]:8080:80"): host_address6, host_address 0 */
        struct in6_addr host_address6;
        uint16_t host_port; /* 0: a free one, chosen at start */
        uint16_t container_port;
} PortMapping;

/* -EINVAL for anything else: ports outside 1…65535, a host name instead of an address, ranges. An IPv6 host
 * address is in brackets, as Docker spells it: "[::1]:8080:80", "[::]::80". */
int port_mapping_parse(const char *s, PortMapping *ret);
/* The host address as -p spells it ("0.0.0.0", "127.0.0.1", "[::1]"), or without brackets. */
#define PORT_HOST_STRING_MAX (INET6_ADDRSTRLEN + 2)
const char *port_mapping_host_format(const PortMapping *m, bool brackets,
                                     char buf[static PORT_HOST_STRING_MAX]);
/* Docker's `port` form: "80/tcp -> 0.0.0.0:8080", "80/tcp -> [::1]:8080". */
char *port_mapping_to_string(const PortMapping *m);
/* Publishing below 1024 or on one address of the host's needs the privileged action (docs/security.md). */
bool port_mapping_is_privileged(const PortMapping *m);
