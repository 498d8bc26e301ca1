/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "daemon/manager.h"

/* berthd's own credentials (Login/Logout): <state>/auth.json, Docker's auth file format, mode 0600 in the
 * 0700 state directory. Not /etc/berth: berthd.service has ProtectSystem=strict, and the config directory
 * holds what the administrator writes (berth.conf, AuthFile=); berthd writes only its state. Both files are
 * read; for a host both name, Login's entry wins. */

/* Sets (username and password) or, with username NULL, removes the entry of domain (normalised), then
 * reloads the credentials in use. Returns 1 when domain had an entry before, 0 if not. */
int manager_store_credentials(Manager *m, const char *domain, const char *username, const char *password);

/* A registry as docker login takes it: "host[:port]", with an optional http(s):// and a path, which names
 * nothing more than the host (Docker drops it too) but may not climb (".."), be empty ("a//b") or hold what
 * no repository path holds. The host must be a valid domain (and fit DNS's limits), so that nothing odd
 * reaches the resolver. *ret gets the normalised domain; -EINVAL if registry is none. */
int login_registry_domain(const char *registry, char **ret);

/* A username (without ':', at most 256 bytes) and a password (at most 64 KiB), neither empty nor with
 * control characters. */
bool login_credentials_are_valid(const char *username, const char *password);
