/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <json-glib/json-glib.h>

#include "build/dockerfile-instruction.h"
#include "build/shell-words.h"

/* One instruction: its keyword, its flags and its arguments by the keyword's rules, with the checks Docker
 * makes on them (Docker's newNodeFromLine and the instructions package's parse functions). */

static const char *const keyword_table[_DOCKERFILE_KEYWORD_MAX] = {
        [DOCKERFILE_FROM] = "FROM",       [DOCKERFILE_RUN] = "RUN",
        [DOCKERFILE_COPY] = "COPY",       [DOCKERFILE_ADD] = "ADD",
        [DOCKERFILE_CMD] = "CMD",         [DOCKERFILE_ENTRYPOINT] = "ENTRYPOINT",
        [DOCKERFILE_ENV] = "ENV",         [DOCKERFILE_ARG] = "ARG",
        [DOCKERFILE_WORKDIR] = "WORKDIR", [DOCKERFILE_USER] = "USER",
        [DOCKERFILE_LABEL] = "LABEL",     [DOCKERFILE_EXPOSE] = "EXPOSE",
        [DOCKERFILE_VOLUME] = "VOLUME",   [DOCKERFILE_STOPSIGNAL] = "STOPSIGNAL",
        [DOCKERFILE_SHELL] = "SHELL",     [DOCKERFILE_HEALTHCHECK] = "HEALTHCHECK",
        [DOCKERFILE_ONBUILD] = "ONBUILD", [DOCKERFILE_MAINTAINER] = "MAINTAINER",
};

const char *dockerfile_keyword_to_string(DockerfileKeyword k)
{
        if (k < 0 || k >= _DOCKERFILE_KEYWORD_MAX)
                return NULL;
        return keyword_table[k];
}

DockerfileKeyword dockerfile_keyword_from_string(const char *s)
{
        for (DockerfileKeyword k = 0; k < _DOCKERFILE_KEYWORD_MAX; k++)
                if (g_ascii_strcasecmp(s, keyword_table[k]) == 0)
                        return k;
        return _DOCKERFILE_KEYWORD_INVALID;
}

/* The flags each instruction accepts. */
typedef enum FlagType {
        FLAG_STRING,
        FLAG_BOOL,
        FLAG_UNSUPPORTED, /* Docker (BuildKit) has it, berth does not */
} FlagType;

typedef struct FlagSpec {
        DockerfileKeyword keyword;
        const char *name;
        FlagType type;
} FlagSpec;

static const FlagSpec flag_specs[] = {
        { DOCKERFILE_FROM, "platform", FLAG_STRING },
        { DOCKERFILE_COPY, "from", FLAG_STRING },
        { DOCKERFILE_COPY, "chown", FLAG_STRING },
        { DOCKERFILE_COPY, "chmod", FLAG_STRING },
        { DOCKERFILE_COPY, "link", FLAG_BOOL },
        { DOCKERFILE_COPY, "parents", FLAG_UNSUPPORTED },
        { DOCKERFILE_COPY, "exclude", FLAG_UNSUPPORTED },
        { DOCKERFILE_ADD, "chown", FLAG_STRING },
        { DOCKERFILE_ADD, "chmod", FLAG_STRING },
        { DOCKERFILE_ADD, "link", FLAG_BOOL },
        { DOCKERFILE_ADD, "checksum", FLAG_UNSUPPORTED },
        { DOCKERFILE_ADD, "keep-git-dir", FLAG_UNSUPPORTED },
        { DOCKERFILE_ADD, "exclude", FLAG_UNSUPPORTED },
        { DOCKERFILE_RUN, "mount", FLAG_UNSUPPORTED },
        { DOCKERFILE_RUN, "network", FLAG_UNSUPPORTED },
        { DOCKERFILE_RUN, "security", FLAG_UNSUPPORTED },
        { DOCKERFILE_HEALTHCHECK, "interval", FLAG_STRING },
        { DOCKERFILE_HEALTHCHECK, "timeout", FLAG_STRING },
        { DOCKERFILE_HEALTHCHECK, "start-period", FLAG_STRING },
        { DOCKERFILE_HEALTHCHECK, "start-interval", FLAG_STRING },
        { DOCKERFILE_HEALTHCHECK, "retries", FLAG_STRING },
};

static const char *skip_space(const char *p)
{
        while (dockerfile_is_space(*p))
                p++;
        return p;
}

/* Go's strings.TrimSpace (ASCII), as a new string. */
static char *strdup_trimmed(const char *s, size_t len)
{
        while (len > 0 && dockerfile_is_space(*s)) {
                s++;
                len--;
        }
        while (len > 0 && dockerfile_is_space(s[len - 1]))
                len--;
        return g_strndup(s, len);
}

void dockerfile_instruction_done(DockerfileInstruction *i)
{
        if (!i)
                return;
        free(i->original);
        for (size_t f = 0; f < i->n_flags; f++) {
                free(i->flags[f].name);
                free(i->flags[f].value);
        }
        free(i->flags);
        g_strfreev(i->args);
        dockerfile_instruction_free(i->onbuild);
        *i = (DockerfileInstruction){};
}

DockerfileInstruction *dockerfile_instruction_free(DockerfileInstruction *i)
{
        if (!i)
                return NULL;
        dockerfile_instruction_done(i);
        free(i);
        return NULL;
}

const DockerfileFlag *dockerfile_instruction_flag(const DockerfileInstruction *i, const char *name)
{
        for (size_t f = 0; f < i->n_flags; f++)
                if (streq(i->flags[f].name, name))
                        return &i->flags[f];
        return NULL;
}

/* Docker's extractBuilderFlags: the leading "--…" words of rest, with quotes and '\\' escapes processed,
 * up to the first word that is not a flag (or a lone "--"). Returns where the arguments start. */
static const char *extract_flags(const char *rest, GPtrArray *words)
{
        const char *p = rest;

        for (;;) {
                g_autoptr(GString) word = NULL;
                bool blank_ok = false;
                char quote = 0;

                p = skip_space(p);
                if (p[0] != '-' || p[1] != '-')
                        return p;
                word = g_string_new(NULL);
                for (; *p; p++) {
                        if (quote) {
                                if (*p == quote) {
                                        quote = 0;
                                        continue;
                                }
                        } else if (dockerfile_is_space(*p))
                                break;
                        else if (*p == '\'' || *p == '"') {
                                quote = *p;
                                blank_ok = true;
                                continue;
                        }
                        if (*p == '\\') {
                                if (p[1] == 0) {
                                        quote = 0;
                                        continue; /* a '\\' at the end is dropped */
                                }
                                p++;
                        }
                        g_string_append_c(word, *p);
                }
                if (streq(word->str, "--"))
                        return p;
                if (blank_ok || word->len > 0)
                        g_ptr_array_add(words, g_string_free(TAKE_PTR(word), false));
        }
}

static int parse_flags(DockerfileInstruction *ins, GPtrArray *words, BerthError *e)
{
        const char *kw = dockerfile_keyword_to_string(ins->keyword);

        ins->flags = g_new0(DockerfileFlag, words->len);
        for (guint w = 0; w < words->len; w++) {
                const char *arg = words->pdata[w], *eq;
                g_autofree char *name = NULL;
                const FlagSpec *spec = NULL;

                if (!g_str_has_prefix(arg, "--"))
                        return berth_error_set(e, -EINVAL, "arguments must begin with '--': %s", arg);
                eq = strchr(arg, '=');
                name = eq ? g_strndup(arg + 2, eq - arg - 2) : g_strdup(arg + 2);
                for (size_t s = 0; s < ELEMENTSOF(flag_specs); s++)
                        if (flag_specs[s].keyword == ins->keyword && streq(flag_specs[s].name, name))
                                spec = &flag_specs[s];
                if (ins->keyword == DOCKERFILE_HEALTHCHECK && ins->n_args > 0 && streq(ins->args[0], "NONE"))
                        spec = NULL; /* HEALTHCHECK NONE takes no flags */
                if (!spec)
                        return berth_error_set(e, -EINVAL, "unknown flag: --%s", name);
                if (spec->type == FLAG_UNSUPPORTED)
                        return berth_error_set(e, -EOPNOTSUPP, "%s --%s is not supported", kw, name);
                if (dockerfile_instruction_flag(ins, name))
                        return berth_error_set(e, -EINVAL, "duplicate flag specified: --%s", name);
                if (spec->type == FLAG_STRING && !eq)
                        return berth_error_set(e, -EINVAL, "missing a value on flag: --%s", name);
                if (spec->type == FLAG_BOOL && eq && g_ascii_strcasecmp(eq + 1, "true") != 0 &&
                    g_ascii_strcasecmp(eq + 1, "false") != 0)
                        return berth_error_set(e, -EINVAL, "expecting boolean value for flag --%s, not: %s",
                                               name, eq + 1);
                ins->flags[ins->n_flags++] = (DockerfileFlag){
                        .name = TAKE_PTR(name),
                        .value = eq ? g_strdup(eq + 1) : NULL,
                };
        }
        return 0;
}

/* Where the JSON array starting at s ends (one past its ']'), or NULL when it does not: Docker decodes the
 * first JSON value of the text and ignores what follows it. Only strings and brackets matter here, and
 * what json-glib is lenient about but Go's decoder refuses (so Docker takes the shell form): single quotes
 * and comments outside strings, raw control characters and escapes other than \" \\ \/ \b \f \n \r \t
 * \uXXXX inside them. The rest is json-glib's to judge. */
#define JSON_DEPTH_MAX 64U

static const char *json_array_end(const char *s)
{
        unsigned depth = 0;

        for (const char *p = s; *p; p++) {
                if (*p == '"') {
                        for (p++; *p != '"'; p++) {
                                if ((unsigned char) *p < 0x20)
                                        return NULL; /* also the end of the text */
                                if (*p == '\\') {
                                        p++;
                                        if (*p == 0 || !strchr("\"\\/bfnrtu", *p))
                                                return NULL;
                                }
                        }
                } else if (*p == '\'' || *p == '/')
                        return NULL;
                else if (*p == '[' || *p == '{') {
                        if (++depth > JSON_DEPTH_MAX)
                                return NULL; /* json-glib's parser recurses: keep its stack small */
                } else if (*p == ']' || *p == '}') {
                        if (depth == 0)
                                return NULL;
                        if (--depth == 0)
                                return p + 1;
                }
        }
        return NULL;
}

/* Docker's parseJSON: 1 and the array's strings when rest is a JSON array of strings, 0 when it is not
 * JSON (the caller falls back to the shell form), -EINVAL when it is an array with something else than
 * strings in it. */
static int parse_json(const char *rest, char ***ret, BerthError *e)
{
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autofree char *text = NULL;
        const char *end;
        JsonNode *root;
        JsonArray *array;
        char **l;
        guint n;

        if (*rest != '[')
                return 0;
        end = json_array_end(rest);
        if (!end)
                return 0;
        text = g_strndup(rest, end - rest);
        if (!json_parser_load_from_data(parser, text, -1, NULL))
                return 0;
        root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_ARRAY(root))
                return 0;
        array = json_node_get_array(root);
        n = json_array_get_length(array);
        for (guint i = 0; i < n; i++) {
                JsonNode *element = json_array_get_element(array, i);

                if (!JSON_NODE_HOLDS_VALUE(element) || json_node_get_value_type(element) != G_TYPE_STRING)
                        return berth_error_set(
                                e, -EINVAL,
                                "when using JSON array syntax, arrays must be comprised of strings only");
        }
        l = g_new0(char *, n + 1);
        for (guint i = 0; i < n; i++)
                l[i] = g_strdup(json_array_get_string_element(array, i));
        *ret = l;
        return 1;
}

/* Docker's reWhitespace split ([\t\v\f\r ]+) of a trimmed string; "" gives no words. */
static char **split_whitespace(const char *rest)
{
        g_autoptr(GPtrArray) words = g_ptr_array_new();

        for (const char *p = skip_space(rest); *p;) {
                const char *start = p;

                while (*p && !dockerfile_is_space(*p))
                        p++;
                g_ptr_array_add(words, g_strndup(start, p - start));
                p = skip_space(p);
        }
        g_ptr_array_add(words, NULL);
        return (char **) g_ptr_array_free(TAKE_PTR(words), false);
}

/* Docker's parseWords: splits at blanks outside quotes, keeping quotes and escapes in the words (the word
 * lexer processes them later). */
static char **parse_words(const char *rest, char escape)
{
        g_autoptr(GPtrArray) words = g_ptr_array_new();
        g_autoptr(GString) word = g_string_new(NULL);
        bool in_word = false, blank_ok = false;
        char quote = 0;

        for (const char *p = rest;; p++) {
                if (!in_word) {
                        p = skip_space(p);
                        if (!*p)
                                break;
                        in_word = true;
                }
                if (!*p) {
                        if (blank_ok || word->len > 0)
                                g_ptr_array_add(words, g_strdup(word->str));
                        break;
                }
                if (!quote) {
                        if (dockerfile_is_space(*p)) {
                                if (blank_ok || word->len > 0)
                                        g_ptr_array_add(words, g_strdup(word->str));
                                g_string_truncate(word, 0);
                                in_word = blank_ok = false;
                                continue;
                        }
                        if (*p == '\'' || *p == '"') {
                                quote = *p;
                                blank_ok = true;
                        } else if (*p == escape) {
                                if (!p[1])
                                        continue; /* an escape at the end is dropped */
                                g_string_append_c(word, *p++);
                        }
                } else if (*p == quote)
                        quote = 0;
                else if (*p == escape && quote != '\'') {
                        if (!p[1])
                                continue;
                        g_string_append_c(word, *p++);
                }
                g_string_append_c(word, *p);
        }
        g_ptr_array_add(words, NULL);
        return (char **) g_ptr_array_free(TAKE_PTR(words), false);
}

/* Docker's parseNameVal for ENV and LABEL: "K V…" (one pair, the value the rest of the line) or
 * "K=V K2=V2 …". */
static int parse_name_val(const char *kw, const char *rest, char escape, char ***ret, BerthError *e)
{
        g_auto(GStrv) words = parse_words(rest, escape);
        g_autoptr(GPtrArray) pairs = g_ptr_array_new_with_free_func(g_free);

        if (!words[0])
                return berth_error_set(e, -EINVAL, "%s requires at least one argument", kw);
        if (!strchr(words[0], '=')) {
                const char *p = skip_space(rest), *value;

                while (*p && !dockerfile_is_space(*p))
                        p++;
                value = skip_space(p);
                if (!*value)
                        return berth_error_set(e, -EINVAL, "%s must have two arguments", kw);
                g_ptr_array_add(pairs, g_strndup(skip_space(rest), p - skip_space(rest)));
                g_ptr_array_add(pairs, g_strdup(value));
        } else
                for (char **w = words; *w; w++) {
                        const char *eq = strchr(*w, '=');

                        if (!eq)
                                return berth_error_set(e, -EINVAL,
                                                       "syntax error - can't find = in \"%s\". Must be of "
                                                       "the form: name=value",
                                                       *w);
                        g_ptr_array_add(pairs, g_strndup(*w, eq - *w));
                        g_ptr_array_add(pairs, g_strdup(eq + 1));
                }
        for (guint i = 0; i < pairs->len; i += 2)
                if (!*(char *) pairs->pdata[i])
                        return berth_error_set(e, -EINVAL, "%s names can not be blank", kw);
        g_ptr_array_add(pairs, NULL);
        *ret = (char **) g_ptr_array_free(TAKE_PTR(pairs), false);
        return 0;
}

static const char *lookup_placeholder(const char *name, void *userdata)
{
        return "_";
}

/* BuildKit reads heredocs ("<<EOF", "<<-EOF", "2<<\"EOF\"") in RUN, COPY and ADD; berth does not. Words are
 * taken as BuildKit does, with quotes processed and variables standing for something. */
static int refuse_heredoc(const char *line, BerthError *e)
{
        g_auto(GStrv) words = NULL;

        if (!strstr(line, "<<") ||
            shell_words_expand(line, '\\', lookup_placeholder, NULL, &words, NULL) < 0)
                return 0;
        for (char **w = words; *w; w++) {
                const char *p = *w;

                while (g_ascii_isdigit(*p))
                        p++;
                if (!g_str_has_prefix(p, "<<"))
                        continue;
                p += 2;
                if (*p == '-')
                        p++;
                if (*p && !strchr(p, '<'))
                        return berth_error_set(e, -EOPNOTSUPP, "heredocs are not supported: %s", *w);
        }
        return 0;
}

static int count_args(char **args)
{
        return args ? (int) g_strv_length(args) : 0;
}

static int parse_health_args(DockerfileInstruction *ins, const char *rest, BerthError *e)
{
        g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
        g_auto(GStrv) cmd = NULL;
        const char *p = rest, *next;
        int r;

        while (*p && !dockerfile_is_space(*p))
                p++;
        if (p == rest)
                return berth_error_set(e, -EINVAL, "HEALTHCHECK requires at least one argument");
        g_ptr_array_add(args, g_ascii_strup(rest, p - rest));
        next = skip_space(p);
        if (streq(args->pdata[0], "NONE")) {
                if (*next)
                        return berth_error_set(e, -EINVAL, "HEALTHCHECK NONE takes no arguments");
        } else if (streq(args->pdata[0], "CMD")) {
                r = *next ? parse_json(next, &cmd, e) : 0;
                if (r < 0)
                        return r;
                ins->json = r > 0;
                if (r == 0 && *next)
                        cmd = g_strdupv((char *[]){ (char *) next, NULL });
                if (count_args(cmd) == 0)
                        return berth_error_set(e, -EINVAL, "missing command after HEALTHCHECK CMD");
                for (char **c = cmd; *c; c++)
                        g_ptr_array_add(args, g_strdup(*c));
        } else
                return berth_error_set(e, -EINVAL, "unknown type \"%s\" in HEALTHCHECK (try CMD)",
                                       (char *) args->pdata[0]);
        g_ptr_array_add(args, NULL);
        ins->args = (char **) g_ptr_array_free(TAKE_PTR(args), false);
        return 0;
}

static int check_health_flags(const DockerfileInstruction *ins, BerthError *e)
{
        for (size_t f = 0; f < ins->n_flags; f++) {
                const DockerfileFlag *flag = &ins->flags[f];
                int64_t nsec;
                char *end;
                long long retries;

                if (streq(flag->name, "retries")) {
                        errno = 0;
                        retries = strtoll(flag->value, &end, 10);
                        if (errno != 0 || end == flag->value || *end || retries > INT32_MAX)
                                return berth_error_set(e, -EINVAL, "--retries: invalid number \"%s\"",
                                                       flag->value);
                        if (retries < 1)
                                return berth_error_set(e, -EINVAL, "--retries must be at least 1 (not %lld)",
                                                       retries);
                        continue;
                }
                if (!*flag->value)
                        continue;
                if (dockerfile_parse_duration(flag->value, &nsec) < 0)
                        return berth_error_set(e, -EINVAL, "--%s: invalid duration \"%s\"", flag->name,
                                               flag->value);
                if (nsec < 1000000)
                        return berth_error_set(e, -EINVAL, "interval \"%s\" cannot be less than 1ms",
                                               flag->name);
        }
        return 0;
}

static bool stage_name_is_valid(const char *name)
{
        if (!g_ascii_islower(name[0]))
                return false;
        for (const char *p = name; *p; p++)
                if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && !strchr("-_.", *p))
                        return false;
        return true;
}

/* The arguments by the keyword's rules, and the checks Docker makes on their number. */
static int parse_args(DockerfileInstruction *ins, const char *rest, char escape, BerthError *e)
{
        const char *kw = dockerfile_keyword_to_string(ins->keyword);
        int r;

        switch (ins->keyword) {
        case DOCKERFILE_RUN:
        case DOCKERFILE_CMD:
        case DOCKERFILE_ENTRYPOINT:
        case DOCKERFILE_SHELL:
                r = *rest ? parse_json(rest, &ins->args, e) : 0;
                if (r < 0)
                        return r;
                ins->json = r > 0;
                if (r == 0 && *rest)
                        ins->args = g_strdupv((char *[]){ (char *) rest, NULL });
                if (ins->keyword == DOCKERFILE_SHELL && count_args(ins->args) == 0)
                        return berth_error_set(e, -EINVAL, "SHELL requires at least one argument");
                if (ins->keyword == DOCKERFILE_SHELL && !ins->json)
                        return berth_error_set(e, -EINVAL,
                                               "SHELL requires the arguments to be in JSON form");
                if (ins->keyword == DOCKERFILE_RUN && count_args(ins->args) == 0)
                        return berth_error_set(e, -EINVAL, "RUN requires at least one argument");
                break;

        case DOCKERFILE_COPY:
        case DOCKERFILE_ADD:
        case DOCKERFILE_VOLUME:
                r = parse_json(rest, &ins->args, e);
                if (r < 0)
                        return r;
                ins->json = r > 0;
                if (r == 0)
                        ins->args = split_whitespace(rest);
                if (ins->keyword == DOCKERFILE_VOLUME) {
                        if (count_args(ins->args) == 0)
                                return berth_error_set(e, -EINVAL, "VOLUME requires at least one argument");
                        for (char **a = ins->args; *a; a++)
                                if (!*skip_space(*a))
                                        return berth_error_set(
                                                e, -EINVAL, "VOLUME specified can not be an empty string");
                } else if (count_args(ins->args) < 2)
                        return berth_error_set(
                                e, -EINVAL,
                                "%s requires at least two arguments, but only one was provided. "
                                "Destination could not be determined",
                                kw);
                break;

        case DOCKERFILE_FROM:
        case DOCKERFILE_EXPOSE:
                ins->args = split_whitespace(rest);
                if (ins->keyword == DOCKERFILE_EXPOSE && count_args(ins->args) == 0)
                        return berth_error_set(e, -EINVAL, "EXPOSE requires at least one argument");
                if (ins->keyword == DOCKERFILE_FROM) {
                        int n = count_args(ins->args);
                        g_autofree char *name = NULL;

                        if (n == 3 && g_ascii_strcasecmp(ins->args[1], "as") == 0) {
                                name = g_ascii_strdown(ins->args[2], -1);
                                if (!stage_name_is_valid(name))
                                        return berth_error_set(
                                                e, -EINVAL,
                                                "invalid name for build stage: \"%s\", name can't "
                                                "start with a number or contain symbols",
                                                ins->args[2]);
                        } else if (n != 1)
                                return berth_error_set(e, -EINVAL,
                                                       "FROM requires either one or three arguments");
                }
                break;

        case DOCKERFILE_ENV:
        case DOCKERFILE_LABEL:
                return parse_name_val(kw, rest, escape, &ins->args, e);

        case DOCKERFILE_ARG:
                ins->args = parse_words(rest, escape);
                if (count_args(ins->args) == 0)
                        return berth_error_set(e, -EINVAL, "ARG requires at least one argument");
                for (char **a = ins->args; *a; a++)
                        if (**a == '=')
                                return berth_error_set(e, -EINVAL, "ARG names can not be blank");
                break;

        case DOCKERFILE_WORKDIR:
        case DOCKERFILE_USER:
        case DOCKERFILE_STOPSIGNAL:
        case DOCKERFILE_MAINTAINER:
                if (!*rest)
                        return berth_error_set(e, -EINVAL, "%s requires exactly one argument", kw);
                ins->args = g_strdupv((char *[]){ (char *) rest, NULL });
                break;

        case DOCKERFILE_HEALTHCHECK:
                return parse_health_args(ins, rest, e);

        case DOCKERFILE_ONBUILD: {
                g_autofree DockerfileInstruction *inner = NULL;
                DockerfileKeyword k;

                if (!*rest)
                        return berth_error_set(e, -EINVAL, "ONBUILD requires at least one argument");
                /* Docker names the forbidden triggers before looking at them any further. */
                {
                        g_autofree char *first = g_strndup(rest, strcspn(rest, " \t\n\v\f\r"));

                        k = dockerfile_keyword_from_string(first);
                }
                if (k == DOCKERFILE_ONBUILD)
                        return berth_error_set(e, -EINVAL,
                                               "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
                if (k == DOCKERFILE_FROM || k == DOCKERFILE_MAINTAINER)
                        return berth_error_set(e, -EINVAL, "%s isn't allowed as an ONBUILD trigger",
                                               dockerfile_keyword_to_string(k));
                inner = g_new0(DockerfileInstruction, 1);
                r = dockerfile_instruction_parse(rest, escape, inner, e);
                if (r < 0) {
                        dockerfile_instruction_done(inner);
                        return r;
                }
                ins->onbuild = TAKE_PTR(inner);
                ins->args = g_strdupv((char *[]){ (char *) rest, NULL });
                break;
        }

        default:
                return berth_error_set(e, -EINVAL, "unknown instruction: %s", kw);
        }
        return 0;
}

int dockerfile_instruction_parse(const char *line, char escape, DockerfileInstruction *ins, BerthError *e)
{
        g_autoptr(GPtrArray) flag_words = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *keyword = NULL, *rest = NULL;
        const char *p, *args;
        int r;

        p = skip_space(line);
        keyword = g_strndup(p, strcspn(p, " \t\n\v\f\r"));
        ins->keyword = dockerfile_keyword_from_string(keyword);
        if (ins->keyword < 0)
                return berth_error_set(e, -EINVAL, "unknown instruction: %s", keyword);
        ins->original = g_strdup(line);

        args = extract_flags(p + strlen(keyword), flag_words);
        rest = strdup_trimmed(args, strlen(args));

        r = parse_args(ins, rest, escape, e);
        if (r < 0)
                return r;
        if (!ins->args)
                ins->args = g_new0(char *, 1);
        ins->n_args = count_args(ins->args);
        r = parse_flags(ins, flag_words, e);
        if (r < 0)
                return r;
        if (ins->keyword == DOCKERFILE_HEALTHCHECK) {
                r = check_health_flags(ins, e);
                if (r < 0)
                        return r;
        }
        if (!ins->json && (ins->keyword == DOCKERFILE_RUN || ins->keyword == DOCKERFILE_COPY ||
                           ins->keyword == DOCKERFILE_ADD))
                return refuse_heredoc(line, e);
        return 0;
}

int dockerfile_parse_trigger(const char *expression, DockerfileInstruction **ret, BerthError *e)
{
        _cleanup_(dockerfile_instruction_freep) DockerfileInstruction *ins =
                g_new0(DockerfileInstruction, 1);
        _cleanup_berth_error_ BerthError error = BERTH_ERROR_INIT;
        int r;

        r = dockerfile_instruction_parse(expression, '\\', ins, &error);
        if (r >= 0 && (ins->keyword == DOCKERFILE_ONBUILD || ins->keyword == DOCKERFILE_FROM ||
                       ins->keyword == DOCKERFILE_MAINTAINER))
                r = berth_error_set(&error, -EINVAL, "%s isn't allowed as an ONBUILD trigger",
                                    dockerfile_keyword_to_string(ins->keyword));
        if (r < 0)
                return berth_error_set(e, r, "ONBUILD trigger: %s", berth_error_message(&error));
        *ret = TAKE_PTR(ins);
        return 0;
}
