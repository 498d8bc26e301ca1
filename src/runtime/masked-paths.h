/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runtime/child-error.h"

/* Docker's masked and read-only paths, in the container's own /proc and /sys (called after pivot_root,
 * while the child still holds CAP_SYS_ADMIN). Masked files get /dev/null bound over them, masked
 * directories an empty read-only tmpfs; read-only paths are bound onto themselves read-only. Paths this
 * kernel does not have are skipped. A privileged container gets none of this (Docker's rule). */
int masked_paths_apply(ChildError *e);
