/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "shared/json-build.h"
#include "shared/macro.h"

void json_build_strv(JsonBuilder *b, const char *key, char *const *l)
{
        json_builder_set_member_name(b, key);
        json_builder_begin_array(b);
        for (char *const *s = l; s && *s; s++)
                json_builder_add_string_value(b, *s);
        json_builder_end_array(b);
}

void json_build_string(JsonBuilder *b, const char *key, const char *value)
{
        json_builder_set_member_name(b, key);
        json_builder_add_string_value(b, strempty(value));
}

void json_build_int(JsonBuilder *b, const char *key, gint64 value)
{
        json_builder_set_member_name(b, key);
        json_builder_add_int_value(b, value);
}

void json_build_bool(JsonBuilder *b, const char *key, gboolean value)
{
        json_builder_set_member_name(b, key);
        json_builder_add_boolean_value(b, value);
}
