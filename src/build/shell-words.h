/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "shared/error.h"
#include "shared/macro.h"

/* Docker's Dockerfile word lexer (moby/buildkit frontend/dockerfile/shell/lex.go), used on the arguments of
 * ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL and FROM (never on the shell form of
 * RUN, CMD and ENTRYPOINT, which the shell sees as written):
 *
 *   'text'            literal, no escapes
 *   "text"            $ expansions inside; the escape character escapes only ", $ and itself
 *   E c               (E the escape character, '\\' or '`') c literally; a lone E at the end is dropped
 *   $NAME  ${NAME}    the value, "" when unset; NAME is [A-Za-z0-9_]+ (all digits: a positional
 *                     parameter, always unset), or one of the specials $@ $* $# $? $- $$ $! $0 (unset)
 *   ${NAME:-word}     word if NAME is unset or empty        ${NAME-word}   word if NAME is unset
 *   ${NAME:+word}     word if NAME is set and not empty     ${NAME+word}   word if NAME is set
 *   ${NAME:?word}     error "NAME: word" if unset or empty  ${NAME?word}   error if unset
 *                     (word is itself expanded, and may be quoted)
 *   a $ not followed by a name is literal
 *
 * Errors (-EINVAL, message in e): "unexpected end of statement while looking for matching double-quote"
 * (or single-quote), "syntax error: missing '}'", "syntax error: bad substitution" (${}, ${:x}),
 * "unsupported modifier (X) in substitution" (${A#x} and the other pattern forms), "missing ':' in
 * substitution", "NAME: is not allowed to be unset", "syntax error: substitutions nested deeper than 64". */

/* Looks name up: the value, or NULL when name is not set. */
typedef const char *(*ShellLookup)(const char *name, void *userdata);

/* A ShellLookup over an environment strv ("K=V" entries; the last entry for a name wins, as Docker's
 * environment does): pass the strv (char **) as userdata. */
const char *shell_lookup_envp(const char *name, void *envp);

/* Docker's ProcessWord: word processed into one string (blanks kept: "a  b" stays "a  b"). The form every
 * instruction but EXPOSE uses, applied to each argument (and to each key and each value of ENV, LABEL and
 * ARG, all with the environment from before the instruction: "ENV a=1 b=$a" sets b to the old $a).
 * lookup may be NULL (everything unset). */
int shell_word_expand(const char *word, char escape, ShellLookup lookup, void *userdata, char **ret,
                      BerthError *e);

/* Docker's ProcessWords: the same, then split into words at unquoted blanks, including blanks that come
 * from expansions ("$PORTS" with PORTS="80 443" gives two words; as in Docker, an empty word such as "''" is
 * dropped). EXPOSE uses it.
 * ret is a NULL-terminated strv (free with g_strfreev/strv_free). */
int shell_words_expand(const char *word, char escape, ShellLookup lookup, void *userdata, char ***ret,
                       BerthError *e);

/* An environment strv ("K=V", as Docker keeps a config's Env) with name set to value: replaces the last
 * entry for name in place, or appends. *envp may be NULL (a new strv). */
int shell_env_set(char ***envp, const char *name, const char *value);
