/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* build_copy_write(): Docker's COPY rules (a directory stands for its contents, a file into a directory
 * keeps its name, several sources need a directory ending in '/'), globs, owners and modes in the tar, the
 * digest that keys the build cache (changes with a byte or a mode, not with a time), sources leaving the
 * root refused; --chown and --chmod parsing. Runs in a fresh directory under /var/tmp, removed at the end.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "shared/macro.h"
#include "store/build-copy.h"

static char *tmp_dir;

static void write_file(const char *path, const char *content, mode_t mode)
{
        g_assert_true(g_file_set_contents(path, content, -1, NULL));
        g_assert_cmpint(chmod(path, mode), ==, 0);
}

static int sort_cmp(const char *const *a, const char *const *b, void *u)
{
        return strcmp(*a, *b);
}

/* The tar's entries as "name mode uid:gid", one per line. */
static char *copy_list(BuildCopySpec *s, char digest[static SHA256_DIGEST_STRING_SIZE], int *ret)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        int fd = open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        struct archive *a;
        struct archive_entry *entry;
        GString *out = g_string_new(NULL);

        g_assert_cmpint(fd, >=, 0);
        *ret = build_copy_write(s, fd, digest, &e);
        if (*ret < 0) {
                close(fd);
                return g_string_free(out, false);
        }
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        a = archive_read_new();
        archive_read_support_format_tar(a);
        g_assert_cmpint(archive_read_open_fd(a, fd, 4096), ==, ARCHIVE_OK);
        while (archive_read_next_header(a, &entry) == ARCHIVE_OK)
                g_string_append_printf(out, "%s %o %d:%d\n", archive_entry_pathname(entry),
                                       (unsigned) (archive_entry_mode(entry) & 07777),
                                       (int) archive_entry_uid(entry), (int) archive_entry_gid(entry));
        archive_read_free(a);
        close(fd);
        /* Sorted: the walk's order is the directory's. */
        g_auto(GStrv) l = g_strsplit(out->str, "\n", -1);
        g_string_free(out, true);
        g_qsort_with_data(l, g_strv_length(l), sizeof(char *), (GCompareDataFunc) sort_cmp, NULL);
        g_autofree char *joined = g_strjoinv("\n", l);
        return g_strconcat(joined + 1, "\n", NULL); /* the empty last piece sorts first */
}

static void setup_tree(void)
{
        g_assert_cmpint(chdir(tmp_dir), ==, 0);
        g_assert_cmpint(mkdir("src", 0755), ==, 0);
        g_assert_cmpint(mkdir("src/sub", 0750), ==, 0);
        write_file("src/a.c", "a\n", 0644);
        write_file("src/b.c", "b\n", 0600);
        write_file("src/sub/c.h", "c\n", 0644);
        write_file("README", "r\n", 0644);
}

static void test_directory_contents(void)
{
        char d1[SHA256_DIGEST_STRING_SIZE], d2[SHA256_DIGEST_STRING_SIZE];
        BuildCopySpec s = { .sources = (char *[]){ (char *) "src", NULL },
                            .dest = "/app",
                            .instruction = "COPY" };
        g_autofree char *l = NULL, *l2 = NULL;
        int r;

        l = copy_list(&s, d1, &r);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(l, ==, "app/a.c 644 0:0\napp/b.c 600 0:0\napp/sub/ 750 0:0\napp/sub/c.h 644 0:0\n");

        /* Same content, another time: the same digest; a changed byte: another. */
        g_assert_cmpint(utimensat(AT_FDCWD, "src/a.c", (struct timespec[]){ { 1, 0 }, { 1, 0 } }, 0), ==, 0);
        l2 = copy_list(&s, d2, &r);
        g_assert_cmpstr(d1, ==, d2);
        write_file("src/a.c", "A\n", 0644);
        g_free(l2);
        l2 = copy_list(&s, d2, &r);
        g_assert_cmpstr(d1, !=, d2);
        write_file("src/a.c", "a\n", 0644);
}

static void test_files_globs_owner_mode(void)
{
        char d[SHA256_DIGEST_STRING_SIZE];
        BuildCopySpec s = { .sources = (char *[]){ (char *) "src/*.c", (char *) "README", NULL },
                            .dest = "/usr/share/x/",
                            .instruction = "COPY",
                            .chown = true,
                            .uid = 1000,
                            .gid = 100,
                            .chmod = true,
                            .mode = 0640 };
        g_autofree char *l = NULL, *l2 = NULL, *l3 = NULL;
        int r;

        l = copy_list(&s, d, &r);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(l, ==,
                        "usr/share/x/README 640 1000:100\nusr/share/x/a.c 640 1000:100\nusr/share/x/b.c 640 "
                        "1000:100\n");

        /* One file to a name that is no directory: the file's new name. */
        BuildCopySpec one = { .sources = (char *[]){ (char *) "README", NULL },
                              .dest = "/etc/readme",
                              .instruction = "COPY" };
        l2 = copy_list(&one, d, &r);
        g_assert_cmpstr(l2, ==, "etc/readme 644 0:0\n");

        /* Several sources need a directory ending in '/'. */
        BuildCopySpec several = { .sources = (char *[]){ (char *) "README", (char *) "src/a.c", NULL },
                                  .dest = "/dir",
                                  .instruction = "COPY" };
        l3 = copy_list(&several, d, &r);
        g_assert_cmpint(r, ==, -EINVAL);
}

static void test_refused(void)
{
        char d[SHA256_DIGEST_STRING_SIZE];
        g_autofree char *l = NULL, *l2 = NULL;
        BuildCopySpec up = { .sources = (char *[]){ (char *) "../x", NULL },
                             .dest = "/x",
                             .instruction = "COPY" };
        BuildCopySpec none = { .sources = (char *[]){ (char *) "*.none", NULL },
                               .dest = "/x/",
                               .instruction = "COPY" };
        int r;

        l = copy_list(&up, d, &r);
        g_assert_cmpint(r, ==, -EPERM);
        l2 = copy_list(&none, d, &r);
        g_assert_cmpint(r, ==, -ENOENT);
}

static void test_parse_flags(void)
{
        uid_t u;
        gid_t g;
        mode_t m;

        g_assert_cmpint(build_copy_parse_chown("1000:100", &u, &g), ==, 0);
        g_assert_cmpint(u, ==, 1000);
        g_assert_cmpint(g, ==, 100);
        g_assert_cmpint(build_copy_parse_chown("42", &u, &g), ==, 0);
        g_assert_cmpint(g, ==, 42);
        g_assert_cmpint(build_copy_parse_chown("root:root", &u, &g), ==, 0);
        g_assert_cmpint(u + g, ==, 0);
        g_assert_cmpint(build_copy_parse_chown("www-data", &u, &g), ==, -EINVAL);
        g_assert_cmpint(build_copy_parse_chown("1:", &u, &g), ==, -EINVAL);
        g_assert_cmpint(build_copy_parse_chmod("0755", &m), ==, 0);
        g_assert_cmpint(m, ==, 0755);
        g_assert_cmpint(build_copy_parse_chmod("u+x", &m), ==, -EINVAL);
        g_assert_cmpint(build_copy_parse_chmod("17777", &m), ==, -EINVAL);
}

int main(int argc, char *argv[])
{
        int r;

        g_test_init(&argc, &argv, NULL);
        tmp_dir = g_strdup("/var/tmp/berth-test-build-copy-XXXXXX");
        g_assert_nonnull(mkdtemp(tmp_dir));
        setup_tree();
        g_test_add_func("/build-copy/directory-contents", test_directory_contents);
        g_test_add_func("/build-copy/files-globs-owner-mode", test_files_globs_owner_mode);
        g_test_add_func("/build-copy/refused", test_refused);
        g_test_add_func("/build-copy/parse-flags", test_parse_flags);
        r = g_test_run();
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp_dir);
        (void) system(cmd);
        return r;
}
