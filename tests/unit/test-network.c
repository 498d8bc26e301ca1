/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <string.h>

#include "network/aardvark.h"
#include "network/etc-files.h"
#include "network/ipam.h"
#include "network/network-config.h"
#include "network/port-mapping.h"
#include "network/subnet.h"
#include "network/subnet6.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static Subnet subnet(const char *s)
{
        Subnet n;
        g_assert_cmpint(subnet_parse(s, &n), ==, 0);
        return n;
}

static void test_subnet_parse(void)
{
        char buf[SUBNET_STRING_MAX], a[INET_ADDRSTRLEN];
        Subnet s = subnet("10.87.0.0/16"), d = subnet("172.17.0.0/16"), p = subnet("10.88.0.0/16");

        subnet_format(&s, buf);
        g_assert_cmpstr(buf, ==, "10.87.0.0/16");
        g_assert_cmpstr(ipv4_format(subnet_first_host(&s), a), ==, "10.87.0.1");
        g_assert_cmpstr(ipv4_format(subnet_last_host(&s), a), ==, "10.87.255.254");
        /* The default clashes with neither Docker's nor podman's default. */
        g_assert_false(subnet_overlaps(&s, &d));
        g_assert_false(subnet_overlaps(&s, &p));
        Subnet wide = subnet("10.0.0.0/8");
        g_assert_true(subnet_overlaps(&s, &wide));
        g_assert_true(subnet_overlaps(&wide, &s));
        uint32_t x;
        g_assert_cmpint(ipv4_parse("10.87.3.4", &x), ==, 0);
        g_assert_true(subnet_contains(&s, x));
        g_assert_false(subnet_contains(&d, x));

        Subnet n;
        for (const char *const *bad =
                     (const char *const[]){ "", "10.87.0.0", "10.87.0.1/16", "10.87.0.0/31", "10.87.0.0/7",
                                            "10.87.0.0/+16", "10.87/16", "10.87.0.0/16x", "010.87.0.0/16",
                                            "::/64", NULL };
             *bad; bad++)
                g_assert_cmpint(subnet_parse(*bad, &n), ==, -EINVAL);
}

static void test_ipam(void)
{
        Subnet s = subnet("192.168.7.0/29"); /* hosts .1 (gateway) to .6 */
        char a[INET_ADDRSTRLEN];
        uint32_t x, y;
        Ipam *ipam = ipam_new(&s);

        g_assert_cmpint(ipam_allocate(ipam, ID_A, &x), ==, 0);
        g_assert_cmpstr(ipv4_format(x, a), ==, "192.168.7.2");
        /* The same id keeps its address. */
        g_assert_cmpint(ipam_allocate(ipam, ID_A, &y), ==, 0);
        g_assert_cmpuint(x, ==, y);
        g_assert_cmpint(ipam_allocate(ipam, ID_B, &y), ==, 0);
        g_assert_cmpstr(ipv4_format(y, a), ==, "192.168.7.3");
        g_assert_cmpint(ipam_allocate(ipam, "not-an-id", &y), ==, -EINVAL);

        g_autofree char *text = ipam_format(ipam);
        g_assert_cmpstr(text, ==, "192.168.7.2 " ID_A "\n192.168.7.3 " ID_B "\n");

        /* Lowest free first: a freed address is the next one given. */
        g_assert_true(ipam_release(ipam, ID_A));
        g_assert_false(ipam_release(ipam, ID_A));
        g_assert_cmpint(ipam_allocate(ipam, ID_C, &y), ==, 0);
        g_assert_cmpstr(ipv4_format(y, a), ==, "192.168.7.2");

        /* Full: .2 … .6 are five addresses. */
        for (char c = '0'; c < '3'; c++) {
                g_autofree char *id = g_strnfill(64, c);
                g_assert_cmpint(ipam_allocate(ipam, id, &y), ==, 0);
        }
        g_autofree char *last = g_strnfill(64, 'd');
        g_assert_cmpint(ipam_allocate(ipam, last, &y), ==, -EADDRNOTAVAIL);
        ipam_free(ipam);

        /* Parsing keeps what is sound and drops the rest: the gateway, the broadcast, outside the subnet, a
         * second line for an id or an address, junk. */
        unsigned dropped;
        ipam = ipam_new(&s);
        g_assert_cmpint(ipam_parse(ipam,
                                   "192.168.7.4 " ID_A "\n"
                                   "192.168.7.1 " ID_B "\n"
                                   "192.168.7.7 " ID_B "\n"
                                   "10.0.0.2 " ID_B "\n"
                                   "192.168.7.5 " ID_A "\n"
                                   "192.168.7.4 " ID_C "\n"
                                   "junk\n\n",
                                   &dropped),
                        ==, 0);
        g_assert_cmpuint(dropped, ==, 6);
        g_assert_cmpuint(ipam_size(ipam), ==, 1);
        g_assert_cmpint(ipam_lookup(ipam, ID_A, &x), ==, 0);
        g_assert_cmpstr(ipv4_format(x, a), ==, "192.168.7.4");
        g_assert_cmpint(ipam_lookup(ipam, ID_B, NULL), ==, -ENOENT);
        ipam_free(ipam);

        /* The spaces that pad a file written with a spare (write_file_reserved_at()) are nothing. */
        ipam = ipam_new(&s);
        g_assert_cmpint(ipam_parse(ipam, "192.168.7.4 " ID_A "\n        ", &dropped), ==, 0);
        g_assert_cmpuint(dropped, ==, 0);
        g_assert_cmpuint(ipam_size(ipam), ==, 1);
        ipam_free(ipam);

        /* A gateway other than the first host (network create --gateway) is never handed out. */
        ipam = ipam_new(&s);
        g_assert_cmpint(ipv4_parse("192.168.7.2", &y), ==, 0);
        ipam_set_gateway(ipam, y);
        g_assert_cmpint(ipam_allocate(ipam, ID_A, &x), ==, 0);
        g_assert_cmpstr(ipv4_format(x, a), ==, "192.168.7.3");
        g_assert_cmpint(ipam_allocate_address(ipam, ID_B, y), ==, -EINVAL);
        g_assert_cmpint(ipam_parse(ipam, "192.168.7.2 " ID_C "\n", &dropped), ==, 0);
        g_assert_cmpuint(dropped, ==, 1);
        ipam_free(ipam);

        /* --ip: a chosen address, if it is a free host address above the gateway. */
        ipam = ipam_new(&s);
        g_assert_cmpint(ipv4_parse("192.168.7.5", &x), ==, 0);
        g_assert_cmpint(ipam_allocate_address(ipam, ID_A, x), ==, 0);
        g_assert_cmpint(ipam_allocate_address(ipam, ID_A, x), ==, 0);
        g_assert_cmpint(ipam_allocate_address(ipam, ID_B, x), ==, -EADDRINUSE);
        g_assert_cmpint(ipam_allocate_address(ipam, ID_A, x + 1), ==, -EEXIST);
        for (const char *const *bad = (const char *const[]){ "192.168.7.1", "192.168.7.7", "192.168.7.0",
                                                             "192.168.8.2", NULL };
             *bad; bad++) {
                g_assert_cmpint(ipv4_parse(*bad, &y), ==, 0);
                g_assert_cmpint(ipam_allocate_address(ipam, ID_C, y), ==, -EINVAL);
        }
        /* The allocator then skips it. */
        g_assert_cmpint(ipam_allocate(ipam, ID_B, &y), ==, 0);
        g_assert_cmpstr(ipv4_format(y, a), ==, "192.168.7.2");
        ipam_free(ipam);
}

static void test_hosts(void)
{
        char *add[] = { "db.internal:10.1.2.3", "v6:fd00::1", "bad", "x:notanaddress", NULL };
        g_autofree char *h = etc_hosts_generate("web", "10.87.0.2", add);
        g_autofree char *n = etc_hosts_generate("web", NULL, NULL);

        g_assert_cmpstr(h, ==,
                        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.87.0.2\tweb\n"
                        "10.1.2.3\tdb.internal\nfd00::1\tv6\n");
        g_assert_cmpstr(n, ==,
                        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb\n");
        g_assert_cmpint(add_host_parse(":1.2.3.4", NULL, NULL), ==, -EINVAL);
        g_assert_cmpint(add_host_parse("a b:1.2.3.4", NULL, NULL), ==, -EINVAL);
        g_assert_true(dns_search_is_valid("."));
        g_assert_false(dns_search_is_valid("a..b"));
        g_assert_true(dns_server_is_valid("2001:db8::53"));
        g_assert_false(dns_server_is_valid("dns.example"));
}

static void test_resolv_conf(void)
{
        const char *host = "# comment\nnameserver 127.0.0.1\nnameserver  192.0.2.53\nsearch a.example\n"
                           "options ndots:2\n";
        const char *stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n";
        const char *upstream = "nameserver 192.0.2.1\nnameserver 2001:db8::1\nsearch lan.example\n";
        char *dns[] = { "192.0.2.9", NULL }, *search[] = { "x.example", NULL }, *none[] = { ".", NULL };
        g_autofree char *r1 = resolv_conf_generate(host, NULL, false, NULL, NULL);
        g_autofree char *r2 = resolv_conf_generate(host, NULL, true, NULL, NULL);
        g_autofree char *r3 = resolv_conf_generate(stub, upstream, false, NULL, NULL);
        g_autofree char *r4 = resolv_conf_generate(stub, NULL, false, NULL, NULL);
        g_autofree char *r5 = resolv_conf_generate(host, NULL, false, dns, search);
        g_autofree char *r6 = resolv_conf_generate(host, NULL, false, NULL, none);
        g_autofree char *r7 = resolv_conf_generate(NULL, NULL, false, NULL, NULL);

        g_assert_cmpstr(r1, ==, "nameserver 192.0.2.53\nsearch a.example\noptions ndots:2\n");
        g_assert_cmpstr(r2, ==,
                        "nameserver 127.0.0.1\nnameserver 192.0.2.53\nsearch a.example\noptions ndots:2\n");
        g_assert_cmpstr(r3, ==, "nameserver 192.0.2.1\nnameserver 2001:db8::1\nsearch lan.example\n");
        /* The stub without resolved's file: nothing usable is left, so Docker's fallback. */
        g_assert_cmpstr(r4, ==,
                        "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch .\noptions edns0 trust-ad\n");
        g_assert_cmpstr(r5, ==, "nameserver 192.0.2.9\nsearch x.example\noptions ndots:2\n");
        g_assert_cmpstr(r6, ==, "nameserver 192.0.2.53\noptions ndots:2\n");
        g_assert_cmpstr(r7, ==, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

static void test_port_mapping(void)
{
        PortMapping m;
        char a[INET_ADDRSTRLEN];

        g_assert_cmpint(port_mapping_parse("8080:80", &m), ==, 0);
        g_assert_cmpint(m.protocol, ==, PORT_PROTOCOL_TCP);
        g_assert_cmpuint(m.host_address, ==, 0);
        g_assert_cmpuint(m.host_port, ==, 8080);
        g_assert_cmpuint(m.container_port, ==, 80);
        g_assert_false(port_mapping_is_privileged(&m));
        g_autofree char *s = port_mapping_to_string(&m);
        g_assert_cmpstr(s, ==, "80/tcp -> 0.0.0.0:8080");

        g_assert_cmpint(port_mapping_parse("53/udp", &m), ==, 0);
        g_assert_cmpint(m.protocol, ==, PORT_PROTOCOL_UDP);
        g_assert_cmpuint(m.host_port, ==, 0);
        g_assert_cmpuint(m.container_port, ==, 53);
        g_assert_false(port_mapping_is_privileged(&m));

        g_assert_cmpint(port_mapping_parse("127.0.0.1::5432", &m), ==, 0);
        g_assert_cmpstr(ipv4_format(m.host_address, a), ==, "127.0.0.1");
        g_assert_cmpuint(m.host_port, ==, 0);
        g_assert_true(port_mapping_is_privileged(&m)); /* one host address: the admin's to give */

        g_assert_cmpint(port_mapping_parse("80:80/tcp", &m), ==, 0);
        g_assert_true(port_mapping_is_privileged(&m)); /* below 1024 */

        g_assert_cmpint(port_mapping_parse("[::1]:8081:80/udp", &m), ==, 0);
        g_assert_true(m.host_ipv6);
        g_assert_cmpuint(m.host_address, ==, 0);
        g_assert_cmpint(m.protocol, ==, PORT_PROTOCOL_UDP);
        g_assert_cmpuint(m.host_port, ==, 8081);
        g_assert_cmpuint(m.container_port, ==, 80);
        g_assert_true(port_mapping_is_privileged(&m)); /* one host address */
        {
                g_autofree char *s6 = port_mapping_to_string(&m);
                char h[PORT_HOST_STRING_MAX];

                g_assert_cmpstr(s6, ==, "80/udp -> [::1]:8081");
                g_assert_cmpstr(port_mapping_host_format(&m, false, h), ==, "::1");
        }
        g_assert_cmpint(port_mapping_parse("[::]::80", &m), ==, 0);
        g_assert_true(m.host_ipv6);
        g_assert_cmpuint(m.host_port, ==, 0);
        g_assert_false(port_mapping_is_privileged(&m)); /* every IPv6 address, a free port */

        for (const char *const *bad =
                     (const char *const[]){ "[::1]:80", "[::1]", "[1.2.3.4]:80:80", "[::1]:1:2:3",
                                            "[fe80::1:80:80", "[::1]80:80", NULL };
             *bad; bad++)
                g_assert_cmpint(port_mapping_parse(*bad, &m), ==, -EINVAL);
        for (const char *const *bad = (const char *const[]){ "", "0", "65536", "80/sctp", "x:80",
                                                             "1.2.3.4:80", "localhost:80:80", "8080-8081:80",
                                                             "::80", "1:2:3:4", "+80", "80/", NULL };
             *bad; bad++)
                g_assert_cmpint(port_mapping_parse(*bad, &m), ==, -EINVAL);
}

static void test_config(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-network-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "berth.conf", NULL);
        NetworkConfig c;
        char buf[SUBNET_STRING_MAX];

        g_assert_cmpint(network_config_load(path, &c), ==, 0);
        g_assert_cmpstr(c.bridge, ==, "berth0");
        subnet_format(&c.subnet, buf);
        g_assert_cmpstr(buf, ==, "10.87.0.0/16");
        g_assert_false(c.ipv6); /* IPv6 off by default, as in Docker */

        g_assert_true(
                g_file_set_contents(path, "[Network]\nBridge=br-test\nSubnet=192.168.99.0/24\n", -1, NULL));
        g_assert_cmpint(network_config_load(path, &c), ==, 0);
        g_assert_cmpstr(c.bridge, ==, "br-test");
        subnet_format(&c.subnet, buf);
        g_assert_cmpstr(buf, ==, "192.168.99.0/24");
        g_assert_false(c.ipv6);

        g_assert_true(g_file_set_contents(path, "[Network]\nSubnet6= fd00:87::/64 \n", -1, NULL));
        g_assert_cmpint(network_config_load(path, &c), ==, 0);
        g_assert_true(c.ipv6);
        {
                char s6[SUBNET6_STRING_MAX];

                subnet6_format(&c.subnet6, s6);
                g_assert_cmpstr(s6, ==, "fd00:87::/64");
        }
        g_assert_true(g_file_set_contents(path, "[Network]\nSubnet6=\n", -1, NULL));
        g_assert_cmpint(network_config_load(path, &c), ==, 0);
        g_assert_false(c.ipv6); /* empty: off */
        /* The default /16's host part does not fit a /120; a host address is no subnet; IPv4 is not IPv6. */
        for (const char *const *bad = (const char *const[]){ "[Network]\nSubnet6=fd00:87::/120\n",
                                                             "[Network]\nSubnet6=fd00:87::1/64\n",
                                                             "[Network]\nSubnet6=10.0.0.0/8\n", NULL };
             *bad; bad++) {
                g_assert_true(g_file_set_contents(path, *bad, -1, NULL));
                g_assert_cmpint(network_config_load(path, &c), ==, -EINVAL);
        }

        g_assert_true(g_file_set_contents(path, "[Network]\nBridge=br\"; flush ruleset\n", -1, NULL));
        g_assert_cmpint(network_config_load(path, &c), ==, -EINVAL);
        g_assert_true(g_file_set_contents(path, "[Network]\nBridge=a-name-far-too-long\n", -1, NULL));
        g_assert_cmpint(network_config_load(path, &c), ==, -EINVAL);
        g_assert_true(g_file_set_contents(path, "[Network]\nSubnet=10.87.0.1/16\n", -1, NULL));
        g_assert_cmpint(network_config_load(path, &c), ==, -EINVAL);
        g_unlink(path);
        g_rmdir(dir);
}

static void test_aardvark(void)
{
        uint32_t gw, a, b;
        g_autofree char *text = NULL, *empty = NULL;

        g_assert_cmpint(ipv4_parse("10.96.0.1", &gw), ==, 0);
        g_assert_cmpint(ipv4_parse("10.96.0.2", &a), ==, 0);
        g_assert_cmpint(ipv4_parse("10.96.0.9", &b), ==, 0);
        /* aardvark-dns's format: the gateway, then "ID IPV4 IPV6 NAMES [DNS]" with the IPv6 column empty. */
        text = aardvark_config_generate(
                gw,
                (AardvarkEntry[]){ { .id = ID_A,
                                     .address = a,
                                     .names = (char *[]){ "web", "www", "aaaaaaaaaaaa", NULL } },
                                   { .id = ID_B,
                                     .address = b,
                                     .names = (char *[]){ "db", NULL },
                                     .dns_servers = (char *[]){ "1.1.1.1", "9.9.9.9", NULL } } },
                2);
        g_assert_cmpstr(text, ==,
                        "10.96.0.1\n" ID_A " 10.96.0.2  web,www,aaaaaaaaaaaa\n" ID_B
                        " 10.96.0.9  db 1.1.1.1,9.9.9.9\n");
        {
                struct in6_addr a6;
                g_autofree char *dual = NULL;

                g_assert_cmpint(inet_pton(AF_INET6, "fd00:1::2", &a6), ==, 1);
                dual = aardvark_config_generate(gw,
                                                (AardvarkEntry[]){ { .id = ID_A,
                                                                     .address = a,
                                                                     .address6 = &a6,
                                                                     .names = (char *[]){ "web", NULL } } },
                                                1);
                g_assert_cmpstr(dual, ==, "10.96.0.1\n" ID_A " 10.96.0.2 fd00:1::2 web\n");
        }
        empty = aardvark_config_generate(gw, NULL, 0);
        g_assert_cmpstr(empty, ==, "10.96.0.1\n");
        /* Nothing that would break a line's columns. */
        g_assert_null(aardvark_config_generate(
                gw, (AardvarkEntry[]){ { .id = ID_A, .address = a, .names = (char *[]){ "a b", NULL } } },
                1));
        g_assert_null(aardvark_config_generate(
                gw, (AardvarkEntry[]){ { .id = ID_A, .address = a, .names = (char *[]){ "a,b", NULL } } },
                1));
        g_assert_null(aardvark_config_generate(gw, (AardvarkEntry[]){ { .id = ID_A, .address = a } }, 1));
}

static void test_subnet6(void)
{
        char buf[SUBNET6_STRING_MAX], a[INET6_ADDRSTRLEN];
        Subnet6 s, t;
        struct in6_addr h;

        g_assert_cmpint(subnet6_parse("fd00:1::/64", &s), ==, 0);
        subnet6_format(&s, buf);
        g_assert_cmpstr(buf, ==, "fd00:1::/64");
        h = subnet6_host(&s, 1);
        g_assert_cmpstr(ipv6_format(&h, a), ==, "fd00:1::1");
        h = subnet6_host(&s, 258);
        g_assert_cmpstr(ipv6_format(&h, a), ==, "fd00:1::102");
        g_assert_cmpint(subnet6_parse("fd00::/16", &t), ==, 0);
        g_assert_true(subnet6_overlaps(&s, &t));
        g_assert_cmpint(subnet6_parse("fd00:2::/64", &t), ==, 0);
        g_assert_false(subnet6_overlaps(&s, &t));
        for (const char *const *bad =
                     (const char *const[]){ "", "fd00::1/64", "fd00::/", "fd00::/8", "fd00::/120",
                                            "fd00::/064", "10.0.0.0/8", "fd00::", NULL };
             *bad; bad++)
                g_assert_cmpint(subnet6_parse(*bad, &t), ==, -EINVAL);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/network/subnet", test_subnet_parse);
        g_test_add_func("/network/ipam", test_ipam);
        g_test_add_func("/network/hosts", test_hosts);
        g_test_add_func("/network/resolv-conf", test_resolv_conf);
        g_test_add_func("/network/port-mapping", test_port_mapping);
        g_test_add_func("/network/config", test_config);
        g_test_add_func("/network/aardvark", test_aardvark);
        g_test_add_func("/network/subnet6", test_subnet6);
        return g_test_run();
}
