/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/seccomp-profile.h"
#include "shared/macro.h"

/* Apart from seccomp-profile.c so that berth-monitor, which only loads the program berthd compiled, does not
 * link libseccomp (its start-up and memory: issue 16). */
int seccomp_profile_load(const void *bpf, size_t size, ChildError *e)
{
        struct sock_fprog prog;

        if (!bpf)
                return child_fail(e, -EINVAL, "the run spec carries no seccomp filter");
        if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
            size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return child_fail(e, -EINVAL, "the seccomp filter in the run spec is malformed");
        prog = (struct sock_fprog){ .len = (unsigned short) (size / sizeof(struct sock_filter)),
                                    .filter = (struct sock_filter *) bpf };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return child_fail(e, negative_errno(), "cannot load the seccomp filter");
        return 0;
}
