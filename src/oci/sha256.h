/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/macro.h"

/* Streaming SHA-256 over OpenSSL's EVP interface, which uses the CPU's SHA extensions where present
 * (about 3x GLib's GChecksum here). Pull pushes every byte of every blob through sha256_update(), so it
 * does no allocation and no formatting: one indirect call into libcrypto per chunk. */

#define SHA256_DIGEST_SIZE 32
/* "sha256:" + 64 hex + NUL */
#define SHA256_DIGEST_STRING_SIZE (7 + 2 * SHA256_DIGEST_SIZE + 1)

typedef struct Sha256 Sha256;

/* OpenSSL's SHA-256, fetched once per process. EVP_sha256() is fetched again from the provider on every
 * EVP_DigestInit_ex() (a locked table lookup): a pull of many small layers starts several hashes per layer,
 * each in a new child that inherits this one. */
const EVP_MD *sha256_md(void);

int sha256_new(Sha256 **ret);
Sha256 *sha256_free(Sha256 *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Sha256 *, sha256_free);

/* Starts over, so one context can hash many blobs. */
int sha256_reset(Sha256 *s);

int sha256_update(Sha256 *s, const void *data, size_t size);

/* Bytes fed since the last reset (pull compares it with the descriptor's size). */
uint64_t sha256_bytes(const Sha256 *s);

/* Finish. Further updates fail with -ESTALE until sha256_reset(). */
int sha256_final_raw(Sha256 *s, uint8_t ret[static SHA256_DIGEST_SIZE]);
/* Finish into a caller buffer as "sha256:<64 lowercase hex>", no allocation. */
int sha256_final_to(Sha256 *s, char ret[static SHA256_DIGEST_STRING_SIZE]);
/* Same, as an allocated string. */
int sha256_final(Sha256 *s, char **ret);

/* Formats a raw digest as "sha256:<hex>". */
void sha256_format(const uint8_t md[static SHA256_DIGEST_SIZE], char ret[static SHA256_DIGEST_STRING_SIZE]);

/* One-shot: "sha256:<hex>" of a buffer. */
int sha256_digest_data(const void *data, size_t size, char **ret);
