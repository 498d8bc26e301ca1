/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "monitor/monitor-exec.h"
#include "monitor/monitor-stdio.h"

/* The attach side of berth-monitor (runtime/attach-protocol.h has the wire protocol): a listening socket,
 * and one client per attach connection, each with its own output queue so that a slow client never holds
 * up the container or the others. */
typedef struct MonitorAttach MonitorAttach;

/* Binds and listens on path (mode 0600); stdio must outlive the result. */
int monitor_attach_new(sd_event *event, MonitorStdio *stdio, const char *path, bool tty, bool interactive,
                       MonitorAttach **ret);
/* Adopts a connection whose header is already queued in it (passed by berthd with "G"). */
int monitor_attach_add_client(MonitorAttach *a, int fd);
/* Starts serving connections: called once the container's stdio exists. */
int monitor_attach_start(MonitorAttach *a);
/* Output of the container, called from monitor-stdio.c's dispatch. */
void monitor_attach_output(MonitorAttach *a, OutputStream stream, const char *data, size_t size);
/* The container is gone and its output drained: stop listening, flush every client, close them, then
 * sd_event_exit() (at the latest after a few seconds, for clients that do not read). */
void monitor_attach_finish(MonitorAttach *a);
/* Exec requests on the socket go to exec (borrowed); the monitor exits only when its sessions ended too,
 * which monitor_attach_maybe_exit() is told of. */
void monitor_attach_set_exec(MonitorAttach *a, MonitorExec *exec);
void monitor_attach_maybe_exit(MonitorAttach *a);
MonitorAttach *monitor_attach_free(MonitorAttach *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(MonitorAttach *, monitor_attach_free);
