/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "network/cni.h"
#include "network/user-network.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static Subnet subnet(const char *s)
{
        Subnet n;
        g_assert_cmpint(subnet_parse(s, &n), ==, 0);
        return n;
}

static void test_name(void)
{
        char br[IFNAMSIZ];

        for (const char *const *ok = (const char *const[]){ "a", "web", "my-net_1.x", "0net", NULL }; *ok;
             ok++)
                g_assert_true(user_network_name_is_valid(*ok));
        for (const char *const *bad = (const char *const[]){ "", "-a", ".a", "_a", "a b", "a/b", "bridge",
                                                             "host", "none", "default", "é", NULL };
             *bad; bad++)
                g_assert_false(user_network_name_is_valid(*bad));
        g_assert_true(user_network_name_is_valid(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 64 */
        g_assert_false(user_network_name_is_valid(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 65 */
        user_network_bridge_name(ID_A, br);
        g_assert_cmpstr(br, ==, "br-0123456789ab");
}

static UserNetwork *create(const char *name, const UserNetworkOptions *o, const TakenSubnet *t, size_t n,
                           int expect, const char *message_part)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        UserNetwork *net = NULL;
        int r = user_network_new(name, ID_A, o, t, n, 42, &net, &e);

        g_assert_cmpint(r, ==, expect);
        if (expect < 0) {
                g_assert_null(net);
                g_assert_cmpint(e.error, ==, expect);
                if (message_part && !strstr(berth_error_message(&e), message_part))
                        g_error("'%s' does not say '%s'", berth_error_message(&e), message_part);
        }
        return net;
}

static void test_new(void)
{
        char s[SUBNET_STRING_MAX], a[INET_ADDRSTRLEN];
        TakenSubnet taken[] = {
                { subnet("10.87.0.0/16"), "the bridge network" },
                { subnet("10.90.0.0/24"), "network one" },
                { subnet("10.90.1.0/25"), "a route of the host on eth0" },
        };
        UserNetwork *n;

        /* From the pool: the lowest /24 overlapping nothing taken; the gateway its first host. */
        n = create("two", &(UserNetworkOptions){}, taken, G_N_ELEMENTS(taken), 0, NULL);
        subnet_format(&n->subnet, s);
        g_assert_cmpstr(s, ==, "10.90.2.0/24");
        g_assert_cmpstr(ipv4_format(n->gateway, a), ==, "10.90.2.1");
        g_assert_cmpstr(n->driver, ==, "bridge");
        g_assert_false(n->internal);
        g_assert_nonnull(n->labels);
        g_assert_null(n->labels[0]);
        user_network_free(n);

        /* Given subnet, gateway, internal, labels. */
        n = create("three",
                   &(UserNetworkOptions){ .subnet = "192.168.50.0/24",
                                          .gateway = "192.168.50.254",
                                          .internal = true,
                                          .driver = "bridge",
                                          .labels = (char *[]){ "a=b", "env=x=y", "empty=", NULL } },
                   taken, G_N_ELEMENTS(taken), 0, NULL);
        g_assert_cmpstr(ipv4_format(n->gateway, a), ==, "192.168.50.254");
        g_assert_true(n->internal);
        g_assert_cmpstr(user_network_label(n, "env"), ==, "x=y");
        g_assert_cmpstr(user_network_label(n, "empty"), ==, "");
        g_assert_null(user_network_label(n, "e"));
        user_network_free(n);

        /* Refusals, each with a message that says why. */
        create("bridge", &(UserNetworkOptions){}, NULL, 0, -EINVAL, "invalid network name");
        create("x", &(UserNetworkOptions){ .subnet = "10.87.5.0/24" }, taken, G_N_ELEMENTS(taken),
               -EADDRINUSE, "overlaps 10.87.0.0/16 of the bridge network");
        create("x", &(UserNetworkOptions){ .subnet = "10.90.1.64/26" }, taken, G_N_ELEMENTS(taken),
               -EADDRINUSE, "a route of the host on eth0");
        create("x", &(UserNetworkOptions){ .subnet = "10.0.0.0/8" }, taken, G_N_ELEMENTS(taken), -EADDRINUSE,
               NULL);
        create("x", &(UserNetworkOptions){ .subnet = "10.91.0.1/24" }, NULL, 0, -EINVAL, "invalid subnet");
        create("x", &(UserNetworkOptions){ .subnet = "10.91.0.0/31" }, NULL, 0, -EINVAL, "invalid subnet");
        create("x", &(UserNetworkOptions){ .subnet = "10.91.0.0/24", .gateway = "10.91.1.1" }, NULL, 0,
               -EINVAL, "not a host address");
        create("x", &(UserNetworkOptions){ .subnet = "10.91.0.0/24", .gateway = "10.91.0.255" }, NULL, 0,
               -EINVAL, "not a host address");
        create("x", &(UserNetworkOptions){ .subnet = "10.91.0.0/24", .gateway = "10.91.0.0" }, NULL, 0,
               -EINVAL, "not a host address");
        create("x", &(UserNetworkOptions){ .subnet = "10.91.0.0/24", .gateway = "nope" }, NULL, 0, -EINVAL,
               "invalid gateway");
        create("x", &(UserNetworkOptions){ .gateway = "10.90.0.1" }, NULL, 0, -EINVAL, "needs --subnet");
        create("x", &(UserNetworkOptions){ .driver = "macvlan" }, NULL, 0, -EOPNOTSUPP, "not supported");
        create("x", &(UserNetworkOptions){ .labels = (char *[]){ "novalue", NULL } }, NULL, 0, -EINVAL,
               "invalid label");
        create("x", &(UserNetworkOptions){ .labels = (char *[]){ "=v", NULL } }, NULL, 0, -EINVAL,
               "invalid label");

        /* The pool exhausted: 10.90.0.0/15 all taken. */
        TakenSubnet full[] = { { subnet("10.90.0.0/16"), "a" }, { subnet("10.91.0.0/16"), "b" } };
        create("x", &(UserNetworkOptions){}, full, G_N_ELEMENTS(full), -EADDRNOTAVAIL, "no free subnet");
        /* A subnet given outside the pool still works. */
        n = create("x", &(UserNetworkOptions){ .subnet = "10.92.0.0/16" }, full, G_N_ELEMENTS(full), 0,
                   NULL);
        user_network_free(n);
}

static void test_json(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *text = NULL, *again = NULL;
        UserNetwork *n = NULL, *m = NULL;

        g_assert_cmpint(user_network_new("web", ID_A,
                                         &(UserNetworkOptions){ .subnet = "10.90.9.0/24",
                                                                .internal = true,
                                                                .labels = (char *[]){ "k=v w", NULL } },
                                         NULL, 0, 1234567, &n, &e),
                        ==, 0);
        text = user_network_to_json(n);
        g_assert_cmpint(user_network_from_json(text, &m, &e), ==, 0);
        g_assert_cmpstr(m->name, ==, "web");
        g_assert_cmpstr(m->id, ==, ID_A);
        g_assert_cmpuint(m->subnet.network, ==, n->subnet.network);
        g_assert_cmpuint(m->gateway, ==, n->gateway);
        g_assert_true(m->internal);
        g_assert_cmpuint(m->created_usec, ==, 1234567);
        g_assert_cmpstr(user_network_label(m, "k"), ==, "v w");
        again = user_network_to_json(m);
        g_assert_cmpstr(text, ==, again);
        user_network_free(n);
        user_network_free(m);

        /* Damaged records are refused whole, never half read. */
        for (const char *const *bad =
                     (const char *const[]){ "", "[]", "{", "{\"Name\":\"web\"}",
                                            "{\"Name\":\"web\",\"Id\":\"" ID_A
                                            "\",\"Driver\":\"bridge\",\"Subnet\":\"10.90.9.0/24\","
                                            "\"Gateway\":\"10.91.0.1\"}",
                                            "{\"Name\":\"host\",\"Id\":\"" ID_A
                                            "\",\"Driver\":\"bridge\",\"Subnet\":\"10.90.9.0/24\","
                                            "\"Gateway\":\"10.90.9.1\"}",
                                            "{\"Name\":\"web\",\"Id\":\"xyz\",\"Driver\":\"bridge\","
                                            "\"Subnet\":\"10.90.9.0/24\","
                                            "\"Gateway\":\"10.90.9.1\"}",
                                            "{\"Name\":\"web\",\"Id\":\"" ID_A
                                            "\",\"Driver\":\"bridge\",\"Subnet\":\"10.90.9.0/24\","
                                            "\"Gateway\":\"10.90.9.1\",\"Internal\":\"yes\"}",
                                            "{\"Name\":\"web\",\"Id\":\"" ID_A
                                            "\",\"Driver\":\"bridge\",\"Subnet\":\"10.90.9.0/24\","
                                            "\"Gateway\":\"10.90.9.1\",\"Labels\":{\"a\":1}}",
                                            NULL };
             *bad; bad++) {
                _cleanup_berth_error_ BerthError f = BERTH_ERROR_INIT;

                m = NULL;
                g_assert_cmpint(user_network_from_json(*bad, &m, &f), ==, -EBADMSG);
                g_assert_null(m);
        }
        /* Absent Internal, Labels and Created are "not set". */
        g_assert_cmpint(user_network_from_json("{\"Name\":\"web\",\"Id\":\"" ID_A "\",\"Driver\":\"bridge\","
                                               "\"Subnet\":\"10.90.9.0/24\",\"Gateway\":\"10.90.9.1\"}",
                                               &m, NULL),
                        ==, 0);
        g_assert_false(m->internal);
        g_assert_null(m->labels[0]);
        user_network_free(m);
}

static void test_ipv6(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *text = NULL;
        UserNetwork *n, *m = NULL;
        char s6[SUBNET6_STRING_MAX];

        n = create("v6", &(UserNetworkOptions){ .ipv6 = true, .subnet6 = "fd00:1::/64" }, NULL, 0, 0, NULL);
        g_assert_true(n->ipv6);
        subnet6_format(&n->subnet6, s6);
        g_assert_cmpstr(s6, ==, "fd00:1::/64");
        text = user_network_to_json(n);
        g_assert_nonnull(strstr(text, "\"Subnet6\" : \"fd00:1::/64\""));
        g_assert_cmpint(user_network_from_json(text, &m, &e), ==, 0);
        g_assert_true(m->ipv6);
        g_assert_cmpuint(m->subnet6.prefixlen, ==, 64);
        user_network_free(m);
        user_network_free(n);
        /* --ipv6 needs its subnet, a subnet needs --ipv6, a bad one and one too small for the IPv4 host
         * part. */
        create("v6", &(UserNetworkOptions){ .ipv6 = true }, NULL, 0, -EINVAL,
               "--ipv6 needs an IPv6 --subnet");
        create("v6", &(UserNetworkOptions){ .subnet6 = "fd00::/64" }, NULL, 0, -EINVAL, "needs --ipv6");
        create("v6", &(UserNetworkOptions){ .ipv6 = true, .subnet6 = "fd00::1/64" }, NULL, 0, -EINVAL,
               "invalid IPv6 subnet");
        create("v6",
               &(UserNetworkOptions){ .ipv6 = true, .subnet6 = "fd00::/112", .subnet = "10.90.0.0/15" },
               NULL, 0, -EINVAL, "smaller than");
}

#define CONFLIST                                                                                            \
        "{\"cniVersion\": \"1.0.0\", \"name\": \"x\", \"plugins\": [{\"type\": \"bridge\", \"bridge\": "    \
        "\"cni9\", \"ipam\": {\"type\": \"host-local\", \"subnet\": \"10.99.0.0/24\"}}, {\"type\": "        \
        "\"firewall\"}]}"

/* Driver cni: the conflist is the definition, checked (json-glib), kept in the record; no subnet. */
static void test_cni(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_(user_network_freep) UserNetwork *n = NULL, *back = NULL;
        _cleanup_free_ char *json = NULL, *ip = NULL;

        n = create("c", &(UserNetworkOptions){ .driver = "cni", .cni_config = CONFLIST }, NULL, 0, 0, NULL);
        g_assert_true(user_network_is_cni(n));
        g_assert_cmpstr(n->cni_config, ==, CONFLIST);
        json = user_network_to_json(n);
        g_assert_cmpint(user_network_from_json(json, &back, &e), ==, 0);
        g_assert_cmpstr(back->cni_config, ==, CONFLIST);
        g_assert_true(user_network_is_cni(back));

        g_assert_null(
                create("c", &(UserNetworkOptions){ .driver = "cni" }, NULL, 0, -EINVAL, "--cni-config"));
        g_assert_null(create(
                "c",
                &(UserNetworkOptions){ .driver = "cni", .cni_config = CONFLIST, .subnet = "10.1.0.0/24" },
                NULL, 0, -EINVAL, "takes no --subnet"));
        g_assert_null(create("c", &(UserNetworkOptions){ .cni_config = CONFLIST }, NULL, 0, -EINVAL,
                             "--driver cni"));
        g_assert_null(create("c", &(UserNetworkOptions){ .driver = "cni", .cni_config = "{" }, NULL, 0,
                             -EINVAL, "not a JSON object"));
        g_assert_null(create("c",
                             &(UserNetworkOptions){ .driver = "cni", .cni_config = "{\"plugins\": []}" },
                             NULL, 0, -EINVAL, "no cniVersion"));
        g_assert_null(create(
                "c", &(UserNetworkOptions){ .driver = "cni", .cni_config = "{\"cniVersion\": \"1.0.0\"}" },
                NULL, 0, -EINVAL, "no plugins"));
        g_assert_null(create("c",
                             &(UserNetworkOptions){ .driver = "cni",
                                                    .cni_config = "{\"cniVersion\": \"1.0.0\", \"plugins\": "
                                                                  "[{\"type\": \"../../bin/sh\"}]}" },
                             NULL, 0, -EINVAL, "no valid type"));
        g_assert_null(
                create("c", &(UserNetworkOptions){ .driver = "macvlan" }, NULL, 0, -EOPNOTSUPP, "cni"));

        ip = cni_result_ipv4("{\"cniVersion\": \"1.0.0\", \"ips\": [{\"address\": \"fd00::2/64\"}, "
                             "{\"address\": \"10.99.0.2/24\", \"gateway\": \"10.99.0.1\"}]}");
        g_assert_cmpstr(ip, ==, "10.99.0.2");
        g_assert_null(cni_result_ipv4("{\"cniVersion\": \"1.0.0\"}"));
        g_assert_null(cni_result_ipv4("nonsense"));
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/user-network/name", test_name);
        g_test_add_func("/user-network/new", test_new);
        g_test_add_func("/user-network/json", test_json);
        g_test_add_func("/user-network/ipv6", test_ipv6);
        g_test_add_func("/user-network/cni", test_cni);
        return g_test_run();
}
