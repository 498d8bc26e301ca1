/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/run-spec.h"

/* A process started by exec (berthctl exec, org.berth1.Container.Exec) in a running container. berth-monitor
 * clones it into the container's pid namespace (exec_spawn()), so it is the monitor's child, in the
 * container's scope, and dies with the container's init like every other process of the container. The child
 * then takes, in this order, the steps of the container's own init (container-child.c) that still apply:
 *   - into the scope's cgroup (the monitor sits in its "supervisor" child), then setns() through the init's
 *     pidfd into its mount, UTS, IPC, network and cgroup namespaces, which also makes the container's root
 *     (the pivoted overlay) its root;
 *   - a new session; with a terminal, a pty of the container's own devpts as controlling terminal;
 *   - the user from the container's own etc/passwd, the working directory, HOME, the PATH lookup;
 *   - confinement as the container's (confine.h), without masking again: capabilities, seccomp,
 *     no_new_privs, uid/gids.
 * spec is the container's own spec with argv, env, cwd, user, tty and interactive of the exec. */
typedef struct ExecFds {
        int init_pidfd; /* the container's init */
        int console;    /* tty: socket to send the pty master over */
        int stdin_fd;   /* !tty: become 0 and 1; -EBADF for /dev/null */
        int stdout_fd;
        int stderr_fd; /* also with a tty, until the terminal is set up: setup errors are written here */
} ExecFds;

/* Clones the exec child (the caller must have joined the container's pid namespace for its children,
 * exec_join_pid_namespace()). Returns the pid and a pidfd. The fds stay the caller's. */
int exec_spawn(const RunSpec *spec, const ExecFds *fds, pid_t *ret_pid, int *ret_pidfd);
/* setns(CLONE_NEWPID) on the init's pidfd: the caller's later children are born in the container. */
int exec_join_pid_namespace(int init_pidfd);
