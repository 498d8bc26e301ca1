/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "runtime/child-error.h"
#include "runtime/run-spec.h"
#include "shared/error.h"

/* The container's stdio as berth-monitor holds it. With a terminal only pty_master is set; without one,
 * stdout_fd and stderr_fd are pipe read ends, and stdin_fd is the write end of the container's stdin pipe
 * when spec->interactive (its stdin is /dev/null otherwise). Unused members are -EBADF. */
typedef struct ContainerStdio {
        int pty_master;
        int stdin_fd;
        int stdout_fd;
        int stderr_fd;
} ContainerStdio;

#define CONTAINER_STDIO_INIT                                                                                \
        {                                                                                                   \
                .pty_master = -EBADF, .stdin_fd = -EBADF, .stdout_fd = -EBADF, .stderr_fd = -EBADF          \
        }

void container_stdio_close(ContainerStdio *io);

/* What berth-monitor makes before berthd's go, while systemd makes the scope (the longest steps of a start
 * after the go were these): its own mount namespace with the overlay mounted (rootfs_prepare()), which the
 * child's is copied from, and the writable clone of the cgroup2 mount the scope is split through. Unmaking
 * them waits for an RCU grace period, so container_prep_release() comes once the container runs: it returns
 * the monitor to its namespace of origin, and its copy of the overlay goes with its own namespace. */
typedef struct ContainerPrep {
        int origin_mntns;
        int cgroup_fs;    /* a writable clone of the cgroup2 mount; -EBADF where there is none */
        ChildError error; /* exit_code != 0: preparing failed; container_spawn() reports it */
} ContainerPrep;

#define CONTAINER_PREP_INIT                                                                                 \
        {                                                                                                   \
                .origin_mntns = -EBADF, .cgroup_fs = -EBADF                                                 \
        }

void container_prep_make(const RunSpec *spec, ContainerPrep *prep);
void container_prep_release(ContainerPrep *prep);

/* Clones the container's init into new namespaces (mount, copied from prep's; pid, uts, ipc, cgroup; net
 * unless host_network), where it builds the root and execs spec->argv, and waits until it has exec'd or
 * failed.
 * On success returns 0 with its pid (in our pid namespace), a pidfd and its stdio.
 * On failure returns a negative errno with *ret_exit_code set to Docker's code (125 setup, 126 cannot
 * execute, 127 not found) and *err (when not NULL) to the errno and a message like Docker's; the child has
 * been reaped. */
int container_spawn(const RunSpec *spec, const ContainerPrep *prep, BerthError *err, pid_t *ret_pid,
                    int *ret_pidfd, ContainerStdio *ret_io, int *ret_exit_code);
