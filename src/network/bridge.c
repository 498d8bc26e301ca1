/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "network/bridge.h"
#include "network/firewall.h"
#include "network/rtnl.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"

#define IPAM_FILE_MAX   (4 * 1024 * 1024)
#define IP_FORWARD_PATH "/proc/sys/net/ipv4/ip_forward"

struct BridgeNetwork {
        NetworkConfig config;
        char *ipam_path;
        Ipam *ipam;
        int bridge_ifindex; /* > 0 once the host side is made (since this berthd started) */
};

const NetworkConfig *bridge_network_config(const BridgeNetwork *b)
{
        return &b->config;
}

void bridge_network_veth_name(const char *id, char ret[static IFNAMSIZ])
{
        snprintf(ret, IFNAMSIZ, "veth%.11s", id);
}

int bridge_network_new(const char *state_dir, const NetworkConfig *config, BridgeNetwork **ret)
{
        _cleanup_(bridge_network_freep) BridgeNetwork *b = g_new0(BridgeNetwork, 1);
        _cleanup_free_ char *text = NULL;
        unsigned dropped = 0;
        size_t size;
        int r;

        b->config = *config;
        b->ipam = ipam_new(&config->subnet);
        b->ipam_path = g_strdup_printf("%s/network/bridge.addresses", state_dir);
        r = read_file_at(AT_FDCWD, b->ipam_path, IPAM_FILE_MAX, &text, &size);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read '%s': %m", b->ipam_path);
        if (r >= 0) {
                (void) ipam_parse(b->ipam, text, &dropped);
                if (dropped > 0)
                        log_warning("Dropped %u allocations of '%s' outside the subnet or malformed.",
                                    dropped, b->ipam_path);
        }
        *ret = TAKE_PTR(b);
        return 0;
}

BridgeNetwork *bridge_network_free(BridgeNetwork *b)
{
        if (!b)
                return NULL;
        ipam_free(b->ipam);
        g_free(b->ipam_path);
        g_free(b);
        return NULL;
}

static int bridge_network_save(BridgeNetwork *b)
{
        _cleanup_free_ char *text = ipam_format(b->ipam), *dir = g_path_get_dirname(b->ipam_path);
        int r;

        r = mkdir_p_at(AT_FDCWD, dir, 0755);
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, b->ipam_path, text, strlen(text), 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to save the bridge network's addresses to '%s': %m",
                                       b->ipam_path);
        return 0;
}

static int write_sysctl(const char *path, const char *value)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, value, strlen(value));
        if (n < 0)
                return -errno;
        return (size_t) n == strlen(value) ? 0 : -EIO;
}

static int enable_ip_forward(void)
{
        _cleanup_free_ char *v = NULL;
        size_t size;
        int r;

        r = read_file_at(AT_FDCWD, IP_FORWARD_PATH, 64, &v, &size);
        if (r >= 0 && v[0] == '1')
                return 0;
        /* Forwarding is decided by the interface a packet comes in on: the bridge for what containers send,
         * the host's uplink for the answers; so per-interface settings would have to cover every uplink,
         * present and future. The global switch is what Docker and podman set too. */
        r = write_sysctl(IP_FORWARD_PATH, "1\n");
        if (r < 0)
                return log_error_errno(r, "Failed to enable IPv4 forwarding (%s): %m", IP_FORWARD_PATH);
        log_info("Enabled IPv4 forwarding (net.ipv4.ip_forward=1) for the bridge network.");
        return 0;
}

static int bridge_network_setup_host(BridgeNetwork *b)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        _cleanup_free_ char *kind = NULL;
        char gw[INET_ADDRSTRLEN], subnet[SUBNET_STRING_MAX];
        int ifindex, r;

        if (b->bridge_ifindex > 0)
                return 0;
        r = rtnl_open(-EBADF, &nl);
        if (r < 0)
                return log_error_errno(r, "Failed to open an rtnetlink socket: %m");
        r = rtnl_link_get(nl, b->config.bridge, &ifindex, &kind);
        if (r == -ENODEV) {
                r = rtnl_bridge_add(nl, b->config.bridge);
                if (r < 0 && r != -EEXIST)
                        return log_error_errno(r, "Failed to create the bridge '%s': %m", b->config.bridge);
                r = rtnl_link_get(nl, b->config.bridge, &ifindex, &kind);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to look up the bridge '%s': %m", b->config.bridge);
        if (!streq(kind, "bridge"))
                return log_error_errno(-EEXIST,
                                       "'%s' exists and is not a bridge (%s): set Bridge= in [Network].",
                                       b->config.bridge, isempty(kind) ? "no kind" : kind);
        r = rtnl_addr_add(nl, ifindex, subnet_first_host(&b->config.subnet), b->config.subnet.prefixlen);
        if (r < 0)
                return log_error_errno(r, "Failed to give '%s' the address %s/%u: %m", b->config.bridge,
                                       ipv4_format(subnet_first_host(&b->config.subnet), gw),
                                       b->config.subnet.prefixlen);
        r = rtnl_link_up(nl, ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to bring '%s' up: %m", b->config.bridge);
        r = enable_ip_forward();
        if (r < 0)
                return r;
        subnet_format(&b->config.subnet, subnet);
        r = firewall_apply(b->config.bridge, &b->config.subnet);
        if (r < 0)
                return log_error_errno(
                        r, "Failed to set up nftables table ip " FIREWALL_TABLE " (NAT for %s): %m", subnet);
        log_info("Bridge network ready: %s, %s, gateway %s.", b->config.bridge, subnet,
                 ipv4_format(subnet_first_host(&b->config.subnet), gw));
        b->bridge_ifindex = ifindex;
        return 0;
}

static int bridge_network_configure_inside(BridgeNetwork *b, int netns_fd, uint32_t address)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        int ifindex, r;

        r = rtnl_open(netns_fd, &nl);
        if (r < 0)
                return r;
        r = rtnl_link_get(nl, "eth0", &ifindex, NULL);
        if (r < 0)
                return r;
        r = rtnl_addr_add(nl, ifindex, address, b->config.subnet.prefixlen);
        if (r < 0)
                return r;
        r = rtnl_link_up(nl, ifindex);
        if (r < 0)
                return r;
        return rtnl_route_add_default(nl, ifindex, subnet_first_host(&b->config.subnet));
}

int bridge_network_attach(BridgeNetwork *b, const char *id, const char *name, int netns_fd,
                          uint32_t *ret_address)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        char veth[IFNAMSIZ], a[INET_ADDRSTRLEN];
        bool had = bridge_network_address(b, id, NULL) >= 0;
        uint32_t address;
        int r;

        r = bridge_network_setup_host(b);
        if (r < 0)
                return r;
        r = ipam_allocate(b->ipam, id, &address);
        if (r == -EADDRNOTAVAIL) {
                char s[SUBNET_STRING_MAX];

                subnet_format(&b->config.subnet, s);
                return log_error_errno(r, "No free address left in %s for container %s.", s, name);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to allocate an address for container %s: %m", name);
        if (!had) {
                r = bridge_network_save(b);
                if (r < 0) {
                        ipam_release(b->ipam, id);
                        return r;
                }
        }

        bridge_network_veth_name(id, veth);
        r = rtnl_open(-EBADF, &nl);
        if (r >= 0)
                r = rtnl_veth_add(nl, veth, b->bridge_ifindex, "eth0", netns_fd);
        if (r == -ENODEV || r == -EINVAL) {
                /* The bridge went away under us (deleted by hand): make it again, once. */
                b->bridge_ifindex = 0;
                r = bridge_network_setup_host(b);
                if (r >= 0)
                        r = rtnl_veth_add(nl, veth, b->bridge_ifindex, "eth0", netns_fd);
        }
        if (r < 0) {
                log_error_errno(r, "Failed to create the veth pair %s of container %s: %m", veth, name);
                bridge_network_release(b, id);
                return r;
        }
        r = bridge_network_configure_inside(b, netns_fd, address);
        if (r < 0) {
                log_error_errno(r,
                                "Failed to configure eth0 (%s) in the network namespace of container %s: %m",
                                ipv4_format(address, a), name);
                /* The pair goes with the namespace; do not wait for the monitor to end it. */
                int ifindex;
                if (rtnl_link_get(nl, veth, &ifindex, NULL) >= 0)
                        (void) rtnl_link_del(nl, ifindex);
                bridge_network_release(b, id);
                return r;
        }
        log_debug("Container %s joined %s as %s (%s).", name, b->config.bridge, ipv4_format(address, a),
                  veth);
        *ret_address = address;
        return 0;
}

int bridge_network_address(const BridgeNetwork *b, const char *id, uint32_t *ret)
{
        return ipam_lookup(b->ipam, id, ret);
}

void bridge_network_release(BridgeNetwork *b, const char *id)
{
        if (b && ipam_release(b->ipam, id))
                (void) bridge_network_save(b);
}

int bridge_network_sweep(BridgeNetwork *b, bool (*alive)(const char *id, void *userdata), void *userdata)
{
        g_autofree const char **ids = ipam_ids(b->ipam);
        unsigned freed = 0;

        for (const char **id = ids; id && *id; id++) {
                if (alive(*id, userdata))
                        continue;
                /* *id points into the allocator: copy it before it is freed. */
                _cleanup_free_ char *copy = g_strdup(*id);
                ipam_release(b->ipam, copy);
                freed++;
        }
        if (freed > 0) {
                log_info("Freed %u addresses of the bridge network held by containers that are gone.",
                         freed);
                (void) bridge_network_save(b);
        }
        if (ipam_size(b->ipam) > 0)
                return bridge_network_setup_host(b);
        return 0;
}
