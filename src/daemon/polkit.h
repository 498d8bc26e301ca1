/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

#define BERTH_ACTION_PULL_IMAGE        "org.berth1.pull-image"
#define BERTH_ACTION_MANAGE_IMAGES     "org.berth1.manage-images"
#define BERTH_ACTION_MANAGE_VOLUMES    "org.berth1.manage-volumes"
#define BERTH_ACTION_MANAGE_CONTAINERS "org.berth1.manage-containers"
#define BERTH_ACTION_ATTACH_CONTAINER  "org.berth1.attach-container"
#define BERTH_ACTION_EXEC_CONTAINER    "org.berth1.exec-container"
#define BERTH_ACTION_MANAGE_NETWORKS   "org.berth1.manage-networks"

/* push, login, logout (push-dbus.c) */
#define BERTH_ACTION_PUSH_IMAGE         "org.berth1.push-image"
#define BERTH_ACTION_MANAGE_CREDENTIALS "org.berth1.manage-credentials"
#define BERTH_ACTION_BUILD_IMAGE        "org.berth1.build-image"
/* Asked in addition to manage-containers when a container would run with less confinement than Docker's
 * defaults (privileged, added capabilities, seccomp=unconfined, the host's network): a rule can hand out
 * ordinary containers without handing out root on the host. */
#define BERTH_ACTION_MANAGE_CONTAINERS_PRIVILEGED "org.berth1.manage-containers-privileged"

/* Checks whether the sender of call may perform action, asking polkitd asynchronously.
 *
 * A handler may call it for several actions in a row (each returning 1 before the next is asked); the call
 * is then dispatched once more per action.
 *
 * Returns 1 when allowed: the handler goes on. Returns 0 when a query to polkit is now in flight: the
 * handler must return 1 at once and change nothing, because it will be called again with the same message
 * once polkit has answered (see the comment in polkit.c). Returns a negative errno with ret_error set
 * when denied.
 *
 * details is a NULL-terminated list of key, value pairs for polkit rules (e.g. "image", "debian", "verb",
 * "pull"). registry is the Manager's table of pending queries. */
int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char *const *details,
                            GHashTable **registry, sd_bus_error *ret_error);

/* Frees every pending query (daemon shutdown). */
void bus_polkit_registry_free(GHashTable **registry);

/* The caller's effective uid, asked of the bus once per connection (its unique name). */
int bus_sender_euid(sd_bus_message *call, uid_t *ret);
