/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared bits of the libFuzzer targets (run them with tools/fuzz.sh). Every target checks its own invariants
 * with assert()-like aborts, so a broken round trip is a crash the fuzzer keeps. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "shared/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Not assert(): it must stay on in every build type. */
#define fuzz_check(expr)                                                                                    \
        do {                                                                                                \
                if (!(expr)) {                                                                              \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);            \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

/* A GLib critical is json-glib telling us it was handed the wrong node type (g_return_if_fail): the parser
 * trusted the document's shape. That is a bug the fuzzer must keep, so abort() (which libFuzzer records as
 * a crash; G_DEBUG=fatal-criticals would raise SIGTRAP, which it does not catch). */
static inline void fuzz_glib_log(const char *domain, GLogLevelFlags level, const char *message,
                                 void *userdata)
{
        fprintf(stderr, "%s: %s\n", domain ?: "glib", message);
        if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
                abort();
}

/* Quiet by default: debug logging at a million execs a minute drowns the fuzzer's output.
 * BERTH_LOG_LEVEL=debug turns it on for reproducing a case. */
static inline void fuzz_setup_logging(void)
{
        log_set_max_level(LOG_CRIT);
        log_parse_environment();
        (void) g_log_set_default_handler(fuzz_glib_log, NULL);
}

/* The input as a C string (NUL-terminated copy; an embedded NUL ends it early, as it would for the real
 * caller). Aborts on OOM, which the fuzzer's -rss_limit_mb reports better anyway. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}
