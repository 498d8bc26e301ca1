/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* Methods' options dictionaries (a{sv}). They are there so methods can grow without twins; a key this
 * version does not know is refused by name ("Unknown option 'x'.") rather than ignored, and a value of the
 * wrong type is refused naming the key and the type. */

/* Called with the message at an entry's variant: reads it with one of the bus_option_read_*() below and
 * returns >= 0, or returns bus_option_unknown(). */
typedef int (*BusOptionFunc)(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error);

/* Reads a whole a{sv}, calling func for each entry; with func NULL every key is unknown. */
int bus_read_options(sd_bus_message *m, BusOptionFunc func, void *userdata, sd_bus_error *error);

int bus_option_unknown(const char *key, sd_bus_error *error);

/* Enters the variant when it holds contents (e.g. "a(sv)"), for values the helpers below do not cover; the
 * caller reads the value and exits the variant. */
int bus_option_enter(sd_bus_message *m, const char *key, const char *contents, sd_bus_error *error);

/* A basic value: 'b' into an int, 'u' into a uint32_t, 's' into a const char * that lives as long as m. */
int bus_option_read_basic(sd_bus_message *m, const char *key, char type, void *ret, sd_bus_error *error);
int bus_option_read_bool(sd_bus_message *m, const char *key, bool *ret, sd_bus_error *error);
/* Replace *ret with a malloc'd copy of the string, or with a new string array (never NULL, g_strfreev). */
int bus_option_read_string(sd_bus_message *m, const char *key, char **ret, sd_bus_error *error);
int bus_option_read_strv(sd_bus_message *m, const char *key, char ***ret, sd_bus_error *error);
