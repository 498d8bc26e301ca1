/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/macro.h"
#include "shared/spawn.h"

/* Runs `sh -c SCRIPT` through spawn_exec() with pass_fds, and returns what it wrote to fd 3 + n_pass_fds
 * (a pipe passed last), and its exit status in *ret_status. */
static char *spawn_script(const char *script, int *pass, size_t n, unsigned long flags, int *ret_status)
{
        int out[2], fds[8], status;
        char buf[4096];
        ssize_t k;
        size_t len = 0;
        pid_t pid;
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) script, NULL };

        g_assert_cmpint(pipe2(out, O_CLOEXEC), ==, 0);
        for (size_t i = 0; i < n; i++)
                fds[i] = pass[i];
        fds[n] = out[1];
        pid = spawn_exec("/bin/sh", argv, fds, n + 1, flags);
        g_assert_cmpint(pid, >, 0);
        close(out[1]);
        while ((k = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t) k;
        close(out[0]);
        buf[len] = 0;
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        *ret_status = status;
        return g_strdup(buf);
}

/* The child gets /dev/null as stdin, the passed fds at 3, 4, … (even when one sat where another goes), no
 * other fd of ours, and an empty signal mask although ours blocks signals. */
static void test_spawn_fds_and_mask(void)
{
        g_autofree char *out = NULL, *expect = NULL;
        int a[2], b[2], stray, pass[2], status;
        sigset_t block, old;
        struct stat st;

        g_assert_cmpint(pipe2(a, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(b, 0), ==, 0); /* not CLOEXEC: must be closed all the same */
        stray = b[0];
        g_assert_cmpint(fstat(a[0], &st), ==, 0);
        pass[0] = a[0];
        pass[1] = a[1];
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGCHLD);
        g_assert_cmpint(sigprocmask(SIG_BLOCK, &block, &old), ==, 0);

        out = spawn_script("readlink /proc/self/fd/0 >&5; stat -L -c %i /proc/self/fd/3 >&5; "
                           "ls /proc/self/fd | sort -n | tr '\\n' ' ' >&5; echo >&5; "
                           "grep SigBlk /proc/self/status >&5",
                           pass, 2, 0, &status);
        g_assert_cmpint(sigprocmask(SIG_SETMASK, &old, NULL), ==, 0);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* ls itself opens one more fd, listed last. */
        expect = g_strdup_printf("/dev/null\n%lu\n0 1 2 3 4 5 6 \nSigBlk:\t0000000000000000\n",
                                 (unsigned long) st.st_ino);
        g_assert_cmpstr(out, ==, expect);
        close(a[0]);
        close(a[1]);
        close(stray);
        close(b[1]);
}

/* A program that cannot be executed: the child exits 127, and we go on. */
static void test_spawn_missing_program(void)
{
        char *argv[] = { (char *) "nothing", NULL };
        int status;
        pid_t pid = spawn_exec("/nonexistent/nothing", argv, NULL, 0, 0);

        g_assert_cmpint(pid, >, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 127);
}

/* With CLONE_NEWNET the program runs in a namespace of its own (root only). */
static void test_spawn_new_netns(void)
{
        g_autofree char *out = NULL, *ours = NULL;
        char link[64];
        ssize_t n;
        int status;

        if (geteuid() != 0) {
                g_test_skip("needs root");
                return;
        }
        n = readlink("/proc/self/ns/net", link, sizeof(link) - 1);
        g_assert_cmpint(n, >, 0);
        link[n] = 0;
        ours = g_strdup_printf("%s\n", link);
        out = spawn_script("readlink /proc/self/ns/net >&3", NULL, 0, CLONE_NEWNET, &status);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        g_assert_true(g_str_has_prefix(out, "net:["));
        g_assert_cmpstr(out, !=, ours);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/spawn/fds-and-mask", test_spawn_fds_and_mask);
        g_test_add_func("/spawn/missing-program", test_spawn_missing_program);
        g_test_add_func("/spawn/new-netns", test_spawn_new_netns);
        return g_test_run();
}
