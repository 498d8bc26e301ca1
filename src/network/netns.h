/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Like fork(), but the child starts in a new network namespace (clone3 with CLONE_NEWNET, so there is no
 * moment where it runs in ours), and the parent gets that namespace as an fd at once. In the child, returns
 * 0 and *ret_netns_fd is untouched. */
pid_t netns_fork(int *ret_netns_fd);
