/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "runtime/child-error.h"

/* Builds the container's /dev below root_fd (before pivot_root, since host nodes may be needed): a tmpfs
 * with null, zero, full, random, urandom and tty, the usual symlinks, a private devpts instance, /dev/shm
 * and /dev/mqueue. With console, an empty /dev/console is created for the terminal's slave to be bound on.
 * devices are the run spec's host devices (run-spec.h), made as nodes in the tmpfs. */
int dev_setup(int root_fd, bool console, char **devices, ChildError *e);

/* Inside the new root: binds the terminal slave (an open fd) onto /dev/console, as runc does. */
int dev_bind_console(int slave_fd, ChildError *e);
