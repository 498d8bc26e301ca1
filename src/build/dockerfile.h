/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/error.h"
#include "shared/macro.h"

/* Dockerfiles, parsed as Docker's parser (moby/buildkit frontend/dockerfile/parser + instructions) does:
 *
 * - Parser directives only at the very top, before any other line (an empty line, a plain comment or an
 *   instruction ends them): "# escape=`" (or "\") is honoured, "# syntax=…" and "# check=…" are accepted
 *   and ignored (syntax is kept in Dockerfile.syntax); a repeated directive is an error; "# foo=bar" with
 *   an unknown key is a plain comment. A UTF-8 byte order mark is skipped.
 * - Comments: lines whose first non-blank character is '#'. Inside a continued instruction, comment lines
 *   and empty lines are skipped (Docker warns about the latter; we accept them silently).
 * - Line continuation: the escape character followed only by blanks at the end of a line; the joined text
 *   keeps the continuation lines' leading blanks ("RUN a \⏎    b" gives "RUN a     b"). An escape character
 *   at the end of the file simply ends the instruction. CR LF line ends are accepted.
 * - Leading "--name[=value]" words are flags. Only flags Docker defines for the instruction are accepted
 *   ("unknown flag: --x" otherwise); BuildKit-only ones berth does not implement (RUN --mount/--network/
 *   --security, COPY --parents/--exclude, ADD --checksum/--keep-git-dir) are refused naming them.
 * - Keywords are case-insensitive ("from x as y" is FROM x AS y). An unknown keyword is an error.
 * - Heredocs ("RUN <<EOF", "COPY <<EOF /x") are refused with an error naming the line.
 *
 * Errors are -EINVAL with a BerthError message "Dockerfile:LINE: message" (LINE of the instruction's first
 * line), e.g. "Dockerfile:3: unknown instruction: RUNN", "Dockerfile:1: FROM requires either one or three
 * arguments", "Dockerfile:2: no build stage in current context: RUN must come after a FROM" (only ARG may
 * precede the first FROM); -EOPNOTSUPP for what Docker has and berth refuses: "Dockerfile:4: heredocs are
 * not supported: <<EOF", "Dockerfile:2: RUN --mount is not supported". Bad JSON in an exec form is no
 * error: as in Docker, the text is then the shell form ("CMD [not json]" runs "[not json]"); only a JSON
 * array holding something else than strings is.
 *
 * Nothing is expanded here: args hold the text as written (quotes included where Docker's lexer will
 * process them later). Variable substitution is shell-words.h's job, called by the build engine with the
 * environment of each step. */

typedef enum DockerfileKeyword {
        DOCKERFILE_FROM,
        DOCKERFILE_RUN,
        DOCKERFILE_COPY,
        DOCKERFILE_ADD,
        DOCKERFILE_CMD,
        DOCKERFILE_ENTRYPOINT,
        DOCKERFILE_ENV,
        DOCKERFILE_ARG,
        DOCKERFILE_WORKDIR,
        DOCKERFILE_USER,
        DOCKERFILE_LABEL,
        DOCKERFILE_EXPOSE,
        DOCKERFILE_VOLUME,
        DOCKERFILE_STOPSIGNAL,
        DOCKERFILE_SHELL,
        DOCKERFILE_HEALTHCHECK,
        DOCKERFILE_ONBUILD,
        DOCKERFILE_MAINTAINER,
        _DOCKERFILE_KEYWORD_MAX,
        _DOCKERFILE_KEYWORD_INVALID = -EINVAL,
} DockerfileKeyword;

/* "FROM", "RUN", … (upper case); NULL when out of range. */
const char *dockerfile_keyword_to_string(DockerfileKeyword k);
/* Case-insensitive; _DOCKERFILE_KEYWORD_INVALID when unknown. */
DockerfileKeyword dockerfile_keyword_from_string(const char *s);

typedef struct DockerfileFlag {
        /* without the leading "--": "from", "chown", "chmod", "platform", "link", "interval" … */
        char *name;
        char *value; /* the text after '=', quotes removed as Docker does; NULL for a bare "--link" */
} DockerfileFlag;

typedef struct DockerfileInstruction DockerfileInstruction;

/* One instruction. What args holds depends on the keyword (always a NULL-terminated array, never NULL;
 * n_args is its length):
 *
 *   FROM                   [image] or [image, "AS", name] (the "AS" as written; see DockerfileStage)
 *   RUN, CMD, ENTRYPOINT   json: the array's strings (possibly none: CMD []); shell form: one element, the
 *                          command text ("echo $HOME && make"), to run with the SHELL ("/bin/sh -c").
 *                          Docker decodes the first JSON value only: 'CMD ["a"] b' is ["a"]. A bare "CMD"
 *                          or "ENTRYPOINT" gives no args and json false (Docker accepts it); RUN needs one
 *   SHELL                  json only (Docker refuses the shell form): the array's strings, at least one
 *   COPY, ADD              json or whitespace-split words: sources…, destination (at least two)
 *   VOLUME                 json or whitespace-split words (at least one)
 *   EXPOSE                 whitespace-split words (at least one), e.g. "80/tcp", "$PORT"
 *   ENV, LABEL             key, value, key, value … (even count, at least two). "ENV K V W" gives
 *                          ["K", "V W"]; "ENV K=V K2=\"v 2\"" gives ["K", "V", "K2", "\"v 2\""]: quotes
 *                          and escapes are kept, for shell_word_expand() to process
 *   ARG                    words "NAME" or "NAME=default" (see dockerfile_arg_split())
 *   WORKDIR, USER,         one element, the rest of the line
 *   STOPSIGNAL, MAINTAINER
 *   HEALTHCHECK            ["NONE"] or ["CMD", command…] (type upper-cased; json tells the form of the
 *                          command, as for CMD); flags interval, timeout, start-period, start-interval
 *                          (Go durations, see dockerfile_parse_duration()) and retries, already validated
 *   ONBUILD                one element: the trigger expression as the image config stores it ("RUN make");
 *                          onbuild holds it parsed, with the ONBUILD's line numbers (never ONBUILD, FROM or
 *                          MAINTAINER)
 */
struct DockerfileInstruction {
        DockerfileKeyword keyword;
        unsigned line;     /* 1-based line of the keyword */
        unsigned end_line; /* 1-based last line (continuations) */
        /* The instruction as written with continuations joined, leading blanks removed: Docker's
         * node.Original, what "Step 2/4 : COPY . /app" and the history's "#(nop) " entries print. */
        char *original;
        DockerfileFlag *flags;
        size_t n_flags;
        char **args;
        size_t n_args;
        bool json; /* exec form (a JSON array of strings was given) */
        DockerfileInstruction *onbuild;
};

/* One FROM and the instructions after it, up to the next FROM. */
typedef struct DockerfileStage {
        size_t index;   /* 0-based: what COPY --from=0 names */
        char *base;     /* FROM's image as written (may hold $VAR from global ARGs), or "scratch" */
        char *name;     /* "AS" name, lowercased, or NULL */
        char *platform; /* FROM --platform= as written, or NULL */
        const DockerfileInstruction *from; /* points into Dockerfile.instructions */
        /* those after the FROM: points into Dockerfile.instructions */
        const DockerfileInstruction *instructions;
        size_t n_instructions;
} DockerfileStage;

typedef struct Dockerfile {
        char escape;  /* '\\' or '`' */
        char *syntax; /* "# syntax=" directive's value, or NULL (ignored otherwise) */
        /* All instructions in file order (global ARGs, FROMs, the rest): n_instructions is the "4" of
         * "Step 2/4". */
        DockerfileInstruction *instructions;
        size_t n_instructions;
        size_t n_global_args; /* instructions[0 .. n_global_args) are the ARGs before the first FROM */
        DockerfileStage *stages;
        size_t n_stages; /* at least 1 */
        /* What Docker's parser warns about, in its words, for the build output (NULL-terminated, never
         * NULL): "[WARNING]: Empty continuation line found in:\n    RUN a b", then "[WARNING]: Empty
         * continuation lines will become errors in a future release." */
        char **warnings;
} Dockerfile;

/* Parses text (size bytes, need not be NUL-terminated; an embedded NUL is an error). Returns 0, -ENOMEM, or
 * -EINVAL with e holding "Dockerfile:LINE: …" (also for a file without any instruction: "Dockerfile: file
 * with no instructions"). ret is written on success only. */
int dockerfile_parse(const char *text, size_t size, Dockerfile **ret, BerthError *e);

Dockerfile *dockerfile_free(Dockerfile *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Dockerfile *, dockerfile_free);

/* Parses one ONBUILD trigger expression from an image config ("RUN make", "COPY . /app") as Docker does when
 * a build uses the image as its base (escape '\\'). Refuses ONBUILD, FROM and MAINTAINER triggers. Errors
 * read "ONBUILD trigger: …". */
int dockerfile_parse_trigger(const char *expression, DockerfileInstruction **ret, BerthError *e);
DockerfileInstruction *dockerfile_instruction_free(DockerfileInstruction *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(DockerfileInstruction *, dockerfile_instruction_free);

/* The flag's entry, or NULL when not given (flags appear at most once). */
const DockerfileFlag *dockerfile_instruction_flag(const DockerfileInstruction *i, const char *name);

/* The stage named name (case-insensitive), or else the stage with that decimal index; NULL if none. Only
 * stages before stage index `before` are searched (COPY --from and FROM may name earlier stages only; pass
 * d->n_stages for --target). */
const DockerfileStage *dockerfile_find_stage(const Dockerfile *d, const char *name, size_t before);

/* Splits an ARG word "NAME=default" into "NAME" and "default" (the default unexpanded; ret_default NULL when
 * there is no '='). */
int dockerfile_arg_split(const char *word, char **ret_name, char **ret_default);

/* Go's time.ParseDuration ("30s", "1m30s", "1.5h", "500ms", "0"): nanoseconds. -EINVAL when malformed or
 * negative, -ERANGE on overflow. */
int dockerfile_parse_duration(const char *s, int64_t *ret_nsec);
