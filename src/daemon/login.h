/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/manager.h"

/* berthd's own credentials (Login/Logout): <state>/auth.json, Docker's auth file format, mode 0600 in the
 * 0700 state directory. Not /etc/berth: berthd.service has ProtectSystem=strict, and the config directory
 * holds what the administrator writes (berth.conf, AuthFile=); berthd writes only its state. Both files are
 * read; for a host both name, Login's entry wins. */

/* Sets (username and password) or, with username NULL, removes the entry of domain (normalised), then
 * reloads the credentials in use. Returns 1 when domain had an entry before, 0 if not. */
int manager_store_credentials(Manager *m, const char *domain, const char *username, const char *password);
