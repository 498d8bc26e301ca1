/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/log.h"

static int max_level = LOG_INFO;
static bool prefix_priority = false;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_set_prefix_priority(bool b)
{
        prefix_priority = b;
}

void log_parse_environment(void)
{
        const char *e = getenv("BERTH_LOG_LEVEL") ?: getenv("SYSTEMD_LOG_LEVEL");

        if (e) {
                static const char *const names[] = { "emerg",   "alert",  "crit", "err",
                                                     "warning", "notice", "info", "debug" };
                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        if (streq(e, names[i]))
                                max_level = (int) i;
        }
        /* Under systemd stderr is a journal stream: let journald parse our priorities. */
        if (getenv("JOURNAL_STREAM"))
                prefix_priority = true;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...)
{
        int saved_errno = errno;
        char buf[2048];
        va_list ap;

        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;

        /* %m refers to the error passed in, not whatever errno happens to be. */
        errno = error;
        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (prefix_priority)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else if (max_level >= LOG_DEBUG)
                fprintf(stderr, "%s:%d %s: %s\n", file, line, func, buf);
        else
                fprintf(stderr, "%s\n", buf);

        errno = saved_errno;
        return -error;
}
