/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "build/dockerfile.h"

static Dockerfile *parse_ok(const char *text)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Dockerfile *d = NULL;

        if (dockerfile_parse(text, strlen(text), &d, &e) < 0)
                g_error("parsing failed: %s\n%s", berth_error_message(&e), text);
        return d;
}

static void parse_fails(const char *text, const char *message)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Dockerfile *d = NULL;

        g_assert_cmpint(dockerfile_parse(text, strlen(text), &d, &e), <, 0);
        g_assert_null(d);
        g_assert_cmpstr(berth_error_message(&e), ==, message);
}

static char *joined_args(const DockerfileInstruction *i)
{
        return g_strjoinv("|", i->args);
}

static void assert_args(const DockerfileInstruction *i, const char *expected)
{
        g_autofree char *got = joined_args(i);

        g_assert_cmpstr(got, ==, expected);
        g_assert_cmpuint(i->n_args, ==, g_strv_length(i->args));
}

/* The tutorial's Dockerfile. */
static void test_tutorial(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d = parse_ok("FROM debian:bookworm-slim\n"
                                                             "COPY . /app\n"
                                                             "RUN make /app\n"
                                                             "CMD python /app/app.py\n");

        g_assert_cmpint(d->escape, ==, '\\');
        g_assert_null(d->syntax);
        g_assert_cmpuint(d->n_instructions, ==, 4);
        g_assert_cmpuint(d->n_global_args, ==, 0);
        g_assert_cmpuint(d->n_stages, ==, 1);
        g_assert_cmpstr(d->stages[0].base, ==, "debian:bookworm-slim");
        g_assert_null(d->stages[0].name);
        g_assert_true(d->stages[0].from == &d->instructions[0]);
        g_assert_true(d->stages[0].instructions == &d->instructions[1]);
        g_assert_cmpuint(d->stages[0].n_instructions, ==, 3);
        g_assert_nonnull(d->warnings);
        g_assert_null(d->warnings[0]);

        g_assert_cmpint(d->instructions[1].keyword, ==, DOCKERFILE_COPY);
        g_assert_cmpuint(d->instructions[1].line, ==, 2);
        g_assert_cmpstr(d->instructions[1].original, ==, "COPY . /app");
        assert_args(&d->instructions[1], ".|/app");
        g_assert_false(d->instructions[1].json);

        g_assert_cmpint(d->instructions[2].keyword, ==, DOCKERFILE_RUN);
        assert_args(&d->instructions[2], "make /app");
        g_assert_cmpint(d->instructions[3].keyword, ==, DOCKERFILE_CMD);
        assert_args(&d->instructions[3], "python /app/app.py");
        g_assert_cmpuint(d->instructions[3].line, ==, 4);
}

static void test_keywords(void)
{
        for (DockerfileKeyword k = 0; k < _DOCKERFILE_KEYWORD_MAX; k++) {
                g_autofree char *lower = g_ascii_strdown(dockerfile_keyword_to_string(k), -1);

                g_assert_cmpint(dockerfile_keyword_from_string(dockerfile_keyword_to_string(k)), ==, k);
                g_assert_cmpint(dockerfile_keyword_from_string(lower), ==, k);
        }
        g_assert_cmpint(dockerfile_keyword_from_string("RUNN"), ==, _DOCKERFILE_KEYWORD_INVALID);
        g_assert_null(dockerfile_keyword_to_string(_DOCKERFILE_KEYWORD_MAX));
        g_assert_null(dockerfile_keyword_to_string(_DOCKERFILE_KEYWORD_INVALID));
}

static void test_stages(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d = parse_ok("ARG VERSION=12\n"
                                                             "arg BASE\n"
                                                             "from debian:${VERSION} as Build\n"
                                                             "run make\n"
                                                             "FROM --platform=linux/amd64 scratch AS final\n"
                                                             "COPY --from=build /src/app /app\n"
                                                             "COPY --from=0 /a /b\n"
                                                             "FROM final\n");

        g_assert_cmpuint(d->n_global_args, ==, 2);
        g_assert_cmpuint(d->n_stages, ==, 3);
        g_assert_cmpstr(d->stages[0].base, ==, "debian:${VERSION}");
        g_assert_cmpstr(d->stages[0].name, ==, "build");
        g_assert_cmpuint(d->stages[0].n_instructions, ==, 1);
        assert_args(d->stages[0].from, "debian:${VERSION}|as|Build");
        g_assert_cmpstr(d->stages[1].base, ==, "scratch");
        g_assert_cmpstr(d->stages[1].name, ==, "final");
        g_assert_cmpstr(d->stages[1].platform, ==, "linux/amd64");
        g_assert_cmpuint(d->stages[1].n_instructions, ==, 2);
        g_assert_cmpuint(d->stages[2].n_instructions, ==, 0);
        g_assert_cmpuint(d->stages[2].index, ==, 2);
        g_assert_cmpstr(dockerfile_instruction_flag(&d->stages[1].instructions[0], "from")->value, ==,
                        "build");
        g_assert_null(dockerfile_instruction_flag(&d->stages[1].instructions[0], "chown"));

        g_assert_true(dockerfile_find_stage(d, "BUILD", 1) == &d->stages[0]);
        g_assert_null(dockerfile_find_stage(d, "build", 0));
        g_assert_true(dockerfile_find_stage(d, "0", 1) == &d->stages[0]);
        g_assert_null(dockerfile_find_stage(d, "1", 1));
        g_assert_true(dockerfile_find_stage(d, "final", d->n_stages) == &d->stages[1]);
        g_assert_null(dockerfile_find_stage(d, "nope", d->n_stages));
        g_assert_null(dockerfile_find_stage(d, "debian", d->n_stages));
        g_assert_null(dockerfile_find_stage(d, "0x", d->n_stages));
}

static void test_continuations(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d = parse_ok("FROM x\n"
                                                             "RUN apt-get update && \\\n"
                                                             "    apt-get install -y \\\t \n"
                                                             "# a comment inside\n"
                                                             "\n"
                                                             "   \n"
                                                             "      make\n"
                                                             "  RUN echo \\\\\n"
                                                             "RUN echo last \\");

        g_assert_cmpuint(d->n_instructions, ==, 4);
        g_assert_cmpstr(d->instructions[1].original, ==,
                        "RUN apt-get update &&     apt-get install -y       make");
        g_assert_cmpuint(d->instructions[1].line, ==, 2);
        g_assert_cmpuint(d->instructions[1].end_line, ==, 7);
        /* An escaped escape character does not continue the line. */
        g_assert_cmpstr(d->instructions[2].original, ==, "RUN echo \\\\");
        g_assert_cmpuint(d->instructions[2].line, ==, 8);
        /* An escape character at the end of the file ends the instruction. */
        assert_args(&d->instructions[3], "echo last");
        /* Docker warns about the empty continuation lines. */
        g_assert_cmpuint(g_strv_length(d->warnings), ==, 2);
        g_assert_cmpstr(d->warnings[0], ==,
                        "[WARNING]: Empty continuation line found in:\n    RUN apt-get update &&     "
                        "apt-get install -y       make");
        g_assert_cmpstr(d->warnings[1], ==,
                        "[WARNING]: Empty continuation lines will become errors in a future release.");
}

static void test_comments_and_crlf(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d = parse_ok("\xEF\xBB\xBF# comment\r\n"
                                                             "  # indented comment\r\n"
                                                             "FROM x\r\n"
                                                             "RUN a \\\r\n"
                                                             "  b # not a comment\r\n"
                                                             "\r\n");

        g_assert_cmpuint(d->n_instructions, ==, 2);
        g_assert_cmpuint(d->instructions[0].line, ==, 3);
        g_assert_cmpstr(d->instructions[1].original, ==, "RUN a   b # not a comment");
}

static void test_directives(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d = parse_ok("# syntax=docker/dockerfile:1\n"
                                                             "#escape = `\n"
                                                             "FROM mcr.microsoft.com/windows\n"
                                                             "COPY testfile.txt c:\\\n"
                                                             "RUN dir c:\\ `\n"
                                                             "    && echo ok\n"
                                                             "ENV A=`$B\n");
        _cleanup_(dockerfile_freep) Dockerfile *late = NULL, *unknown = NULL;

        g_assert_cmpint(d->escape, ==, '`');
        g_assert_cmpstr(d->syntax, ==, "docker/dockerfile:1");
        g_assert_cmpuint(d->n_instructions, ==, 4);
        assert_args(&d->instructions[1], "testfile.txt|c:\\");
        assert_args(&d->instructions[2], "dir c:\\     && echo ok");
        assert_args(&d->instructions[3], "A|`$B");

        /* After anything else, a directive is a comment. */
        late = parse_ok("# a comment\n# escape=`\nFROM x\nRUN a \\\n b\n");
        g_assert_cmpint(late->escape, ==, '\\');
        g_assert_cmpuint(late->n_instructions, ==, 2);
        late = dockerfile_free(late);
        late = parse_ok("\n# escape=`\nFROM x\n");
        g_assert_cmpint(late->escape, ==, '\\');
        /* An unknown directive ends them too. */
        unknown = parse_ok("# foo=bar\n# escape=`\nFROM x\n");
        g_assert_cmpint(unknown->escape, ==, '\\');

        parse_fails("# escape=x\nFROM x\n", "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
        parse_fails("# escape=`\n# escape=\\\nFROM x\n",
                    "Dockerfile:2: only one escape parser directive can be used");
        parse_fails("# syntax=a\n# SYNTAX=b\nFROM x\n",
                    "Dockerfile:2: only one syntax parser directive can be used");
}

static void test_exec_form(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d =
                parse_ok("FROM x\n"
                         "RUN [\"sh\", \"-c\"]\n"
                         "CMD [\"echo\", \"a \\\"b\\\"\", \"\\u00e9\\n\"]\n"
                         "ENTRYPOINT [\"/bin/app\"] trailing text\n"
                         "CMD [\"unterminated\"\n"
                         "CMD [not json]\n"
                         "CMD []\n"
                         "SHELL [\"/bin/bash\", \"-c\"]\n"
                         "COPY [\"a b\", \"/c d/\"]\n"
                         "VOLUME [\"/data\"]\n"
                         "VOLUME /a /b\n"
                         "CMD\n"
                         "ENTRYPOINT [\"a\",]\n");

        g_assert_true(d->instructions[1].json);
        assert_args(&d->instructions[1], "sh|-c");
        g_assert_true(d->instructions[2].json);
        assert_args(&d->instructions[2], "echo|a \"b\"|\xC3\xA9\n");
        /* Docker decodes the first JSON value and ignores the rest. */
        g_assert_true(d->instructions[3].json);
        assert_args(&d->instructions[3], "/bin/app");
        /* Bad JSON is the shell form. */
        g_assert_false(d->instructions[4].json);
        assert_args(&d->instructions[4], "[\"unterminated\"");
        g_assert_false(d->instructions[5].json);
        assert_args(&d->instructions[5], "[not json]");
        g_assert_true(d->instructions[6].json);
        g_assert_cmpuint(d->instructions[6].n_args, ==, 0);
        g_assert_true(d->instructions[7].json);
        assert_args(&d->instructions[8], "a b|/c d/");
        g_assert_true(d->instructions[8].json);
        assert_args(&d->instructions[9], "/data");
        assert_args(&d->instructions[10], "/a|/b");
        g_assert_false(d->instructions[11].json);
        g_assert_cmpuint(d->instructions[11].n_args, ==, 0);
        g_assert_false(d->instructions[12].json);
        assert_args(&d->instructions[12], "[\"a\",]");

        /* What json-glib would take but Go's decoder refuses stays the shell form, as in Docker. */
        {
                static const char *const lenient[] = {
                        "['a']", "[/* c */ \"a\"]", "[\"\\x41\"]", "[\"a\tb\"]", "[\"\\'\"]", "[\"a\\q\"]",
                };

                for (size_t k = 0; k < G_N_ELEMENTS(lenient); k++) {
                        g_autofree char *text = g_strdup_printf("FROM x\nCMD %s\n", lenient[k]);
                        _cleanup_(dockerfile_freep) Dockerfile *l = parse_ok(text);

                        g_assert_false(l->instructions[1].json);
                        assert_args(&l->instructions[1], lenient[k]);
                }
        }
        d = dockerfile_free(d);
        d = parse_ok("FROM x\nCMD [\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\"]\n");
        g_assert_true(d->instructions[1].json);
        assert_args(&d->instructions[1], "a\"\\/\b\f\n\r\tA");

        /* Nesting json-glib would recurse into deeply is no JSON array of strings anyway: the shell form. */
        {
                g_autoptr(GString) deep = g_string_new("FROM x\nCMD ");
                _cleanup_(dockerfile_freep) Dockerfile *n = NULL;

                for (unsigned i = 0; i < 100000; i++)
                        g_string_append_c(deep, '[');
                for (unsigned i = 0; i < 100000; i++)
                        g_string_append_c(deep, ']');
                n = parse_ok(deep->str);
                g_assert_false(n->instructions[1].json);
        }
        parse_fails("FROM x\nCMD [\"a\", 1]\n",
                    "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only");
        parse_fails("FROM x\nSHELL /bin/sh -c\n",
                    "Dockerfile:2: SHELL requires the arguments to be in JSON form");
        parse_fails("FROM x\nSHELL []\n", "Dockerfile:2: SHELL requires at least one argument");
}

static void test_env_label(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d =
                parse_ok("FROM x\n"
                         "ENV A B C\n"
                         "ENV K=V K2=\"v 2\" K3=a\\ b K4='x y' K5=\n"
                         "LABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0\n"
                         "ENV a=1 b=$a\n"
                         "label old style\n");

        assert_args(&d->instructions[1], "A|B C");
        assert_args(&d->instructions[2], "K|V|K2|\"v 2\"|K3|a\\ b|K4|'x y'|K5|");
        assert_args(&d->instructions[3], "\"com.example.vendor\"|\"ACME Inc\"|version|1.0");
        assert_args(&d->instructions[4], "a|1|b|$a");
        g_assert_cmpint(d->instructions[5].keyword, ==, DOCKERFILE_LABEL);
        assert_args(&d->instructions[5], "old|style");

        parse_fails("FROM x\nENV A\n", "Dockerfile:2: ENV must have two arguments");
        parse_fails("FROM x\nENV\n", "Dockerfile:2: ENV requires at least one argument");
        parse_fails("FROM x\nENV A=1 B\n",
                    "Dockerfile:2: syntax error - can't find = in \"B\". Must be of the form: name=value");
        parse_fails("FROM x\nLABEL =x\n", "Dockerfile:2: LABEL names can not be blank");
}

static void test_arg(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d = parse_ok("ARG A B=2 C=\"x y\"\nFROM x\nARG D\n");
        g_autofree char *name = NULL, *def = NULL, *name2 = NULL, *def2 = NULL;

        assert_args(&d->instructions[0], "A|B=2|C=\"x y\"");
        g_assert_cmpuint(d->n_global_args, ==, 1);
        g_assert_cmpint(dockerfile_arg_split("B=2=3", &name, &def), ==, 0);
        g_assert_cmpstr(name, ==, "B");
        g_assert_cmpstr(def, ==, "2=3");
        g_assert_cmpint(dockerfile_arg_split("A", &name2, &def2), ==, 0);
        g_assert_cmpstr(name2, ==, "A");
        g_assert_null(def2);

        parse_fails("ARG\nFROM x\n", "Dockerfile:1: ARG requires at least one argument");
        parse_fails("ARG =1\nFROM x\n", "Dockerfile:1: ARG names can not be blank");
}

static void test_flags(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d =
                parse_ok("FROM x\n"
                         "COPY --chown=1000:1000 --chmod=0755 --link a b\n"
                         "ADD --chown=\"app user\" --link=false x.tar /\n"
                         "COPY -- --weird /dest\n"
                         "COPY --from=build [\"/a\", \"/b\"]\n");
        const DockerfileInstruction *copy = &d->instructions[1], *add = &d->instructions[2];

        g_assert_cmpuint(copy->n_flags, ==, 3);
        g_assert_cmpstr(dockerfile_instruction_flag(copy, "chown")->value, ==, "1000:1000");
        g_assert_cmpstr(dockerfile_instruction_flag(copy, "chmod")->value, ==, "0755");
        g_assert_null(dockerfile_instruction_flag(copy, "link")->value);
        assert_args(copy, "a|b");
        g_assert_cmpstr(dockerfile_instruction_flag(add, "chown")->value, ==, "app user");
        g_assert_cmpstr(dockerfile_instruction_flag(add, "link")->value, ==, "false");
        assert_args(&d->instructions[3], "--weird|/dest");
        g_assert_cmpuint(d->instructions[3].n_flags, ==, 0);
        g_assert_true(d->instructions[4].json);
        assert_args(&d->instructions[4], "/a|/b");

        parse_fails("FROM x\nCOPY --nope a b\n", "Dockerfile:2: unknown flag: --nope");
        parse_fails("FROM x\nRUN --mount=type=cache,target=/x make\n",
                    "Dockerfile:2: RUN --mount is not supported");
        parse_fails("FROM x\nCOPY --from a b\n", "Dockerfile:2: missing a value on flag: --from");
        parse_fails("FROM x\nCOPY --from=a --from=b a b\n",
                    "Dockerfile:2: duplicate flag specified: --from");
        parse_fails("FROM x\nCOPY --link=maybe a b\n",
                    "Dockerfile:2: expecting boolean value for flag --link, not: maybe");
        parse_fails("FROM x\nWORKDIR --chown=1 /x\n", "Dockerfile:2: unknown flag: --chown");
        parse_fails("FROM --from=x y\n", "Dockerfile:1: unknown flag: --from");
}

static void test_healthcheck(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d =
                parse_ok("FROM x\n"
                         "HEALTHCHECK --interval=5m --timeout=3s --retries=3 CMD curl -f http://localhost/ "
                         "|| exit 1\n"
                         "HEALTHCHECK cmd [\"/bin/check\", \"--fast\"]\n"
                         "HEALTHCHECK none\n");

        assert_args(&d->instructions[1], "CMD|curl -f http://localhost/ || exit 1");
        g_assert_false(d->instructions[1].json);
        g_assert_cmpstr(dockerfile_instruction_flag(&d->instructions[1], "interval")->value, ==, "5m");
        assert_args(&d->instructions[2], "CMD|/bin/check|--fast");
        g_assert_true(d->instructions[2].json);
        assert_args(&d->instructions[3], "NONE");

        parse_fails("FROM x\nHEALTHCHECK NONE x\n", "Dockerfile:2: HEALTHCHECK NONE takes no arguments");
        parse_fails("FROM x\nHEALTHCHECK --interval=5s NONE\n", "Dockerfile:2: unknown flag: --interval");
        parse_fails("FROM x\nHEALTHCHECK CMD\n", "Dockerfile:2: missing command after HEALTHCHECK CMD");
        parse_fails("FROM x\nHEALTHCHECK RUN x\n",
                    "Dockerfile:2: unknown type \"RUN\" in HEALTHCHECK (try CMD)");
        parse_fails("FROM x\nHEALTHCHECK --interval=1us CMD x\n",
                    "Dockerfile:2: interval \"interval\" cannot be less than 1ms");
        parse_fails("FROM x\nHEALTHCHECK --timeout=soon CMD x\n",
                    "Dockerfile:2: --timeout: invalid duration \"soon\"");
        parse_fails("FROM x\nHEALTHCHECK --retries=0 CMD x\n",
                    "Dockerfile:2: --retries must be at least 1 (not 0)");
        parse_fails("FROM x\nHEALTHCHECK\n", "Dockerfile:2: HEALTHCHECK requires at least one argument");
}

static void test_onbuild(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d = parse_ok("FROM x\n"
                                                             "ONBUILD COPY --chown=1 . /app/src\n"
                                                             "onbuild   run make \\\n"
                                                             "  all\n");
        _cleanup_(dockerfile_instruction_freep) DockerfileInstruction *t = NULL;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        const DockerfileInstruction *o = &d->instructions[1];

        assert_args(o, "COPY --chown=1 . /app/src");
        g_assert_nonnull(o->onbuild);
        g_assert_cmpint(o->onbuild->keyword, ==, DOCKERFILE_COPY);
        g_assert_cmpuint(o->onbuild->line, ==, 2);
        assert_args(o->onbuild, ".|/app/src");
        g_assert_cmpstr(dockerfile_instruction_flag(o->onbuild, "chown")->value, ==, "1");
        assert_args(&d->instructions[2], "run make   all");
        g_assert_cmpint(d->instructions[2].onbuild->keyword, ==, DOCKERFILE_RUN);

        g_assert_cmpint(dockerfile_parse_trigger("RUN [\"make\"]", &t, &e), ==, 0);
        g_assert_cmpint(t->keyword, ==, DOCKERFILE_RUN);
        g_assert_true(t->json);
        t = dockerfile_instruction_free(t);
        g_assert_cmpint(dockerfile_parse_trigger("FROM x", &t, &e), <, 0);
        g_assert_null(t);
        g_assert_cmpstr(berth_error_message(&e), ==,
                        "ONBUILD trigger: FROM isn't allowed as an ONBUILD trigger");

        parse_fails("FROM x\nONBUILD ONBUILD RUN x\n",
                    "Dockerfile:2: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        parse_fails("FROM x\nONBUILD from y\n", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
        parse_fails("FROM x\nONBUILD MAINTAINER me\n",
                    "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger");
        parse_fails("FROM x\nONBUILD\n", "Dockerfile:2: ONBUILD requires at least one argument");
        parse_fails("FROM x\nONBUILD RUNN x\n", "Dockerfile:2: unknown instruction: RUNN");
        parse_fails("FROM x\nONBUILD RUN <<EOF\n", "Dockerfile:2: heredocs are not supported: <<EOF");
}

static void test_simple_instructions(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d = parse_ok("FROM x\n"
                                                             "WORKDIR /app dir\n"
                                                             "USER app:app\n"
                                                             "EXPOSE 80/tcp  443 $PORT\n"
                                                             "STOPSIGNAL SIGTERM\n"
                                                             "MAINTAINER Jane Doe <jane@example.com>\n");

        assert_args(&d->instructions[1], "/app dir");
        assert_args(&d->instructions[2], "app:app");
        assert_args(&d->instructions[3], "80/tcp|443|$PORT");
        assert_args(&d->instructions[4], "SIGTERM");
        assert_args(&d->instructions[5], "Jane Doe <jane@example.com>");

        parse_fails("FROM x\nWORKDIR\n", "Dockerfile:2: WORKDIR requires exactly one argument");
        parse_fails("FROM x\nEXPOSE\n", "Dockerfile:2: EXPOSE requires at least one argument");
        parse_fails("FROM x\nVOLUME\n", "Dockerfile:2: VOLUME requires at least one argument");
        parse_fails("FROM x\nVOLUME [\"\"]\n", "Dockerfile:2: VOLUME specified can not be an empty string");
        parse_fails("FROM x\nRUN\n", "Dockerfile:2: RUN requires at least one argument");
        parse_fails(
                "FROM x\nCOPY a\n",
                "Dockerfile:2: COPY requires at least two arguments, but only one was provided. Destination "
                "could not be determined");
}

static void test_heredocs(void)
{
        _cleanup_(dockerfile_freep) Dockerfile *d =
                parse_ok("FROM x\n"
                         "RUN echo \"a <<EOF\" && cat <<< x && echo $((1<<2))\n"
                         "RUN [\"cat\", \"<<EOF\"]\n");

        g_assert_cmpuint(d->n_instructions, ==, 3);
        parse_fails("FROM x\n\nRUN <<EOF\necho hi\nEOF\n",
                    "Dockerfile:3: heredocs are not supported: <<EOF");
        parse_fails("FROM x\nRUN cat <<-'END' > /x\n", "Dockerfile:2: heredocs are not supported: <<-END");
        parse_fails("FROM x\nCOPY <<EOF /etc/x\n", "Dockerfile:2: heredocs are not supported: <<EOF");
        parse_fails("FROM x\nRUN python3 3<<\"EOF\"\n", "Dockerfile:2: heredocs are not supported: 3<<EOF");
}

static void test_errors(void)
{
        parse_fails("", "Dockerfile: file with no instructions");
        parse_fails("# only a comment\n\n", "Dockerfile: file with no instructions");
        parse_fails("ARG A\n", "Dockerfile: no FROM instruction");
        parse_fails("FROM x\nRUNN make\n", "Dockerfile:2: unknown instruction: RUNN");
        parse_fails("RUN make\nFROM x\n",
                    "Dockerfile:1: no build stage in current context: RUN must come after a FROM");
        parse_fails("FROM\n", "Dockerfile:1: FROM requires either one or three arguments");
        parse_fails("FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments");
        parse_fails("FROM a AS\n", "Dockerfile:1: FROM requires either one or three arguments");
        parse_fails("FROM a to b\n", "Dockerfile:1: FROM requires either one or three arguments");
        parse_fails("FROM a AS 1st\n", "Dockerfile:1: invalid name for build stage: \"1st\", name can't "
                                       "start with a number or contain "
                                       "symbols");
        parse_fails("FROM a AS x\nFROM b AS X\n", "Dockerfile:2: duplicate stage name \"x\"");
        g_assert_cmpint(dockerfile_parse("FROM x\0\n", 8, &(Dockerfile *){ NULL }, NULL), ==, -EINVAL);
}

static void test_duration(void)
{
        static const struct {
                const char *s;
                int r;
                int64_t nsec;
        } cases[] = {
                { "0", 0, 0 },
                { "30s", 0, 30000000000LL },
                { "1m30s", 0, 90000000000LL },
                { "1.5h", 0, 5400000000000LL },
                { "500ms", 0, 500000000LL },
                { "1us", 0, 1000 },
                { "1\xC2\xB5s", 0, 1000 },
                { "2ns", 0, 2 },
                { ".5s", 0, 500000000LL },
                { "1.s", 0, 1000000000LL },
                { "+3s", 0, 3000000000LL },
                { "", -EINVAL, 0 },
                { "3", -EINVAL, 0 },
                { "-3s", -EINVAL, 0 },
                { "3d", -EINVAL, 0 },
                { ".s", -EINVAL, 0 },
                { "s", -EINVAL, 0 },
                { "9999999999999999999h", -ERANGE, 0 },
                { "2562048h", -ERANGE, 0 },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                int64_t nsec = -1;

                g_assert_cmpint(dockerfile_parse_duration(cases[i].s, &nsec), ==, cases[i].r);
                if (cases[i].r == 0)
                        g_assert_cmpint(nsec, ==, cases[i].nsec);
        }
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/dockerfile/tutorial", test_tutorial);
        g_test_add_func("/dockerfile/keywords", test_keywords);
        g_test_add_func("/dockerfile/stages", test_stages);
        g_test_add_func("/dockerfile/continuations", test_continuations);
        g_test_add_func("/dockerfile/comments-and-crlf", test_comments_and_crlf);
        g_test_add_func("/dockerfile/directives", test_directives);
        g_test_add_func("/dockerfile/exec-form", test_exec_form);
        g_test_add_func("/dockerfile/env-label", test_env_label);
        g_test_add_func("/dockerfile/arg", test_arg);
        g_test_add_func("/dockerfile/flags", test_flags);
        g_test_add_func("/dockerfile/healthcheck", test_healthcheck);
        g_test_add_func("/dockerfile/onbuild", test_onbuild);
        g_test_add_func("/dockerfile/simple-instructions", test_simple_instructions);
        g_test_add_func("/dockerfile/heredocs", test_heredocs);
        g_test_add_func("/dockerfile/errors", test_errors);
        g_test_add_func("/dockerfile/duration", test_duration);
        return g_test_run();
}
