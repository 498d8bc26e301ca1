/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runtime/run-spec.h"

/* The fds the container child gets from container_spawn(). The child owns them; all are CLOEXEC. */
typedef struct ChildFds {
        int report;   /* ChildError goes here on failure; EOF (CLOEXEC at exec) means success */
        int console;  /* tty: socket to send the pty master over */
        int stdin_fd; /* !tty: become 0, 1, 2 */
        int stdout_fd;
        int stderr_fd;
        int cgroup_procs; /* the scope's cgroup.procs, to move into before unsharing the cgroup namespace;
                           * -EBADF when the namespace came with the clone */
} ChildFds;

/* Runs in the cloned child: sets the container up and execs, or reports and exits. */
_Noreturn void container_child_main(const RunSpec *spec, const ChildFds *fds);

/* Steps shared with the exec child (exec-child.h). */
#include "runtime/child-error.h"
#include "runtime/user-lookup.h"
const char *strv_get_value(char **env, const char *key);
/* env plus HOME from the user's passwd entry when env has none; the strings stay env's. */
char **build_env(char **env, const UserIds *user, char **ret_home_entry);
/* Go's exec.LookPath in PATH (or the default PATH), with Docker's messages and exit codes. */
int find_executable(const char *name, const char *path, char **ret, ChildError *e);
int exec_failed(ChildError *e, const char *name, int error);
