/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "build/dockerfile-instruction.h"

/* Two passes as in Docker: the text's lines are joined into logical instructions (directives, comments,
 * continuations: dockerfile_read_instructions), each is parsed by its keyword's rules
 * (dockerfile-instruction.c), then the instructions are grouped into stages. */

Dockerfile *dockerfile_free(Dockerfile *d)
{
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_instructions; i++)
                dockerfile_instruction_done(&d->instructions[i]);
        free(d->instructions);
        for (size_t s = 0; s < d->n_stages; s++) {
                free(d->stages[s].base);
                free(d->stages[s].name);
                free(d->stages[s].platform);
        }
        free(d->stages);
        free(d->syntax);
        g_strfreev(d->warnings);
        free(d);
        return NULL;
}

/* Docker's continuation rule: the escape character, then only blanks, at the end of the line, and not
 * itself escaped (preceded by the escape character). Returns the line's length without them, or -1 when
 * the line does not continue. */
static ssize_t continuation(const char *line, size_t len, char escape)
{
        size_t end = len;

        while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
                end--;
        if (end == 0 || line[end - 1] != escape)
                return -1;
        if (end >= 2 && line[end - 2] == escape)
                return -1;
        return end - 1;
}

static bool line_is_comment(const char *line, size_t len)
{
        while (len > 0 && dockerfile_is_space(*line)) {
                line++;
                len--;
        }
        return len > 0 && *line == '#';
}

static bool line_is_blank(const char *line, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (!dockerfile_is_space(line[i]))
                        return false;
        return true;
}

typedef struct Lines {
        const char *text;
        size_t size;
        size_t pos;
        unsigned number; /* 1-based number of the line last read */
} Lines;

/* The next line without its line end (any trailing '\r' and '\n', as Docker's trimNewline); false at the
 * end of the text. */
static bool lines_next(Lines *l, const char **ret, size_t *ret_len)
{
        const char *start, *nl;
        size_t len;

        if (l->pos >= l->size)
                return false;
        start = l->text + l->pos;
        nl = memchr(start, '\n', l->size - l->pos);
        len = nl ? (size_t) (nl - start) : l->size - l->pos;
        l->pos += len + (nl ? 1 : 0);
        if (l->number == 0 && len >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
                start += 3;
                len -= 3;
        }
        while (len > 0 && (start[len - 1] == '\r' || start[len - 1] == '\n'))
                len--;
        l->number++;
        *ret = start;
        *ret_len = len;
        return true;
}

/* A parser directive line ("# escape=`"): 1 and name and value, 0 when the line is no directive. */
static int directive_match(const char *line, size_t len, char **ret_name, char **ret_value)
{
        static GRegex *re = NULL;
        g_autoptr(GMatchInfo) match = NULL;
        g_autofree char *copy = g_strndup(line, len), *name = NULL;

        if (g_once_init_enter(&re)) {
                GRegex *r = g_regex_new("^#\\s*([a-zA-Z][a-zA-Z0-9]*)\\s*=\\s*(.+?)\\s*$",
                                        G_REGEX_DOLLAR_ENDONLY, 0, NULL);
                g_once_init_leave(&re, r);
        }
        if (!g_regex_match(re, copy, 0, &match))
                return 0;
        name = g_match_info_fetch(match, 1);
        *ret_name = g_ascii_strdown(name, -1);
        *ret_value = g_match_info_fetch(match, 2);
        return 1;
}

typedef struct Directives {
        bool done;
        bool seen_escape, seen_syntax, seen_check;
        char escape;
        char *syntax;
} Directives;

static int directives_process(Directives *d, const char *line, size_t len, BerthError *e)
{
        g_autofree char *name = NULL, *value = NULL;
        bool *seen;

        if (d->done)
                return 0;
        while (len > 0 && dockerfile_is_space(*line)) {
                line++;
                len--;
        }
        if (directive_match(line, len, &name, &value) == 0) {
                d->done = true;
                return 0;
        }
        seen = streq(name, "escape")   ? &d->seen_escape
               : streq(name, "syntax") ? &d->seen_syntax
               : streq(name, "check")  ? &d->seen_check
                                       : NULL;
        if (!seen) {
                d->done = true;
                return 0;
        }
        if (*seen)
                return berth_error_set(e, -EINVAL, "only one %s parser directive can be used", name);
        *seen = true;
        if (streq(name, "escape")) {
                if (!streq(value, "`") && !streq(value, "\\"))
                        return berth_error_set(e, -EINVAL,
                                               "invalid escape token '%s' does not match ` or \\", value);
                d->escape = value[0];
        } else if (streq(name, "syntax"))
                d->syntax = TAKE_PTR(value);
        return 0;
}

/* Joins the text's lines into logical instructions, Docker's parser.Parse loop. */
static int dockerfile_read_instructions(Dockerfile *df, const char *text, size_t size, GArray *out,
                                        BerthError *e)
{
        Lines lines = { .text = text, .size = size };
        _cleanup_berth_error_ BerthError error = BERTH_ERROR_INIT;
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        Directives d = { .escape = '\\' };
        const char *line;
        size_t len;
        int r;

        while (lines_next(&lines, &line, &len)) {
                g_autoptr(GString) joined = NULL;
                DockerfileInstruction ins = {};
                unsigned start = lines.number;
                bool empty_continuation = false;
                ssize_t cut;

                r = directives_process(&d, line, len, &error);
                if (r < 0) {
                        free(d.syntax);
                        return berth_error_set(e, r, "Dockerfile:%u: %s", start,
                                               berth_error_message(&error));
                }
                if (line_is_comment(line, len))
                        continue;
                while (len > 0 && dockerfile_is_space(*line)) {
                        line++;
                        len--;
                }
                cut = continuation(line, len, d.escape);
                if (cut < 0 && len == 0)
                        continue;
                joined = g_string_new_len(line, cut < 0 ? (gssize) len : cut);
                while (cut >= 0 && lines_next(&lines, &line, &len)) {
                        if (line_is_comment(line, len))
                                continue;
                        if (line_is_blank(line, len)) {
                                empty_continuation = true;
                                continue;
                        }
                        cut = continuation(line, len, d.escape);
                        g_string_append_len(joined, line, cut < 0 ? (gssize) len : cut);
                }

                if (empty_continuation)
                        g_ptr_array_add(
                                warnings,
                                g_strdup_printf("[WARNING]: Empty continuation line found in:\n    %s",
                                                joined->str));
                ins.line = start;
                ins.end_line = lines.number;
                r = dockerfile_instruction_parse(joined->str, d.escape, &ins, &error);
                if (r < 0) {
                        dockerfile_instruction_done(&ins);
                        free(d.syntax);
                        return berth_error_set(e, r, "Dockerfile:%u: %s", start,
                                               berth_error_message(&error));
                }
                if (ins.onbuild) {
                        ins.onbuild->line = ins.line;
                        ins.onbuild->end_line = ins.end_line;
                }
                g_array_append_val(out, ins);
        }
        if (warnings->len > 0)
                g_ptr_array_add(warnings,
                                g_strdup("[WARNING]: Empty continuation lines will become errors in a "
                                         "future release."));
        g_ptr_array_add(warnings, NULL);
        df->warnings = (char **) g_ptr_array_free(TAKE_PTR(warnings), false);
        df->escape = d.escape;
        df->syntax = d.syntax;
        return 0;
}

static void instruction_array_clear(void *p)
{
        dockerfile_instruction_done(p);
}

/* Groups the instructions into stages: ARGs before the first FROM are global, everything else belongs to
 * the last FROM. */
static int dockerfile_make_stages(Dockerfile *df, BerthError *e)
{
        size_t n_from = 0;

        for (size_t i = 0; i < df->n_instructions; i++) {
                const DockerfileInstruction *ins = &df->instructions[i];

                if (ins->keyword == DOCKERFILE_FROM)
                        n_from++;
                else if (n_from == 0 && ins->keyword != DOCKERFILE_ARG)
                        return berth_error_set(
                                e, -EINVAL,
                                "Dockerfile:%u: no build stage in current context: %s must come "
                                "after a FROM",
                                ins->line, dockerfile_keyword_to_string(ins->keyword));
                else if (n_from == 0)
                        df->n_global_args++;
        }
        if (n_from == 0)
                return berth_error_set(e, -EINVAL, "Dockerfile: no FROM instruction");

        df->stages = g_new0(DockerfileStage, n_from);
        for (size_t i = 0; i < df->n_instructions; i++) {
                const DockerfileInstruction *ins = &df->instructions[i];
                const DockerfileFlag *platform;
                DockerfileStage *st;

                if (ins->keyword != DOCKERFILE_FROM) {
                        if (df->n_stages > 0)
                                df->stages[df->n_stages - 1].n_instructions++;
                        continue;
                }
                st = &df->stages[df->n_stages];
                st->index = df->n_stages++;
                st->from = ins;
                st->instructions = ins + 1;
                st->base = g_strdup(ins->args[0]);
                if (ins->n_args == 3) {
                        st->name = g_ascii_strdown(ins->args[2], -1);
                        for (size_t s = 0; s < st->index; s++)
                                if (streq_ptr(df->stages[s].name, st->name))
                                        return berth_error_set(e, -EINVAL,
                                                               "Dockerfile:%u: duplicate stage name \"%s\"",
                                                               ins->line, st->name);
                }
                platform = dockerfile_instruction_flag(ins, "platform");
                st->platform = platform ? g_strdup(platform->value) : NULL;
        }
        return 0;
}

int dockerfile_parse(const char *text, size_t size, Dockerfile **ret, BerthError *e)
{
        _cleanup_(dockerfile_freep) Dockerfile *df = g_new0(Dockerfile, 1);
        g_autoptr(GArray) instructions = g_array_new(false, true, sizeof(DockerfileInstruction));
        int r;

        g_array_set_clear_func(instructions, instruction_array_clear);
        if (memchr(text, 0, size)) {
                unsigned line = 1;

                for (const char *p = text; *p; p++)
                        if (*p == '\n')
                                line++;
                return berth_error_set(e, -EINVAL, "Dockerfile:%u: NUL character in the file", line);
        }
        r = dockerfile_read_instructions(df, text, size, instructions, e);
        if (r < 0)
                return r;
        if (instructions->len == 0)
                return berth_error_set(e, -EINVAL, "Dockerfile: file with no instructions");

        df->n_instructions = instructions->len;
        g_array_set_clear_func(instructions, NULL);
        df->instructions = (DockerfileInstruction *) g_array_free(TAKE_PTR(instructions), false);
        r = dockerfile_make_stages(df, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(df);
        return 0;
}

const DockerfileStage *dockerfile_find_stage(const Dockerfile *d, const char *name, size_t before)
{
        char *end;
        unsigned long n;

        before = MIN(before, d->n_stages);
        for (size_t s = 0; s < before; s++)
                if (d->stages[s].name && g_ascii_strcasecmp(d->stages[s].name, name) == 0)
                        return &d->stages[s];
        if (!g_ascii_isdigit(name[0]))
                return NULL;
        errno = 0;
        n = strtoul(name, &end, 10);
        if (errno != 0 || *end || n >= before)
                return NULL;
        return &d->stages[n];
}

int dockerfile_arg_split(const char *word, char **ret_name, char **ret_default)
{
        const char *eq = strchr(word, '=');

        *ret_name = eq ? g_strndup(word, eq - word) : g_strdup(word);
        *ret_default = eq ? g_strdup(eq + 1) : NULL;
        return 0;
}

int dockerfile_parse_duration(const char *s, int64_t *ret_nsec)
{
        static const struct {
                const char *unit;
                uint64_t nsec;
        } units[] = {
                { "ns", 1ULL },
                { "us", 1000ULL },
                { "\xC2\xB5s", 1000ULL }, /* U+00B5 micro sign */
                { "\xCE\xBCs", 1000ULL }, /* U+03BC Greek mu */
                { "ms", 1000000ULL },
                { "s", 1000000000ULL },
                { "m", 60ULL * 1000000000ULL },
                { "h", 3600ULL * 1000000000ULL },
        };
        uint64_t total = 0;
        const char *p = s;

        if (*p == '+')
                p++;
        else if (*p == '-')
                return -EINVAL;
        if (streq(p, "0")) {
                *ret_nsec = 0;
                return 0;
        }
        if (!*p)
                return -EINVAL;
        while (*p) {
                uint64_t whole = 0, frac = 0, scale = 1, unit = 0, add;
                bool digits = false;
                size_t ulen;

                for (; g_ascii_isdigit(*p); p++, digits = true) {
                        if (whole > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        whole = whole * 10 + (*p - '0');
                }
                if (*p == '.')
                        for (p++; g_ascii_isdigit(*p); p++, digits = true)
                                if (scale < 1000000000000000000ULL) { /* further digits are below 1 ns */
                                        frac = frac * 10 + (*p - '0');
                                        scale *= 10;
                                }
                if (!digits)
                        return -EINVAL;
                ulen = 0;
                while (p[ulen] && p[ulen] != '.' && !g_ascii_isdigit(p[ulen]))
                        ulen++;
                for (size_t u = 0; u < ELEMENTSOF(units); u++)
                        if (strlen(units[u].unit) == ulen && strneq(p, units[u].unit, ulen))
                                unit = units[u].nsec;
                if (unit == 0)
                        return -EINVAL;
                p += ulen;
                if (whole > (uint64_t) INT64_MAX / unit)
                        return -ERANGE;
                add = whole * unit + (uint64_t) ((long double) frac * unit / scale);
                if (add > (uint64_t) INT64_MAX - total)
                        return -ERANGE;
                total += add;
        }
        *ret_nsec = (int64_t) total;
        return 0;
}
