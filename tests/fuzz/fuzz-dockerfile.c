/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Dockerfiles, .dockerignore files and words to expand: what `build` reads from any caller's context. The
 * first input byte picks which (modulo 3: 0 Dockerfile, 1 .dockerignore, 2 a word, its second byte then
 * choosing the escape character); the rest is the text. Checks the parser's promises: a result that
 * holds together, stages pointing into the instructions, triggers that parse back, an error that names
 * its line, the two expansion forms agreeing on failure, a skippable directory that is also excluded. */
#include "build/dockerfile.h"
#include "build/dockerignore.h"
#include "build/shell-words.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        return 0;
}

static char *const fuzz_env[] = { "A=1", "EMPTY=", "SPACED=a b", NULL };

static void check_instruction(const DockerfileInstruction *i, char escape, bool nested)
{
        fuzz_check(dockerfile_keyword_to_string(i->keyword));
        fuzz_check(i->original && i->args);
        fuzz_check(g_strv_length(i->args) == i->n_args);
        fuzz_check(i->line >= 1 && i->end_line >= i->line);
        for (size_t f = 0; f < i->n_flags; f++) {
                fuzz_check(i->flags[f].name);
                fuzz_check(dockerfile_instruction_flag(i, i->flags[f].name) == &i->flags[f]);
        }
        switch (i->keyword) {
        case DOCKERFILE_ONBUILD:
                fuzz_check(!nested && i->onbuild && i->n_args == 1);
                fuzz_check(i->onbuild->keyword != DOCKERFILE_ONBUILD &&
                           i->onbuild->keyword != DOCKERFILE_FROM &&
                           i->onbuild->keyword != DOCKERFILE_MAINTAINER);
                check_instruction(i->onbuild, escape, true);
                if (escape == '\\') {
                        _cleanup_(dockerfile_instruction_freep) DockerfileInstruction *t = NULL;

                        fuzz_check(dockerfile_parse_trigger(i->args[0], &t, NULL) == 0);
                        fuzz_check(t->keyword == i->onbuild->keyword && t->n_args == i->onbuild->n_args);
                }
                break;
        case DOCKERFILE_ENV:
        case DOCKERFILE_LABEL:
                fuzz_check(i->n_args >= 2 && i->n_args % 2 == 0);
                break;
        case DOCKERFILE_COPY:
        case DOCKERFILE_ADD:
                fuzz_check(i->n_args >= 2);
                break;
        case DOCKERFILE_SHELL:
                fuzz_check(i->json && i->n_args >= 1);
                break;
        case DOCKERFILE_FROM:
                fuzz_check(i->n_args == 1 || i->n_args == 3);
                break;
        default:
                fuzz_check(i->onbuild == NULL);
        }
        /* Expanding each argument may fail, but both forms fail alike. */
        for (size_t a = 0; a < i->n_args; a++) {
                _cleanup_free_ char *word = NULL;
                g_auto(GStrv) words = NULL;
                int r1, r2;

                r1 = shell_word_expand(i->args[a], escape, shell_lookup_envp, (void *) fuzz_env, &word,
                                       NULL);
                r2 = shell_words_expand(i->args[a], escape, shell_lookup_envp, (void *) fuzz_env, &words,
                                        NULL);
                fuzz_check((r1 < 0) == (r2 < 0));
        }
}

static void fuzz_dockerfile(const char *text, size_t size)
{
        _cleanup_(dockerfile_freep) Dockerfile *d = NULL;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        size_t counted = 0;

        if (dockerfile_parse(text, size, &d, &e) < 0) {
                fuzz_check(!d);
                fuzz_check(e.error < 0 && e.message && g_str_has_prefix(e.message, "Dockerfile"));
                return;
        }
        fuzz_check(d->escape == '\\' || d->escape == '`');
        fuzz_check(d->warnings);
        fuzz_check(d->n_stages >= 1 && d->n_global_args < d->n_instructions);
        for (size_t i = 0; i < d->n_global_args; i++)
                fuzz_check(d->instructions[i].keyword == DOCKERFILE_ARG);
        for (size_t i = 0; i < d->n_instructions; i++)
                check_instruction(&d->instructions[i], d->escape, false);
        for (size_t s = 0; s < d->n_stages; s++) {
                const DockerfileStage *st = &d->stages[s];

                fuzz_check(st->index == s && st->base);
                fuzz_check(st->from >= d->instructions && st->from < d->instructions + d->n_instructions);
                fuzz_check(st->from->keyword == DOCKERFILE_FROM && st->instructions == st->from + 1);
                fuzz_check(st->instructions + st->n_instructions <= d->instructions + d->n_instructions);
                for (size_t i = 0; i < st->n_instructions; i++)
                        fuzz_check(st->instructions[i].keyword != DOCKERFILE_FROM);
                if (st->name)
                        fuzz_check(dockerfile_find_stage(d, st->name, d->n_stages) == st);
                counted += 1 + st->n_instructions;
        }
        fuzz_check(counted + d->n_global_args == d->n_instructions);
}

static void fuzz_dockerignore(const char *text, size_t size)
{
        _cleanup_(dockerignore_freep) Dockerignore *d = NULL;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_auto(GStrv) lines = NULL;

        if (dockerignore_parse(text, size, &d, &e) < 0) {
                fuzz_check(!d && e.message && g_str_has_prefix(e.message, ".dockerignore:"));
                return;
        }
        /* The file's own lines, and a few fixed names, as paths. */
        lines = g_strsplit(text, "\n", 64);
        for (char **l = lines; *l; l++) {
                _cleanup_free_ char *clean = path_clean(*l);
                bool excluded = dockerignore_excludes(d, *l);

                fuzz_check(clean);
                fuzz_check(excluded == dockerignore_excludes(d, clean));
                if (dockerignore_can_skip_dir(d, *l))
                        fuzz_check(excluded);
                (void) path_glob_match(*l, "a/b.c");
                (void) path_has_wildcards(*l);
        }
        (void) dockerignore_excludes(d, "Dockerfile");
        (void) dockerignore_can_skip_dir(d, "src/sub");
}

static void fuzz_word(const char *text, char escape)
{
        _cleanup_berth_error_ BerthError e1 = BERTH_ERROR_INIT, e2 = BERTH_ERROR_INIT;
        _cleanup_free_ char *word = NULL;
        g_auto(GStrv) words = NULL;
        int r1, r2;

        r1 = shell_word_expand(text, escape, shell_lookup_envp, (void *) fuzz_env, &word, &e1);
        r2 = shell_words_expand(text, escape, shell_lookup_envp, (void *) fuzz_env, &words, &e2);
        fuzz_check((r1 < 0) == (r2 < 0));
        if (r1 < 0) {
                fuzz_check(!word && !words && e1.message && e2.message);
                fuzz_check(streq(e1.message, e2.message));
                return;
        }
        fuzz_check(word && words);
        for (char **w = words; *w; w++)
                fuzz_check(**w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = NULL;

        if (size < 2)
                return 0;
        s = fuzz_strndup(data + 1, size - 1);
        switch (data[0] % 3) {
        case 0:
                fuzz_dockerfile((const char *) data + 1, size - 1);
                break;
        case 1:
                fuzz_dockerignore(s, strlen(s));
                break;
        default:
                fuzz_word(s + 1, data[1] % 2 ? '`' : '\\');
        }
        return 0;
}
