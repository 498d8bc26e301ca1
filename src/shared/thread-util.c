/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>

#include "shared/thread-util.h"

int helper_thread_start(pthread_t *ret, size_t stack_size, void *(*fn)(void *), void *userdata)
{
        pthread_attr_t attr;
        sigset_t all, saved;
        int r;

        /* The new thread inherits the mask it is created with. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        pthread_attr_init(&attr);
        if (stack_size > 0)
                (void) pthread_attr_setstacksize(&attr, stack_size);
        r = pthread_create(ret, &attr, fn, userdata);
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        return -r;
}
