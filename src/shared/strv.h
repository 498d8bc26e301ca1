/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "shared/macro.h"

/* NULL-terminated string lists in plain libc, for the code berth-monitor links (which has no GLib). The
 * layout is GLib's GStrv, so either side may free the other's. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Splits s at every sep, as g_strsplit(s, sep, -1): "" gives an empty list, "a,,b" gives "a", "", "b".
 * NULL on ENOMEM. */
char **strv_split(const char *s, char sep);
