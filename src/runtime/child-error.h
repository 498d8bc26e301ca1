/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <stdio.h>

#include "shared/error.h"
#include "shared/macro.h"

/* What the container child tells berth-monitor when it cannot exec: Docker's exit code (125 setup failed,
 * 126 cannot execute, 127 not found) and a message shaped like Docker's. It travels as one write on a
 * CLOEXEC pipe, so its size must stay below PIPE_BUF; EOF without a report means the exec succeeded. This
 * fixed-size record is the wire form only: the child's setup steps fill it in place, and the runtime's API
 * (container_spawn()) hands it on as a BerthError, through child_error_to_berth(). */
#define CHILD_EXIT_SETUP       125
#define CHILD_EXIT_CANNOT_EXEC 126
#define CHILD_EXIT_NOT_FOUND   127

typedef struct ChildError {
        int exit_code;
        int error; /* negative errno */
        char message[1024];
} ChildError;

_Static_assert(sizeof(ChildError) <= 4096, "a child report must fit in PIPE_BUF");

/* Records the first failure only (later ones are usually consequences) and returns error, so that setup
 * code reads `return child_fail(e, r, "...")`. The message gets ": <strerror>" appended when error < 0. */
static inline int child_fail(ChildError *e, int error, const char *format, ...) _printf_(3, 4);
static inline int child_fail(ChildError *e, int error, const char *format, ...)
{
        va_list ap;
        int n;

        if (e->exit_code != 0)
                return error;
        e->exit_code = CHILD_EXIT_SETUP;
        e->error = error;
        va_start(ap, format);
        n = vsnprintf(e->message, sizeof(e->message), format, ap);
        va_end(ap);
        if (error < 0 && n >= 0 && (size_t) n < sizeof(e->message))
                snprintf(e->message + n, sizeof(e->message) - (size_t) n, ": %s", strerror(-error));
        return error;
}

/* The record as berth's one failure object, for whoever reads it on the other end of the pipe; returns its
 * negative errno (-EIO if the child gave none). */
static inline int child_error_to_berth(const ChildError *ce, BerthError *err)
{
        return berth_error_set(err, ce->error < 0 ? ce->error : -EIO, "%s", ce->message);
}
