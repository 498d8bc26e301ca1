/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Docker's human sizes: decimal units, three significant digits ("74.8MB", "4.27kB", "512B"). */
char *format_size(char *buf, size_t len, uint64_t bytes);
#define FORMAT_SIZE_MAX 16

/* "2 hours ago", "About a minute ago", "3 weeks ago"; "N/A" for 0. */
char *format_relative_time(char *buf, size_t len, uint64_t usec);
#define FORMAT_RELATIVE_MAX 32

/* Docker's HumanDuration: "Less than a second", "5 minutes", "About an hour", "3 days". */
char *format_human_duration(char *buf, size_t len, uint64_t usec);

/* Docker's STATUS column: "Up 5 minutes", "Exited (0) 2 minutes ago", "Created". now = 0: the clock. */
char *format_container_status(char *buf, size_t len, const char *state, uint32_t exit_code,
                              uint64_t started_usec, uint64_t finished_usec, uint64_t now);
#define FORMAT_STATUS_MAX 64

/* Docker's COMMAND column: joined with spaces, cut to max_chars (0: never) ending in "…", in Go quotes:
 * "\"sh -c 'echo hello w…\"". Returns a new string (g_free). */
char *format_command(char **argv, size_t max_chars);

/* RFC 3339 in UTC with nanoseconds as Docker prints ("2024-05-01T10:00:00.000000Z"). */
char *format_rfc3339(char *buf, size_t len, uint64_t usec);
#define FORMAT_RFC3339_MAX 40

/* The 12 hex digits docker shows for an id ("sha256:" dropped). */
const char *short_id(const char *id, char buf[static 13]);

/* Docker-style columns (its tabwriter: each column as wide as its widest cell, three spaces apart). */
typedef struct Table Table;
Table *table_new(const char *first_header, ...) __attribute__((sentinel));
void table_add_row(Table *t, const char *first_cell, ...) __attribute__((sentinel));
void table_print(Table *t);
Table *table_free(Table *t);
