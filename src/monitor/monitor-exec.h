/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "runtime/run-spec.h"

/* Exec sessions (runtime/attach-protocol.h, "EXEC"): processes started in the running container on berthd's
 * request, children of the monitor (runtime/exec-child.h), each with its own stream to its client. */
typedef struct MonitorExec MonitorExec;

/* spec is the container's (borrowed); init_pidfd is borrowed too and stays valid while the container runs.
 * on_idle is called whenever the last session ended. */
int monitor_exec_new(sd_event *event, const RunSpec *spec, int init_pidfd, void (*on_idle)(void *userdata),
                     void *userdata, MonitorExec **ret);
MonitorExec *monitor_exec_free(MonitorExec *x);
/* Takes fd, a connection whose "EXEC <length> <rows> <cols>" header was read; data (size bytes) is what
 * followed the header in the same read. */
void monitor_exec_add(MonitorExec *x, int fd, size_t request_length, unsigned rows, unsigned cols,
                      const char *data, size_t size);
/* The container is gone: no more sessions start. */
void monitor_exec_finish(MonitorExec *x);
bool monitor_exec_idle(MonitorExec *x);
/* Drops every session (the container is gone and its clients did not take their last frames in time). */
void monitor_exec_drop_all(MonitorExec *x);
/* Takes fd, a "WAIT <pid>" connection: answered "EXIT <status>\n" once the session of that pid has ended
 * (at once if it has, also shortly after its session is gone), "ERR <reason>\n" if there is none. */
void monitor_exec_wait(MonitorExec *x, int fd, pid_t pid);
/* -ESRCH when no session has that pid, -ENOTTY without a terminal. */
int monitor_exec_resize(MonitorExec *x, pid_t pid, unsigned rows, unsigned cols);
