/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The transient scope a container runs in, berth-<name>.scope (in machine.slice): berthd asks systemd for
 * it, the monitor checks it joined it and names it in the journal, and the Container's Unit property shows
 * it. */

/* "berth-<name>.scope", malloc'ed; NULL when out of memory. */
char *berth_scope_name(const char *container_name);
