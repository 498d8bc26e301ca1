/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <json-glib/json-glib.h>

#include "shared/json-read.h"

static JsonObject *parse(JsonParser *p, const char *text)
{
        JsonNode *root;

        g_assert_true(json_parser_load_from_data(p, text, -1, NULL));
        root = json_parser_get_root(p);
        g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
        return json_node_get_object(root);
}

static void test_string(void)
{
        g_autoptr(JsonParser) p = json_parser_new();
        JsonObject *o = parse(p, "{\"s\": \"v\", \"n\": null, \"i\": 1, \"o\": {}, \"a\": [\"x\"]}");
        const char *s = "unset";
        char *copy = NULL;

        g_assert_cmpint(json_read_string(o, "s", &s), ==, 0);
        g_assert_cmpstr(s, ==, "v");
        g_assert_cmpint(json_read_string(o, "n", &s), ==, 0);
        g_assert_null(s);
        g_assert_cmpint(json_read_string(o, "absent", &s), ==, 0);
        g_assert_null(s);
        g_assert_cmpint(json_read_string(o, "i", &s), ==, -EBADMSG);
        g_assert_cmpint(json_read_string(o, "o", &s), ==, -EBADMSG);
        g_assert_cmpint(json_read_string(o, "a", &s), ==, -EBADMSG);

        g_assert_cmpint(json_read_string_dup(o, "s", &copy), ==, 0);
        g_assert_cmpstr(copy, ==, "v");
        free(copy);
        g_assert_cmpint(json_read_string_dup(o, "absent", &copy), ==, 0);
        g_assert_null(copy);
        g_assert_cmpint(json_read_string_dup(o, "i", &copy), ==, -EBADMSG);
}

static void test_int64_and_bool(void)
{
        g_autoptr(JsonParser) p = json_parser_new();
        JsonObject *o = parse(p, "{\"i\": -7, \"n\": null, \"s\": \"1\", \"d\": 1.5, \"b\": true}");
        bool present = true, b = true;
        int64_t v = 42;

        g_assert_cmpint(json_read_int64(o, "i", &present, &v), ==, 0);
        g_assert_true(present);
        g_assert_cmpint(v, ==, -7);
        /* Not set: *ret untouched, so callers keep their default. */
        v = 42;
        g_assert_cmpint(json_read_int64(o, "n", &present, &v), ==, 0);
        g_assert_false(present);
        g_assert_cmpint(v, ==, 42);
        g_assert_cmpint(json_read_int64(o, "absent", NULL, &v), ==, 0);
        g_assert_cmpint(v, ==, 42);
        g_assert_cmpint(json_read_int64(o, "s", NULL, &v), ==, -EBADMSG);
        g_assert_cmpint(json_read_int64(o, "d", NULL, &v), ==, -EBADMSG);
        g_assert_cmpint(json_read_int64(o, "b", NULL, &v), ==, -EBADMSG);

        g_assert_cmpint(json_read_bool(o, "b", &b), ==, 0);
        g_assert_true(b);
        g_assert_cmpint(json_read_bool(o, "absent", &b), ==, 0);
        g_assert_false(b);
        g_assert_cmpint(json_read_bool(o, "i", &b), ==, -EBADMSG);
}

static void test_object_array_strv(void)
{
        g_autoptr(JsonParser) p = json_parser_new();
        JsonObject *o = parse(
                p, "{\"o\": {\"k\": 1}, \"a\": [\"x\", \"y\"], \"e\": [], \"m\": [\"x\", 1], \"s\": \"x\"}");
        JsonObject *sub = NULL;
        JsonArray *a = NULL;
        char **l = NULL;

        g_assert_cmpint(json_read_object(o, "o", &sub), ==, 0);
        g_assert_nonnull(sub);
        g_assert_true(json_object_has_member(sub, "k"));
        g_assert_cmpint(json_read_object(o, "absent", &sub), ==, 0);
        g_assert_null(sub);
        g_assert_cmpint(json_read_object(o, "a", &sub), ==, -EBADMSG);

        g_assert_cmpint(json_read_array(o, "a", &a), ==, 0);
        g_assert_cmpuint(json_array_get_length(a), ==, 2);
        g_assert_cmpint(json_read_array(o, "absent", &a), ==, 0);
        g_assert_null(a);
        g_assert_cmpint(json_read_array(o, "o", &a), ==, -EBADMSG);

        g_assert_cmpint(json_read_strv(o, "a", &l), ==, 0);
        g_assert_cmpuint(g_strv_length(l), ==, 2);
        g_assert_cmpstr(l[0], ==, "x");
        g_assert_cmpstr(l[1], ==, "y");
        g_strfreev(l);
        g_assert_cmpint(json_read_strv(o, "e", &l), ==, 0);
        g_assert_nonnull(l);
        g_assert_null(l[0]);
        g_strfreev(l);
        g_assert_cmpint(json_read_strv(o, "absent", &l), ==, 0);
        g_assert_null(l);
        g_assert_cmpint(json_read_strv(o, "m", &l), ==, -EBADMSG);
        g_assert_cmpint(json_read_strv(o, "s", &l), ==, -EBADMSG);

        g_assert_cmpint(json_read_strv_or_empty(o, "absent", &l), ==, 0);
        g_assert_nonnull(l);
        g_assert_null(l[0]);
        g_strfreev(l);
        g_assert_cmpint(json_read_strv_or_empty(o, "a", &l), ==, 0);
        g_assert_cmpuint(g_strv_length(l), ==, 2);
        g_strfreev(l);
        g_assert_cmpint(json_read_strv_or_empty(o, "m", &l), ==, -EBADMSG);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/json-read/string", test_string);
        g_test_add_func("/json-read/int64-and-bool", test_int64_and_bool);
        g_test_add_func("/json-read/object-array-strv", test_object_array_strv);
        return g_test_run();
}
