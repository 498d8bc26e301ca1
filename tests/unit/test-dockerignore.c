/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "build/dockerignore.h"

static Dockerignore *parse_ok(const char *text)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Dockerignore *d = NULL;

        if (dockerignore_parse(text, strlen(text), &d, &e) < 0)
                g_error("parsing failed: %s\n%s", berth_error_message(&e), text);
        return d;
}

static void parse_fails(const char *text, const char *message)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Dockerignore *d = NULL;

        g_assert_cmpint(dockerignore_parse(text, strlen(text), &d, &e), ==, -EINVAL);
        g_assert_null(d);
        g_assert_cmpstr(berth_error_message(&e), ==, message);
}

/* Each of excluded, then each of included, against the patterns. */
static void check(const char *patterns, const char *const *excluded, const char *const *included)
{
        _cleanup_(dockerignore_freep) Dockerignore *d = parse_ok(patterns);

        for (const char *const *p = excluded; p && *p; p++)
                if (!dockerignore_excludes(d, *p))
                        g_error("patterns\n%s\nshould exclude %s", patterns, *p);
        for (const char *const *p = included; p && *p; p++)
                if (dockerignore_excludes(d, *p))
                        g_error("patterns\n%s\nshould not exclude %s", patterns, *p);
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_basics(void)
{
        check("", NULL, L("a", "Dockerfile"));
        check("# comment\n\n   \n", NULL, L("a", "# comment"));
        check("node_modules\n", L("node_modules", "node_modules/x/y.js"),
              L("src/node_modules", "node_modules2"));
        check("*.md\n", L("README.md", "a.md"), L("docs/README.md", "md"));
        check("*/*.md\n", L("docs/a.md", "docs/a.md/b"), L("a.md", "a/b/c.md"));
        check("temp?\n", L("temp1", "tempx/y"), L("temp", "temp12", "temp/"));
        check("/build\n", L("build", "build/out"), L("src/build"));
        check("./build/\n", L("build", "build/out"), L("src/build"));
        check("a//b/../c\n", L("a/c"), L("a/b/c", "a"));
        check("  spaced  \n", L("spaced"), L(" spaced"));
        check(" #notcomment\n", L("#notcomment"), NULL);
        check("\xEF\xBB\xBF"
              "bom\n",
              L("bom"), NULL);
        check("crlf\r\n", L("crlf"), NULL);
        /* Regular expression characters are literal. */
        check("a.b+(c)|{d}$\n", L("a.b+(c)|{d}$"), L("aXb+(c)|{d}$", "a.bb(c)|{d}$"));
        check("[a-c]x\n", L("ax", "cx"), L("dx", "x"));
        check("[^a]x\n", L("bx"), L("ax"));
        check("\\*\n", L("*"), L("a"));
        check("a\\d\n", L("ad"), L("a1"));
        /* Paths are cleaned first. */
        check("a/b\n", L("./a/b", "a//b/", "a/./b/c"), NULL);
}

static void test_double_star(void)
{
        check("**/*.go\n", L("a.go", "x/a.go", "x/y/a.go"), L("a.goo", "x/a.gox"));
        check("**\n", L("a", "x/y/z"), NULL);
        check("a/**\n", L("a/b", "a/b/c"), L("b/a"));
        check("a/**/b\n", L("a/b", "a/x/b", "a/x/y/b", "a/x/b/c"), L("a/xb", "b"));
        check("**/foo\n", L("foo", "a/foo", "a/b/foo/c"), L("xfoo", "a/xfoo"));
        check("a**\n", L("a", "abc", "a/b/c"), L("ba"));
        check("**.txt\n", L("a.txt", "d/b.txt", ".txt"), L("a.txt2", "txt"));
        check("**file\n", L("file", "myfile", "d/file"), L("file2"));
}

static void test_exceptions(void)
{
        check("*.md\n!README.md\n", L("a.md"), L("README.md"));
        /* The last match wins. */
        check("!README.md\n*.md\n", L("README.md", "a.md"), NULL);
        check("*.md\n!README*.md\nREADME-secret.md\n", L("a.md", "README-secret.md"),
              L("README.md", "README-x.md"));
        check("docs\n!docs/keep\n", L("docs", "docs/a", "docs/a/keep"), L("docs/keep", "docs/keep/x"));
        check("*\n!src\n", L("a", "Dockerfile"), L("src", "src/main.c"));
        check("! spaced\n", NULL, NULL);
}

static void test_can_skip_dir(void)
{
        _cleanup_(dockerignore_freep) Dockerignore *none = parse_ok("build\n");
        _cleanup_(dockerignore_freep) Dockerignore *keep = parse_ok("docs\n!docs/keep\nvendor\n!*/x/y\n");
        _cleanup_(dockerignore_freep) Dockerignore *star = parse_ok("*\n!**/*.c\n");
        _cleanup_(dockerignore_freep) Dockerignore *cls = parse_ok("a\n![ab]/x\n");

        g_assert_false(dockerignore_has_exceptions(none));
        g_assert_true(dockerignore_has_exceptions(keep));
        g_assert_false(dockerignore_has_exceptions(NULL));
        g_assert_false(dockerignore_excludes(NULL, "a"));
        g_assert_false(dockerignore_can_skip_dir(NULL, "a"));

        g_assert_true(dockerignore_can_skip_dir(none, "build"));
        g_assert_true(dockerignore_can_skip_dir(none, "build/sub"));
        g_assert_false(dockerignore_can_skip_dir(none, "src"));

        g_assert_false(dockerignore_can_skip_dir(keep, "docs")); /* docs/keep is re-included */
        g_assert_true(dockerignore_can_skip_dir(keep, "docs/other"));
        g_assert_false(
                dockerignore_can_skip_dir(keep, "vendor")); /* the last exception may match vendor/x/y */
        g_assert_true(dockerignore_can_skip_dir(keep, "vendor/z"));
        g_assert_false(dockerignore_can_skip_dir(keep, "vendor/x"));

        g_assert_false(dockerignore_can_skip_dir(star, "any"));
        g_assert_false(dockerignore_can_skip_dir(cls, "a"));
}

static void test_errors(void)
{
        parse_fails("a\n!\n", ".dockerignore:2: illegal exclusion pattern: \"!\"");
        parse_fails("a\n!   \n", ".dockerignore:2: illegal exclusion pattern: \"!\"");
        g_assert_cmpint(dockerignore_parse("[a\n", 3, &(Dockerignore *){ NULL }, NULL), ==, -EINVAL);
        g_assert_cmpint(dockerignore_parse("a\0b", 3, &(Dockerignore *){ NULL }, NULL), ==, -EINVAL);
}

static void test_glob(void)
{
        g_assert_true(path_glob_match("*.c", "a.c"));
        g_assert_false(path_glob_match("*.c", "src/a.c"));
        g_assert_true(path_glob_match("src/*.c", "src/a.c"));
        g_assert_false(path_glob_match("src/*.c", "src/x/a.c"));
        g_assert_true(path_glob_match("?.txt", "a.txt"));
        g_assert_false(path_glob_match("?.txt", "/.txt"));
        g_assert_true(path_glob_match("[a-c]*", "b1"));
        g_assert_true(path_glob_match("[^a-c]*", "d1"));
        g_assert_true(path_glob_match("\\*", "*"));
        g_assert_false(path_glob_match("\\*", "a"));
        g_assert_true(path_glob_match(".hidden*", ".hidden1"));
        g_assert_true(path_glob_match("*", ".hidden"));

        g_assert_true(path_has_wildcards("*.c"));
        g_assert_true(path_has_wildcards("a?"));
        g_assert_true(path_has_wildcards("[ab]"));
        g_assert_false(path_has_wildcards("plain/file.c"));
        g_assert_false(path_has_wildcards("\\*"));
        g_assert_false(path_has_wildcards("a\\"));
}

static void test_clean(void)
{
        static const char *const cases[][2] = {
                { "", "." },
                { ".", "." },
                { "a", "a" },
                { "a/", "a" },
                { "a//b", "a/b" },
                { "a/./b", "a/b" },
                { "a/b/..", "a" },
                { "a/b/../..", "." },
                { "..", ".." },
                { "../a", "../a" },
                { "../a/..", ".." },
                { "a/../..", ".." },
                { "../../a", "../../a" },
                { "/", "/" },
                { "/..", "/" },
                { "/../a", "/a" },
                { "//a//b//", "/a/b" },
                { "./a/./", "a" },
                { "abc/def/../ghi", "abc/ghi" },
                { "a/...", "a/..." },
                { "..a", "..a" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *c = path_clean(cases[i][0]);

                g_assert_cmpstr(c, ==, cases[i][1]);
        }
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/dockerignore/basics", test_basics);
        g_test_add_func("/dockerignore/double-star", test_double_star);
        g_test_add_func("/dockerignore/exceptions", test_exceptions);
        g_test_add_func("/dockerignore/can-skip-dir", test_can_skip_dir);
        g_test_add_func("/dockerignore/errors", test_errors);
        g_test_add_func("/dockerignore/glob", test_glob);
        g_test_add_func("/dockerignore/clean", test_clean);
        return g_test_run();
}
