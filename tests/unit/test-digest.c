/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "oci/digest.h"
#include "oci/sha256.h"

#define EMPTY_SHA256 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA256   "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_sha256_one_shot(void)
{
        _cleanup_free_ char *a = NULL, *b = NULL;

        g_assert_cmpint(sha256_digest_data("", 0, &a), ==, 0);
        g_assert_cmpstr(a, ==, EMPTY_SHA256);
        g_assert_cmpint(sha256_digest_data(NULL, 0, &b), ==, 0);
        g_assert_cmpstr(b, ==, EMPTY_SHA256);
        free(b);
        b = NULL;
        g_assert_cmpint(sha256_digest_data("abc", 3, &b), ==, 0);
        g_assert_cmpstr(b, ==, ABC_SHA256);
        g_assert_cmpint(sha256_digest_data(NULL, 1, &b), ==, -EINVAL);
}

static void test_sha256_streaming(void)
{
        _cleanup_(sha256_freep) Sha256 *s = NULL;
        _cleanup_free_ char *whole = NULL, *streamed = NULL;
        char buf[SHA256_DIGEST_STRING_SIZE];
        size_t size = 3 * 1024 * 1024 + 17;
        g_autofree uint8_t *data = g_malloc(size);

        for (size_t i = 0; i < size; i++)
                data[i] = (uint8_t) (i * 131 + (i >> 9));

        g_assert_cmpint(sha256_digest_data(data, size, &whole), ==, 0);

        g_assert_cmpint(sha256_new(&s), ==, 0);
        /* Odd chunk sizes so the block boundaries never line up. */
        for (size_t off = 0, step = 1; off < size; step = step * 3 + 1) {
                size_t n = MIN(step % 70001, size - off);
                g_assert_cmpint(sha256_update(s, data + off, n), ==, 0);
                off += n;
        }
        g_assert_cmpuint(sha256_bytes(s), ==, size);
        g_assert_cmpint(sha256_final(s, &streamed), ==, 0);
        g_assert_cmpstr(streamed, ==, whole);

        /* Finished contexts refuse more input until reset. */
        g_assert_cmpint(sha256_update(s, "x", 1), ==, -ESTALE);
        g_assert_cmpint(sha256_final_to(s, buf), ==, -ESTALE);

        g_assert_cmpint(sha256_reset(s), ==, 0);
        g_assert_cmpuint(sha256_bytes(s), ==, 0);
        g_assert_cmpint(sha256_update(s, "a", 1), ==, 0);
        g_assert_cmpint(sha256_update(s, NULL, 0), ==, 0);
        g_assert_cmpint(sha256_update(s, "bc", 2), ==, 0);
        g_assert_cmpint(sha256_final_to(s, buf), ==, 0);
        g_assert_cmpstr(buf, ==, ABC_SHA256);
        g_assert_true(digest_is_valid(buf));
}

static void test_digest_parse(void)
{
        DigestAlgorithm a;
        const char *hex;

        g_assert_cmpint(digest_parse(ABC_SHA256, &a, &hex), ==, 0);
        g_assert_cmpint(a, ==, DIGEST_SHA256);
        g_assert_cmpstr(hex, ==, ABC_SHA256 + 7);
        g_assert_true(digest_is_valid(ABC_SHA256));
        g_assert_cmpstr(digest_hex(ABC_SHA256), ==, ABC_SHA256 + 7);

        /* sha512: parsed and recognised, but not supported. */
        const char *s512 = "sha512:"
                           "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                           "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
        g_assert_cmpint(digest_parse(s512, &a, &hex), ==, 0);
        g_assert_cmpint(a, ==, DIGEST_SHA512);
        g_assert_cmpuint(strlen(hex), ==, 128);
        g_assert_false(digest_is_valid(s512));
        g_assert_false(digest_algorithm_is_supported(DIGEST_SHA512));
        g_assert_true(digest_algorithm_is_supported(DIGEST_SHA256));
        g_assert_cmpstr(digest_hex(s512), ==, s512 + 7);

        /* Well-formed per OCI but an algorithm we do not know. */
        g_assert_cmpint(digest_parse("blake3:abcdef0123", NULL, NULL), ==, -EOPNOTSUPP);
        g_assert_cmpint(
                digest_parse("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", NULL, NULL),
                ==, -EOPNOTSUPP);

        static const char *const bad[] = {
                "",
                "sha256",
                "sha256:",
                ":abc",
                "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",   /* 63 */
                "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0", /* 65 */
                "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",  /* uppercase */
                "sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "sha256 :ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "sha512:abcd",
                "-sha:abc",
                "sha-:abc",
                "sha:ab/c",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                g_test_message("bad digest '%s'", bad[i]);
                g_assert_cmpint(digest_parse(bad[i], NULL, NULL), ==, -EINVAL);
                g_assert_false(digest_is_valid(bad[i]));
                g_assert_null(digest_hex(bad[i]));
        }
        g_assert_cmpint(digest_parse(NULL, NULL, NULL), ==, -EINVAL);
        g_assert_false(digest_is_valid(NULL));

        g_assert_cmpstr(digest_algorithm_to_string(DIGEST_SHA256), ==, "sha256");
        g_assert_cmpint(digest_algorithm_from_string("sha512"), ==, DIGEST_SHA512);
        g_assert_cmpint(digest_algorithm_from_string("md5"), ==, -EINVAL);
        g_assert_null(digest_algorithm_to_string(_DIGEST_ALGORITHM_MAX));
}

static void test_digest_short_id(void)
{
        char id[DIGEST_SHORT_ID_SIZE];

        g_assert_cmpint(digest_short_id(ABC_SHA256, id), ==, 0);
        g_assert_cmpstr(id, ==, "ba7816bf8f01");
        g_assert_cmpint(digest_short_id(ABC_SHA256 + 7, id), ==, 0);
        g_assert_cmpstr(id, ==, "ba7816bf8f01");
        g_assert_cmpint(digest_short_id("ba7816bf8f01", id), ==, -EINVAL);
        g_assert_cmpint(digest_short_id("sha256:xyz", id), ==, -EINVAL);
        g_assert_cmpint(digest_short_id(NULL, id), ==, -EINVAL);

        g_assert_true(hex_is_lower("0af9", 4));
        g_assert_true(hex_is_lower("0af9", 0));
        g_assert_false(hex_is_lower("0af9", 5));
        g_assert_false(hex_is_lower("0aF9", 0));
        g_assert_false(hex_is_lower("", 0));
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/sha256/one-shot", test_sha256_one_shot);
        g_test_add_func("/sha256/streaming", test_sha256_streaming);
        g_test_add_func("/digest/parse", test_digest_parse);
        g_test_add_func("/digest/short-id", test_digest_short_id);

        return g_test_run();
}
