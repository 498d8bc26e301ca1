/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "monitor/monitor-journal.h"
#include "runtime/container-spawn.h"

/* The one place that holds the container's end of the terminal or pipes. Output read from the pty master or
 * the stdout/stderr pipes goes through dispatch_output() in monitor-stdio.c, which fans it out: to the journal
 * now, and to attach clients (spec->attach_socket) when attach arrives — they will get the raw bytes, \r and
 * all, and their input will go to monitor_stdio_write_input(). The stdin pipe's write end is held here even
 * with nobody attached, so that an interactive container does not see EOF on stdin. */
typedef enum OutputStream {
        OUTPUT_STDOUT, /* also the terminal */
        OUTPUT_STDERR,
        _OUTPUT_MAX,
} OutputStream;

typedef struct MonitorStdio {
        ContainerStdio io;
        sd_event_source *sources[_OUTPUT_MAX];
        JournalStream journal[_OUTPUT_MAX];
} MonitorStdio;

/* Takes over the fds in io (left at -EBADF) and starts reading them. */
int monitor_stdio_start(MonitorStdio *m, sd_event *event, ContainerStdio *io, JournalWriter *journal, bool tty);
/* After the container's init died: reads what is still buffered, flushes partial lines, stops reading. */
void monitor_stdio_drain(MonitorStdio *m);
/* Writes to the container's stdin (the pty master or the stdin pipe); for attach. */
int monitor_stdio_write_input(MonitorStdio *m, const void *data, size_t size);
void monitor_stdio_done(MonitorStdio *m);
