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

int firewall_apply(const char *bridge, const Subnet *subnet)
{
        _cleanup_free_ char *commands = NULL;
        char s[SUBNET_STRING_MAX];

        /* bridge is checked by network_config_load() to be a plain interface name: it cannot end the
         * string or start a new statement. */
        subnet_format(subnet, s);
        commands = g_strdup_printf("add table ip " FIREWALL_TABLE "\n"
                                   "delete table ip " FIREWALL_TABLE "\n"
                                   "table ip " FIREWALL_TABLE " {\n"
                                   "  chain postrouting {\n"
                                   "    type nat hook postrouting priority srcnat; policy accept;\n"
                                   "    ip saddr %s oifname != \"%s\" masquerade\n"
                                   "  }\n"
                                   "}\n",
                                   s, bridge);
        return nft_run(commands);
}

int firewall_remove(void)
{
        return nft_run("add table ip " FIREWALL_TABLE "\ndelete table ip " FIREWALL_TABLE "\n");
}
