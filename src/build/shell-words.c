/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "build/shell-words.h"

/* A recursive-descent walk over the word, the same shape as Docker's lex.go (processStopOn, processDollar,
 * processSingleQuote, processDoubleQuote), so that its corner cases come out the same. */

typedef struct Words {
        GPtrArray *words;
        GString *word;
        bool in_word;
} Words;

typedef struct Lexer {
        const char *p;
        char escape;
        ShellLookup lookup;
        void *userdata;
        BerthError *e;
        unsigned depth; /* of ${…} substitutions, which recurse */
} Lexer;

/* Deeper nesting is refused rather than allowed to exhaust berthd's stack. */
#define SUBSTITUTION_DEPTH_MAX 64U

/* c is one of set's characters (never NUL). */
static bool char_in(char c, const char *set)
{
        return c != 0 && strchr(set, c);
}

/* Go's unicode.IsSpace, for the ASCII range. */
static bool is_blank(char c)
{
        return char_in(c, " \t\n\v\f\r");
}

static void words_add_raw_char(Words *w, char c)
{
        g_string_append_c(w->word, c);
        w->in_word = true;
}

static void words_add_char(Words *w, char c)
{
        if (is_blank(c)) {
                if (w->in_word && w->word->len > 0) {
                        g_ptr_array_add(w->words, g_strdup(w->word->str));
                        g_string_truncate(w->word, 0);
                        w->in_word = false;
                }
                return;
        }
        words_add_raw_char(w, c);
}

static void words_add_string(Words *w, const char *s)
{
        for (; *s; s++)
                words_add_char(w, *s);
}

static void words_add_raw_string(Words *w, const char *s)
{
        g_string_append(w->word, s);
        w->in_word = true;
}

static const char *lexer_get(Lexer *l, const char *name)
{
        return l->lookup ? l->lookup(name, l->userdata) : NULL;
}

static int process_stop_on(Lexer *l, char stop, GString *result, Words *w);

static int process_single_quote(Lexer *l, GString *out)
{
        l->p++; /* the ' */
        for (;; l->p++) {
                if (*l->p == 0)
                        return berth_error_set(
                                l->e, -EINVAL,
                                "unexpected end of statement while looking for matching single-quote");
                if (*l->p == '\'') {
                        l->p++;
                        return 0;
                }
                g_string_append_c(out, *l->p);
        }
}

static int process_dollar(Lexer *l, GString *out);

static int process_double_quote(Lexer *l, GString *out)
{
        l->p++; /* the " */
        for (;;) {
                char c = *l->p;
                int r;

                if (c == 0)
                        return berth_error_set(
                                l->e, -EINVAL,
                                "unexpected end of statement while looking for matching double-quote");
                if (c == '"') {
                        l->p++;
                        return 0;
                }
                if (c == '$') {
                        r = process_dollar(l, out);
                        if (r < 0)
                                return r;
                        continue;
                }
                l->p++;
                if (c == l->escape) {
                        if (*l->p == 0)
                                continue; /* a lone escape at the end: dropped (the missing quote fails next)
                                           */
                        if (*l->p == '"' || *l->p == '$' || *l->p == l->escape)
                                c = *l->p++;
                }
                g_string_append_c(out, c);
        }
}

static bool is_special_param(char c)
{
        return char_in(c, "@*#?-$!0");
}

/* Docker's processName: a run of digits (a positional parameter), one special parameter, or
 * [A-Za-z0-9_]+. */
static char *process_name(Lexer *l)
{
        const char *start = l->p;

        if (g_ascii_isdigit(*l->p)) {
                while (g_ascii_isdigit(*l->p))
                        l->p++;
        } else if (is_special_param(*l->p))
                l->p++;
        else
                while (g_ascii_isalnum(*l->p) || *l->p == '_')
                        l->p++;
        return g_strndup(start, l->p - start);
}

static int process_dollar(Lexer *l, GString *out)
{
        g_autofree char *name = NULL;
        g_autoptr(GString) word = NULL;
        const char *value;
        bool null_is_unset = false;
        char c;
        int r;

        l->p++; /* the $ */
        if (*l->p != '{') {
                name = process_name(l);
                if (!*name) {
                        g_string_append_c(out, '$');
                        return 0;
                }
                g_string_append(out, lexer_get(l, name) ?: "");
                return 0;
        }

        l->p++; /* the { */
        if (*l->p == 0)
                return berth_error_set(l->e, -EINVAL, "syntax error: missing '}'");
        if (char_in(*l->p, "{}:"))
                return berth_error_set(l->e, -EINVAL, "syntax error: bad substitution");
        name = process_name(l);
        c = *l->p;
        if (c == 0)
                return berth_error_set(l->e, -EINVAL, "syntax error: missing '}'");
        l->p++;
        if (c == '}') {
                g_string_append(out, lexer_get(l, name) ?: "");
                return 0;
        }
        if (c == ':') {
                null_is_unset = true;
                c = *l->p;
                if (c == 0)
                        return berth_error_set(l->e, -EINVAL, "syntax error: missing '}'");
                l->p++;
        }
        if (!char_in(c, "-+?"))
                return berth_error_set(l->e, -EINVAL, "unsupported modifier (%s%c) in substitution",
                                       null_is_unset ? ":" : "", c);

        if (l->depth >= SUBSTITUTION_DEPTH_MAX)
                return berth_error_set(l->e, -EINVAL, "syntax error: substitutions nested deeper than %u",
                                       SUBSTITUTION_DEPTH_MAX);
        word = g_string_new(NULL);
        l->depth++;
        r = process_stop_on(l, '}', word, NULL);
        l->depth--;
        if (r < 0)
                return r;

        value = lexer_get(l, name);
        switch (c) {
        case '-':
                g_string_append(out, !value || (null_is_unset && !*value) ? word->str : value);
                return 0;
        case '+':
                g_string_append(out, !value || (null_is_unset && !*value) ? "" : word->str);
                return 0;
        default: /* '?' */
                if (!value)
                        return berth_error_set(l->e, -EINVAL, "%s: %s", name,
                                               word->len > 0 ? word->str : "is not allowed to be unset");
                if (null_is_unset && !*value)
                        return berth_error_set(l->e, -EINVAL, "%s: %s", name,
                                               word->len > 0 ? word->str : "is not allowed to be empty");
                g_string_append(out, value);
                return 0;
        }
}

/* Processes up to stop (consumed; 0: the end of the word) into result, and into w's words when w is
 * non-NULL. */
static int process_stop_on(Lexer *l, char stop, GString *result, Words *w)
{
        while (*l->p) {
                char c = *l->p;
                int r;

                if (stop != 0 && c == stop) {
                        l->p++;
                        return 0;
                }
                if (char_in(c, "'\"$")) {
                        g_autoptr(GString) part = g_string_new(NULL);

                        r = c == '\''  ? process_single_quote(l, part)
                            : c == '"' ? process_double_quote(l, part)
                                       : process_dollar(l, part);
                        if (r < 0)
                                return r;
                        g_string_append_len(result, part->str, part->len);
                        if (w) {
                                /* Expansions split at blanks, quoted text never does. */
                                if (c == '$')
                                        words_add_string(w, part->str);
                                else
                                        words_add_raw_string(w, part->str);
                        }
                        continue;
                }
                l->p++;
                if (c == l->escape) {
                        if (*l->p == 0)
                                break; /* a lone escape at the end: dropped */
                        c = *l->p++;
                        if (w)
                                words_add_raw_char(w, c);
                } else if (w)
                        words_add_char(w, c);
                g_string_append_c(result, c);
        }
        if (stop != 0) {
                if (stop == '}')
                        return berth_error_set(l->e, -EINVAL, "syntax error: missing '}'");
                return berth_error_set(l->e, -EINVAL,
                                       "unexpected end of statement while looking for matching %c", stop);
        }
        return 0;
}

static int expand(const char *word, char escape, ShellLookup lookup, void *userdata, char **ret_string,
                  char ***ret_words, BerthError *e)
{
        Lexer l = { .p = word, .escape = escape, .lookup = lookup, .userdata = userdata, .e = e };
        g_autoptr(GString) result = g_string_new(NULL);
        g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GString) current = g_string_new(NULL);
        Words w = { .words = words, .word = current };
        int r;

        if (!char_in(escape, "\\`"))
                return berth_error_set(e, -EINVAL, "invalid escape character '%c'", escape);
        r = process_stop_on(&l, 0, result, ret_words ? &w : NULL);
        if (r < 0)
                return r;
        if (ret_words) {
                if (w.word->len > 0)
                        g_ptr_array_add(words, g_strdup(w.word->str));
                g_ptr_array_add(words, NULL);
                *ret_words = (char **) g_ptr_array_free(TAKE_PTR(words), false);
        }
        if (ret_string)
                *ret_string = g_string_free(TAKE_PTR(result), false);
        return 0;
}

int shell_word_expand(const char *word, char escape, ShellLookup lookup, void *userdata, char **ret,
                      BerthError *e)
{
        return expand(word, escape, lookup, userdata, ret, NULL, e);
}

int shell_words_expand(const char *word, char escape, ShellLookup lookup, void *userdata, char ***ret,
                       BerthError *e)
{
        return expand(word, escape, lookup, userdata, NULL, ret, e);
}

static char **env_find(char **env, const char *name)
{
        size_t len = strlen(name);
        char **found = NULL;

        for (char **i = env; i && *i; i++)
                if (strncmp(*i, name, len) == 0 && (*i)[len] == '=')
                        found = i;
        return found;
}

const char *shell_lookup_envp(const char *name, void *envp)
{
        char **found = env_find(envp, name);

        return found ? *found + strlen(name) + 1 : NULL;
}

int shell_env_set(char ***envp, const char *name, const char *value)
{
        char **found = env_find(*envp, name);
        char *entry = g_strconcat(name, "=", value, NULL);
        size_t n;

        if (found) {
                g_free(*found);
                *found = entry;
                return 0;
        }
        n = *envp ? g_strv_length(*envp) : 0;
        *envp = g_renew(char *, *envp, n + 2);
        (*envp)[n] = entry;
        (*envp)[n + 1] = NULL;
        return 0;
}
