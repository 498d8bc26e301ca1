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

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

char *format_human_duration(char *buf, size_t len, uint64_t usec)
{
        uint64_t s = usec / USEC_PER_SEC, hours = (usec + 1800 * USEC_PER_SEC) / (3600 * USEC_PER_SEC);

        /* Docker's go-units HumanDuration, word for word. */
        if (s < 1)
                snprintf(buf, len, "Less than a second");
        else if (s == 1)
                snprintf(buf, len, "1 second");
        else if (s < 60)
                snprintf(buf, len, "%llu seconds", (unsigned long long) s);
        else if (s / 60 == 1)
                snprintf(buf, len, "About a minute");
        else if (s < 3600)
                snprintf(buf, len, "%llu minutes", (unsigned long long) (s / 60));
        else if (hours == 1)
                snprintf(buf, len, "About an hour");
        else if (hours < 48)
                snprintf(buf, len, "%llu hours", (unsigned long long) hours);
        else if (hours < 24 * 7 * 2)
                snprintf(buf, len, "%llu days", (unsigned long long) (hours / 24));
        else if (hours < 24 * 30 * 2)
                snprintf(buf, len, "%llu weeks", (unsigned long long) (hours / 24 / 7));
        else if (hours < 24 * 365 * 2)
                snprintf(buf, len, "%llu months", (unsigned long long) (hours / 24 / 30));
        else
                snprintf(buf, len, "%llu years", (unsigned long long) (s / 3600 / 24 / 365));
        return buf;
}

char *format_relative_time(char *buf, size_t len, uint64_t usec)
{
        char d[FORMAT_RELATIVE_MAX];
        uint64_t now = now_usec();

        if (usec == 0) {
                snprintf(buf, len, "N/A");
                return buf;
        }
        snprintf(buf, len, "%s ago", format_human_duration(d, sizeof(d), now > usec ? now - usec : 0));
        return buf;
}

char *format_container_status(char *buf, size_t len, const char *state, uint32_t exit_code,
                              uint64_t started_usec, uint64_t finished_usec, uint64_t now)
{
        char d[FORMAT_RELATIVE_MAX];

        if (now == 0)
                now = now_usec();
        if (streq(state, "running") || streq(state, "paused"))
                snprintf(buf, len, "Up %s%s",
                         format_human_duration(d, sizeof(d), now > started_usec ? now - started_usec : 0),
                         streq(state, "paused") ? " (Paused)" : "");
        else if (streq(state, "exited") && finished_usec > 0)
                snprintf(buf, len, "Exited (%u) %s ago", exit_code,
                         format_human_duration(d, sizeof(d), now > finished_usec ? now - finished_usec : 0));
        else if (streq(state, "exited"))
                snprintf(buf, len, "Exited (%u)", exit_code);
        else if (streq(state, "created"))
                snprintf(buf, len, "Created");
        else
                snprintf(buf, len, "%s", state);
        return buf;
}

char *format_command(char **argv, size_t max_chars)
{
        g_autofree char *joined = argv ? g_strjoinv(" ", argv) : g_strdup("");
        GString *s = g_string_new("\"");
        size_t n = 0;
        bool cut = max_chars > 0 && (size_t) g_utf8_strlen(joined, -1) > max_chars;

        /* Docker's ps: joined with spaces, cut to max_chars with "…", then Go's strconv.Quote. */
        for (const char *p = joined; *p; p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char(p);

                if (cut && n + 1 >= max_chars)
                        break;
                n++;
                if (c == '"' || c == '\\')
                        g_string_append_printf(s, "\\%c", (char) c);
                else if (c == '\n')
                        g_string_append(s, "\\n");
                else if (c == '\t')
                        g_string_append(s, "\\t");
                else if (c < 0x20 || c == 0x7f)
                        g_string_append_printf(s, "\\x%02x", (unsigned) c);
                else
                        g_string_append_unichar(s, c);
        }
        if (cut)
                g_string_append(s, "…");
        g_string_append_c(s, '"');
        return g_string_free(s, false);
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
                                printf("%s%*s", cell,
                                       (int) (width[c] - (size_t) g_utf8_strlen(cell, -1) + 3), "");
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
