/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/copy-up.h"
#include "shared/fs-util.h"

static char *make_tree(void)
{
        char *src = g_dir_make_tmp("copy-up-src-XXXXXX", NULL);
        g_autofree char *sub = g_build_filename(src, "sub", NULL), *file = g_build_filename(sub, "f", NULL),
                        *link = g_build_filename(src, "link", NULL);

        g_assert_cmpint(g_mkdir(sub, 0750), ==, 0);
        g_assert_true(g_file_set_contents(file, "data", -1, NULL));
        g_assert_cmpint(chmod(file, 0604), ==, 0);
        g_assert_cmpint(symlink("/etc/passwd", link), ==, 0);
        return src;
}

static void test_copy(void)
{
        g_autofree char *src = make_tree(), *dst = g_dir_make_tmp("copy-up-dst-XXXXXX", NULL);
        g_autofree char *file = g_build_filename(dst, "sub", "f", NULL),
                        *link = g_build_filename(dst, "link", NULL),
                        *sub = g_build_filename(dst, "sub", NULL), *target = NULL, *data = NULL;
        int s = open(src, O_RDONLY | O_DIRECTORY), d = open(dst, O_RDONLY | O_DIRECTORY);
        struct stat st;

        g_assert_cmpint(copy_up(s, d), ==, 0);
        g_assert_true(g_file_get_contents(file, &data, NULL, NULL));
        g_assert_cmpstr(data, ==, "data");
        g_assert_cmpint(stat(file, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0604);
        g_assert_cmpint(stat(sub, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0750);
        /* A symlink is copied as a symlink, never followed. */
        target = g_file_read_link(link, NULL);
        g_assert_cmpstr(target, ==, "/etc/passwd");

        /* A volume that holds anything is left alone. */
        g_assert_cmpint(unlink(file), ==, 0);
        g_assert_cmpint(copy_up(s, d), ==, 0);
        g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));

        close(s);
        close(d);
        g_assert_cmpint(rm_rf_at(AT_FDCWD, src), >=, 0);
        g_assert_cmpint(rm_rf_at(AT_FDCWD, dst), >=, 0);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/copy-up/copy", test_copy);
        return g_test_run();
}
