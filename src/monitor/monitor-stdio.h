/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "monitor/monitor-journal.h"
#include "runtime/container-spawn.h"

/* The one place that holds the container's end of the terminal or pipes. Output read from the pty master or
 * the stdout/stderr pipes goes through dispatch_output() in monitor-stdio.c, which fans it out: to the
 * journal, and to attach clients (monitor-attach.h), who get the raw bytes, \r and all; their input goes
 * back through monitor-attach.c. The stdin pipe's write end is held here even with nobody attached, so that
 * an interactive container does not see EOF on stdin until a stdin_once client ends its input. */
typedef enum OutputStream {
        OUTPUT_STDOUT, /* also the terminal */
        OUTPUT_STDERR,
        _OUTPUT_MAX,
} OutputStream;

typedef struct MonitorStdio {
        ContainerStdio io;
        sd_event_source *sources[_OUTPUT_MAX];
        JournalStream journal[_OUTPUT_MAX];
        struct MonitorAttach *attach; /* not owned; NULL when attach could not be set up */
} MonitorStdio;

/* Takes over the fds in io (left at -EBADF) and starts reading them. */
int monitor_stdio_start(MonitorStdio *m, sd_event *event, ContainerStdio *io, JournalWriter *journal,
                        bool tty);
/* While held, the container's output is not read, so that it waits in its pipes (or terminal) and the
 * container blocks on its writes: the back-pressure a lossless attach client puts on it. */
void monitor_stdio_hold(MonitorStdio *m, bool hold);
/* After the container's init died: reads what is still buffered, flushes partial lines, stops reading. */
void monitor_stdio_drain(MonitorStdio *m);
void monitor_stdio_done(MonitorStdio *m);
