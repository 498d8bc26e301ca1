/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fnmatch.h>
#include <glib.h>

#include "build/dockerignore.h"

/* Each pattern becomes a regular expression the way Docker's patternmatcher builds one: a star becomes
 * [^/]*, a question mark [^/], a double star (.*[/])? or .* at the end, classes are passed on; GRegex
 * (PCRE) compiles it. */

typedef struct Pattern {
        char *text; /* cleaned, without the '!' */
        bool exception;
        GRegex *utf8; /* for paths that are valid UTF-8: '?' is one character */
        GRegex *raw;  /* for the others: '?' is one byte */
} Pattern;

struct Dockerignore {
        Pattern *patterns;
        size_t n_patterns;
        bool has_exceptions;
};

char *path_clean(const char *path)
{
        /* Go's path.Clean: the lexical rules, applied left to right over a copy that only shrinks. */
        bool rooted = path[0] == '/';
        size_t n = strlen(path), r = 0, dotdot = 0;
        g_autoptr(GString) out = g_string_new(NULL);

        if (n == 0)
                return g_strdup(".");
        if (rooted) {
                g_string_append_c(out, '/');
                r = dotdot = 1;
        }
        while (r < n) {
                if (path[r] == '/')
                        r++;
                else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))
                        r++;
                else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
                        r += 2;
                        if (out->len > dotdot) {
                                /* back up to the previous '/' */
                                size_t w = out->len - 1;

                                while (w > dotdot && out->str[w] != '/')
                                        w--;
                                g_string_truncate(out, w);
                        } else if (!rooted) {
                                if (out->len > 0)
                                        g_string_append_c(out, '/');
                                g_string_append(out, "..");
                                dotdot = out->len;
                        }
                } else {
                        if ((rooted && out->len != 1) || (!rooted && out->len != 0))
                                g_string_append_c(out, '/');
                        for (; r < n && path[r] != '/'; r++)
                                g_string_append_c(out, path[r]);
                }
        }
        if (out->len == 0)
                g_string_append_c(out, '.');
        return g_string_free(TAKE_PTR(out), false);
}

/* Docker's Pattern.compile, for '/' separators. */
static char *pattern_to_regex(const char *pattern)
{
        g_autoptr(GString) re = g_string_new("^");

        /* Docker matches a pattern that starts with a double star and has no other wildcard by its suffix:
         * the double star and a slash also stand for nothing ("foo" for "any dir's foo"), but a double
         * star directly followed by text only for any prefix ("x.txt" and "a/x.txt" for "**.txt"). */
        if (startswith(pattern, "**") && pattern[2] != '/' && pattern[2] &&
            !strpbrk(pattern + 2, "*?[]\\")) {
                g_string_append(re, ".*");
                pattern += 2;
        }

        for (const char *p = pattern; *p; p++) {
                if (p[0] == '*' && p[1] == '*') {
                        p++;
                        if (p[1] == '/')
                                p++; /* "**" + "/" is "**" */
                        if (p[1] == 0)
                                g_string_append(re, ".*");
                        else
                                g_string_append(re, "(.*/)?");
                } else if (*p == '*')
                        g_string_append(re, "[^/]*");
                else if (*p == '?')
                        g_string_append(re, "[^/]");
                else if (strchr(".+()|{}$", *p))
                        g_string_append_printf(re, "\\%c", *p);
                else if (*p == '\\') {
                        /* The next character literally (letters and digits need no escape, and must not get
                         * one: "\d" is a class in a regex); a '\\' at the end is itself. */
                        if (p[1] == 0)
                                g_string_append(re, "\\\\");
                        else if (g_ascii_isalnum(p[1]) || (unsigned char) p[1] >= 0x80)
                                g_string_append_c(re, *++p);
                        else
                                g_string_append_printf(re, "\\%c", *++p);
                } else
                        g_string_append_c(re, *p);
        }
        g_string_append_c(re, '$');
        return g_string_free(TAKE_PTR(re), false);
}

static int pattern_init(Pattern *pat, const char *text, bool exception, BerthError *e)
{
        g_autofree char *re = pattern_to_regex(text);
        g_autoptr(GError) error = NULL;

        pat->text = g_strdup(text);
        pat->exception = exception;
        pat->raw = g_regex_new(re, G_REGEX_RAW | G_REGEX_DOLLAR_ENDONLY | G_REGEX_DOTALL, 0, &error);
        if (!pat->raw)
                return berth_error_set(e, -EINVAL, "bad pattern \"%s\": %s", text, error->message);
        if (g_utf8_validate(text, -1, NULL))
                pat->utf8 = g_regex_new(re, G_REGEX_DOLLAR_ENDONLY | G_REGEX_DOTALL, 0, NULL);
        return 0;
}

static bool pattern_match(const Pattern *pat, const char *path)
{
        if (pat->utf8 && g_utf8_validate(path, -1, NULL))
                return g_regex_match(pat->utf8, path, 0, NULL);
        return g_regex_match(pat->raw, path, 0, NULL);
}

Dockerignore *dockerignore_free(Dockerignore *d)
{
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_patterns; i++) {
                free(d->patterns[i].text);
                if (d->patterns[i].utf8)
                        g_regex_unref(d->patterns[i].utf8);
                if (d->patterns[i].raw)
                        g_regex_unref(d->patterns[i].raw);
        }
        free(d->patterns);
        free(d);
        return NULL;
}

int dockerignore_parse(const char *text, size_t size, Dockerignore **ret, BerthError *e)
{
        _cleanup_(dockerignore_freep) Dockerignore *d = g_new0(Dockerignore, 1);
        _cleanup_berth_error_ BerthError error = BERTH_ERROR_INIT;
        unsigned number = 0;
        size_t pos = 0, allocated = 0;

        while (pos < size) {
                const char *line = text + pos, *nl = memchr(line, '\n', size - pos);
                size_t len = nl ? (size_t) (nl - line) : size - pos;
                g_autofree char *pattern = NULL, *cleaned = NULL;
                bool exception;
                int r;

                pos += len + (nl ? 1 : 0);
                if (number++ == 0 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
                        line += 3;
                        len -= 3;
                }
                if (memchr(line, 0, len))
                        return berth_error_set(e, -EINVAL, ".dockerignore:%u: NUL character in the file",
                                               number);
                if (len > 0 && line[0] == '#')
                        continue;
                pattern = g_strstrip(g_strndup(line, len));
                if (!*pattern)
                        continue;
                exception = pattern[0] == '!';
                if (exception) {
                        char *rest = g_strdup(pattern + 1);

                        g_free(pattern);
                        pattern = g_strstrip(rest);
                        if (!*pattern)
                                return berth_error_set(e, -EINVAL,
                                                       ".dockerignore:%u: illegal exclusion pattern: \"!\"",
                                                       number);
                }
                cleaned = path_clean(pattern);
                if (cleaned[0] == '/' && cleaned[1] != 0)
                        memmove(cleaned, cleaned + 1, strlen(cleaned));

                if (d->n_patterns == allocated) {
                        allocated = MAX(allocated * 2, 8u);
                        d->patterns = g_renew(Pattern, d->patterns, allocated);
                }
                d->patterns[d->n_patterns] = (Pattern){};
                r = pattern_init(&d->patterns[d->n_patterns++], cleaned, exception, &error);
                if (r < 0)
                        return berth_error_set(e, r, ".dockerignore:%u: %s", number,
                                               berth_error_message(&error));
                d->has_exceptions = d->has_exceptions || exception;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

bool dockerignore_has_exceptions(const Dockerignore *d)
{
        return d && d->has_exceptions;
}

/* Docker's MatchesOrParentMatches: each pattern in order may flip the verdict, a pattern counting when it
 * matches the path or one of its parent directories. */
bool dockerignore_excludes(const Dockerignore *d, const char *path)
{
        g_autofree char *file = NULL;
        g_auto(GStrv) parents = NULL;
        bool matched = false;
        size_t n_parents = 0;

        if (!d || d->n_patterns == 0)
                return false;
        file = path_clean(path);
        parents = g_strsplit(file, "/", -1);
        n_parents = g_strv_length(parents) - 1; /* the last component is the file itself */

        for (size_t i = 0; i < d->n_patterns; i++) {
                const Pattern *pat = &d->patterns[i];
                bool match;

                if (pat->exception != matched)
                        continue;
                match = pattern_match(pat, file);
                if (!match && n_parents > 0) {
                        g_autoptr(GString) parent = g_string_new(parents[0]);

                        for (size_t k = 1; !match; k++) {
                                match = pattern_match(pat, parent->str);
                                if (k >= n_parents)
                                        break;
                                g_string_append_c(parent, '/');
                                g_string_append(parent, parents[k]);
                        }
                }
                if (match)
                        matched = !pat->exception;
        }
        return matched;
}

/* Whether pattern components pat[i…] could match dir components dir[j…] or something below them. Only a
 * definite "no" is false: "**" and classes are taken to match. */
static bool could_match_below(char **pat, char **dir)
{
        if (!*dir || !*pat)
                return true;
        if (strstr(*pat, "**") || strchr(*pat, '['))
                return true;
        if (fnmatch(*pat, *dir, 0) != 0)
                return false;
        return could_match_below(pat + 1, dir + 1);
}

bool dockerignore_can_skip_dir(const Dockerignore *d, const char *path)
{
        g_autofree char *dir = NULL;
        g_auto(GStrv) dir_parts = NULL;

        if (!d || !dockerignore_excludes(d, path))
                return false;
        if (!d->has_exceptions)
                return true;
        dir = path_clean(path);
        dir_parts = g_strsplit(dir, "/", -1);
        for (size_t i = 0; i < d->n_patterns; i++) {
                g_auto(GStrv) pat_parts = NULL;

                if (!d->patterns[i].exception)
                        continue;
                pat_parts = g_strsplit(d->patterns[i].text, "/", -1);
                if (could_match_below(pat_parts, dir_parts))
                        return false;
        }
        return true;
}

bool path_glob_match(const char *pattern, const char *path)
{
        return fnmatch(pattern, path, FNM_PATHNAME) == 0;
}

bool path_has_wildcards(const char *s)
{
        for (; *s; s++) {
                if (*s == '\\') {
                        if (!*++s)
                                break;
                } else if (strchr("*?[", *s))
                        return true;
        }
        return false;
}
