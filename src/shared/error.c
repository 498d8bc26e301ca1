/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "shared/error.h"

static int error_setv(BerthError *e, int error, bool with_errno, const char *format, va_list ap)
{
        char *message = NULL, *full = NULL;

        if (!e || e->error != 0)
                return error;
        e->error = error < 0 ? error : -EIO;
        if (vasprintf(&message, format, ap) < 0)
                return error; /* the errno alone, then */
        if (with_errno && error < 0 && asprintf(&full, "%s: %s", message, strerror(-error)) >= 0) {
                free(message);
                message = full;
        }
        e->message = message;
        return error;
}

int berth_error_set(BerthError *e, int error, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = error_setv(e, error, false, format, ap);
        va_end(ap);
        return r;
}

int berth_error_set_errno(BerthError *e, int error, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = error_setv(e, error, true, format, ap);
        va_end(ap);
        return r;
}

const char *berth_error_message(const BerthError *e)
{
        if (!e || e->error == 0)
                return "";
        return e->message ?: strerror(-e->error);
}

int berth_error_move(BerthError *dst, BerthError *src)
{
        int error = src->error;

        if (dst && dst->error == 0) {
                *dst = *src;
                *src = BERTH_ERROR_INIT;
        } else
                berth_error_done(src);
        return error;
}

void berth_error_done(BerthError *e)
{
        if (!e)
                return;
        e->message = mfree(e->message);
        e->error = 0;
}
