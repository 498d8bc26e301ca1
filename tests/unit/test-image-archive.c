/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store/image-archive.c: an image written as a docker-archive and as an OCI archive from one layer store is
 * read back into another with the same id, names, diff ids and layers; bad input is refused and leaves no
 * temp dir. Needs root (extraction chroots); skipped otherwise. */
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "oci/config.h"
#include "oci/sha256.h"
#include "shared/macro.h"
#include "store/image-archive.h"
#include "store/layer-extract.h"
#include "store/layer-store.h"
#include "store/layer-tar.h"

static char *make_tmp(void)
{
        char *p = g_strdup("/var/tmp/berth-test-image-archive-XXXXXX");
        g_assert_nonnull(mkdtemp(p));
        return p;
}

static void rm_tmp(const char *path)
{
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);
        g_assert_cmpint(system(cmd), ==, 0);
}

static unsigned count_tmp_dirs(const char *root)
{
        DIR *d = opendir(root);
        unsigned n = 0;

        g_assert_nonnull(d);
        for (struct dirent *de; (de = readdir(d));)
                if (g_str_has_prefix(de->d_name, ".tmp-"))
                        n++;
        closedir(d);
        return n;
}

/* A one-layer image in a fresh store: a GNU tar of a small tree, extracted with its record. */
static void make_image(const char *root, bool twice, LayerStore **ret_store, ImageArchiveImage *img)
{
        g_autofree char *tree = make_tmp(), *cmd = NULL, *tar = NULL, *config = NULL;
        _cleanup_free_ char *tmp = NULL, *id = NULL;
        _cleanup_close_ int in_fd = -EBADF, diff_fd = -EBADF, record_fd = -EBADF;
        LayerExtractResult res;
        LayerStore *s = NULL;

        cmd = g_strdup_printf("mkdir -p %s/etc %s/bin && echo hello > %s/etc/greeting && "
                              "head -c 100000 /dev/urandom > %s/bin/blob && : > %s/etc/.wh.gone",
                              tree, tree, tree, tree, tree);
        g_assert_cmpint(system(cmd), ==, 0);
        tar = g_strdup_printf("%s.tar", tree);
        g_free(cmd);
        cmd = g_strdup_printf("tar -C %s -cf %s .", tree, tar);
        g_assert_cmpint(system(cmd), ==, 0);

        g_assert_cmpint(layer_store_open(root, &s), ==, 0);
        g_assert_cmpint(layer_store_begin(s, &tmp, &diff_fd), ==, 0);
        g_assert_cmpint(layer_tar_record_create(s, tmp, &record_fd), ==, 0);
        in_fd = open(tar, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(layer_extract_recorded(in_fd, diff_fd, record_fd, NULL, &res), ==, 0);
        g_assert_cmpint(layer_store_commit(s, tmp, res.diff_id, res.diff_id, NULL), ==, 0);

        g_autofree char *ids =
                twice ? g_strdup_printf("%s %s", res.diff_id, res.diff_id) : g_strdup(res.diff_id);
        g_auto(GStrv) diff_ids = g_strsplit(ids, " ", -1);
        g_auto(GStrv) chain_ids = NULL;
        g_assert_cmpint(oci_chain_ids(diff_ids, &chain_ids), ==, 0);
        if (twice) {
                /* The same layer once more, on top of itself: another layer of the store. */
                _cleanup_free_ char *tmp2 = NULL;
                _cleanup_close_ int diff2 = -EBADF, record2 = -EBADF;

                g_assert_cmpint(lseek(in_fd, 0, SEEK_SET), ==, 0);
                g_assert_cmpint(layer_store_begin(s, &tmp2, &diff2), ==, 0);
                g_assert_cmpint(layer_tar_record_create(s, tmp2, &record2), ==, 0);
                g_assert_cmpint(layer_extract_recorded(in_fd, diff2, record2, NULL, &res), ==, 0);
                g_assert_cmpint(layer_store_commit(s, tmp2, chain_ids[1], res.diff_id, chain_ids[0]), ==, 0);
        }

        g_autofree char *quoted = g_strjoinv("\",\"", diff_ids);
        config =
                g_strdup_printf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
                                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                                quoted);
        g_assert_cmpint(sha256_digest_data(config, strlen(config), &id), ==, 0);
        *img = (ImageArchiveImage){
                .id = g_strdup(id),
                .config_size = strlen(config),
                .config = g_strdup(config),
                .names = g_strsplit("docker.io/library/x:1", " ", -1),
                .familiar = g_strsplit("x:1", " ", -1),
                .diff_ids = g_strdupv(diff_ids),
                .chain_ids = g_strdupv(chain_ids),
        };
        *ret_store = s;
        g_assert_cmpint(unlink(tar), ==, 0);
        rm_tmp(tree);
}

static void test_round_trip(gconstpointer data)
{
        ImageArchiveFormat format = GPOINTER_TO_INT(data) & 0xff;
        bool twice = GPOINTER_TO_INT(data) & 0x100;
        g_autofree char *a = NULL, *b = NULL;
        _cleanup_(layer_store_freep) LayerStore *sa = NULL, *sb = NULL;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_close_ int fd = -EBADF;
        ImageArchiveImage img;
        ImageArchiveLoaded *loaded = NULL;
        size_t n = 0;

        if (geteuid() != 0) {
                g_test_skip("needs root");
                return;
        }
        a = make_tmp();
        b = make_tmp();
        make_image(a, twice, &sa, &img);
        g_assert_cmpint(layer_store_open(b, &sb), ==, 0);

        fd = memfd_create("archive", MFD_CLOEXEC);
        if (image_archive_write(sa, &img, 1, format, fd, NULL, NULL, &e) < 0)
                g_error("write: %s", berth_error_message(&e));
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        if (image_archive_read(sb, fd, NULL, NULL, &loaded, &n, &e) < 0)
                g_error("read: %s", berth_error_message(&e));

        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpstr(loaded[0].id, ==, img.id);
        g_assert_cmpuint(g_strv_length(loaded[0].names), ==, 1);
        g_assert_cmpstr(loaded[0].names[0], ==,
                        format == IMAGE_ARCHIVE_OCI ? "docker.io/library/x:1" : "x:1");
        g_assert_cmpstr(loaded[0].diff_ids[0], ==, img.diff_ids[0]);
        for (size_t i = 0; img.chain_ids[i]; i++)
                g_assert_cmpint(layer_store_has(sb, img.chain_ids[i]), ==, 1);
        g_assert_cmpuint(count_tmp_dirs(b), ==, 0);

        /* The JSON the load child hands to berthd says the same. */
        {
                _cleanup_free_ char *json = NULL;
                ImageArchiveLoaded *back = NULL;
                size_t size, m;

                g_assert_cmpint(image_archive_loaded_to_json(loaded, n, &json, &size), ==, 0);
                g_assert_cmpint(image_archive_loaded_from_json(json, size, &back, &m), ==, 0);
                g_assert_cmpuint(m, ==, 1);
                g_assert_cmpstr(back[0].config, ==, img.config);
                g_assert_cmpuint(back[0].layer_sizes[0], ==, loaded[0].layer_sizes[0]);
                image_archive_loaded_done(back);
                g_free(back);
        }

        /* A second load of the same archive: the layer is there already, fine. */
        image_archive_loaded_done(loaded);
        g_free(loaded);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        g_assert_cmpint(image_archive_read(sb, fd, NULL, NULL, &loaded, &n, NULL), ==, 0);
        image_archive_loaded_done(loaded);
        g_free(loaded);

        image_archive_image_done(&img);
        layer_store_free(TAKE_PTR(sa));
        layer_store_free(TAKE_PTR(sb));
        rm_tmp(a);
        rm_tmp(b);
}

static void test_bad_input(void)
{
        g_autofree char *b = NULL;
        _cleanup_(layer_store_freep) LayerStore *sb = NULL;
        _cleanup_close_ int fd = -EBADF;
        ImageArchiveLoaded *loaded = NULL;
        size_t n = 0;
        char junk[4096];

        if (geteuid() != 0) {
                g_test_skip("needs root");
                return;
        }
        b = make_tmp();
        g_assert_cmpint(layer_store_open(b, &sb), ==, 0);
        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (char) (i * 31 + 7);
        fd = memfd_create("junk", MFD_CLOEXEC);
        g_assert_cmpint(write(fd, junk, sizeof(junk)), ==, (ssize_t) sizeof(junk));
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
                g_assert_cmpint(image_archive_read(sb, fd, NULL, NULL, &loaded, &n, &e), ==, -EBADMSG);
                g_assert_nonnull(e.message);
        }
        g_assert_cmpuint(count_tmp_dirs(b), ==, 0);

        g_assert_cmpint(image_archive_format_from_string("docker-archive"), ==, IMAGE_ARCHIVE_DOCKER);
        g_assert_cmpint(image_archive_format_from_string("oci-archive"), ==, IMAGE_ARCHIVE_OCI);
        g_assert_cmpint(image_archive_format_from_string("oci-dir"), <, 0);
        g_assert_cmpint(image_archive_loaded_from_json("{}", 2, &loaded, &n), ==, -EBADMSG);
        g_assert_cmpint(image_archive_loaded_from_json("[{\"id\":1}]", 10, &loaded, &n), ==, -EBADMSG);

        layer_store_free(TAKE_PTR(sb));
        rm_tmp(b);
}

int main(int argc, char *argv[])
{
        (void) setlocale(LC_ALL, "C.UTF-8");
        g_test_init(&argc, &argv, NULL);
        g_test_add_data_func("/image-archive/docker", GINT_TO_POINTER(IMAGE_ARCHIVE_DOCKER),
                             test_round_trip);
        g_test_add_data_func("/image-archive/oci", GINT_TO_POINTER(IMAGE_ARCHIVE_OCI), test_round_trip);
        g_test_add_data_func("/image-archive/same-layer-twice",
                             GINT_TO_POINTER(IMAGE_ARCHIVE_DOCKER | 0x100), test_round_trip);
        g_test_add_func("/image-archive/bad-input", test_bad_input);
        return g_test_run();
}
