/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <nftables/libnftables.h>

#include "network/firewall.h"
#include "shared/log.h"
#include "shared/macro.h"

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

int firewall_apply(const char *bridge, const Subnet *subnet, const FirewallPort *ports, size_t n_ports)
{
        g_autoptr(GString) c = g_string_new(NULL);
        char s[SUBNET_STRING_MAX];

        /* bridge is checked by network_config_load() to be a plain interface name, and every other value
         * here is a number or an address we format: nothing can end a string or start a statement. */
        subnet_format(subnet, s);
        g_string_append(c, "add table ip " FIREWALL_TABLE "\n"
                           "delete table ip " FIREWALL_TABLE "\n"
                           "table ip " FIREWALL_TABLE " {\n"
                           "  chain published {\n");
        for (size_t i = 0; i < n_ports; i++) {
                const PortMapping *m = &ports[i].mapping;
                char host[INET_ADDRSTRLEN], ctr[INET_ADDRSTRLEN];

                g_string_append(c, "    ");
                if (m->host_address != 0)
                        g_string_append_printf(c, "ip daddr %s ", ipv4_format(m->host_address, host));
                g_string_append_printf(c, "%s dport %u dnat to %s:%u\n",
                                       port_protocol_to_string(m->protocol), m->host_port,
                                       ipv4_format(ports[i].container_address, ctr), m->container_port);
        }
        g_string_append_printf(c,
                               "  }\n"
                               "  chain prerouting {\n"
                               "    type nat hook prerouting priority dstnat; policy accept;\n"
                               "    fib daddr type local jump published\n"
                               "  }\n"
                               "  chain output {\n"
                               "    type nat hook output priority -100; policy accept;\n"
                               "    fib daddr type local jump published\n"
                               "  }\n"
                               /* route_localnet on the bridge lets 127.0.0.0/8 through it: only as
                                * what the DNAT above makes of the host's own connections, never as
                                * what a container sends (CVE-2020-8558 is this hole in kube-proxy). */
                               "  chain guard {\n"
                               "    type filter hook prerouting priority raw; policy accept;\n"
                               "    iifname \"%s\" ip daddr 127.0.0.0/8 drop\n"
                               "    iifname \"%s\" ip saddr 127.0.0.0/8 drop\n"
                               "  }\n"
                               "  chain postrouting {\n"
                               "    type nat hook postrouting priority srcnat; policy accept;\n"
                               "    ip saddr %s oifname != \"%s\" masquerade\n"
                               "    oifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n"
                               "    oifname \"%s\" ip saddr %s ct status dnat masquerade\n"
                               "  }\n"
                               "}\n",
                               bridge, bridge, s, bridge, bridge, bridge, s);
        return nft_run(c->str);
}

int firewall_remove(void)
{
        return nft_run("add table ip " FIREWALL_TABLE "\ndelete table ip " FIREWALL_TABLE "\n");
}
