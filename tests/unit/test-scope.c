/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "daemon/scope.h"

/* Which scope properties need org.berth1.manage-containers-privileged (docs/security.md). */
static void test_properties_weaken(void)
{
        const char *const ordinary[] = {
                NULL,
                "[]",
                "[[\"MemoryMax\",\"t\",536870912]]",
                "[[\"OOMScoreAdjust\",\"i\",500],[\"Nice\",\"i\",5]]",
                "[[\"OOMScoreAdjust\",\"i\",0]]",
                "[[\"MemoryLow\",\"t\",0],[\"MemoryMin\",\"t\",0]]",
                "[[\"CPUWeight\",\"t\",100],[\"IOWeight\",\"t\",50],[\"StartupCPUWeight\",\"t\",1]]",
                "[[\"CPUWeight\",\"t\",-1]]", /* UINT64_MAX: the default */
                "[[\"TasksMax\",\"t\",64],[\"CPUQuotaPerSecUSec\",\"t\",500000]]",
        };
        const char *const privileged[] = {
                "[[\"OOMScoreAdjust\",\"i\",-1]]",
                "[[\"Nice\",\"i\",-20]]",
                "[[\"MemoryLow\",\"t\",1]]",
                "[[\"MemoryMin\",\"t\",1048576]]",
                "[[\"CPUWeight\",\"t\",101]]",
                "[[\"StartupCPUWeight\",\"t\",10000]]",
                "[[\"IOWeight\",\"t\",1000]]",
                "[[\"StartupIOWeight\",\"t\",200]]",
                "[[\"Delegate\",\"b\",false]]",
                "[[\"DevicePolicy\",\"s\",\"strict\"]]",
                "[[\"DeviceAllow\",\"a(ss)\",[[\"/dev/loop0\",\"r\"]]]]",
                "[[\"MemoryMax\",\"t\",1],[\"Nice\",\"i\",-1]]",
                "not json", /* a record that no longer parses: ask for the most */
        };

        for (size_t i = 0; i < G_N_ELEMENTS(ordinary); i++)
                g_assert_false(scope_properties_weaken(ordinary[i]));
        for (size_t i = 0; i < G_N_ELEMENTS(privileged); i++)
                g_assert_true(scope_properties_weaken(privileged[i]));
}

/* Docker's defaults, in the order and spelling systemd shows them. */
static void test_default_device_rules(void)
{
        g_assert_cmpuint(scope_default_device_allow_n, ==, 12);
        g_assert_cmpstr(scope_default_device_allow[0][0], ==, "char-*");
        g_assert_cmpstr(scope_default_device_allow[0][1], ==, "m");
        g_assert_cmpstr(scope_default_device_allow[1][0], ==, "block-*");
        for (size_t i = 2; i < scope_default_device_allow_n; i++)
                g_assert_cmpstr(scope_default_device_allow[i][1], ==, "rwm");
}

static void test_properties_merge(void)
{
        g_autofree char *a = NULL, *b = NULL;

        g_assert_cmpint(scope_properties_merge("[[\"MemoryMax\",\"t\",1],[\"TasksMax\",\"t\",5]]",
                                               "[[\"MemoryMax\",\"t\",2],[\"CPUWeight\",\"t\",50]]", &a),
                        ==, 0);
        g_assert_cmpstr(a, ==, "[[\"TasksMax\",\"t\",5],[\"MemoryMax\",\"t\",2],[\"CPUWeight\",\"t\",50]]");
        g_assert_cmpint(scope_properties_merge(NULL, "[[\"TasksMax\",\"t\",5]]", &b), ==, 0);
        g_assert_cmpstr(b, ==, "[[\"TasksMax\",\"t\",5]]");
        g_assert_cmpint(scope_properties_merge("{", "[]", &b), ==, -EBADMSG);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/scope/properties-weaken", test_properties_weaken);
        g_test_add_func("/scope/properties-merge", test_properties_merge);
        g_test_add_func("/scope/default-device-rules", test_default_device_rules);
        return g_test_run();
}
