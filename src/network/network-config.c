/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "network/network-config.h"
#include "shared/keyfile.h"
#include "shared/log.h"
#include "shared/macro.h"

bool network_interface_name_is_valid(const char *name)
{
        size_t n = strlen(strempty(name));

        if (n == 0 || n >= IFNAMSIZ || streq(name, ".") || streq(name, ".."))
                return false;
        for (const char *p = name; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr("-_.", *p))
                        return false;
        return true;
}

void network_config_defaults(NetworkConfig *ret)
{
        *ret = (NetworkConfig){ .bridge = NETWORK_BRIDGE_DEFAULT };
        (void) subnet_parse(NETWORK_SUBNET_DEFAULT, &ret->subnet);
}

int network_config_load(const char *path, NetworkConfig *ret)
{
        g_autoptr(GKeyFile) k = NULL;
        g_autofree char *bridge = NULL, *subnet = NULL, *subnet6 = NULL;
        NetworkConfig c;
        int r;

        network_config_defaults(&c);
        r = keyfile_load(path, &k);
        if (r == -ENOENT) {
                *ret = c;
                return 0;
        }
        if (r < 0)
                return r;
        bridge = g_key_file_get_string(k, "Network", "Bridge", NULL);
        if (bridge) {
                g_strstrip(bridge);
                if (!network_interface_name_is_valid(bridge))
                        return log_debug_errno(-EINVAL, "Invalid value '%s' for Bridge= in [Network].",
                                               bridge);
                g_strlcpy(c.bridge, bridge, sizeof(c.bridge));
        }
        subnet = g_key_file_get_string(k, "Network", "Subnet", NULL);
        if (subnet) {
                g_strstrip(subnet);
                if (subnet_parse(subnet, &c.subnet) < 0)
                        return log_debug_errno(-EINVAL, "Invalid value '%s' for Subnet= in [Network].",
                                               subnet);
        }
        subnet6 = g_key_file_get_string(k, "Network", "Subnet6", NULL);
        if (subnet6 && !isempty(g_strstrip(subnet6))) {
                /* A container's IPv6 host part is its IPv4 one (subnet6.h): it must fit. */
                if (subnet6_parse(subnet6, &c.subnet6) < 0 ||
                    32 - c.subnet.prefixlen > 128 - c.subnet6.prefixlen)
                        return log_debug_errno(
                                -EINVAL,
                                "Invalid value '%s' for Subnet6= in [Network] (an IPv6 subnet "
                                "with room for Subnet='s host part).",
                                subnet6);
                c.ipv6 = true;
        }
        *ret = c;
        return 0;
}
