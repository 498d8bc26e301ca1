/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "network/netns.h"
#include "shared/macro.h"

pid_t netns_fork(int *ret_netns_fd)
{
        struct clone_args args = {
                .flags = CLONE_NEWNET,
                .exit_signal = SIGCHLD,
        };
        char path[64];
        pid_t pid;
        int fd;

        pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                return -errno;
        if (pid == 0)
                return 0;
        /* The child cannot be reaped before we wait for it, so its /proc entry is ours to read; if it
         * already exited, the namespace is gone and the open fails. */
        snprintf(path, sizeof(path), "/proc/%i/ns/net", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;

                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        *ret_netns_fd = fd;
        return pid;
}
