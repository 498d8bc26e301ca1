/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "shared/macro.h"

char *format_size(char *buf, size_t len, uint64_t bytes)
{
        static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
        double v = (double) bytes;
        size_t u = 0;

        while (v >= 1000.0 && u + 1 < ELEMENTSOF(units)) {
                v /= 1000.0;
                u++;
        }
        snprintf(buf, len, "%.3g%s", v, units[u]);
        return buf;
}

char *format_relative_time(char *buf, size_t len, uint64_t usec)
{
        struct timespec ts;
        uint64_t now, d;

        if (usec == 0) {
                snprintf(buf, len, "N/A");
                return buf;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        d = now > usec ? (now - usec) / USEC_PER_SEC : 0;

        /* Docker's go-units HumanDuration wording. */
        if (d < 1)
                snprintf(buf, len, "Less than a second ago");
        else if (d == 1)
                snprintf(buf, len, "1 second ago");
        else if (d < 60)
                snprintf(buf, len, "%llu seconds ago", (unsigned long long) d);
        else if (d / 60 == 1)
                snprintf(buf, len, "About a minute ago");
        else if (d < 3600)
                snprintf(buf, len, "%llu minutes ago", (unsigned long long) (d / 60));
        else if ((d + 1800) / 3600 == 1)
                snprintf(buf, len, "About an hour ago");
        else if (d < 48 * 3600)
                snprintf(buf, len, "%llu hours ago", (unsigned long long) ((d + 1800) / 3600));
        else if (d < 7 * 24 * 3600 * 2)
                snprintf(buf, len, "%llu days ago", (unsigned long long) (d / (24 * 3600)));
        else if (d < 30 * 24 * 3600 * 3)
                snprintf(buf, len, "%llu weeks ago", (unsigned long long) (d / (7 * 24 * 3600)));
        else if (d < 365 * 24 * 3600 * 2)
                snprintf(buf, len, "%llu months ago", (unsigned long long) (d / (30 * 24 * 3600)));
        else
                snprintf(buf, len, "%llu years ago", (unsigned long long) (d / (365 * 24 * 3600)));
        return buf;
}

char *format_rfc3339(char *buf, size_t len, uint64_t usec)
{
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        char base[32];

        gmtime_r(&t, &tm);
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, len, "%s.%06lluZ", base, (unsigned long long) (usec % USEC_PER_SEC));
        return buf;
}

const char *short_id(const char *id, char buf[static 13])
{
        const char *hex = startswith(id, "sha256:") ?: id;

        snprintf(buf, 13, "%s", hex);
        return buf;
}

struct Table {
        GPtrArray *rows; /* of GPtrArray of char* */
        size_t n_columns;
};

static GPtrArray *row_from_va(const char *first, va_list ap)
{
        GPtrArray *row = g_ptr_array_new_with_free_func(g_free);

        for (const char *c = first; c; c = va_arg(ap, const char *))
                g_ptr_array_add(row, g_strdup(c));
        return row;
}

Table *table_new(const char *first_header, ...)
{
        Table *t = g_new0(Table, 1);
        va_list ap;

        t->rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        va_start(ap, first_header);
        GPtrArray *header = row_from_va(first_header, ap);
        va_end(ap);
        t->n_columns = header->len;
        g_ptr_array_add(t->rows, header);
        return t;
}

void table_add_row(Table *t, const char *first_cell, ...)
{
        va_list ap;

        va_start(ap, first_cell);
        g_ptr_array_add(t->rows, row_from_va(first_cell, ap));
        va_end(ap);
}

void table_print(Table *t)
{
        g_autofree size_t *width = g_new0(size_t, t->n_columns);

        for (guint r = 0; r < t->rows->len; r++) {
                GPtrArray *row = t->rows->pdata[r];
                for (guint c = 0; c < row->len && c < t->n_columns; c++)
                        width[c] = MAX(width[c], (size_t) g_utf8_strlen(row->pdata[c], -1));
        }
        for (guint r = 0; r < t->rows->len; r++) {
                GPtrArray *row = t->rows->pdata[r];
                for (guint c = 0; c < row->len && c < t->n_columns; c++) {
                        const char *cell = row->pdata[c];
                        if (c + 1 == row->len)
                                printf("%s", cell);
                        else
                                printf("%s%*s", cell, (int) (width[c] - (size_t) g_utf8_strlen(cell, -1) + 3), "");
                }
                printf("\n");
        }
}

Table *table_free(Table *t)
{
        if (!t)
                return NULL;
        g_ptr_array_unref(t->rows);
        g_free(t);
        return NULL;
}
