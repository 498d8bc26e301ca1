/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <nftables/libnftables.h>
#include <string.h>

#include "network/firewall.h"
#include "shared/log.h"
#include "shared/macro.h"

/* The nat hooks of both tables: traffic for an address of the host's (from outside, or the host's own
 * connections) goes through the published ports' DNAT rules. */
#define NAT_HOOKS_TO_PUBLISHED                                                                              \
        "  chain prerouting {\n"                                                                            \
        "    type nat hook prerouting priority dstnat; policy accept;\n"                                    \
        "    fib daddr type local jump published\n"                                                         \
        "  }\n"                                                                                             \
        "  chain output {\n"                                                                                \
        "    type nat hook output priority -100; policy accept;\n"                                          \
        "    fib daddr type local jump published\n"                                                         \
        "  }\n"

static void nft_ctx_freep(struct nft_ctx **ctx)
{
        if (*ctx)
                nft_ctx_free(*ctx);
}

/* Runs commands in nftables' own language through the library (one transaction per buffer). */
static int nft_run(const char *commands)
{
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

        if (!ctx)
                return -ENOMEM;
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return -ENOMEM;
        if (nft_run_cmd_from_buffer(ctx, commands) != 0) {
                const char *e = nft_ctx_get_error_buffer(ctx);

                log_debug("nftables refused berth's table: %s", strempty(e));
                return -EIO;
        }
        return 0;
}

/* The networks in the table: bridge name → FirewallNetwork. berthd is one process on one loop, so a table
 * of its own here is the state of the kernel's table, rebuilt whole from it at each change. */
typedef struct FirewallNetwork {
        char *bridge;
        Subnet subnet;
        bool internal;
        bool ipv6;
        Subnet6 subnet6;
        FirewallPort *ports;
        size_t n_ports;
} FirewallNetwork;

static GHashTable *networks;

static void firewall_network_free(gpointer p)
{
        FirewallNetwork *n = p;

        g_free(n->bridge);
        g_free(n->ports);
        g_free(n);
}

static gint compare_bridges(gconstpointer a, gconstpointer b)
{
        return strcmp(((const FirewallNetwork *) a)->bridge, ((const FirewallNetwork *) b)->bridge);
}

/* `table ip6 berth` for the dual-stack networks of l (firewall.h), replacing the one there was; none without
 * such a network. The same quoting rules as the IPv4 table's below. */
static void firewall_append_table6(GString *c, GList *l)
{
        bool any = false;

        g_string_append(c, "add table ip6 " FIREWALL_TABLE "\n"
                           "delete table ip6 " FIREWALL_TABLE "\n");
        for (GList *i = l; i; i = i->next)
                any = any || ((const FirewallNetwork *) i->data)->ipv6;
        if (!any)
                return;
        /* ::1 cannot be DNATed (port-proxy.h): it goes on to the host port berthd holds, and its proxy. */
        g_string_append(c, "table ip6 " FIREWALL_TABLE " {\n"
                           "  chain published {\n"
                           "    ip6 daddr ::1 return\n");
        for (GList *i = l; i; i = i->next) {
                const FirewallNetwork *n = i->data;

                for (size_t j = 0; n->ipv6 && j < n->n_ports; j++) {
                        const PortMapping *m = &n->ports[j].mapping;
                        char host[INET6_ADDRSTRLEN], ctr[INET6_ADDRSTRLEN];

                        if (!m->host_ipv6 && m->host_address != 0)
                                continue; /* an IPv4 address of the host's only */
                        g_string_append(c, "    ");
                        if (m->host_ipv6)
                                g_string_append_printf(c, "ip6 daddr %s ",
                                                       ipv6_format(&m->host_address6, host));
                        g_string_append_printf(c, "%s dport %u dnat to [%s]:%u\n",
                                               port_protocol_to_string(m->protocol), m->host_port,
                                               ipv6_format(&n->ports[j].container_address6, ctr),
                                               m->container_port);
                }
        }
        g_string_append(c, "  }\n" NAT_HOOKS_TO_PUBLISHED "  chain forward {\n"
                           "    type filter hook forward priority filter; policy accept;\n");
        for (GList *i = l; i; i = i->next) {
                const FirewallNetwork *n = i->data;

                if (!n->ipv6)
                        continue;
                /* iif and oif both the bridge is traffic within it, which br_netfilter shows this hook too:
                 * let it be (neighbour discovery first of all). */
                if (n->internal)
                        g_string_append_printf(c, "    iifname \"%s\" oifname != \"%s\" drop\n", n->bridge,
                                               n->bridge);
                else
                        g_string_append_printf(c,
                                               "    oifname \"%s\" iifname != \"%s\" ct state "
                                               "established,related accept\n"
                                               "    oifname \"%s\" iifname != \"%s\" ct status dnat "
                                               "accept\n",
                                               n->bridge, n->bridge, n->bridge, n->bridge);
                g_string_append_printf(c, "    oifname \"%s\" iifname != \"%s\" drop\n", n->bridge,
                                       n->bridge);
        }
        g_string_append(c, "  }\n"
                           "  chain postrouting {\n"
                           "    type nat hook postrouting priority srcnat; policy accept;\n");
        for (GList *i = l; i; i = i->next) {
                const FirewallNetwork *n = i->data;
                char s6[SUBNET6_STRING_MAX];

                if (!n->ipv6)
                        continue;
                subnet6_format(&n->subnet6, s6);
                if (!n->internal)
                        g_string_append_printf(c, "    ip6 saddr %s oifname != \"%s\" masquerade\n", s6,
                                               n->bridge);
                g_string_append_printf(c, "    oifname \"%s\" ip6 saddr %s ct status dnat masquerade\n",
                                       n->bridge, s6);
        }
        g_string_append(c, "  }\n"
                           "}\n");
}

/* Every bridge name is checked to be a plain interface name (network_config_load(), or "br-" + hex digits),
 * and every other value here is a number or an address we format: nothing can end a string or start a
 * statement. */
static int firewall_apply_table(void)
{
        g_autoptr(GString) c = g_string_new(NULL);
        GList *l = g_list_sort(g_hash_table_get_values(networks), compare_bridges);
        int r;

        g_string_append(c, "add table ip " FIREWALL_TABLE "\n"
                           "delete table ip " FIREWALL_TABLE "\n"
                           "table ip " FIREWALL_TABLE " {\n"
                           "  chain published {\n");
        for (GList *i = l; i; i = i->next) {
                const FirewallNetwork *n = i->data;

                for (size_t j = 0; j < n->n_ports; j++) {
                        const PortMapping *m = &n->ports[j].mapping;
                        char host[INET_ADDRSTRLEN], ctr[INET_ADDRSTRLEN];

                        if (m->host_ipv6)
                                continue; /* table ip6 berth's */
                        g_string_append(c, "    ");
                        if (m->host_address != 0)
                                g_string_append_printf(c, "ip daddr %s ",
                                                       ipv4_format(m->host_address, host));
                        g_string_append_printf(c, "%s dport %u dnat to %s:%u\n",
                                               port_protocol_to_string(m->protocol), m->host_port,
                                               ipv4_format(n->ports[j].container_address, ctr),
                                               m->container_port);
                }
        }
        g_string_append(c, "  }\n" NAT_HOOKS_TO_PUBLISHED
                           /* route_localnet on the bridge lets 127.0.0.0/8 through it: only as what the
                            * DNAT above makes of the host's own connections, never as what a container
                            * sends (CVE-2020-8558 is this hole in kube-proxy). */
                           "  chain guard {\n"
                           "    type filter hook prerouting priority raw; policy accept;\n");
        for (GList *i = l; i; i = i->next) {
                const FirewallNetwork *n = i->data;

                g_string_append_printf(c,
                                       "    iifname \"%s\" ip daddr 127.0.0.0/8 drop\n"
                                       "    iifname \"%s\" ip saddr 127.0.0.0/8 drop\n",
                                       n->bridge, n->bridge);
        }
        /* Containers on different networks never reach each other; an internal network reaches nothing
         * beyond its bridge, and nothing reaches it from beyond. */
        g_string_append(c, "  }\n"
                           "  chain forward {\n"
                           "    type filter hook forward priority filter; policy accept;\n");
        for (GList *i = l; i; i = i->next) {
                const FirewallNetwork *n = i->data;

                if (n->internal) {
                        g_string_append_printf(c,
                                               "    iifname \"%s\" oifname != \"%s\" drop\n"
                                               "    oifname \"%s\" iifname != \"%s\" drop\n",
                                               n->bridge, n->bridge, n->bridge, n->bridge);
                        continue;
                }
                for (GList *o = l; o; o = o->next)
                        if (o != i)
                                g_string_append_printf(c, "    iifname \"%s\" oifname \"%s\" drop\n",
                                                       n->bridge,
                                                       ((const FirewallNetwork *) o->data)->bridge);
        }
        g_string_append(c, "  }\n"
                           "  chain postrouting {\n"
                           "    type nat hook postrouting priority srcnat; policy accept;\n");
        for (GList *i = l; i; i = i->next) {
                const FirewallNetwork *n = i->data;
                char s[SUBNET_STRING_MAX];

                subnet_format(&n->subnet, s);
                if (!n->internal)
                        g_string_append_printf(c, "    ip saddr %s oifname != \"%s\" masquerade\n", s,
                                               n->bridge);
                g_string_append_printf(c,
                                       "    oifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n"
                                       "    oifname \"%s\" ip saddr %s ct status dnat masquerade\n",
                                       n->bridge, n->bridge, s);
        }
        g_string_append(c, "  }\n"
                           "}\n");
        firewall_append_table6(c, l);
        g_list_free(l);
        r = nft_run(c->str);
        return r;
}

int firewall_set_network(const char *bridge, const Subnet *subnet, bool internal, const FirewallPort *ports,
                         size_t n_ports)
{
        return firewall_set_network6(bridge, subnet, NULL, internal, ports, n_ports);
}

int firewall_set_network6(const char *bridge, const Subnet *subnet, const Subnet6 *subnet6, bool internal,
                          const FirewallPort *ports, size_t n_ports)
{
        FirewallNetwork *n = g_new0(FirewallNetwork, 1);

        if (subnet6) {
                n->ipv6 = true;
                n->subnet6 = *subnet6;
        }

        if (!networks)
                networks = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, firewall_network_free);
        n->bridge = g_strdup(bridge);
        n->subnet = *subnet;
        n->internal = internal;
        n->ports = g_memdup2(ports, n_ports * sizeof(FirewallPort));
        n->n_ports = n_ports;
        g_hash_table_replace(networks, n->bridge, n);
        return firewall_apply_table();
}

int firewall_unset_network(const char *bridge)
{
        if (networks)
                g_hash_table_remove(networks, bridge);
        if (!networks || g_hash_table_size(networks) == 0)
                return firewall_remove();
        return firewall_apply_table();
}

int firewall_apply(const char *bridge, const Subnet *subnet, const FirewallPort *ports, size_t n_ports)
{
        return firewall_set_network(bridge, subnet, false, ports, n_ports);
}

int firewall_remove(void)
{
        return nft_run("add table ip " FIREWALL_TABLE "\ndelete table ip " FIREWALL_TABLE "\n"
                       "add table ip6 " FIREWALL_TABLE "\ndelete table ip6 " FIREWALL_TABLE "\n");
}
