/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "shared/macro.h"

/* Published TCP ports on the host's IPv6 loopback address, [::1]. The kernel routes no IPv6 packet from or
 * to
 * ::1 off the loopback device (RFC 4291 2.5.3; IPv4's route_localnet has no IPv6 twin), so no DNAT can carry
 * such a connection into a container: berthd accepts it on the host port it holds anyway and relays the
 * bytes to the container's IPv6 address, as Docker's userland proxy does. Only [::1] comes here: the table
 * sends every other address to the container before any socket sees it, and ::1 past the DNAT (firewall.h).
 *
 * The relay runs on berthd's sd-event loop, a connection at a time per readiness event, with a fixed buffer
 * per direction; a half close (EOF one way) is passed on with shutdown(SHUT_WR). Connections end with the
 * proxy (the container's ports released) or a restart of berthd. */
typedef struct PortProxy PortProxy;

/* The loop the proxies run on; without one (unit tests), port_proxy_new() makes none. */
void port_proxy_set_event(sd_event *event);

/* Relays the connections accepted on listen_fd (a listening TCP socket, not owned, which must outlive the
 * proxy) to [target]:port. *ret is NULL without a loop. */
int port_proxy_new(int listen_fd, const struct in6_addr *target, uint16_t port, PortProxy **ret);
PortProxy *port_proxy_free(PortProxy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(PortProxy *, port_proxy_free);
