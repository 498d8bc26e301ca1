/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "shared/error.h"
#include "shared/macro.h"

/* Resolves a Docker-style user ("", "name", "uid", "name:group", "uid:gid", ":group" forms) against the
 * etc/passwd and etc/group files below root_fd, the container's root. Never NSS: the host's users mean
 * nothing in a container, and NSS modules must not be loaded into a process that is about to exec image
 * code. Rules follow runc's GetExecUser, which Docker uses:
 *   - a name must have a passwd entry; a numeric uid need not (gid 0, HOME "/" then);
 *   - an explicit group replaces the primary gid and means no supplementary groups; a numeric gid need
 *     not exist in etc/group, a group name must;
 *   - otherwise the supplementary groups are the etc/group entries that list the user's name;
 *   - the primary gid comes first among the supplementary groups, as with Docker (containerd adds it).
 * Paths are resolved with RESOLVE_IN_ROOT, so an image's etc/passwd symlink cannot point out of root_fd. */
typedef struct UserIds {
        uid_t uid;
        gid_t gid;
        gid_t *groups; /* supplementary, the primary gid first */
        size_t n_groups;
        char *home; /* from passwd, "/" when no entry */
} UserIds;

void user_ids_done(UserIds *u);

/* -ESRCH with *err set ("unable to find user foo: no matching entries in passwd file") when the user or
 * group does not exist, -EINVAL for a malformed spec, other negative errno for I/O problems; *err (when not
 * NULL) gets the message in every case. */
int user_lookup(int root_fd, const char *user, BerthError *err, UserIds *ret);
