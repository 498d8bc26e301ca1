/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runtime/child-error.h"
#include "runtime/run-spec.h"
#include "runtime/user-lookup.h"

/* The container child's last step before execve(): everything that takes privilege away, in the one order
 * that works, because each step needs a privilege the next one removes:
 *   1. masked and read-only paths (needs CAP_SYS_ADMIN)            — not yet: the security issue
 *   2. capability bounding set (needs CAP_SETPCAP)                  — not yet: the security issue
 *   3. supplementary groups, gid, uid (needs CAP_SETGID/CAP_SETUID)
 *   4. effective/permitted/inheritable/ambient capabilities         — not yet: the security issue
 *   5. no_new_privs (spec->no_new_privileges; also required by an unprivileged seccomp load)
 *   6. seccomp filter, last, so that none of the above is filtered — not yet: the security issue
 * Nothing may run between confine_apply() and execve() except the exec itself. */
int confine_apply(const RunSpec *spec, const UserIds *user, ChildError *e);
