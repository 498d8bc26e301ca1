/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Starts the program path with argv as our child, the way posix_spawn() does: the child shares our memory
 * (CLONE_VM | CLONE_VFORK) on a small stack of its own until it execs, and we wait until it has. So a large
 * process (berthd, ~20 MiB) neither copies its page tables for a child that only execs nor tears them down
 * again in it. In the child, stdin is /dev/null, stdout and stderr stay ours, pass_fds[i] becomes fd 3 + i,
 * every other fd is closed, and the signal mask is emptied. extra_flags adds clone flags (CLONE_NEWNET: the
 * child execs in a new network namespace). Returns the pid, or a negative errno; a child whose exec failed
 * exits 127. */
pid_t spawn_exec(const char *path, char *const argv[], const int *pass_fds, size_t n_pass_fds,
                 unsigned long extra_flags);
