/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <stdbool.h>

#include "network/subnet.h"
#include "network/subnet6.h"

/* The default bridge network's settings, from the [Network] section of /etc/berth/berth.conf
 * (berth.conf(5)):
 *
 *   [Network]
 *   Bridge=berth0            # the bridge device berth makes and owns
 *   Subnet=10.87.0.0/16      # its subnet; the first address is the bridge's (the containers' gateway)
 *   Subnet6=fd00:87::/64     # an IPv6 subnet too (none by default, as in Docker): a dual-stack bridge
 *
 * The default subnet clashes with neither Docker's (172.17.0.0/16, and its pools for user networks in
 * 172.17–31.0.0/16 and 192.168.0.0/16) nor podman's (10.88.0.0/16, and its pool for user networks from
 * 10.89.0.0 up). */
#define NETWORK_BRIDGE_DEFAULT "berth0"
#define NETWORK_SUBNET_DEFAULT "10.87.0.0/16"

typedef struct NetworkConfig {
        char bridge[IFNAMSIZ];
        Subnet subnet;
        bool ipv6; /* Subnet6= given */
        Subnet6 subnet6;
} NetworkConfig;

void network_config_defaults(NetworkConfig *ret);
/* A missing file or section gives the defaults; -EBADMSG for a file that is not a key file, -EINVAL for a
 * bad value (logged at debug level with the key). */
int network_config_load(const char *path, NetworkConfig *ret);
/* Letters, digits, '-', '_' and '.', 1–15 characters, not "." or "..": what the kernel takes as a name and
 * what can stand in an nftables rule unquoted. */
bool network_interface_name_is_valid(const char *name);
