/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "build/shell-words.h"

static char *const test_env[] = {
        "HOME=/root", "EMPTY=", "SPACED=a  b", "PORTS=80 443", "X=old", "X=new", "Q=\"q\"", NULL,
};

static char *expand(const char *word, char escape)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        char *out = NULL;

        if (shell_word_expand(word, escape, shell_lookup_envp, (void *) test_env, &out, &e) < 0) {
                g_assert_null(out);
                return g_strdup_printf("ERROR: %s", berth_error_message(&e));
        }
        return out;
}

static void check(const char *word, const char *expected)
{
        g_autofree char *got = expand(word, '\\');

        g_assert_cmpstr(got, ==, expected);
}

static void check_words(const char *word, const char *expected)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_auto(GStrv) words = NULL;
        g_autofree char *joined = NULL;

        if (shell_words_expand(word, '\\', shell_lookup_envp, (void *) test_env, &words, &e) < 0)
                joined = g_strdup_printf("ERROR: %s", berth_error_message(&e));
        else
                joined = g_strjoinv("|", words);
        g_assert_cmpstr(joined, ==, expected);
}

static void test_plain(void)
{
        check("", "");
        check("hello", "hello");
        check("a  b", "a  b");
        check("/app/src", "/app/src");
}

static void test_variables(void)
{
        check("$HOME", "/root");
        check("${HOME}", "/root");
        check("$HOME/x", "/root/x");
        check("${HOME}x", "/rootx");
        check("$HOMEx", "");
        check("$UNSET", "");
        check("a$", "a$");
        check("$", "$");
        check("$/x", "$/x");
        check("$1", "");
        check("$12a", "a");
        check("$X", "new"); /* the last entry wins */
        check("$$", "");
        check("${EMPTY}", "");
        check("$Q", "\"q\""); /* values are not lexed again */
}

static void test_modifiers(void)
{
        check("${UNSET:-def}", "def");
        check("${EMPTY:-def}", "def");
        check("${HOME:-def}", "/root");
        check("${UNSET-def}", "def");
        check("${EMPTY-def}", "");
        check("${HOME:+alt}", "alt");
        check("${EMPTY:+alt}", "");
        check("${EMPTY+alt}", "alt");
        check("${UNSET:+alt}", "");
        check("${UNSET+alt}", "");
        check("${UNSET:-$HOME/x}", "/root/x");
        check("${UNSET:-\"a b\"}", "a b");
        check("${UNSET:-'$HOME'}", "$HOME");
        check("${UNSET:-${HOME:-x}}", "/root");
        check("${HOME:?must be set}", "/root");
        check("${UNSET:?must be set}", "ERROR: UNSET: must be set");
        check("${UNSET:?}", "ERROR: UNSET: is not allowed to be unset");
        check("${EMPTY:?}", "ERROR: EMPTY: is not allowed to be empty");
        check("${EMPTY?}", "");
        /* A '}' outside a substitution, or a '{' inside its word, is an ordinary character. */
        check("${HOME}}", "/root}");
        check("${UNSET:-{x}", "{x");
        check("${UNSET:-a\\}b}", "a}b");
        check("${UNSET?}", "ERROR: UNSET: is not allowed to be unset");
}

static void test_quotes_and_escapes(void)
{
        check("'$HOME'", "$HOME");
        check("\"$HOME\"", "/root");
        check("\"a  b\"", "a  b");
        check("'a\\b'", "a\\b");
        check("\\$HOME", "$HOME");
        check("\\a", "a");
        check("a\\", "a");
        check("\"\\$HOME\"", "$HOME");
        check("\"\\\"\"", "\"");
        check("\"\\a\"", "\\a");
        check("\"\\\\\"", "\\");
        check("\\\\$HOME", "\\/root");
        check("x$.y", "x$.y");
        check("it's'", "its");
        check("\"it's\"", "it's");
        check("a\"b c\"d", "ab cd");
}

static void test_backtick_escape(void)
{
        g_autofree char *a = expand("`$HOME", '`');
        g_autofree char *b = expand("C:\\Users\\$HOME", '`');
        g_autofree char *c = expand("\"``\"", '`');

        g_assert_cmpstr(a, ==, "$HOME");
        g_assert_cmpstr(b, ==, "C:\\Users\\/root");
        g_assert_cmpstr(c, ==, "`");
}

static void test_errors(void)
{
        check("'abc", "ERROR: unexpected end of statement while looking for matching single-quote");
        check("\"abc", "ERROR: unexpected end of statement while looking for matching double-quote");
        check("${HOME", "ERROR: syntax error: missing '}'");
        check("${", "ERROR: syntax error: missing '}'");
        check("${}", "ERROR: syntax error: bad substitution");
        check("${:-x}", "ERROR: syntax error: bad substitution");
        check("${HOME:-x", "ERROR: syntax error: missing '}'");
        check("${HOME:", "ERROR: syntax error: missing '}'");
        check("${HOME#x}", "ERROR: unsupported modifier (#) in substitution");
        check("${HOME:x}", "ERROR: unsupported modifier (:x) in substitution");
        check("${HOME/a/b}", "ERROR: unsupported modifier (/) in substitution");
}

static void test_deep_nesting(void)
{
        g_autoptr(GString) ok = g_string_new(NULL), deep = g_string_new(NULL);
        g_autofree char *out = NULL, *err = NULL;

        for (unsigned i = 0; i < 64; i++)
                g_string_append(ok, "${U:-");
        g_string_append(ok, "x");
        for (unsigned i = 0; i < 64; i++)
                g_string_append_c(ok, '}');
        out = expand(ok->str, '\\');
        g_assert_cmpstr(out, ==, "x");

        for (unsigned i = 0; i < 100000; i++)
                g_string_append(deep, "${U:-");
        err = expand(deep->str, '\\');
        g_assert_cmpstr(err, ==, "ERROR: syntax error: substitutions nested deeper than 64");
}

static void test_words(void)
{
        check_words("a b  c", "a|b|c");
        check_words("$PORTS", "80|443");
        check_words("\"$PORTS\"", "80 443");
        check_words("'a b' c", "a b|c");
        check_words("x$SPACED", "xa|b");
        check_words("''", "");
        check_words("", "");
        check_words("a\\ b", "a b");
        check_words("'a", "ERROR: unexpected end of statement while looking for matching single-quote");
}

static void test_no_lookup(void)
{
        g_autofree char *out = NULL;

        g_assert_cmpint(shell_word_expand("${A:-x}$B", '\\', NULL, NULL, &out, NULL), ==, 0);
        g_assert_cmpstr(out, ==, "x");
}

/* ENV a=1 b=$a: every pair of one instruction is expanded with the environment from before it. */
static void test_env_one_instruction(void)
{
        g_auto(GStrv) env = g_strdupv((char *[]){ "a=0", NULL });
        const char *pairs[] = { "a", "1", "b", "$a" };
        g_auto(GStrv) before = g_strdupv(env);

        for (size_t i = 0; i < G_N_ELEMENTS(pairs); i += 2) {
                g_autofree char *k = NULL, *v = NULL;

                g_assert_cmpint(shell_word_expand(pairs[i], '\\', shell_lookup_envp, before, &k, NULL), ==,
                                0);
                g_assert_cmpint(shell_word_expand(pairs[i + 1], '\\', shell_lookup_envp, before, &v, NULL),
                                ==, 0);
                g_assert_cmpint(shell_env_set(&env, k, v), ==, 0);
        }
        g_assert_cmpstr(shell_lookup_envp("a", env), ==, "1");
        g_assert_cmpstr(shell_lookup_envp("b", env), ==, "0");
        g_assert_cmpuint(g_strv_length(env), ==, 2);
}

static void test_env_set(void)
{
        g_auto(GStrv) env = NULL;

        g_assert_cmpint(shell_env_set(&env, "PATH", "/bin"), ==, 0);
        g_assert_cmpint(shell_env_set(&env, "A", "1"), ==, 0);
        g_assert_cmpint(shell_env_set(&env, "PATH", "/usr/bin:/bin"), ==, 0);
        g_assert_cmpuint(g_strv_length(env), ==, 2);
        g_assert_cmpstr(env[0], ==, "PATH=/usr/bin:/bin");
        g_assert_cmpstr(shell_lookup_envp("PATH", env), ==, "/usr/bin:/bin");
        g_assert_null(shell_lookup_envp("PAT", env));
        g_assert_null(shell_lookup_envp("X", NULL));
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/shell-words/plain", test_plain);
        g_test_add_func("/shell-words/variables", test_variables);
        g_test_add_func("/shell-words/modifiers", test_modifiers);
        g_test_add_func("/shell-words/quotes-and-escapes", test_quotes_and_escapes);
        g_test_add_func("/shell-words/backtick-escape", test_backtick_escape);
        g_test_add_func("/shell-words/errors", test_errors);
        g_test_add_func("/shell-words/deep-nesting", test_deep_nesting);
        g_test_add_func("/shell-words/words", test_words);
        g_test_add_func("/shell-words/no-lookup", test_no_lookup);
        g_test_add_func("/shell-words/env-one-instruction", test_env_one_instruction);
        g_test_add_func("/shell-words/env-set", test_env_set);
        return g_test_run();
}
