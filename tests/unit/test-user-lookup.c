/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "runtime/user-lookup.h"
#include "shared/fs-util.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# a comment line\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "app:x:1000:1000:App User:/home/app:/bin/sh\n"
                             "nohome:x:1001:1001:::/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

static const char group[] = "root:x:0:\n"
                            "daemon:x:1:\n"
                            "wheel:x:10:root,app\n"
                            "audio:x:29:app\n"
                            "app:x:1000:\n"
                            "audio2:x:29:app\n" /* same gid twice: listed once */
                            "staff:x:50:someoneelse\n"
                            "nogroup:x:65534:\n";

typedef struct Fixture {
        char *dir;
        int fd;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
        f->dir = g_dir_make_tmp("test-user-lookup-XXXXXX", NULL);
        g_assert_nonnull(f->dir);
        f->fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(f->fd, >=, 0);
        g_assert_cmpint(mkdirat(f->fd, "etc", 0755), ==, 0);
        if (data)
                return; /* an image without etc/passwd and etc/group */
        g_assert_cmpint(write_file_atomic_at(f->fd, "etc/passwd", passwd, strlen(passwd), 0644), ==, 0);
        g_assert_cmpint(write_file_atomic_at(f->fd, "etc/group", group, strlen(group), 0644), ==, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
        g_assert_cmpint(rm_rf_at(AT_FDCWD, f->dir), ==, 0);
        safe_close(f->fd);
        g_free(f->dir);
}

static void lookup_ok(Fixture *f, const char *user, uid_t uid, gid_t gid, const char *home, size_t n_groups,
                      const gid_t *groups)
{
        UserIds u = {};
        _cleanup_berth_error_ BerthError error = BERTH_ERROR_INIT;

        g_test_message("user '%s'", user);
        g_assert_cmpint(user_lookup(f->fd, user, &error, &u), ==, 0);
        g_assert_cmpint(error.error, ==, 0);
        g_assert_null(error.message);
        g_assert_cmpuint(u.uid, ==, uid);
        g_assert_cmpuint(u.gid, ==, gid);
        g_assert_cmpstr(u.home, ==, home);
        g_assert_cmpuint(u.n_groups, ==, n_groups);
        for (size_t i = 0; i < n_groups; i++)
                g_assert_cmpuint(u.groups[i], ==, groups[i]);
        user_ids_done(&u);
}

static void lookup_fails(Fixture *f, const char *user, int error, const char *message)
{
        UserIds u = {};
        _cleanup_berth_error_ BerthError m = BERTH_ERROR_INIT;

        g_test_message("user '%s'", user);
        g_assert_cmpint(user_lookup(f->fd, user, &m, &u), ==, error);
        g_assert_cmpint(m.error, ==, error);
        if (message)
                g_assert_cmpstr(m.message, ==, message);
        g_assert_null(u.home);
}

static void test_forms(Fixture *f, gconstpointer data)
{
        static const gid_t root_groups[] = { 0, 10 }, app_groups[] = { 1000, 10, 29 };

        lookup_ok(f, NULL, 0, 0, "/root", 2, root_groups);
        lookup_ok(f, "", 0, 0, "/root", 2, root_groups);
        lookup_ok(f, "root", 0, 0, "/root", 2, root_groups);
        lookup_ok(f, "app", 1000, 1000, "/home/app", 3, app_groups);
        lookup_ok(f, "1000", 1000, 1000, "/home/app", 3, app_groups);
        lookup_ok(f, "nobody", 65534, 65534, "/nonexistent", 1, (gid_t[]){ 65534 });
        lookup_ok(f, "nohome", 1001, 1001, "/", 1, (gid_t[]){ 1001 });
        /* Numeric ids need no entry. */
        lookup_ok(f, "4242", 4242, 0, "/", 1, (gid_t[]){ 0 });
        lookup_ok(f, "4242:4343", 4242, 4343, "/", 1, (gid_t[]){ 4343 });
        /* An explicit group: primary gid replaced, no other supplementary groups. */
        lookup_ok(f, "app:audio", 1000, 29, "/home/app", 1, (gid_t[]){ 29 });
        lookup_ok(f, "app:0", 1000, 0, "/home/app", 1, (gid_t[]){ 0 });
        lookup_ok(f, "1000:staff", 1000, 50, "/home/app", 1, (gid_t[]){ 50 });
        lookup_ok(f, ":wheel", 0, 10, "/root", 1, (gid_t[]){ 10 });
}

static void test_errors(Fixture *f, gconstpointer data)
{
        lookup_fails(f, "nosuch", -ESRCH, "unable to find user nosuch: no matching entries in passwd file");
        lookup_fails(f, "app:nosuch", -ESRCH,
                     "unable to find group nosuch: no matching entries in group file");
        lookup_fails(f, "app:", -EINVAL, NULL);
        /* Out of range numbers are names, and there is no such name. */
        lookup_fails(f, "99999999999", -ESRCH, NULL);
        lookup_fails(f, "-1", -ESRCH, NULL);
}

static void test_no_files(Fixture *f, gconstpointer data)
{
        lookup_ok(f, "", 0, 0, "/", 1, (gid_t[]){ 0 });
        lookup_ok(f, "1000:1000", 1000, 1000, "/", 1, (gid_t[]){ 1000 });
        lookup_fails(f, "app", -ESRCH, "unable to find user app: no matching entries in passwd file");
        lookup_fails(f, "0:audio", -ESRCH, "unable to find group audio: no matching entries in group file");
}

static void test_symlink_stays_inside(Fixture *f, gconstpointer data)
{
        /* An image whose etc/passwd points at an absolute path: resolved inside the root, never the host's.
         */
        static const char other[] = "root:x:0:0::/elsewhere:/bin/sh\nhostonly:x:7:7::/x:/bin/sh\n";

        g_assert_cmpint(mkdirat(f->fd, "alt", 0755), ==, 0);
        g_assert_cmpint(write_file_atomic_at(f->fd, "alt/passwd", other, strlen(other), 0644), ==, 0);
        g_assert_cmpint(unlinkat(f->fd, "etc/passwd", 0), ==, 0);
        g_assert_cmpint(symlinkat("/alt/passwd", f->fd, "etc/passwd"), ==, 0);
        lookup_ok(f, "hostonly", 7, 7, "/x", 1, (gid_t[]){ 7 });

        g_assert_cmpint(unlinkat(f->fd, "etc/passwd", 0), ==, 0);
        g_assert_cmpint(symlinkat("../../../../../../../etc/hostname", f->fd, "etc/passwd"), ==, 0);
        /* The host has /etc/hostname; inside this root the link dangles, so there is no passwd file. */
        lookup_fails(f, "root", -ESRCH, NULL);
        lookup_ok(f, "0", 0, 0, "/", 1, (gid_t[]){ 0 });
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add("/user-lookup/forms", Fixture, NULL, fixture_setup, test_forms, fixture_teardown);
        g_test_add("/user-lookup/errors", Fixture, NULL, fixture_setup, test_errors, fixture_teardown);
        g_test_add("/user-lookup/no-files", Fixture, "empty", fixture_setup, test_no_files,
                   fixture_teardown);
        g_test_add("/user-lookup/symlink", Fixture, NULL, fixture_setup, test_symlink_stays_inside,
                   fixture_teardown);
        return g_test_run();
}
