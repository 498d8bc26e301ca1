/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "shared/error.h"
#include "shared/macro.h"

/* .dockerignore, as Docker reads it (moby/patternmatcher ReadAll + New + MatchesOrParentMatches):
 *
 * - one pattern a line; lines starting with '#' are comments (only in the first column); blanks around a
 *   pattern are trimmed; empty lines skipped; a UTF-8 byte order mark is skipped
 * - "!pattern" is an exception: it re-includes what earlier patterns excluded; the last matching pattern
 *   wins; a lone "!" is an error
 * - each pattern is cleaned as Go's filepath.Clean does ("./a//b/../c" → "a/c"), and a leading "/" dropped:
 *   patterns are relative to the context's root
 * - "*" is any run of characters but '/', "?" one character but '/', "[a-z]" / "[^a-z]" a class, "\\c" a
 *   literal c; "**" any number of directories (also none: "**" + "/x" matches "x", "a/b/x"); a trailing "**"
 *   matches everything below; a leading "**" directly followed by text is any prefix ("**.txt" matches
 *   "a.txt" and "d/b.txt", as Docker compares such a pattern's suffix)
 * - a path is excluded when a pattern matches it or one of its parent directories ("build" excludes
 *   "build/x/y").
 *
 * Docker's client always sends the Dockerfile and .dockerignore themselves, even when listed; that is the
 * build engine's business, not this matcher's. */

typedef struct Dockerignore Dockerignore;

/* Parses the file's text (size bytes). Returns 0, -ENOMEM, or -EINVAL with e holding ".dockerignore:LINE:
 * …" (a lone "!", a malformed pattern such as "[a"). An empty file gives a matcher that excludes nothing. */
int dockerignore_parse(const char *text, size_t size, Dockerignore **ret, BerthError *e);

Dockerignore *dockerignore_free(Dockerignore *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Dockerignore *, dockerignore_free);

/* Whether path, relative to the context root with '/' separators ("src/main.c", no leading "/" or "./";
 * it is cleaned first anyway), is excluded from the context. d may be NULL (nothing excluded). */
bool dockerignore_excludes(const Dockerignore *d, const char *path);

/* Whether the walk of the context may skip the directory path entirely: it is excluded and no exception
 * could re-include anything below it. Exact where Docker guesses (Docker compares exception patterns to the
 * directory as plain string prefixes): an exception that could match a path below path, wildcards
 * included, keeps the directory walked. False when d is NULL. */
bool dockerignore_can_skip_dir(const Dockerignore *d, const char *path);

/* Whether the matcher has any exception ("!") pattern. */
bool dockerignore_has_exceptions(const Dockerignore *d);

/* COPY/ADD source globs, Docker's filepath.Match semantics on context-relative paths: "*" and "?" never
 * match '/', "[…]" classes (negated with '^'; also with '!', which Go takes literally), "\\c" a literal c.
 * The pattern is matched against the whole path (pattern "src/" "*.c" matches "src/a.c", not "src/x/a.c" nor
 * "a.c"); a match of a directory means the directory with all its contents. The caller cleans the source
 * first (Go's filepath.Clean: see path_clean()) and refuses sources leaving the context ("../x"). */
bool path_glob_match(const char *pattern, const char *path);
/* Whether s has glob characters ('*', '?', '[' not escaped by '\\'), i.e. needs a walk of the context
 * rather than one lookup. */
bool path_has_wildcards(const char *s);
/* Go's filepath.Clean for '/'-separated paths: "a//b/./c/.." → "a/b", "" → ".", "/../a" → "/a",
 * "../a/.." → "..". Caller frees. NULL on OOM. */
char *path_clean(const char *path);
