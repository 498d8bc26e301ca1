/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "daemon/container-cni.h"
#include "daemon/container-monitor.h"
#include "daemon/container-dbus.h"
#include "daemon/container-network.h"
#include "daemon/network-dns.h"
#include "daemon/network.h"
#include "network/bridge.h"
#include "network/etc-files.h"
#include "network/rtnl.h"
#include "shared/berth-messages.h"
#include "shared/berth-unit.h"
#include "shared/fs-util.h"
#include "shared/log.h"

BridgeNetwork *manager_network_bridge(Manager *m, const char *name)
{
        if (streq_ptr(name, "bridge"))
                return m->bridge;
        return name ? g_hash_table_lookup(m->network_bridges, name) : NULL;
}

void container_journal_network(Container *c, bool joined, const char *where, const char *ifname,
                               const char *address)
{
        _cleanup_free_ char *unit = berth_scope_name(c->name);
        _cleanup_free_ char *message = joined ? g_strdup_printf("Container %s has address %s on %s (%s).",
                                                                c->name, address, where, ifname)
                                              : g_strdup_printf("Container %s left %s, address %s released.",
                                                                c->name, where, address);

        sd_journal_send("MESSAGE=%s", message, "MESSAGE_ID=%s",
                        joined ? BERTH_MESSAGE_CONTAINER_NETWORK : BERTH_MESSAGE_CONTAINER_NETWORK_LEFT,
                        "PRIORITY=%i", LOG_INFO, "CONTAINER_NAME=%s", c->name, "CONTAINER_ID=%.12s", c->id,
                        "CONTAINER_ID_FULL=%s", c->id, "BERTH_IP_ADDRESS=%s", address,
                        "OBJECT_SYSTEMD_UNIT=%s", strempty(unit), NULL);
}

static void journal_address(Container *c, BridgeNetwork *b, const char *ifname, uint32_t address)
{
        char a[INET_ADDRSTRLEN];

        container_journal_network(c, true, bridge_network_config(b)->bridge, ifname,
                                  ipv4_format(address, a));
}

/* The address c has on b is about to go back to the network (a no-op without one). */
static void journal_release(Container *c, BridgeNetwork *b)
{
        char a[INET_ADDRSTRLEN];
        uint32_t address;

        if (b && bridge_network_address(b, c->id, &address) >= 0)
                container_journal_network(c, false, bridge_network_config(b)->bridge, NULL,
                                          ipv4_format(address, a));
}

static void release_one(Container *c, BridgeNetwork *b)
{
        journal_release(c, b);
        bridge_network_release(b, c->id);
}

/* One network of c joins netns_fd as ifname. */
static int join_one(Container *c, const char *network, int netns_fd, const char *ifname, bool first,
                    uint32_t *ret_address, char **ret_error)
{
        BridgeNetwork *b = manager_network_bridge(c->manager, network);
        const char *ip = container_config_network_ip(&c->config, network);
        BridgeAttach attach = { .ifname = ifname,
                                .default_route = first,
                                .ports = first ? c->config.ports : NULL };
        int r;

        if (!b) {
                *ret_error = g_strdup_printf("no such network: %s", network);
                return -ENOENT;
        }
        if (attach.ports && attach.ports[0] && bridge_network_internal(b)) {
                *ret_error = g_strdup_printf("network %s is internal: it publishes no ports", network);
                return -EINVAL;
        }
        if (ip && ipv4_parse(ip, &attach.address) < 0) {
                *ret_error = g_strdup_printf("invalid address '%s' on network %s", ip, network);
                return -EINVAL;
        }
        r = bridge_network_attach(b, c->id, c->name, netns_fd, &attach, ret_address, ret_error);
        if (r < 0)
                return r;
        journal_address(c, b, ifname, *ret_address);
        return 0;
}

/* resolv.conf again at each start, for the networks c has now: on a user network (its first) with
 * aardvark-dns, the gateway is the only nameserver and c's --dns servers are aardvark-dns's upstream for it
 * (network-dns.c); otherwise the host's or --dns, as at create. */
int container_write_resolv_conf(Container *c)
{
        _cleanup_free_ char *text = NULL, *path = NULL;
        BridgeNetwork *b = NULL;
        char gateway[INET_ADDRSTRLEN], dir[PATH_MAX];
        uint32_t cni_gateway;
        int r;

        if (!streq_ptr(c->config.network, "bridge") && manager_dns_available())
                b = container_bridge(c);
        if (b || container_cni_nameserver(c, &cni_gateway) >= 0) {
                char *servers[] = { gateway, NULL };

                ipv4_format(b ? bridge_network_gateway(b) : cni_gateway, gateway);
                r = resolv_conf_for_container(false, servers, c->config.dns_search, &text);
        } else
                r = resolv_conf_for_container(false, c->config.dns, c->config.dns_search, &text);
        if (r < 0)
                return r;
        path = g_strdup_printf("%s/resolv.conf", container_dir(c, dir, sizeof(dir)));
        /* Unsynced: written again at every start, before the container sees it. */
        return write_file_atomic_flags_at(AT_FDCWD, path, text, strlen(text), 0644, WRITE_FILE_NO_SYNC);
}

int container_join_networks(Container *c, int netns_fd)
{
        g_auto(GStrv) networks = container_config_networks(&c->config);
        uint32_t first = 0;
        int r;

        for (size_t i = 0; networks[i]; i++) {
                _cleanup_free_ char *error = NULL, *ifname = g_strdup_printf("eth%zu", i);
                uint32_t address;

                if (manager_network_is_cni(c->manager, networks[i])) {
                        /* Its plugins run after these (container-cni.c); published ports through one that
                         * takes them (portmap). */
                        if (i > 0 || !c->config.ports || !c->config.ports[0] ||
                            container_cni_publishes(c->manager, networks[i]))
                                continue;
                        free(c->start_error);
                        c->start_error = g_strdup_printf(
                                "network %s is a CNI network whose conflist has no plugin with the "
                                "portMappings capability (e.g. portmap): it publishes no ports",
                                networks[i]);
                        container_leave_networks(c);
                        return -EINVAL;
                }
                r = join_one(c, networks[i], netns_fd, ifname, i == 0, &address, &error);
                if (r < 0) {
                        /* What the caller is told (container_start()): which port is taken, say. */
                        free(c->start_error);
                        c->start_error = TAKE_PTR(error);
                        container_leave_networks(c);
                        return r;
                }
                if (i == 0)
                        first = address;
        }
        if (first != 0) {
                char a[INET_ADDRSTRLEN];

                r = container_write_hosts(c, ipv4_format(first, a));
                if (r < 0)
                        return log_error_errno(r, "Failed to write /etc/hosts of %s: %m", c->name);
        }
        r = container_write_resolv_conf(c);
        if (r < 0)
                log_warning_errno(r, "Failed to write /etc/resolv.conf of %s, keeping the one it had: %m",
                                  c->name);
        manager_dns_update(c->manager);
        container_send_networks_changed(c);
        return 0;
}

void container_leave_networks(Container *c)
{
        GHashTableIter it;
        gpointer v;

        /* Every network, not only those of the record: a disconnect may have changed it while it ran. */
        release_one(c, c->manager->bridge);
        g_hash_table_iter_init(&it, c->manager->network_bridges);
        while (g_hash_table_iter_next(&it, NULL, &v))
                release_one(c, v);
        if (container_has_cni_networks(c))
                container_cni_journal(c, false);
        manager_cni_del(c->manager, c->id);
        manager_dns_update(c->manager);
        container_send_networks_changed(c); /* a network disconnected while it ran has had its own */
}

static bool container_is_running(const Container *c)
{
        return c->monitor_source && c->state.status == CONTAINER_RUNNING && c->state.pid > 0;
}

/* The running init's network namespace; the pidfd check after the open makes sure the pid was still the
 * init's when it was opened. */
static int container_open_netns(Container *c, int *ret)
{
        _cleanup_close_ int fd = -EBADF;
        char path[64];
        int r;

        /* Opened lazily, e.g. for a container adopted after a restart of berthd. */
        r = container_open_init_pidfd(c);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) c->state.pid);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (pidfd_send_signal(c->init_pidfd, 0, NULL, 0) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}

int netns_free_ifname(int netns_fd, char **ret)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        int r;

        r = rtnl_open(netns_fd, &nl);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < 1000; i++) {
                _cleanup_free_ char *name = g_strdup_printf("eth%u", i);
                int ifindex;

                r = rtnl_link_get(nl, name, &ifindex, NULL);
                if (r == -ENODEV) {
                        *ret = TAKE_PTR(name);
                        return 0;
                }
                if (r < 0)
                        return r;
        }
        return -EMFILE;
}

int container_connect(Container *c, const char *network, const char *ip, char **aliases, BerthError *e)
{
        BridgeNetwork *b = manager_network_bridge(c->manager, network);
        bool first = !container_joins_network(c);
        int r;

        bool cni = manager_network_is_cni(c->manager, network);

        /* A running container's CNI networks change in a child (container_cni_change()); a stopped one's
         * list is all there is to change here, and its next start runs the plugins. */
        if (cni) {
                r = container_cni_connect_check(network, ip, e);
                if (r < 0)
                        return r;
                if (container_is_running(c))
                        return berth_error_set(e, -EBUSY, "container %s is changing state", c->name);
        }
        if (!b && !cni)
                return berth_error_set(e, -ENOENT, "no such network: %s", network);
        if (c->starting)
                return berth_error_set(e, -EBUSY, "container %s is starting", c->name);
        r = container_config_connect(&c->config, network, ip, aliases, e);
        if (r < 0)
                return r;
        if (container_is_running(c)) {
                _cleanup_free_ char *error = NULL, *ifname = NULL;
                _cleanup_close_ int netns_fd = -EBADF;
                uint32_t address;

                r = container_open_netns(c, &netns_fd);
                if (r >= 0)
                        r = netns_free_ifname(netns_fd, &ifname);
                if (r >= 0)
                        r = join_one(c, network, netns_fd, ifname, first, &address, &error);
                if (r < 0) {
                        (void) container_config_disconnect(&c->config, network, NULL);
                        return berth_error_set(e, r, "cannot connect container %s to network %s: %s",
                                               c->name, network, error ?: strerror(-r));
                }
                if (first) {
                        char a[INET_ADDRSTRLEN];

                        r = container_write_hosts(c, ipv4_format(address, a));
                        if (r < 0)
                                log_warning_errno(r, "Failed to write /etc/hosts of %s, ignoring: %m",
                                                  c->name);
                }
        }
        r = container_save_record(c);
        if (r < 0) {
                (void) container_config_disconnect(&c->config, network, NULL);
                if (container_is_running(c))
                        bridge_network_detach(b, c->id);
                return berth_error_set_errno(e, r, "cannot save the record of container %s", c->name);
        }
        manager_dns_update(c->manager);
        log_info("Container %s connected to network %s.", c->name, network);
        container_emit_changed(c);
        network_send_members_changed(c->manager, network);
        return 0;
}

int container_disconnect(Container *c, const char *network, bool force, BerthError *e)
{
        _cleanup_free_ char *saved_network = g_strdup(c->config.network);
        g_auto(GStrv) saved_networks = g_strdupv(c->config.networks),
                      saved_aliases = g_strdupv(c->config.network_aliases),
                      saved_ips = g_strdupv(c->config.network_ips);
        int r;

        if (c->starting)
                return berth_error_set(e, -EBUSY, "container %s is starting", c->name);
        r = container_config_disconnect(&c->config, network, e);
        if (r == -ENOENT && force)
                return 0;
        if (r < 0)
                return r;
        r = container_save_record(c);
        if (r < 0) {
                /* Put the record back as it was: nothing changed. */
                free(c->config.network);
                c->config.network = TAKE_PTR(saved_network);
                g_strfreev(c->config.networks);
                c->config.networks = TAKE_PTR(saved_networks);
                g_strfreev(c->config.network_aliases);
                c->config.network_aliases = TAKE_PTR(saved_aliases);
                g_strfreev(c->config.network_ips);
                c->config.network_ips = TAKE_PTR(saved_ips);
                return berth_error_set_errno(e, r, "cannot save the record of container %s", c->name);
        }
        if (container_is_running(c) && !manager_network_is_cni(c->manager, network)) {
                BridgeNetwork *b = manager_network_bridge(c->manager, network);

                journal_release(c, b);
                bridge_network_detach(b, c->id);
        }
        manager_dns_update(c->manager);
        log_info("Container %s disconnected from network %s.", c->name, network);
        container_emit_changed(c);
        network_send_members_changed(c->manager, network);
        return 0;
}
