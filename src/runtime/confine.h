/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runtime/child-error.h"
#include "runtime/run-spec.h"
#include "runtime/user-lookup.h"

/* The container child's last step before execve(): everything that takes privilege away, in the one order
 * that works, because each step needs a privilege the next one removes:
 *   1. masked and read-only paths (needs CAP_SYS_ADMIN; not when privileged)
 *   2. capability bounding set and ambient set (needs CAP_SETPCAP)
 *   3. seccomp filter (needs CAP_SYS_ADMIN unless no_new_privs; not when privileged or seccomp=unconfined):
 *      loaded here rather than last so that no_new_privs stays opt-in; what follows is allowed by it
 *   4. supplementary groups, gid, uid (needs CAP_SETGID/CAP_SETUID)
 *   5. effective/permitted/inheritable capabilities (root keeps the resolved set; others have none)
 *   6. no_new_privs (spec->no_new_privileges)
 * mask_paths is false for exec (exec-child.h): the container's mount namespace is masked already.
 * Nothing may run between confine_apply() and execve() except the exec itself. */
int confine_apply(const RunSpec *spec, const UserIds *user, bool mask_paths, ChildError *e);
