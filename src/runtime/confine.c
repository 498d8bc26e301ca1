/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <grp.h>
#include <sys/prctl.h>

#include "runtime/caps.h"
#include "runtime/confine.h"
#include "runtime/masked-paths.h"
#include "runtime/seccomp-profile.h"

static int set_credentials(const UserIds *user, ChildError *e)
{
        if (setgroups(user->n_groups, user->groups) < 0)
                return child_fail(e, negative_errno(), "setgroups failed");
        if (setresgid(user->gid, user->gid, user->gid) < 0)
                return child_fail(e, negative_errno(), "setgid %u failed", (unsigned) user->gid);
        /* Changing from uid 0 to another clears the permitted and effective sets (no PR_SET_KEEPCAPS), as
         * Docker's runs of non-root users expect. */
        if (setresuid(user->uid, user->uid, user->uid) < 0)
                return child_fail(e, negative_errno(), "setuid %u failed", (unsigned) user->uid);
        return 0;
}

int confine_apply(const RunSpec *spec, const UserIds *user, bool mask_paths, ChildError *e)
{
        const char *bad = NULL;
        uint64_t caps;
        int r;

        /* berthd checked the names already; a spec from elsewhere that names no capability fails here. */
        r = caps_resolve(spec->privileged, spec->cap_add, spec->cap_drop, &caps, &bad);
        if (r < 0)
                return child_fail(e, r, "unknown capability '%s'", strna(bad));

        if (!spec->privileged && mask_paths) {
                r = masked_paths_apply(e);
                if (r < 0)
                        return r;
        }

        r = caps_apply_bounding(caps, e);
        if (r < 0)
                return r;

        /* The filter goes in before the uid change, while CAP_SYS_ADMIN still allows loading it without
         * no_new_privs (which would break setuid binaries in images, so it stays opt-in as with Docker). The
         * few calls left before exec (setgroups, setres[ug]id, capset, prctl, execve) are all allowed by it.
         */
        if (!spec->privileged && !spec->seccomp_unconfined) {
                r = seccomp_profile_load(spec->seccomp_filter, spec->seccomp_filter_size, e);
                if (r < 0)
                        return r;
        }

        r = set_credentials(user, e);
        if (r < 0)
                return r;

        r = caps_apply_sets(caps, user->uid == 0, e);
        if (r < 0)
                return r;

        if (spec->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return child_fail(e, negative_errno(), "cannot set no_new_privs");
        return 0;
}
