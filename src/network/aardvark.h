/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>

/* Name resolution on user networks through aardvark-dns (Debian's aardvark-dns, the DNS server podman's
 * netavark drives), driven as netavark does: a directory with one file per network, named after it, and
 * aardvark-dns started on it (`aardvark-dns --config DIR -p 53 run`; it forks, writes DIR/aardvark.pid and
 * serves on each network's gateway) or, when already running, sent SIGHUP to read the files again; with no
 * file left it exits by itself. A file (aardvark-dns's config.md):
 *
 *   GATEWAY
 *   CONTAINER_ID IPV4 IPV6 NAME,ALIAS,… [DNS_SERVER,…]
 *
 * one line per container on the network, the IPv6 column empty on an IPv4-only network. Names of the network
 * resolve to the container's address there; other names go to the host's resolvers, or to the container's
 * own --dns servers (the last column). Pure: this file only writes the text. */

typedef struct AardvarkEntry {
        const char *id;                  /* the container's full id */
        uint32_t address;                /* host byte order */
        const struct in6_addr *address6; /* on a dual-stack network, else NULL */
        char **names;                    /* its name, aliases, short id; valid names only (no ',' or ' ') */
        char **dns_servers;              /* its --dns, or NULL */
} AardvarkEntry;

/* NULL when a name or server would break the format (contains ',', ' ' or a newline, or is empty). */
char *aardvark_config_generate(uint32_t gateway, const AardvarkEntry *entries, size_t n);

/* The path of aardvark-dns (Debian installs it for podman under /usr/lib/podman), NULL when absent. */
const char *aardvark_dns_path(void);
