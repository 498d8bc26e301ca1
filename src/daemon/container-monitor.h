/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "daemon/container.h"

/* The container's berth-monitor (container-monitor.c), for container-run.c. */

/* Starts berthd's monitor server, berth-monitor --serve (monitor/monitor-server.h), as berthd's child: call
 * early, while berthd is single-threaded. Without it, each monitor is an exec of berth-monitor. */
int container_monitor_server_start(void);

/* Starts berth-monitor with the run spec (a clone of the monitor server, else an exec of its own);
 * ret_sync_fd is berthd's end of the start protocol. With own_netns, in a new network namespace: the
 * container's, which berthd opens through the monitor's pid (netns_open_of()) where it joins it to a
 * network. */
int container_spawn_monitor(Container *c, const char *spec_path, bool own_netns, pid_t *ret_pid,
                            int *ret_sync_fd);
/* Watches the monitor through its pidfd (taken over); when it is gone, the container has exited. */
int container_watch_monitor(Container *c, int pidfd);
/* A start that failed before "G" and is answered at once: the monitor is killed, and reaped by a child
 * source of the loop, since no watch of the container's will see it go (it would stay a zombie of
 * berthd's). */
void container_monitor_kill_and_reap(Container *c);
/* Opens c->init_pidfd, checked to be the monitor's child: every signal to the init goes through it. */
int container_open_init_pidfd(Container *c);
/* The path of the container's scope below /sys/fs/cgroup, from its init's /proc/PID/cgroup (its init is in
 * the scope's own cgroup, the monitor in a child); -ESRCH when not running, -ENOENT when the init is not in
 * the container's scope. */
int container_scope_cgroup(Container *c, char **ret);
/* Re-reads state.json, which the monitor writes. */
void container_reload_state(Container *c);
/* After a restart of berthd, once the bus is there: marks the adopted containers whose scope systemd still
 * has frozen (FreezerState) as paused. */
void manager_adopt_freezer_states(Manager *m);
