/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seccomp-bpf: writes to stdout the seccomp program berthd would put into the run spec of a container with
 * Docker's default capabilities, for smoke.py, which writes run specs itself (berth-monitor compiles none).
 */
#include <stdio.h>

#include "runtime/caps.h"
#include "runtime/seccomp-profile.h"

int main(void)
{
        const void *bpf;
        size_t size;

        if (seccomp_profile_get(caps_docker_default(), &bpf, &size) < 0)
                return 1;
        return fwrite(bpf, 1, size, stdout) == size && fflush(stdout) == 0 ? 0 : 1;
}
