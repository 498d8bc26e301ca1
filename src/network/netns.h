/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* The network namespace of our child pid (not reaped yet), as an fd: the one a child started with
 * CLONE_NEWNET made (spawn_exec()). Fails if the child is gone. */
int netns_open_of(pid_t pid, int *ret_netns_fd);
