/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "network/subnet.h"
#include "shared/macro.h"

/* berth's address allocator for one subnet: container id → address. The first host address is the gateway
 * (the bridge's own); containers get the lowest free one above it. Pure: the caller loads and saves the
 * text form, one "ADDRESS CONTAINER_ID" line per allocation, sorted by address. */
typedef struct Ipam Ipam;

Ipam *ipam_new(const Subnet *subnet);
/* A gateway other than the first host address (network create --gateway): never handed out either. */
void ipam_set_gateway(Ipam *ipam, uint32_t gateway);
Ipam *ipam_free(Ipam *ipam);
DEFINE_TRIVIAL_CLEANUP_FUNC(Ipam *, ipam_free);

/* Lines that are malformed, outside the subnet, the gateway, or a second line for an id or an address are
 * dropped (counted in *ret_dropped when given): the file is berth's own, and a damaged line must not stop
 * the daemon; the address is then free again. */
int ipam_parse(Ipam *ipam, const char *text, unsigned *ret_dropped);
char *ipam_format(const Ipam *ipam);

/* The address of id, allocating the lowest free one if it has none. -EADDRNOTAVAIL when the subnet is full.
 */
int ipam_allocate(Ipam *ipam, const char *id, uint32_t *ret);
/* id gets address itself (Docker's --ip): 0 when it is free or already id's, -EADDRINUSE when another id
 * holds it, -EINVAL when it is not a host address of the subnet above the first (the gateway), -EEXIST when
 * id holds another address. */
int ipam_allocate_address(Ipam *ipam, const char *id, uint32_t address);
/* 0 and the address when id has one, -ENOENT otherwise. */
int ipam_lookup(const Ipam *ipam, const char *id, uint32_t *ret);
/* true if id had an address. */
bool ipam_release(Ipam *ipam, const char *id);
/* The ids holding an address (a NULL-terminated array to g_free(), strings owned by ipam). */
const char **ipam_ids(const Ipam *ipam);
unsigned ipam_size(const Ipam *ipam);
