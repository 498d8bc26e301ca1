/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

/* Typed readers of an object's members, for every JSON document berth parses (manifests, configs, its own
 * records, registry answers). They check each member's type before asking json-glib for it: its getters only
 * g_return_if_fail() on a mismatch, and a hostile, hand-edited or torn document must read as an error, not
 * as GLib criticals and half-filled structs. Absent and null members are "not set": they return 0 with *ret
 * NULL, false or (for integers) untouched; a member of another type returns -EBADMSG. Callers say which
 * member failed in their own words. */
int json_read_string(JsonObject *o, const char *key, const char **ret);
/* The same, copied with strdup(); -ENOMEM if that fails. */
int json_read_string_dup(JsonObject *o, const char *key, char **ret);
int json_read_int64(JsonObject *o, const char *key, bool *ret_present, int64_t *ret);
int json_read_bool(JsonObject *o, const char *key, bool *ret);
int json_read_object(JsonObject *o, const char *key, JsonObject **ret);
int json_read_array(JsonObject *o, const char *key, JsonArray **ret);
/* An array of strings as a NULL-terminated strv of malloc()ed strings; -ENOMEM if allocating fails. */
int json_read_strv(JsonObject *o, const char *key, char ***ret);
/* The same, with an empty strv (not NULL) when the member is not set. */
int json_read_strv_or_empty(JsonObject *o, const char *key, char ***ret);
