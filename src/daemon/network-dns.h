/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "daemon/manager.h"

/* Name resolution on user networks: containers on the same user network find each other by name, by their
 * aliases on it and by their short id, through aardvark-dns (network/aardvark.h), which serves on each
 * network's gateway; their resolv.conf names that gateway as their only nameserver, and other names go to
 * the host's resolvers (or their own --dns servers). berthd keeps the config directory,
 * runtime_dir/dns/<network>, in step with the containers running on each user network, and starts
 * aardvark-dns or sends it SIGHUP after each change: a start or exit, a connect or disconnect, a network's
 * removal, its own start (a crash may have left entries of containers gone since). aardvark-dns is forked by
 * berthd, stays in berthd.service's cgroup and outlives a restart of berthd (KillMode=process), which finds
 * it again by its pid file; with no container left on any user network it exits by itself.
 *
 * Without aardvark-dns installed nothing of this happens: containers on user networks then get the host's
 * resolvers, as on the default bridge, and reach each other by address only. */

/* aardvark-dns is installed: a container whose first network is a user network gets its gateway as
 * nameserver. */
bool manager_dns_available(void);

/* Rewrites the config directory and has aardvark-dns read it again. Logs its failures. */
void manager_dns_update(Manager *m);
