/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

typedef struct Container Container;

/* Restart policies applied (the rules are restart-policy.c): after each exit, and when berthd starts for
 * the containers that exited while it was not running (or before a reboot). A user's stop is remembered in
 * <state>/containers/<id>/stopped-by-user, so unless-stopped holds across berthd and host restarts. */

/* The container's monitor is gone (container_monitor_gone()): restart it if its policy says so, after the
 * backoff delay, and tell the journal why. */
void container_policy_on_exit(Container *c);
/* At load, before container_adopt(), for a container that does not run: start it if its policy says so
 * (always; unless-stopped unless the user stopped it; on-failure after a failure). */
void container_policy_at_load(Container *c);
/* The user stopped it (true: restarts suppressed, remembered on disk), or started or restarted it (false:
 * the restart count and backoff start again). Either way a pending restart is cancelled. */
void container_policy_user_stopped(Container *c, bool stopped);
