/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>

#include "shared/signal-util.h"

void reset_signal_mask(void)
{
        sigset_t ss;

        sigemptyset(&ss);
        (void) sigprocmask(SIG_SETMASK, &ss, NULL);
}

void reset_signals(void)
{
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        reset_signal_mask();
}
