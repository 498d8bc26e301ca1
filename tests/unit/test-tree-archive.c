/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree_archive_write() → tree_archive_extract(): a tree comes back with its content, modes and symlinks,
 * under a new top name when asked; entries with ".." or absolute names are refused. Runs in a fresh
 * directory under /var/tmp, removed at the end. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "shared/macro.h"
#include "store/tree-archive.h"

static char *make_tmp(void)
{
        char *p = g_strdup("/var/tmp/berth-test-tree-archive-XXXXXX");
        g_assert_nonnull(mkdtemp(p));
        return p;
}

static void rm_rf(const char *path)
{
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);
        g_assert_cmpint(system(cmd), ==, 0);
}

static int tmpfile_fd(const char *dir)
{
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static void test_round_trip(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autofree char *t = make_tmp();
        g_autofree char *src = g_strdup_printf("%s/src", t), *file = g_strdup_printf("%s/src/d/f", t);
        g_autofree char *out = g_strdup_printf("%s/out", t);
        g_autofree char *got = NULL, *link = NULL;
        struct stat st;
        int fd = tmpfile_fd(t);

        g_autofree char *d = g_strdup_printf("%s/src/d", t), *l = g_strdup_printf("%s/src/d/link", t);
        g_autofree char *copied_link = g_strdup_printf("%s/copy/d/link", out);

        g_assert_cmpint(g_mkdir_with_parents(d, 0755), ==, 0);
        g_assert_true(g_file_set_contents(file, "hello", -1, NULL));
        g_assert_cmpint(chmod(file, 0640), ==, 0);
        g_assert_cmpint(symlink("f", l), ==, 0);
        g_assert_cmpint(mkdir(out, 0755), ==, 0);

        g_assert_cmpint(tree_archive_write(src, fd, &e), ==, 0);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        g_assert_cmpint(tree_archive_extract(out, fd, "copy", false, &e), ==, 0);

        g_autofree char *copied = g_strdup_printf("%s/copy/d/f", out);
        g_assert_true(g_file_get_contents(copied, &got, NULL, NULL));
        g_assert_cmpstr(got, ==, "hello");
        g_assert_cmpint(stat(copied, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0640);
        link = g_file_read_link(copied_link, NULL);
        g_assert_cmpstr(link, ==, "f");
        safe_close(fd);
        rm_rf(t);
}

/* A tar with one entry of that name, written with libarchive. */
static int evil_tar(const char *dir, const char *name)
{
        int fd = tmpfile_fd(dir);
        struct archive *a = archive_write_new();
        struct archive_entry *entry = archive_entry_new();

        g_assert_cmpint(archive_write_set_format_pax_restricted(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_open_fd(a, fd), ==, ARCHIVE_OK);
        archive_entry_set_pathname(entry, name);
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, 0644);
        archive_entry_set_size(entry, 1);
        g_assert_cmpint(archive_write_header(a, entry), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_data(a, "x", 1), ==, 1);
        g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
        archive_entry_free(entry);
        archive_write_free(a);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        return fd;
}

static void test_unsafe_names_refused(void)
{
        g_autofree char *t = make_tmp();
        g_autofree char *out = g_strdup_printf("%s/out", t), *escaped = g_strdup_printf("%s/escaped", t);
        const char *names[] = { "../escaped", "a/../../escaped", "/tmp/berth-test-tree-archive-abs" };

        g_assert_cmpint(mkdir(out, 0755), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
                int fd = evil_tar(t, names[i]);
                g_assert_cmpint(tree_archive_extract(out, fd, NULL, false, &e), <, 0);
                safe_close(fd);
        }
        g_assert_false(g_file_test(escaped, G_FILE_TEST_EXISTS));
        g_assert_false(g_file_test("/tmp/berth-test-tree-archive-abs", G_FILE_TEST_EXISTS));
        rm_rf(t);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/tree-archive/round-trip", test_round_trip);
        g_test_add_func("/tree-archive/unsafe-names-refused", test_unsafe_names_refused);
        return g_test_run();
}
