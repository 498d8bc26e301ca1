/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "shared/macro.h"

/* Registry settings, from /etc/berth/berth.conf (GKeyFile, systemd-style INI; missing file = defaults):
 *
 *   [Registries]
 *   Default=docker.io                        # domain of unqualified names
 *   Insecure=127.0.0.1:5000;myreg.lan        # plain HTTP allowed, TLS not verified; a host without a port
 *                                            # matches every port. Loopback hosts are insecure by default.
 *   MaxConcurrentDownloads=3                 # layer downloads per pull
 *   MaxAttempts=4                            # tries per request on transient failures (1 = no retry)
 *   RetryDelayMSec=1000                      # first backoff; doubles each time
 *   AuthFile=/etc/berth/auth.json            # credentials, Docker's config.json format
 *
 *   [Registry docker.io]                     # one section per registry domain
 *   Mirrors=https://mirror.example.org;…     # tried first, in order, then the registry itself
 *   CAFile=/etc/berth/certs/ca.pem           # trust this CA (PEM) instead of the system store
 *   Insecure=false                           # overrides [Registries] Insecure= and the loopback default
 *   SearchURL=https://index.docker.io/v1/search   # Docker Hub style search API; the default for docker.io
 *
 * Credentials live in a separate root-only JSON file, Docker's format, so a config.json from `docker login`
 * works: {"auths":{"<server>":{"auth":"base64(user:password)"}}}. Server keys may be written as
 * "https://index.docker.io/v1/", "registry-1.docker.io", "host:port" and so on; they are normalised. */

#define REGISTRY_DOCKER_IO "docker.io"

typedef struct RegistryConfig RegistryConfig;

/* Defaults only. */
int registry_config_new(RegistryConfig **ret);
/* path NULL means BERTH_CONFIG_FILE. A missing file gives defaults; -EBADMSG for a file that is not a key
 * file, -EINVAL for a bad value. */
int registry_config_load(const char *path, RegistryConfig **ret);
RegistryConfig *registry_config_free(RegistryConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(RegistryConfig *, registry_config_free);

/* Reads credentials from path (NULL: AuthFile= of the config, else BERTH_AUTH_FILE). Returns the number of
 * usable entries (0 also when the file is missing). Returns -EPERM, and keeps no credentials, when the file
 * is readable or writable by group or others, or owned by another user than root or us: the caller should
 * warn and go on. -EBADMSG for a file that is not valid JSON. */
int registry_config_load_auth(RegistryConfig *c, const char *path);
/* Adds the credentials of another such file (berthd's own, written by Login), in front of those loaded:
 * they win for a host both name. Same checks and return values. */
int registry_config_add_auth(RegistryConfig *c, const char *path);

const char *registry_config_get_default_domain(const RegistryConfig *c);
unsigned registry_config_get_max_concurrent_downloads(const RegistryConfig *c);
unsigned registry_config_get_max_attempts(const RegistryConfig *c);
uint64_t registry_config_get_retry_delay_usec(const RegistryConfig *c);
/* Test hook: override the backoff. */
void registry_config_set_retry(RegistryConfig *c, unsigned max_attempts, uint64_t delay_usec);

/* "docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/" → "docker.io";
 * other values lose scheme and path and are lowercased: "HTTPS://Reg.Example:5000/x" → "reg.example:5000".
 */
int registry_normalize_domain(const char *s, char **ret);

bool registry_config_is_insecure(const RegistryConfig *c, const char *domain);

/* Base URLs to try for domain, in order, without trailing slash: mirrors, then the registry itself
 * (docker.io → https://registry-1.docker.io; an insecure registry gets https://host then http://host). */
int registry_config_get_endpoints(const RegistryConfig *c, const char *domain, char ***ret);

/* CAFile= of domain, or NULL. */
const char *registry_config_get_ca_file(const RegistryConfig *c, const char *domain);
/* Docker Hub style search URL for domain, or NULL when the registry has none (use the catalog). */
const char *registry_config_get_search_url(const RegistryConfig *c, const char *domain);

/* Credentials for a registry host ("docker.io", "registry-1.docker.io", "127.0.0.1:5000", a mirror's host).
 * -ENOENT when there are none. The strings belong to the config. */
int registry_config_get_credentials(const RegistryConfig *c, const char *host, const char **ret_username,
                                    const char **ret_password);
