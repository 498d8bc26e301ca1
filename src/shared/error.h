/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "shared/macro.h"

/* berth's one way to report a failure (crun's libcrun_error_t): a negative errno, which callers branch on,
 * plus an owned message for the user, which says what failed and why. Functions that can fail return the
 * negative errno and, when given a non-NULL BerthError *, fill it in; the first failure recorded is kept, as
 * later ones are usually its consequences. The daemon maps the pair to a D-Bus error name in one place
 * (daemon/bus-errors.c). */
typedef struct BerthError {
        int error;     /* negative errno; 0 when nothing failed */
        char *message; /* owned; NULL when the errno says it all */
} BerthError;

#define BERTH_ERROR_INIT ((BerthError){})

/* Records error with a message (printf format) unless e is NULL or already holds a failure, and returns
 * error, so that code reads `return berth_error_set(e, -EINVAL, "...")`. */
int berth_error_set(BerthError *e, int error, const char *format, ...) _printf_(3, 4);
/* The same, with ": <strerror>" appended to the message. */
int berth_error_set_errno(BerthError *e, int error, const char *format, ...) _printf_(3, 4);
/* The message, or strerror() of the errno when there is none, or "" when nothing failed. */
const char *berth_error_message(const BerthError *e);
/* Moves src into dst (if dst holds nothing yet) and leaves src empty; returns the errno. */
int berth_error_move(BerthError *dst, BerthError *src);
void berth_error_done(BerthError *e);

static inline void berth_error_donep(BerthError *e)
{
        berth_error_done(e);
}
#define _cleanup_berth_error_ _cleanup_(berth_error_donep)
