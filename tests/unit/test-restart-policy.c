/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "daemon/restart-policy.h"

static void test_parse(void)
{
        RestartPolicy p;
        unsigned max;

        g_assert_cmpint(restart_policy_parse(NULL, &p, &max), ==, 0);
        g_assert_cmpint(p, ==, RESTART_NO);
        g_assert_cmpint(restart_policy_parse("no", &p, &max), ==, 0);
        g_assert_cmpint(p, ==, RESTART_NO);
        g_assert_cmpint(restart_policy_parse("always", &p, &max), ==, 0);
        g_assert_cmpint(p, ==, RESTART_ALWAYS);
        g_assert_cmpint(restart_policy_parse("unless-stopped", &p, &max), ==, 0);
        g_assert_cmpint(p, ==, RESTART_UNLESS_STOPPED);
        g_assert_cmpint(restart_policy_parse("on-failure", &p, &max), ==, 0);
        g_assert_cmpint(p, ==, RESTART_ON_FAILURE);
        g_assert_cmpuint(max, ==, 0);
        g_assert_cmpint(restart_policy_parse("on-failure:2", &p, &max), ==, 0);
        g_assert_cmpint(p, ==, RESTART_ON_FAILURE);
        g_assert_cmpuint(max, ==, 2);
        for (const char *const *bad =
                     (const char *const[]){ "always:3", "on-failure:", "on-failure:-1", "on-failure:x",
                                            "never", "on-failure:2x", "alway", "no:1", NULL };
             *bad; bad++)
                g_assert_cmpint(restart_policy_parse(*bad, &p, &max), ==, -EINVAL);
        g_assert_cmpstr(restart_policy_to_string(RESTART_UNLESS_STOPPED), ==, "unless-stopped");
}

static void test_wants(void)
{
        g_assert_false(restart_policy_wants(RESTART_NO, 0, 0, 1, false));
        g_assert_true(restart_policy_wants(RESTART_ALWAYS, 0, 5, 0, false));
        g_assert_true(restart_policy_wants(RESTART_ALWAYS, 0, 5, 0, true));
        g_assert_true(restart_policy_wants(RESTART_UNLESS_STOPPED, 0, 5, 0, false));
        g_assert_false(restart_policy_wants(RESTART_UNLESS_STOPPED, 0, 5, 0, true));
        g_assert_false(restart_policy_wants(RESTART_ON_FAILURE, 2, 0, 0, false));
        g_assert_true(restart_policy_wants(RESTART_ON_FAILURE, 2, 0, 3, false));
        g_assert_true(restart_policy_wants(RESTART_ON_FAILURE, 2, 1, 3, false));
        g_assert_false(restart_policy_wants(RESTART_ON_FAILURE, 2, 2, 3, false));
        g_assert_true(restart_policy_wants(RESTART_ON_FAILURE, 0, 1000, 3, false));
}

static void test_delay(void)
{
        uint64_t d = restart_policy_next_delay(0, 0);

        g_assert_cmpuint(d, ==, 100000);
        d = restart_policy_next_delay(d, 50000);
        g_assert_cmpuint(d, ==, 200000);
        d = restart_policy_next_delay(d, 50000);
        g_assert_cmpuint(d, ==, 400000);
        g_assert_cmpuint(restart_policy_next_delay(d, 10000000), ==, 100000);
        g_assert_cmpuint(restart_policy_next_delay(RESTART_DELAY_MAX_USEC, 0), ==, RESTART_DELAY_MAX_USEC);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/restart-policy/parse", test_parse);
        g_test_add_func("/restart-policy/wants", test_wants);
        g_test_add_func("/restart-policy/delay", test_delay);
        return g_test_run();
}
