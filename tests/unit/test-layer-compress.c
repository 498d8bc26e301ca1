/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Push's layer compression (store/layer-compress.h): the stream decompresses to the layer's tar, whose
 * sha256 is the diff id reported, and the digest and size reported are the compressed stream's; for a layer
 * without an exact record the tar is layer_diff_write()'s of diff/. */
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <glib.h>

#include "oci/sha256.h"
#include "shared/macro.h"
#include "store/layer-compress.h"
#include "store/layer-diff.h"
#include "store/layer-store.h"

#define CHAIN "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static GBytes *read_fd_bytes(int fd)
{
        GByteArray *a = g_byte_array_new();
        uint8_t buf[65536];
        ssize_t k;

        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        while ((k = read(fd, buf, sizeof(buf))) > 0)
                g_byte_array_append(a, buf, (guint) k);
        g_assert_cmpint(k, ==, 0);
        return g_byte_array_free_to_bytes(a);
}

static GBytes *gunzip(GBytes *in)
{
        GByteArray *out = g_byte_array_new();
        struct inflate_state st;
        uint8_t buf[65536];
        gsize n;
        const uint8_t *p = g_bytes_get_data(in, &n);

        isal_inflate_init(&st);
        st.crc_flag = ISAL_GZIP;
        st.next_in = (uint8_t *) p;
        st.avail_in = (uint32_t) n;
        do {
                st.next_out = buf;
                st.avail_out = sizeof(buf);
                g_assert_cmpint(isal_inflate(&st), ==, ISAL_DECOMP_OK);
                g_byte_array_append(out, buf, sizeof(buf) - st.avail_out);
        } while (st.block_state != ISAL_BLOCK_FINISH);
        return g_byte_array_free_to_bytes(out);
}

static GBytes *unzstd(GBytes *in)
{
        GByteArray *out = g_byte_array_new();
        ZSTD_DCtx *d = ZSTD_createDCtx();
        uint8_t buf[65536];
        gsize n;
        ZSTD_inBuffer ib = { .src = g_bytes_get_data(in, &n) };
        size_t left = 1;

        ib.size = n;
        while (ib.pos < ib.size || left != 0) {
                ZSTD_outBuffer ob = { .dst = buf, .size = sizeof(buf) };
                left = ZSTD_decompressStream(d, &ob, &ib);
                g_assert_false(ZSTD_isError(left));
                g_byte_array_append(out, buf, (guint) ob.pos);
                if (ib.pos == ib.size && ob.pos == 0)
                        break;
        }
        ZSTD_freeDCtx(d);
        return g_byte_array_free_to_bytes(out);
}

static char *digest_of(GBytes *b)
{
        char *d = NULL;
        gsize n;
        const void *p = g_bytes_get_data(b, &n);

        g_assert_cmpint(sha256_digest_data(p, n, &d), ==, 0);
        return d;
}

static void check(LayerCompression compression)
{
        g_autofree char *tmp = g_strdup("/var/tmp/berth-test-compress-XXXXXX");
        g_autofree char *diff = NULL, *big = NULL, *cmd = NULL, *want_diff_id = NULL, *got_digest = NULL,
                        *got_diff_id = NULL;
        _cleanup_(layer_store_freep) LayerStore *s = NULL;
        g_autoptr(GBytes) compressed = NULL, tar = NULL, expected = NULL;
        BerthError e = BERTH_ERROR_INIT;
        LayerCompressResult res;
        int out, ref, dir;

        g_assert_nonnull(mkdtemp(tmp));
        diff = g_strdup_printf("%s/%s/diff/sub", tmp, CHAIN + 7);
        g_assert_cmpint(g_mkdir_with_parents(diff, 0755), ==, 0);
        big = g_strnfill(5 * 1024 * 1024, 'x'); /* more than the pipes and chunks hold */
        for (size_t i = 0; i < 5 * 1024 * 1024; i += 4099)
                big[i] = (char) ('a' + i % 26);
        g_autofree char *f1 = g_strdup_printf("%s/big", diff), *f2 = g_strdup_printf("%s/small", diff);
        g_assert_true(g_file_set_contents(f1, big, 5 * 1024 * 1024, NULL));
        g_assert_true(g_file_set_contents(f2, "hello\n", -1, NULL));

        g_assert_cmpint(layer_store_open(tmp, &s), ==, 0);
        out = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        g_assert_cmpint(out, >=, 0);
        g_assert_cmpint(layer_compress_run(s, CHAIN, compression, out, &e, &res), ==, 0);

        /* The reference: commit's tar of the same diff/. */
        g_autofree char *diff_dir = g_strdup_printf("%s/%s/diff", tmp, CHAIN + 7);
        dir = open(diff_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ref = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        g_assert_cmpint(layer_diff_write(dir, ref, NULL), ==, 0);
        expected = read_fd_bytes(ref);
        want_diff_id = digest_of(expected);

        compressed = read_fd_bytes(out);
        got_digest = digest_of(compressed);
        g_assert_cmpstr(res.digest, ==, got_digest);
        g_assert_cmpuint(res.size, ==, g_bytes_get_size(compressed));
        g_assert_cmpstr(res.diff_id, ==, want_diff_id);
        g_assert_false(res.exact);
        g_assert_cmpuint(g_bytes_get_size(compressed), <, g_bytes_get_size(expected) / 10);

        tar = compression == LAYER_COMPRESSION_GZIP ? gunzip(compressed) : unzstd(compressed);
        got_diff_id = digest_of(tar);
        g_assert_cmpstr(got_diff_id, ==, want_diff_id);

        close(out);
        close(ref);
        close(dir);
        cmd = g_strdup_printf("rm -rf '%s'", tmp);
        g_assert_cmpint(system(cmd), ==, 0);
}

static void test_gzip(void)
{
        check(LAYER_COMPRESSION_GZIP);
}

static void test_zstd(void)
{
        check(LAYER_COMPRESSION_ZSTD);
}

static void test_names(void)
{
        g_assert_cmpint(layer_compression_from_string("gzip"), ==, LAYER_COMPRESSION_GZIP);
        g_assert_cmpint(layer_compression_from_string("zstd"), ==, LAYER_COMPRESSION_ZSTD);
        g_assert_cmpint(layer_compression_from_string("lzma"), <, 0);
        g_assert_cmpstr(layer_compression_to_string(LAYER_COMPRESSION_ZSTD), ==, "zstd");
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/layer-compress/names", test_names);
        g_test_add_func("/layer-compress/gzip", test_gzip);
        g_test_add_func("/layer-compress/zstd", test_zstd);
        return g_test_run();
}
