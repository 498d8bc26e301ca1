/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <sys/uio.h>
#include <syslog.h>
/* Docker's entries carry no CODE_FILE/CODE_LINE/CODE_FUNC, and the monitor's source lines mean nothing to
 * someone reading a container's output. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "shared/berth-messages.h"
#include "shared/berth-unit.h"
#include "monitor/monitor-journal.h"
#include "shared/log.h"

enum {
        FIELD_NAME,
        FIELD_ID,
        FIELD_ID_FULL,
        FIELD_IMAGE,
        FIELD_IDENTIFIER,
        FIELD_TAG,
        FIELD_UNIT,
        _FIELD_MAX,
};

struct JournalWriter {
        sd_event *event;
        char *fields[_FIELD_MAX]; /* "KEY=value", built once */
        bool warned;
};

JournalWriter *journal_writer_free(JournalWriter *w)
{
        if (!w)
                return NULL;
        for (size_t i = 0; i < _FIELD_MAX; i++)
                free(w->fields[i]);
        sd_event_unref(w->event);
        return mfree(w);
}

int journal_writer_new(const RunSpec *spec, sd_event *event, JournalWriter **ret)
{
        _cleanup_(journal_writer_freep) JournalWriter *w = NULL;
        _cleanup_free_ char *unit = NULL;

        w = calloc(1, sizeof(JournalWriter));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        if (asprintf(&w->fields[FIELD_NAME], "CONTAINER_NAME=%s", spec->name) < 0 ||
            asprintf(&w->fields[FIELD_ID], "CONTAINER_ID=%.12s", spec->id) < 0 ||
            asprintf(&w->fields[FIELD_ID_FULL], "CONTAINER_ID_FULL=%s", spec->id) < 0 ||
            asprintf(&w->fields[FIELD_IMAGE], "IMAGE_NAME=%s", strempty(spec->image_name)) < 0 ||
            asprintf(&w->fields[FIELD_IDENTIFIER], "SYSLOG_IDENTIFIER=%s", spec->name) < 0 ||
            asprintf(&w->fields[FIELD_TAG], "CONTAINER_TAG=%s", spec->name) < 0 ||
            /* journald names a datagram's unit (_SYSTEMD_UNIT) from its sender's cgroup in /proc, read when
             * it processes it: a monitor that has exited by then (a short container, a busy journald) gets
             * none. This field, trusted from a root sender, is what `journalctl -u` matches then. */
            !(unit = berth_scope_name(spec->name)) ||
            asprintf(&w->fields[FIELD_UNIT], "OBJECT_SYSTEMD_UNIT=%s", unit) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(w);
        return 0;
}

static void send_entry(JournalWriter *w, const struct iovec *extra, size_t n_extra)
{
        struct iovec iov[_FIELD_MAX + 8];
        size_t n = 0;
        int r;

        for (size_t i = 0; i < n_extra && n < ELEMENTSOF(iov); i++)
                iov[n++] = extra[i];
        for (size_t i = 0; i < _FIELD_MAX && n < ELEMENTSOF(iov); i++)
                iov[n++] = (struct iovec){ .iov_base = w->fields[i], .iov_len = strlen(w->fields[i]) };

        r = sd_journal_sendv(iov, (int) n);
        if (r < 0 && !w->warned) {
                w->warned = true;
                log_warning_errno(r, "Cannot send container output to the journal, ignoring: %m");
        }
}

static void send_line(JournalStream *s, const char *line, size_t size, bool partial)
{
        static const char partial_field[] = "CONTAINER_PARTIAL_MESSAGE=true";
        char priority[] = "PRIORITY=N";
        _cleanup_free_ char *message = NULL;
        struct iovec extra[3];
        size_t n_extra = 0;

        if (s->strip_cr)
                while (size > 0 && line[size - 1] == '\r')
                        size--;
        message = malloc(strlen("MESSAGE=") + size);
        if (!message)
                return (void) log_oom();
        memcpy(message, "MESSAGE=", strlen("MESSAGE="));
        memcpy(message + strlen("MESSAGE="), line, size);
        priority[strlen("PRIORITY=")] = (char) ('0' + s->priority);

        extra[n_extra++] = (struct iovec){ .iov_base = message, .iov_len = strlen("MESSAGE=") + size };
        extra[n_extra++] = (struct iovec){ .iov_base = priority, .iov_len = strlen(priority) };
        if (partial)
                extra[n_extra++] = (struct iovec){ .iov_base = (char *) partial_field,
                                                   .iov_len = strlen(partial_field) };
        send_entry(s->writer, extra, n_extra);
}

void journal_stream_flush(JournalStream *s)
{
        s->flush_timer = sd_event_source_disable_unref(s->flush_timer);
        if (s->n == 0)
                return;
        send_line(s, s->buf, s->n, true);
        s->n = 0;
}

static int on_flush_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
        journal_stream_flush(userdata);
        return 0;
}

void journal_stream_init(JournalStream *s, JournalWriter *w, int priority, bool strip_cr)
{
        *s = (JournalStream){ .writer = w, .priority = priority, .strip_cr = strip_cr };
}

void journal_stream_feed(JournalStream *s, const char *data, size_t size)
{
        while (size > 0) {
                const char *nl = memchr(data, '\n', size);
                size_t take = nl ? (size_t) (nl - data) : size;

                /* Full buffer: what is there goes out as a partial message (Docker splits at 16 KiB too). */
                if (s->n + take > JOURNAL_LINE_MAX) {
                        size_t room = JOURNAL_LINE_MAX - s->n;
                        memcpy(s->buf + s->n, data, room);
                        s->n = JOURNAL_LINE_MAX;
                        journal_stream_flush(s);
                        data += room;
                        size -= room;
                        continue;
                }

                memcpy(s->buf + s->n, data, take);
                s->n += take;
                if (!nl)
                        break;
                send_line(s, s->buf, s->n, false);
                s->n = 0;
                s->flush_timer = sd_event_source_disable_unref(s->flush_timer);
                data += take + 1;
                size -= take + 1;
        }

        /* An unterminated tail waits a moment for the rest of its line, then goes out as it is. */
        if (s->n > 0 && !s->flush_timer)
                /* Accuracy 1 µs: sd-event's 0 means its 250 ms default. */
                (void) sd_event_add_time_relative(s->writer->event, &s->flush_timer, CLOCK_MONOTONIC,
                                                  JOURNAL_PARTIAL_USEC, 1, on_flush_timer, s);
}

void journal_stream_done(JournalStream *s)
{
        s->flush_timer = sd_event_source_disable_unref(s->flush_timer);
}

int journal_writer_send_exit(JournalWriter *w, int exit_code, int exit_signal)
{
        _cleanup_free_ char *message = NULL, *code = NULL, *sig = NULL;
        const char *name = w->fields[FIELD_NAME] + strlen("CONTAINER_NAME=");
        static const char id[] = "MESSAGE_ID=" BERTH_MESSAGE_CONTAINER_EXITED;
        char priority[] = "PRIORITY=6";

        if (asprintf(&message, "MESSAGE=Container %s exited with code %d", name, exit_code) < 0 ||
            asprintf(&code, "EXIT_CODE=%d", exit_code) < 0 ||
            asprintf(&sig, "EXIT_SIGNAL=%d", exit_signal) < 0)
                return -ENOMEM;

        struct iovec extra[] = {
                { .iov_base = message, .iov_len = strlen(message) },
                { .iov_base = (char *) id, .iov_len = strlen(id) },
                { .iov_base = code, .iov_len = strlen(code) },
                { .iov_base = sig, .iov_len = strlen(sig) },
                { .iov_base = priority, .iov_len = strlen(priority) },
        };
        send_entry(w, extra, ELEMENTSOF(extra));
        return 0;
}
