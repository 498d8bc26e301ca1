/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shared/macro.h"
#include "shared/spawn.h"

#define CHILD_STACK_SIZE (64U * 1024U)
#define MAX_PASS_FDS     8

typedef struct SpawnArgs {
        const char *path;
        char *const *argv;
        const int *pass_fds;
        size_t n_pass_fds;
} SpawnArgs;

/* Runs in our memory while we wait: only system calls (no malloc, no stdio, no locks), as in posix_spawn's
 * child. All signals are blocked on entry, so none of our handlers runs here. */
static int spawn_child(void *userdata)
{
        const SpawnArgs *a = userdata;
        int high[MAX_PASS_FDS], null_fd;
        sigset_t none;

        /* Out of the way first: a pass_fd may sit where another one goes. */
        for (size_t i = 0; i < a->n_pass_fds; i++) {
                high[i] = fcntl(a->pass_fds[i], F_DUPFD, 3 + (int) a->n_pass_fds);
                if (high[i] < 0)
                        _exit(127);
        }
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0)
                _exit(127);
        for (size_t i = 0; i < a->n_pass_fds; i++)
                if (dup2(high[i], 3 + (int) i) < 0)
                        _exit(127);
        (void) close_range(3 + (unsigned) a->n_pass_fds, ~0U, 0);

        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        execv(a->path, a->argv);
        _exit(127);
}

pid_t spawn_exec(const char *path, char *const argv[], const int *pass_fds, size_t n_pass_fds,
                 unsigned long extra_flags)
{
        SpawnArgs a = { .path = path, .argv = argv, .pass_fds = pass_fds, .n_pass_fds = n_pass_fds };
        sigset_t all, old;
        void *stack;
        pid_t pid;
        int r = 0;

        if (n_pass_fds > MAX_PASS_FDS)
                return -E2BIG;
        stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                     -1, 0);
        if (stack == MAP_FAILED)
                return negative_errno();

        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, &old);
        pid = clone(spawn_child, (uint8_t *) stack + CHILD_STACK_SIZE,
                    CLONE_VM | CLONE_VFORK | SIGCHLD | (int) extra_flags, &a);
        if (pid < 0)
                r = negative_errno();
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        (void) munmap(stack, CHILD_STACK_SIZE);
        return r < 0 ? r : pid;
}
