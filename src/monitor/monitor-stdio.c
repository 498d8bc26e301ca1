/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <syslog.h>

#include "monitor/monitor-attach.h"
#include "monitor/monitor-stdio.h"
#include "shared/log.h"

#define READ_SIZE ((size_t) 64U * 1024U)

static void dispatch_output(MonitorStdio *m, OutputStream stream, const char *data, size_t size)
{
        journal_stream_feed(&m->journal[stream], data, size);
        monitor_attach_output(m->attach, stream, data, size);
}

static int output_fd(MonitorStdio *m, OutputStream stream)
{
        if (m->io.pty_master >= 0)
                return stream == OUTPUT_STDOUT ? m->io.pty_master : -EBADF;
        return stream == OUTPUT_STDOUT ? m->io.stdout_fd : m->io.stderr_fd;
}

static void stop_stream(MonitorStdio *m, OutputStream stream)
{
        m->sources[stream] = sd_event_source_disable_unref(m->sources[stream]);
        journal_stream_flush(&m->journal[stream]);
}

/* Reads until the fd would block (or forever false: at most one buffer when !all). Returns 0 while the
 * stream is open, 1 at its end: EOF on a pipe, EIO on a pty master once no slave is open any more. */
static int read_stream(MonitorStdio *m, OutputStream stream, bool all)
{
        char buf[READ_SIZE];
        int fd = output_fd(m, stream);

        if (fd < 0)
                return 1;
        do {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        if (errno != EIO)
                                log_warning_errno(errno, "Cannot read container output, ignoring: %m");
                        return 1;
                }
                if (n == 0)
                        return 1;
                dispatch_output(m, stream, buf, (size_t) n);
        } while (all);
        return 0;
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        MonitorStdio *m = userdata;
        OutputStream stream = s == m->sources[OUTPUT_STDOUT] ? OUTPUT_STDOUT : OUTPUT_STDERR;

        /* One buffer per wakeup keeps stdout and stderr interleaved roughly as written. */
        if (read_stream(m, stream, false) > 0)
                stop_stream(m, stream);
        return 0;
}

int monitor_stdio_start(MonitorStdio *m, sd_event *event, ContainerStdio *io, JournalWriter *journal,
                        bool tty)
{
        int r;

        *m = (MonitorStdio){ .io = *io };
        *io = (ContainerStdio) CONTAINER_STDIO_INIT;

        journal_stream_init(&m->journal[OUTPUT_STDOUT], journal, LOG_INFO, tty);
        journal_stream_init(&m->journal[OUTPUT_STDERR], journal, LOG_ERR, false);

        for (OutputStream i = 0; i < _OUTPUT_MAX; i++) {
                int fd = output_fd(m, i);
                if (fd < 0)
                        continue;
                if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
                        return negative_errno();
                r = sd_event_add_io(event, &m->sources[i], fd, EPOLLIN, on_output, m);
                if (r < 0)
                        return r;
        }
        return 0;
}

void monitor_stdio_hold(MonitorStdio *m, bool hold)
{
        for (OutputStream i = 0; i < _OUTPUT_MAX; i++)
                if (m->sources[i])
                        (void) sd_event_source_set_enabled(m->sources[i], hold ? SD_EVENT_OFF : SD_EVENT_ON);
}

void monitor_stdio_drain(MonitorStdio *m)
{
        for (OutputStream i = 0; i < _OUTPUT_MAX; i++) {
                if (m->sources[i])
                        (void) read_stream(m, i, true);
                stop_stream(m, i);
        }
}

void monitor_stdio_done(MonitorStdio *m)
{
        for (OutputStream i = 0; i < _OUTPUT_MAX; i++) {
                m->sources[i] = sd_event_source_disable_unref(m->sources[i]);
                journal_stream_done(&m->journal[i]);
        }
        container_stdio_close(&m->io);
}
