/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "daemon/container.h"

/* berthd's side of attach (runtime/attach-protocol.h): it only connects callers to the container's
 * berth-monitor and hands them the socket; it never relays a byte, so attached clients survive a restart
 * of berthd. */
typedef struct AttachOptions {
        bool want_stdin, want_stdout, want_stderr;
        bool stdin_once;   /* the client's EOF closes the container's stdin (Docker's `run -i`) */
        bool before_start; /* hold the stream until the next start instead of refusing a stopped container */
        bool lossless;     /* the container's output waits for this client instead of dropping it */
        unsigned rows, columns;
} AttachOptions;

#define ATTACH_OPTIONS_INIT                                                                                 \
        {                                                                                                   \
                .want_stdin = true, .want_stdout = true, .want_stderr = true                                \
        }

/* Returns the caller's end of the stream. -ESRCH when the container is not running (and !before_start, or
 * it is stopping), -EBUSY when too many streams wait for the start. */
int container_attach(Container *c, const AttachOptions *o, int *ret_fd);

/* Connects to the monitor's attach socket and sends a RESIZE, returning the connection, whose one-line
 * answer ("OK" or "ERR …") the caller reads. -ESRCH when the container is not running. */
int container_resize_connect(Container *c, unsigned rows, unsigned columns, int *ret_fd);

/* A non-blocking connection to the monitor's attach socket; -ESRCH when nobody listens (exec uses it too).
 */
int container_connect_monitor(Container *c, int *ret_fd);
/* Running, with a monitor we watch, and not starting. */
bool container_is_running(Container *c);

/* Sends "G" on the sync socket with the streams that wait for this start, and closes our copies. */
int container_send_go(Container *c);
/* Closes the streams that wait for a start (their clients see EOF). */
void container_drop_pending_attach(Container *c);
