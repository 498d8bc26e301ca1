/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exact layer tars (store/layer-tar.h): a tar extracted into the store with its record comes back from
 * layer_tar_write() byte for byte. The tars are made by GNU tar in its formats (long names, pax headers,
 * old GNU and pax sparse files, hardlinks, whiteouts, the padding to a 10 KiB record) and by libarchive
 * without any padding, as Go's archive/tar writes. Needs root (the extraction chroots); skipped otherwise.
 */
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib.h>

#include "shared/fs-util.h"
#include "shared/macro.h"
#include "store/layer-extract.h"
#include "store/layer-store.h"
#include "store/layer-tar.h"

static bool need_root(void)
{
        if (geteuid() == 0)
                return true;
        g_test_skip("needs root");
        return false;
}

static char *make_tmp(void)
{
        char *p = g_strdup("/var/tmp/berth-test-layer-tar-XXXXXX");
        g_assert_nonnull(mkdtemp(p));
        return p;
}

static void rm_tmp(const char *path)
{
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);
        g_assert_cmpint(system(cmd), ==, 0);
}

static void write_file(const char *dir, const char *name, const void *data, size_t size)
{
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_autofree char *parent = g_path_get_dirname(p);

        g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
        g_assert_true(g_file_set_contents(p, data, (gssize) size, NULL));
}

/* A tree with everything that makes tar headers interesting. */
static void make_tree(const char *dir)
{
        g_autofree char *longdir = g_strnfill(120, 'd'), *longname = g_strnfill(150, 'n');
        g_autofree char *deep = g_strdup_printf("%s/%s", longdir, longname);
        g_autofree char *big = g_malloc(3 * 1024 * 1024 + 17);
        g_autofree char *sparse = g_build_filename(dir, "sparse", NULL);
        g_autofree char *a = g_build_filename(dir, "hard/a", NULL),
                        *b = g_build_filename(dir, "hard/b", NULL);
        g_autofree char *sl = g_build_filename(dir, "symlink", NULL),
                        *ro = g_build_filename(dir, "ro", NULL);
        int fd;

        for (size_t i = 0; i < 3 * 1024 * 1024 + 17; i++)
                big[i] = (char) (i * 7 + i / 4096);
        write_file(dir, "empty", "", 0);
        write_file(dir, "small", "hello\n", 6);
        write_file(dir, "big", big, 3 * 1024 * 1024 + 17);
        write_file(dir, deep, "deep", 4);
        write_file(dir, "hard/a", "linked", 6);
        g_assert_cmpint(link(a, b), ==, 0);
        write_file(dir, "gone/.wh.old", "", 0);
        write_file(dir, "opq/.wh..wh..opq", "", 0);
        write_file(dir, "opq/kept", "k", 1);
        write_file(dir, "é-ünïcode", "u", 1);
        write_file(dir, "ro", "secret", 6);
        g_assert_cmpint(chmod(ro, 0), ==, 0);
        g_assert_cmpint(symlink("small", sl), ==, 0);
        fd = open(sparse, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(pwrite(fd, "start", 5, 0), ==, 5);
        g_assert_cmpint(pwrite(fd, "middle", 6, 1 << 20), ==, 6);
        g_assert_cmpint(ftruncate(fd, 4 << 20), ==, 0);
        safe_close(fd);
}

static GBytes *read_all(int fd)
{
        GByteArray *out = g_byte_array_new();
        uint8_t buf[65536];
        ssize_t n;

        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                g_byte_array_append(out, buf, (guint) n);
        g_assert_cmpint(n, ==, 0);
        return g_byte_array_free_to_bytes(out);
}

/* Extracts tar (recording), commits it, rebuilds it and compares. */
static void assert_round_trip(GBytes *tar, bool gzip)
{
        g_autofree char *root = make_tmp();
        _cleanup_(layer_store_freep) LayerStore *s = NULL;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int diff_fd = -EBADF, record_fd = -EBADF, in_fd = -EBADF, out_fd = -EBADF;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autoptr(GBytes) rebuilt = NULL;
        LayerExtractResult res;
        char chain[LAYER_DIGEST_STRING_MAX];
        gsize size;
        const void *data = g_bytes_get_data(tar, &size);

        g_assert_cmpint(layer_store_open(root, &s), ==, 0);
        g_assert_cmpint(layer_store_begin(s, &tmp, &diff_fd), ==, 0);
        g_assert_cmpint(layer_tar_record_create(s, tmp, &record_fd), ==, 0);

        in_fd = memfd_create("layer", MFD_CLOEXEC);
        if (gzip) {
                struct archive *a = archive_write_new();
                struct archive_entry *en = archive_entry_new();
                g_assert_cmpint(archive_write_set_format_raw(a), ==, ARCHIVE_OK);
                g_assert_cmpint(archive_write_add_filter_gzip(a), ==, ARCHIVE_OK);
                g_assert_cmpint(archive_write_set_bytes_in_last_block(a, 1), ==, ARCHIVE_OK);
                g_assert_cmpint(archive_write_open_fd(a, in_fd), ==, ARCHIVE_OK);
                archive_entry_set_pathname(en, "x");
                archive_entry_set_filetype(en, AE_IFREG);
                g_assert_cmpint(archive_write_header(a, en), ==, ARCHIVE_OK);
                g_assert_cmpint(archive_write_data(a, data, size), ==, (la_ssize_t) size);
                g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
                archive_write_free(a);
                archive_entry_free(en);
        } else
                g_assert_cmpint(write(in_fd, data, size), ==, (ssize_t) size);
        g_assert_cmpint(lseek(in_fd, 0, SEEK_SET), ==, 0);

        if (layer_extract_recorded(in_fd, diff_fd, record_fd, &e, &res) < 0)
                g_error("extraction failed: %s", berth_error_message(&e));
        g_assert_cmpuint(res.uncompressed_size, ==, size);
        memcpy(chain, res.diff_id, sizeof(chain));
        g_assert_cmpint(layer_store_commit(s, tmp, chain, res.diff_id, NULL), ==, 0);

        out_fd = memfd_create("rebuilt", MFD_CLOEXEC);
        if (layer_tar_write(s, chain, out_fd, &e) < 0)
                g_error("rebuild failed: %s", berth_error_message(&e));
        rebuilt = read_all(out_fd);
        {
                uint64_t n = 0;
                g_assert_cmpint(layer_tar_size(s, chain, &n, &e), ==, 0);
                g_assert_cmpuint(n, ==, size);
        }
        g_assert_cmpuint(g_bytes_get_size(rebuilt), ==, size);
        g_assert_true(g_bytes_equal(rebuilt, tar));

        /* Without its record, a layer cannot be rebuilt, and says so. */
        {
                g_autofree char *rec = g_strdup_printf("%s/%s/%s", root, chain + 7, LAYER_TAR_RECORD_FILE);
                _cleanup_berth_error_ BerthError e2 = BERTH_ERROR_INIT;
                struct stat st;

                /* Contents are not kept twice: the record of the 3 MiB file's tar is small. */
                g_assert_cmpint(stat(rec, &st), ==, 0);
                if (size > 1024 * 1024)
                        g_assert_cmpint(st.st_size, <, 64 * 1024);
                g_assert_cmpint(unlink(rec), ==, 0);
                g_assert_cmpint(layer_tar_write(s, chain, out_fd, &e2), ==, -ENODATA);
                g_assert_nonnull(e2.message);
        }
        layer_store_free(TAKE_PTR(s));
        rm_tmp(root);
}

static void test_gnu_tar(gconstpointer format)
{
        g_autofree char *dir = NULL, *cmd = NULL, *out = NULL, *tar_program = NULL;
        g_autoptr(GBytes) tar = NULL;
        gchar *data;
        gsize size;

        if (!need_root())
                return;
        tar_program = g_find_program_in_path("tar");
        if (!tar_program) {
                g_test_skip("needs GNU tar");
                return;
        }
        dir = make_tmp();
        make_tree(dir);
        out = g_strdup_printf("%s.tar", dir);
        cmd = g_strdup_printf("tar -C '%s' --format=%s --sparse --xattrs -cf '%s' .", dir,
                              (const char *) format, out);
        g_assert_cmpint(system(cmd), ==, 0);
        g_assert_true(g_file_get_contents(out, &data, &size, NULL));
        tar = g_bytes_new_take(data, size);
        assert_round_trip(tar, false);
        assert_round_trip(tar, true);
        g_assert_cmpint(unlink(out), ==, 0);
        rm_tmp(dir);
}

static la_ssize_t append_cb(struct archive *a, void *userdata, const void *buf, size_t n)
{
        g_byte_array_append(userdata, buf, (guint) n);
        return (la_ssize_t) n;
}

/* libarchive's pax writer without record padding, with whiteouts as device-less entries and a trailer of
 * garbage after the end-of-archive blocks (which the diff id covers). */
static void test_libarchive_tar(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new();
        g_autoptr(GBytes) bytes = NULL;
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        const char *names[] = {
                "dir/", "dir/file", "dir/.wh.x", ".wh..wh..opq", ".wh..wh.plnk", "dir/link"
        };

        if (!need_root())
                return;
        g_assert_cmpint(archive_write_set_format_pax(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_set_bytes_in_last_block(a, 1), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_open(a, tar, NULL, append_cb, NULL), ==, ARCHIVE_OK);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                bool is_dir = g_str_has_suffix(names[i], "/");
                archive_entry_clear(e);
                archive_entry_set_pathname(e, names[i]);
                archive_entry_set_mode(e, (is_dir ? AE_IFDIR : AE_IFREG) | 0644);
                archive_entry_set_mtime(e, 1234567890, 5);
                archive_entry_set_uname(e, "ŭser");
                if (streq(names[i], "dir/link"))
                        archive_entry_set_hardlink(e, "dir/file");
                /* An AUFS meta file with content: dropped on disk, so its bytes must stay in the record. */
                archive_entry_set_size(
                        e, streq(names[i], "dir/file") || streq(names[i], ".wh..wh.plnk") ? 5 : 0);
                g_assert_cmpint(archive_write_header(a, e), ==, ARCHIVE_OK);
                if (archive_entry_size(e) > 0)
                        g_assert_cmpint(archive_write_data(a, "12345", 5), ==, 5);
        }
        g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
        archive_write_free(a);
        archive_entry_free(e);
        g_byte_array_append(tar, (const guint8 *) "trailing garbage", 16);

        bytes = g_bytes_new(tar->data, tar->len);
        assert_round_trip(bytes, false);
}

/* A record of more than 128 KiB (a header and its padding per file) is compressed as a stream, in pieces;
 * smaller ones, as above, in one call. */
static void test_many_entries(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new();
        g_autoptr(GBytes) bytes = NULL;
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();

        if (!need_root())
                return;
        g_assert_cmpint(archive_write_set_format_pax_restricted(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_open(a, tar, NULL, append_cb, NULL), ==, ARCHIVE_OK);
        for (unsigned i = 0; i < 600; i++) {
                g_autofree char *name = g_strdup_printf("f/%u", i);
                archive_entry_clear(e);
                archive_entry_set_pathname(e, name);
                archive_entry_set_mode(e, AE_IFREG | 0644);
                archive_entry_set_size(e, 1);
                g_assert_cmpint(archive_write_header(a, e), ==, ARCHIVE_OK);
                g_assert_cmpint(archive_write_data(a, "x", 1), ==, 1);
        }
        g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
        archive_write_free(a);
        archive_entry_free(e);
        g_assert_cmpuint(tar->len, >, 2 * 128 * 1024);

        bytes = g_bytes_new(tar->data, tar->len);
        assert_round_trip(bytes, false);
        assert_round_trip(bytes, true);
}

int main(int argc, char *argv[])
{
        (void) setlocale(LC_ALL, "C.UTF-8");
        g_test_init(&argc, &argv, NULL);
        g_test_add_data_func("/layer-tar/gnu", "gnu", test_gnu_tar);
        g_test_add_data_func("/layer-tar/pax", "pax", test_gnu_tar);
        g_test_add_data_func("/layer-tar/oldgnu", "oldgnu", test_gnu_tar);
        g_test_add_func("/layer-tar/libarchive", test_libarchive_tar);
        g_test_add_func("/layer-tar/many-entries", test_many_entries);
        return g_test_run();
}
