/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "shared/error.h"

static void test_first_failure_is_kept(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;

        g_assert_cmpstr(berth_error_message(&e), ==, "");
        g_assert_cmpint(berth_error_set(&e, -ENOENT, "no image '%s'", "x"), ==, -ENOENT);
        g_assert_cmpint(berth_error_set_errno(&e, -EIO, "a consequence"), ==, -EIO);
        g_assert_cmpint(e.error, ==, -ENOENT);
        g_assert_cmpstr(berth_error_message(&e), ==, "no image 'x'");
}

static void test_errno_appended_and_default_message(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT, f = BERTH_ERROR_INIT;

        berth_error_set_errno(&e, -EACCES, "cannot open %s", "/x");
        g_assert_cmpstr(berth_error_message(&e), ==, "cannot open /x: Permission denied");
        f.error = -ENOSPC;
        g_assert_cmpstr(berth_error_message(&f), ==, "No space left on device");
        /* A NULL error object still returns the errno, so callers that do not want the message pass NULL. */
        g_assert_cmpint(berth_error_set(NULL, -EPERM, "ignored"), ==, -EPERM);
}

static void test_move(void)
{
        _cleanup_berth_error_ BerthError dst = BERTH_ERROR_INIT, src = BERTH_ERROR_INIT;

        berth_error_set(&src, -EBUSY, "busy");
        g_assert_cmpint(berth_error_move(&dst, &src), ==, -EBUSY);
        g_assert_cmpint(src.error, ==, 0);
        g_assert_null(src.message);
        g_assert_cmpstr(berth_error_message(&dst), ==, "busy");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/error/first-failure-is-kept", test_first_failure_is_kept);
        g_test_add_func("/error/errno-appended-and-default-message",
                        test_errno_appended_and_default_message);
        g_test_add_func("/error/move", test_move);
        return g_test_run();
}
