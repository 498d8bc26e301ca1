/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "berthctl.h"

/* In berthctl only: the verbs that need json-glib or the store run in berthctl-full (see berthctl.h). */
int exec_full(void)
{
        const char *helper = BERTH_LIBEXECDIR "/berthctl-full";

        (void) fflush(NULL);
        execv(helper, berthctl_argv);
        fprintf(stderr, "berthctl: cannot execute %s: %m\n", helper);
        return EXIT_DAEMON;
}

int verb_in_full(int argc, char *argv[])
{
        return exec_full();
}
