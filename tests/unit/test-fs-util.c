/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/fs-util.h"
#include "shared/macro.h"

typedef struct Renamer {
        int dir_fd;
        atomic_bool stop;
        unsigned long renames;
} Renamer;

/* Any rename on the host makes a concurrent RESOLVE_BENEATH lookup of ".." fail with EAGAIN. */
static void *rename_back_and_forth(void *userdata)
{
        Renamer *r = userdata;

        while (!atomic_load(&r->stop)) {
                g_assert_cmpint(renameat(r->dir_fd, "x", r->dir_fd, "y"), ==, 0);
                g_assert_cmpint(renameat(r->dir_fd, "y", r->dir_fd, "x"), ==, 0);
                r->renames += 2;
        }
        return NULL;
}

static void test_openat2_retry_through_renames(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-fs-util-XXXXXX", NULL);
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH };
        _cleanup_close_ int dir_fd = -EBADF;
        Renamer renamer = {};
        pthread_t thread;

        g_assert_nonnull(dir);
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(dir_fd, >=, 0);
        g_assert_cmpint(mkdirat(dir_fd, "a", 0755), ==, 0);
        g_assert_cmpint(write_file_atomic_at(dir_fd, "f", "1", 1, 0644), ==, 0);
        g_assert_cmpint(write_file_atomic_at(dir_fd, "x", "2", 1, 0644), ==, 0);
        renamer.dir_fd = dir_fd;
        g_assert_cmpint(pthread_create(&thread, NULL, rename_back_and_forth, &renamer), ==, 0);

        /* Every lookup goes through "..", while renames run without pause on the other thread. */
        for (unsigned i = 0; i < 20000; i++) {
                int fd = openat2_retry(dir_fd, "a/../f", &how);

                g_assert_cmpint(fd, >=, 0);
                close(fd);
        }
        atomic_store(&renamer.stop, true);
        g_assert_cmpint(pthread_join(thread, NULL), ==, 0);
        g_assert_cmpuint(renamer.renames, >, 0);

        /* What the kernel refuses for other reasons comes back at once. */
        g_assert_cmpint(openat2_retry(dir_fd, "../f", &how), ==, -EXDEV);
        g_assert_cmpint(openat2_retry(dir_fd, "missing", &how), ==, -ENOENT);
        g_assert_cmpint(rm_rf_at(AT_FDCWD, dir), ==, 0);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/fs-util/openat2-retry", test_openat2_retry_through_renames);
        return g_test_run();
}
