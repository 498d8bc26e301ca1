/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

/* Members for a JsonBuilder inside an object: "key": [..] with NULL as an empty array, and "key": "value"
 * with NULL as "". (oci/config.c omits absent members instead, as image configs do, and keeps its own.) */
void json_build_strv(JsonBuilder *b, const char *key, char *const *l);
void json_build_string(JsonBuilder *b, const char *key, const char *value);
void json_build_int(JsonBuilder *b, const char *key, gint64 value);
void json_build_bool(JsonBuilder *b, const char *key, gboolean value);
