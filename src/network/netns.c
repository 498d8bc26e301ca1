/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "network/netns.h"
#include "shared/macro.h"

int netns_open_of(pid_t pid, int *ret_netns_fd)
{
        char path[64];
        int fd;

        /* The child cannot be reaped before we wait for it, so its /proc entry is ours to read; if it
         * already exited, the namespace is gone and the open fails. */
        snprintf(path, sizeof(path), "/proc/%i/ns/net", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        *ret_netns_fd = fd;
        return 0;
}
