/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdbool.h>
#include <signal.h>

#include "shared/signal-util.h"

static void on_usr2(int sig)
{
        (void) sig;
}

static bool is_blocked(int sig)
{
        sigset_t ss;

        g_assert_cmpint(sigprocmask(SIG_SETMASK, NULL, &ss), ==, 0);
        return sigismember(&ss, sig) == 1;
}

static void test_reset_signal_mask_keeps_handlers(void)
{
        struct sigaction sa;
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGCHLD);
        g_assert_cmpint(sigprocmask(SIG_BLOCK, &ss, NULL), ==, 0);
        (void) signal(SIGPIPE, SIG_IGN);

        reset_signal_mask();
        g_assert_false(is_blocked(SIGTERM));
        g_assert_false(is_blocked(SIGCHLD));
        g_assert_cmpint(sigaction(SIGPIPE, NULL, &sa), ==, 0);
        g_assert_true(sa.sa_handler == SIG_IGN);
        (void) signal(SIGPIPE, SIG_DFL);
}

static void test_reset_signals(void)
{
        struct sigaction sa;
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGRTMIN);
        g_assert_cmpint(sigprocmask(SIG_BLOCK, &ss, NULL), ==, 0);
        (void) signal(SIGPIPE, SIG_IGN);
        (void) signal(SIGUSR2, on_usr2);

        reset_signals();
        g_assert_false(is_blocked(SIGTERM));
        g_assert_false(is_blocked(SIGRTMIN));
        g_assert_cmpint(sigaction(SIGPIPE, NULL, &sa), ==, 0);
        g_assert_true(sa.sa_handler == SIG_DFL);
        g_assert_cmpint(sigaction(SIGUSR2, NULL, &sa), ==, 0);
        g_assert_true(sa.sa_handler == SIG_DFL);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/signal-util/reset-signal-mask-keeps-handlers",
                        test_reset_signal_mask_keeps_handlers);
        g_test_add_func("/signal-util/reset-signals", test_reset_signals);
        return g_test_run();
}
