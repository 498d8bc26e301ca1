/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef struct Container Container;

/* Freezes (freeze) or thaws the container's scope; the answer goes to reply_to through
 * container_send_pause_reply(). -ESRCH when it does not run, -EALREADY when already paused, -ENOTCONN when
 * not paused. */
int container_pause(Container *c, bool freeze, sd_bus_message *reply_to);
/* Thaws a paused container after it was signalled to end (stop, kill -9). */
void container_thaw_for_signal(Container *c);
/* Stops the container (timeout as for container_stop()) and starts it again once its monitor is gone;
 * reply_to gets the start's answer. A stopped container is just started. */
int container_restart(Container *c, uint64_t timeout_usec, sd_bus_message *reply_to);
/* From container_monitor_gone(): starts the container again for the pending Restart calls. */
void container_restart_pending(Container *c);
/* Puts update (scope properties, scope.h's JSON form) into the container's record, so every next start
 * uses them, and onto its running scope (SetUnitProperties); reply_to gets container_send_pause_reply()'s
 * answer when systemd has taken them (at once when the container does not run). */
int container_update(Container *c, const char *update, sd_bus_message *reply_to);
/* Update's remove_on_exit: records whether berthd removes the container once it has exited (run --rm whose
 * client detached). Turned on for a container that has exited already, it removes it now and returns 1
 * (c is freed). -EINVAL with a restart policy other than "no". */
int container_set_remove_on_exit(Container *c, bool on);
/* The processes of the running container (its scope's, without the monitor's supervisor cgroup), answered
 * through container_send_top_reply(). -ESRCH when it does not run. */
int container_top(Container *c, sd_bus_message *reply_to);
/* The scope's counters, answered through container_send_stats_reply(). -ESRCH when it does not run. */
int container_get_stats(Container *c, sd_bus_message *reply_to);
/* Renames a container (-EBUSY while it starts); the caller checked the name. A running one keeps its scope,
 * machine and journal name (the monitor's CONTAINER_NAME=) until it stops (c->run_name). Sends
 * ContainerRemoved for the old object path and ContainerNew for the new one. */
int container_rename(Container *c, const char *new_name);
/* Answers reply_to with the exit code once the container has exited (at once when it is not running). */
int container_wait(Container *c, sd_bus_message *reply_to);
