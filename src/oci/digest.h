/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

/* Content digests as OCI writes them: "<algorithm>:<encoded>". Only sha256 is supported for content;
 * sha512 is recognised so that a manifest using it is refused as "unsupported" rather than "malformed". */

typedef enum DigestAlgorithm {
        DIGEST_SHA256,
        DIGEST_SHA512,
        _DIGEST_ALGORITHM_MAX,
        _DIGEST_ALGORITHM_INVALID = -EINVAL,
} DigestAlgorithm;

#define DIGEST_SHA256_HEX_LENGTH 64
/* 12 hex + NUL: the id Docker shows in `image ls`. */
#define DIGEST_SHORT_ID_SIZE   13
#define DIGEST_SHORT_ID_LENGTH 12

const char *digest_algorithm_to_string(DigestAlgorithm a);
DigestAlgorithm digest_algorithm_from_string(const char *s);
bool digest_algorithm_is_supported(DigestAlgorithm a);

/* Parses "<algorithm>:<lowercase hex>" with the exact hex length of the algorithm.
 * Returns 0 on success (ret_algorithm/ret_hex optional; ret_hex points into s), -EOPNOTSUPP for a
 * syntactically valid digest of an unknown algorithm (OCI's grammar), and -EINVAL for anything else. */
int digest_parse(const char *s, DigestAlgorithm *ret_algorithm, const char **ret_hex);

/* True for a well-formed digest of a supported algorithm (sha256). */
bool digest_is_valid(const char *s);

/* Pointer to the hex part of a parseable digest (any known algorithm), or NULL. */
const char *digest_hex(const char *s);

/* True if s is exactly n lowercase hex characters (n == 0: any non-empty run up to the NUL). */
bool hex_is_lower(const char *s, size_t n);

/* The 12-hex short id of "sha256:<hex>" or of a bare 64-hex id. */
int digest_short_id(const char *s, char ret[static DIGEST_SHORT_ID_SIZE]);
