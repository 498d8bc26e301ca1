/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <grp.h>
#include <sys/prctl.h>

#include "runtime/confine.h"

static int set_credentials(const UserIds *user, ChildError *e)
{
        if (setgroups(user->n_groups, user->groups) < 0)
                return child_fail(e, negative_errno(), "setgroups failed");
        if (setresgid(user->gid, user->gid, user->gid) < 0)
                return child_fail(e, negative_errno(), "setgid %u failed", (unsigned) user->gid);
        /* Changing from uid 0 to another clears the capability sets (no PR_SET_KEEPCAPS), as Docker's runs of
         * non-root users expect; for root they stay until step 4 exists. */
        if (setresuid(user->uid, user->uid, user->uid) < 0)
                return child_fail(e, negative_errno(), "setuid %u failed", (unsigned) user->uid);
        return 0;
}

int confine_apply(const RunSpec *spec, const UserIds *user, ChildError *e)
{
        int r;

        /* 1, 2: masked paths and the bounding set come with the security work. */

        r = set_credentials(user, e);
        if (r < 0)
                return r;

        /* 4: capabilities come with the security work. */

        if (spec->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return child_fail(e, negative_errno(), "cannot set no_new_privs");

        /* 6: seccomp comes with the security work (unless spec->seccomp_unconfined or spec->privileged). */
        return 0;
}
