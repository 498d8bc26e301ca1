/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* The container's /etc/hosts and /etc/resolv.conf, as Docker writes them. Pure but for
 * resolv_conf_for_container(), which reads the host's files. */

/* "NAME:ADDRESS" (Docker's --add-host; the address may be IPv6 and so hold colons: the name ends at the
 * first one). -EINVAL for a bad name or address. ret_* may be NULL (validation only). */
int add_host_parse(const char *s, char **ret_name, char **ret_address);
/* A nameserver given with --dns: an IPv4 or IPv6 address. */
bool dns_server_is_valid(const char *s);
/* A --dns-search domain: a host name, or "." (no search domains at all). */
bool dns_search_is_valid(const char *s);

/* localhost, then hostname at address (its own address on a network, 127.0.1.1 without one), then each
 * add_hosts entry ("NAME:ADDRESS"; invalid ones skipped). */
char *etc_hosts_generate(const char *hostname, const char *address, char **add_hosts);

/* host: the host's /etc/resolv.conf text; resolved: /run/systemd/resolve/resolv.conf (NULL if absent), used
 * instead when the host's only nameserver is systemd-resolved's stub 127.0.0.53, as Docker does.
 * loopback_ok: the container shares the host's network, so a 127.x resolver answers it; otherwise loopback
 * nameservers are dropped and, if none remain, Docker's fallback (Google's public resolvers) is used.
 * dns/dns_search replace the nameservers and the search list when non-empty ("." in dns_search: none). */
char *resolv_conf_generate(const char *host, const char *resolved, bool loopback_ok, char **dns,
                           char **dns_search);

/* The same, from the host's files. */
int resolv_conf_for_container(bool loopback_ok, char **dns, char **dns_search, char **ret);
