/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "daemon/login.h"
#include "shared/macro.h"

static char *domain_of(const char *registry)
{
        char *d = NULL;
        int r = login_registry_domain(registry, &d);

        g_assert_true(r == 0 || r == -EINVAL);
        return r == 0 ? d : NULL;
}

/* What docker login takes as a registry: host[:port], with a scheme and a path that names nothing more. */
static void test_registry_domain(void)
{
        static const struct {
                const char *in, *out;
        } good[] = {
                { "localhost:5000", "localhost:5000" },
                { "https://reg.example.com", "reg.example.com" },
                { "http://reg.example.com:8080/v2/", "reg.example.com:8080" },
                { "reg.example.com/some/path", "reg.example.com" },
                { "127.0.0.1:5000", "127.0.0.1:5000" },
        };
        static const char *const bad[] = {
                "",
                "https://",
                "reg.example.com/../etc",
                "reg.example.com//x",
                "reg.example.com/A",
                "host:0",
                "host:65536",
                "host:123456",
                "host:",
                "-host",
                "ho st",
                "a.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.c",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                g_autofree char *d = domain_of(good[i].in);

                g_test_message("%s", good[i].in);
                g_assert_cmpstr(d, ==, good[i].out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                g_autofree char *d = domain_of(bad[i]);

                g_test_message("%s", bad[i]);
                g_assert_null(d);
        }
}

static void test_credentials(void)
{
        g_autofree char *long_name = g_strnfill(257, 'u'), *long_password = g_strnfill(65537, 'p');

        g_assert_true(login_credentials_are_valid("user", "secret"));
        g_assert_true(login_credentials_are_valid("user@example.com", "pa:ss word"));
        g_assert_false(login_credentials_are_valid("", "secret"));
        g_assert_false(login_credentials_are_valid("user", ""));
        g_assert_false(login_credentials_are_valid("us:er", "secret"));
        g_assert_false(login_credentials_are_valid("user\n", "secret"));
        g_assert_false(login_credentials_are_valid("user", "sec\x7fret"));
        g_assert_false(login_credentials_are_valid(long_name, "secret"));
        g_assert_false(login_credentials_are_valid("user", long_password));
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/login/registry-domain", test_registry_domain);
        g_test_add_func("/login/credentials", test_credentials);
        return g_test_run();
}
