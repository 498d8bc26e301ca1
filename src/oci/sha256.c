/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>
#include <pthread.h>

#include "oci/sha256.h"
#include "shared/log.h"

static EVP_MD *fetched_sha256;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
        fetched_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *sha256_md(void)
{
        (void) pthread_once(&fetch_once, fetch_sha256);
        return fetched_sha256 ?: EVP_sha256();
}

struct Sha256 {
        EVP_MD_CTX *ctx;
        uint64_t n_bytes;
        bool finished;
};

int sha256_new(Sha256 **ret)
{
        _cleanup_(sha256_freep) Sha256 *s = NULL;
        int r;

        s = calloc(1, sizeof(Sha256));
        if (!s)
                return -ENOMEM;

        s->ctx = EVP_MD_CTX_new();
        if (!s->ctx)
                return -ENOMEM;

        r = sha256_reset(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

Sha256 *sha256_free(Sha256 *s)
{
        if (!s)
                return NULL;

        EVP_MD_CTX_free(s->ctx);
        return mfree(s);
}

int sha256_reset(Sha256 *s)
{
        if (!s)
                return -EINVAL;

        if (EVP_DigestInit_ex(s->ctx, sha256_md(), NULL) != 1) {
                log_debug("EVP_DigestInit_ex(sha256) failed.");
                return -EIO;
        }

        s->n_bytes = 0;
        s->finished = false;
        return 0;
}

int sha256_update(Sha256 *s, const void *data, size_t size)
{
        if (_unlikely_(!s || (!data && size > 0)))
                return -EINVAL;
        if (_unlikely_(s->finished))
                return -ESTALE;
        if (size == 0)
                return 0;

        if (_unlikely_(EVP_DigestUpdate(s->ctx, data, size) != 1)) {
                log_debug("EVP_DigestUpdate(sha256) failed.");
                return -EIO;
        }

        s->n_bytes += size;
        return 0;
}

uint64_t sha256_bytes(const Sha256 *s)
{
        return s ? s->n_bytes : 0;
}

int sha256_final_raw(Sha256 *s, uint8_t ret[static SHA256_DIGEST_SIZE])
{
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;

        if (!s)
                return -EINVAL;
        if (s->finished)
                return -ESTALE;

        if (EVP_DigestFinal_ex(s->ctx, md, &md_len) != 1 || md_len != SHA256_DIGEST_SIZE) {
                log_debug("EVP_DigestFinal_ex(sha256) failed.");
                return -EIO;
        }

        s->finished = true;
        memcpy(ret, md, SHA256_DIGEST_SIZE);
        return 0;
}

void sha256_format(const uint8_t md[static SHA256_DIGEST_SIZE], char ret[static SHA256_DIGEST_STRING_SIZE])
{
        static const char hex[16] = "0123456789abcdef";
        char *p;

        p = mempcpy(ret, "sha256:", 7);
        for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
                *p++ = hex[md[i] >> 4];
                *p++ = hex[md[i] & 15];
        }
        *p = 0;
}

int sha256_final_to(Sha256 *s, char ret[static SHA256_DIGEST_STRING_SIZE])
{
        uint8_t md[SHA256_DIGEST_SIZE];
        int r;

        r = sha256_final_raw(s, md);
        if (r < 0)
                return r;

        sha256_format(md, ret);
        return 0;
}

int sha256_final(Sha256 *s, char **ret)
{
        char buf[SHA256_DIGEST_STRING_SIZE];
        char *d;
        int r;

        r = sha256_final_to(s, buf);
        if (r < 0)
                return r;

        d = strdup(buf);
        if (!d)
                return -ENOMEM;

        *ret = d;
        return 0;
}

int sha256_digest_data(const void *data, size_t size, char **ret)
{
        char buf[SHA256_DIGEST_STRING_SIZE];
        uint8_t md[SHA256_DIGEST_SIZE];
        unsigned md_len = 0;
        char *d;

        if (!data && size > 0)
                return -EINVAL;

        /* EVP_Digest() with a NULL pointer is undefined for size 0 in some versions: give it a real one. */
        if (EVP_Digest(data ?: "", size, md, &md_len, sha256_md(), NULL) != 1 ||
            md_len != SHA256_DIGEST_SIZE) {
                log_debug("EVP_Digest(sha256) failed.");
                return -EIO;
        }

        sha256_format(md, buf);
        d = strdup(buf);
        if (!d)
                return -ENOMEM;

        *ret = d;
        return 0;
}
