/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <linux/io_uring.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/seccomp-profile.h"

/* What a syscall answers under berth's default profile, asked in a child that loads it (no_new_privs lets an
 * unprivileged test load a filter). 0 for success, else the errno. */
static int errno_under_profile(long nr, long a0, long a1)
{
        pid_t pid = fork();
        int status;

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                ChildError e = {};
                const void *bpf;
                size_t size;
                long r;

                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    seccomp_profile_get(caps_docker_default(), &bpf, &size) < 0 ||
                    seccomp_profile_load(bpf, size, &e) < 0)
                        _exit(255);
                r = syscall(nr, a0, a1, 0, 0, 0, 0);
                _exit(r < 0 ? errno : 0);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), !=, 255);
        return WEXITSTATUS(status);
}

static void test_io_uring_denied(void)
{
        struct io_uring_params params = {};

        /* Docker's current default profile blocks io_uring (moby#46762): EPERM, as for anything not allowed.
         */
        g_assert_cmpint(errno_under_profile(SYS_io_uring_setup, 1, (long) &params), ==, EPERM);
        g_assert_cmpint(errno_under_profile(SYS_io_uring_enter, -1, 0), ==, EPERM);
        g_assert_cmpint(errno_under_profile(SYS_io_uring_register, -1, 0), ==, EPERM);
        /* The filter itself lets ordinary calls through. */
        g_assert_cmpint(errno_under_profile(SYS_getpid, 0, 0), ==, 0);
}

/* The child only loads what berthd compiled: a spec without a program, or a malformed one, fails the start
 * rather than running the container unfiltered. */
static void test_load_needs_a_program(void)
{
        ChildError e = {}, f = {};
        const void *bpf;
        size_t size;

        g_assert_cmpint(seccomp_profile_load(NULL, 0, &e), ==, -EINVAL);
        g_assert_nonnull(strstr(e.message, "no seccomp filter"));
        g_assert_cmpint(seccomp_profile_get(caps_docker_default(), &bpf, &size), ==, 0);
        g_assert_cmpint(seccomp_profile_load(bpf, size - 1, &f), ==, -EINVAL);
        g_assert_nonnull(strstr(f.message, "malformed"));
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/seccomp-profile/io-uring-denied", test_io_uring_denied);
        g_test_add_func("/seccomp-profile/load-needs-a-program", test_load_needs_a_program);
        return g_test_run();
}
