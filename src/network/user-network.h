/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "network/subnet.h"
#include "network/subnet6.h"
#include "shared/error.h"
#include "shared/macro.h"

/* A user network (`berthctl network create`): its definition, checked, and its record. Pure: no I/O; the
 * daemon keeps one record per network in /var/lib/berth/networks/<name>.json and makes the kernel objects.
 *
 * Each user network is a bridge device of its own, "br-" + the first 12 hex digits of its id (Docker's
 * spelling), with the gateway as its address; its subnet is the one asked for, or the lowest free /24 of
 * berth's pool, 10.90.0.0/15 (beside the default bridge's 10.87.0.0/16, clear of podman's 10.88.0.0/16 and
 * 10.89.0.0/16, and of Docker's 172.17–31 and 192.168 pools). "Free" means overlapping none of the subnets
 * the caller says are taken: the default bridge's, other user networks', and those the host routes to. */
#define USER_NETWORK_POOL          "10.90.0.0/15"
#define USER_NETWORK_POOL_PREFIX   24
#define USER_NETWORK_DRIVER_BRIDGE "bridge"
#define USER_NETWORK_DRIVER_CNI    "cni"
#define USER_NETWORK_NAME_MAX      64

typedef struct UserNetwork {
        char *name;
        char id[65]; /* 64 hex digits */
        char *driver;
        Subnet subnet;
        uint32_t gateway; /* host byte order, a host address of subnet */
        bool internal;    /* no route out: no masquerade, forwarding to anything but the bridge dropped */
        char **labels;    /* "KEY=VALUE", NULL-terminated, never NULL */
        uint64_t created_usec;
        /* Dual stack (--ipv6): an IPv6 subnet too, its gateway the first host (subnet6.h). */
        bool ipv6;
        Subnet6 subnet6;
        /* Driver cni: the conflist (network/cni.h); no subnet, gateway, bridge or berth allocator. */
        char *cni_config;
} UserNetwork;

/* What `network create` and CreateNetwork's a{sv} give; NULL or empty members are "not given". */
typedef struct UserNetworkOptions {
        const char *driver;  /* default bridge */
        const char *subnet;  /* CIDR; default: from the pool */
        const char *gateway; /* default: the subnet's first host address */
        bool internal;
        char **labels; /* "KEY=VALUE" */
        bool ipv6;
        const char *subnet6;    /* with ipv6, required: an IPv6 subnet in CIDR form */
        const char *cni_config; /* driver cni, required: the conflist */
} UserNetworkOptions;

/* A subnet in use, and by what (for the error message: "the bridge network", "network foo", "a route of
 * the host on eth0"). */
typedef struct TakenSubnet {
        Subnet subnet;
        const char *owner;
} TakenSubnet;

/* Docker's rule: a letter or digit, then letters, digits, '_', '.', '-', at most 64 characters; and not one
 * of the names `--network` gives a meaning of its own (bridge, host, none, default). */
bool user_network_name_is_valid(const char *name);
/* "br-" + the first 12 hex digits of id. */
void user_network_bridge_name(const char *id, char ret[static IFNAMSIZ]);

/* A new network named name with id (64 hex digits), checked against taken. Errors, with a message in e:
 * -EINVAL for a malformed name, subnet, gateway, label or conflist; -EOPNOTSUPP for a driver other than
 * bridge or cni; -EADDRINUSE for a subnet overlapping a taken one (the message names its owner);
 * -EADDRNOTAVAIL when no subnet of the pool is free. */
int user_network_new(const char *name, const char *id, const UserNetworkOptions *options,
                     const TakenSubnet *taken, size_t n_taken, uint64_t created_usec, UserNetwork **ret,
                     BerthError *e);
UserNetwork *user_network_free(UserNetwork *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(UserNetwork *, user_network_free);

/* The record, a JSON object: Name, Id, Driver, Subnet, Gateway, Internal, Labels (an object), Created (µs);
 * with IPv6, EnableIPv6 and Subnet6 too; with driver cni, CniConfig (Subnet and Gateway empty). */
char *user_network_to_json(const UserNetwork *n);
/* The record read back and checked as user_network_new() checks (-EBADMSG for anything wrong in it). */
int user_network_from_json(const char *text, UserNetwork **ret, BerthError *e);
/* The value of label key, NULL without it. */
const char *user_network_label(const UserNetwork *n, const char *key);
static inline bool user_network_is_cni(const UserNetwork *n)
{
        return n && n->driver && !strcmp(n->driver, USER_NETWORK_DRIVER_CNI);
}
