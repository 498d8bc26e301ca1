/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "runtime/run-spec.h"

/* Container output to journald, the way Docker's journald log driver writes it: one entry per line, with
 * CONTAINER_NAME, CONTAINER_ID (12 hex), CONTAINER_ID_FULL, IMAGE_NAME, SYSLOG_IDENTIFIER and CONTAINER_TAG.
 * A line longer than JOURNAL_LINE_MAX, or a partial line that sits unterminated for JOURNAL_PARTIAL_USEC
 * (a prompt, a progress bar), is sent as it is with CONTAINER_PARTIAL_MESSAGE=true.
 * Failures to send are ignored: without journald the container keeps running, its output is lost. */
#define JOURNAL_LINE_MAX     ((size_t) 16U * 1024U)
#define JOURNAL_PARTIAL_USEC (100U * 1000U)

typedef struct JournalWriter JournalWriter;

typedef struct JournalStream {
        JournalWriter *writer;
        int priority;
        bool strip_cr; /* terminals end lines with \r\n */
        char buf[JOURNAL_LINE_MAX];
        size_t n;
        sd_event_source *flush_timer;
} JournalStream;

int journal_writer_new(const RunSpec *spec, sd_event *event, JournalWriter **ret);
JournalWriter *journal_writer_free(JournalWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(JournalWriter *, journal_writer_free);

void journal_stream_init(JournalStream *s, JournalWriter *w, int priority, bool strip_cr);
void journal_stream_feed(JournalStream *s, const char *data, size_t size);
/* Sends what is buffered as a partial line (at the end of the container). */
void journal_stream_flush(JournalStream *s);
void journal_stream_done(JournalStream *s);

/* The monitor-protocol.h final entry: MESSAGE_ID=BERTH_MESSAGE_CONTAINER_EXITED with EXIT_CODE/EXIT_SIGNAL.
 */
int journal_writer_send_exit(JournalWriter *w, int exit_code, int exit_signal);
