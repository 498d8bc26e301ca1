/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What push keeps: the blob sources record (daemon/blob-sources.h) and Login's edit of Docker's auth file
 * (oci/registry-json.h). */
#include <glib.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon/blob-sources.h"
#include "oci/registry-json.h"
#include "shared/macro.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define B1 "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B2 "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_blob_sources(void)
{
        g_autofree char *tmp = g_strdup("/tmp/berth-test-blob-sources-XXXXXX"), *cmd = NULL;
        _cleanup_(blob_sources_freep) BlobSources *s = NULL;
        GPtrArray *l;

        g_assert_nonnull(mkdtemp(tmp));
        g_assert_cmpint(blob_sources_open(tmp, &s), ==, 0);
        g_assert_null(blob_sources_get(s, D1));
        g_assert_cmpint(blob_sources_add(s, D1, B1, "application/vnd.docker.image.rootfs.diff.tar.gzip", 10,
                                         "docker.io", "library/debian"),
                        ==, 0);
        g_assert_cmpint(blob_sources_add(s, D1, B2, "application/vnd.oci.image.layer.v1.tar+zstd", 20,
                                         "127.0.0.1:5000", "app"),
                        ==, 0);
        /* Again: moves to the front, no duplicate. */
        g_assert_cmpint(blob_sources_add(s, D1, B1, "application/vnd.docker.image.rootfs.diff.tar.gzip", 10,
                                         "docker.io", "library/debian"),
                        ==, 0);
        for (int i = 0; i < 20; i++) {
                g_autofree char *repo = g_strdup_printf("r%d", i);
                g_assert_cmpint(blob_sources_add(s, D1, B2, "", 20, "127.0.0.1:5001", repo), ==, 0);
        }
        l = blob_sources_get(s, D1);
        g_assert_cmpuint(l->len, ==, BLOB_SOURCES_MAX);
        g_assert_cmpstr(((BlobSource *) l->pdata[0])->repository, ==, "r19");

        /* Read back from the file. */
        blob_sources_free(TAKE_PTR(s));
        g_assert_cmpint(blob_sources_open(tmp, &s), ==, 0);
        l = blob_sources_get(s, D1);
        g_assert_nonnull(l);
        g_assert_cmpuint(l->len, ==, BLOB_SOURCES_MAX);
        g_assert_cmpstr(((BlobSource *) l->pdata[0])->repository, ==, "r19");
        g_assert_cmpuint(((BlobSource *) l->pdata[0])->size, ==, 20);

        cmd = g_strdup_printf("rm -rf '%s'", tmp);
        g_assert_cmpint(system(cmd), ==, 0);
}

/* Noted sources stay in memory until saved: a pull notes all its layers and writes the file once. */
static void test_blob_sources_note_then_save(void)
{
        g_autofree char *tmp = g_strdup("/tmp/berth-test-blob-sources-XXXXXX"), *cmd = NULL;
        g_autofree char *file = NULL;
        _cleanup_(blob_sources_freep) BlobSources *s = NULL, *again = NULL;
        GPtrArray *l;

        g_assert_nonnull(mkdtemp(tmp));
        file = g_strdup_printf("%s/blob-sources.json", tmp);
        g_assert_cmpint(blob_sources_open(tmp, &s), ==, 0);
        g_assert_cmpint(blob_sources_note(s, D1, B1, "", 10, "127.0.0.1:5000", "a"), ==, 1);
        g_assert_cmpint(blob_sources_note(s, D1, B2, "", 20, "127.0.0.1:5000", "a"), ==, 1);
        /* Already the newest: no change. */
        g_assert_cmpint(blob_sources_note(s, D1, B2, "", 20, "127.0.0.1:5000", "a"), ==, 0);
        g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));

        g_assert_cmpint(blob_sources_save(s), ==, 0);
        g_assert_cmpint(blob_sources_open(tmp, &again), ==, 0);
        l = blob_sources_get(again, D1);
        g_assert_nonnull(l);
        g_assert_cmpuint(l->len, ==, 2);
        g_assert_cmpstr(((BlobSource *) l->pdata[0])->digest, ==, B2);
        g_assert_cmpstr(((BlobSource *) l->pdata[1])->digest, ==, B1);

        cmd = g_strdup_printf("rm -rf '%s'", tmp);
        g_assert_cmpint(system(cmd), ==, 0);
}

static void test_blob_sources_bad_json(void)
{
        GHashTable *t = NULL;

        g_assert_cmpint(blob_sources_from_json("[]", 2, &t), ==, -EBADMSG);
        g_assert_cmpint(blob_sources_from_json("{\"x\": [{\"digest\": 1}]}", 22, &t), ==, -EBADMSG);
        g_assert_cmpint(blob_sources_from_json("{\"x\": 5}", 8, &t), ==, -EBADMSG);
        g_assert_cmpint(blob_sources_from_json("nope", 4, &t), ==, -EBADMSG);
        g_assert_cmpint(blob_sources_from_json("{}", 2, &t), ==, 0);
        g_hash_table_unref(t);
}

static void test_auths_set(void)
{
        g_autofree char *a = NULL, *b = NULL, *c = NULL;
        RegistryJsonAuth *auths = NULL;
        size_t na, nb, nc, n = 0;
        const char *other = "{\"auths\": {\"other.example\": {\"auth\": \"dTpw\"}}, \"credsStore\": \"x\"}";

        /* Into nothing. */
        g_assert_cmpint(registry_json_auths_set(NULL, 0, "127.0.0.1:5000", "berth", "s3:cret", &a, &na), ==,
                        0);
        g_assert_cmpint(registry_json_parse_auths(a, na, &auths, &n), >=, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpstr(auths[0].server, ==, "127.0.0.1:5000");
        g_assert_cmpstr(auths[0].username, ==, "berth");
        g_assert_cmpstr(auths[0].password, ==, "s3:cret");
        registry_json_auths_free(auths, n);

        /* Beside what is there, which stays. */
        g_assert_cmpint(registry_json_auths_set(other, strlen(other), "127.0.0.1:5000", "u", "p", &b, &nb),
                        ==, 0);
        g_assert_nonnull(strstr(b, "credsStore"));
        g_assert_cmpint(registry_json_parse_auths(b, nb, &auths, &n), >=, 0);
        g_assert_cmpuint(n, ==, 2);
        registry_json_auths_free(auths, n);

        /* Removed: 1, and the other kept; removing what is not there: 0. */
        g_assert_cmpint(registry_json_auths_set(b, nb, "127.0.0.1:5000", NULL, NULL, &c, &nc), ==, 1);
        g_assert_null(strstr(c, "127.0.0.1:5000"));
        g_assert_nonnull(strstr(c, "other.example"));
        free(a);
        a = NULL;
        g_assert_cmpint(registry_json_auths_set(c, nc, "127.0.0.1:5000", NULL, NULL, &a, &na), ==, 0);

        g_assert_cmpint(registry_json_auths_set(NULL, 0, "h", "a:b", "p", &a, &na), ==, -EINVAL);
        g_assert_cmpint(registry_json_auths_set("[", 1, "h", "u", "p", &a, &na), <, 0);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/push-records/blob-sources", test_blob_sources);
        g_test_add_func("/push-records/blob-sources-note-then-save", test_blob_sources_note_then_save);
        g_test_add_func("/push-records/blob-sources-bad-json", test_blob_sources_bad_json);
        g_test_add_func("/push-records/auths-set", test_auths_set);
        return g_test_run();
}
