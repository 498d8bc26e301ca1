/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

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
        uint32_t host_address; /* host byte order; 0: every address of the host's */
        uint16_t host_port;    /* 0: a free one, chosen at start */
        uint16_t container_port;
} PortMapping;

/* -EINVAL for anything else: ports outside 1…65535, a host name instead of an address, IPv6, ranges. */
int port_mapping_parse(const char *s, PortMapping *ret);
/* Docker's `port` form: "80/tcp -> 0.0.0.0:8080". */
char *port_mapping_to_string(const PortMapping *m);
/* Publishing below 1024 or on one address of the host's needs the privileged action (docs/security.md). */
bool port_mapping_is_privileged(const PortMapping *m);
