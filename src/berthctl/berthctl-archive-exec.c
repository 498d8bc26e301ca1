/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "berthctl-attach.h"
#include "berthctl.h"

/* cp and build make and read tar streams with the store's code, which links libarchive (and with it
 * libxml2 and ICU) and libcrypto. Loading those cost every other verb about 2 ms before its first bus call
 * (`berthctl --version`: 4.0 ms with them, 2.1 ms without). So berthctl is built without them, and these
 * two verbs run in berthctl-archive (libexecdir): the same main() and verb table with the store linked in,
 * executed here with our own arguments. */
static int exec_archive_helper(void)
{
        const char *helper = BERTH_LIBEXECDIR "/berthctl-archive";

        (void) fflush(NULL);
        execv(helper, berthctl_argv);
        fprintf(stderr, "berthctl: cannot execute %s: %m\n", helper);
        return EXIT_DAEMON;
}

int verb_cp(int argc, char *argv[])
{
        return exec_archive_helper();
}

int verb_build(int argc, char *argv[])
{
        return exec_archive_helper();
}
