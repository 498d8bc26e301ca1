/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "daemon/container-network.h"
#include "daemon/container.h"
#include "daemon/network-dns.h"
#include "daemon/network.h"
#include "network/bridge.h"
#include "network/cni.h"
#include "network/firewall.h"
#include "network/rtnl.h"
#include "shared/fs-util.h"
#include "shared/log.h"

#define NETWORK_RECORD_MAX (64 * 1024)

static char *network_record_path(Manager *m, const char *name)
{
        return g_strdup_printf("%s/networks/%s.json", m->state_dir, name);
}

/* The bridge device of n with its gateway, up; one already there is kept if it is a bridge. */
static int network_device_make(const UserNetwork *n, BerthError *e)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        _cleanup_free_ char *kind = NULL;
        char dev[IFNAMSIZ];
        int ifindex, r;

        user_network_bridge_name(n->id, dev);
        r = rtnl_open(-EBADF, &nl);
        if (r < 0)
                return berth_error_set_errno(e, r, "cannot open an rtnetlink socket");
        r = rtnl_link_get(nl, dev, &ifindex, &kind);
        if (r == -ENODEV) {
                r = rtnl_bridge_add(nl, dev);
                if (r >= 0 || r == -EEXIST)
                        r = rtnl_link_get(nl, dev, &ifindex, &kind);
        }
        if (r < 0)
                return berth_error_set_errno(e, r, "cannot create the bridge %s of network %s", dev,
                                             n->name);
        if (!streq_ptr(kind, "bridge"))
                return berth_error_set(e, -EEXIST, "device %s of network %s exists and is not a bridge", dev,
                                       n->name);
        r = rtnl_addr_add(nl, ifindex, n->gateway, n->subnet.prefixlen);
        if (r >= 0)
                r = rtnl_link_up(nl, ifindex);
        if (r < 0)
                return berth_error_set_errno(e, r, "cannot configure the bridge %s of network %s", dev,
                                             n->name);
        return 0;
}

static void network_device_delete(const UserNetwork *n)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        char dev[IFNAMSIZ];
        int ifindex, r;

        user_network_bridge_name(n->id, dev);
        r = rtnl_open(-EBADF, &nl);
        if (r >= 0)
                r = rtnl_link_get(nl, dev, &ifindex, NULL);
        if (r >= 0)
                r = rtnl_link_del(nl, ifindex);
        if (r < 0 && r != -ENODEV)
                log_warning_errno(r, "Failed to delete the bridge %s of network %s, ignoring: %m", dev,
                                  n->name);
}

static void user_network_destroy(gpointer n)
{
        user_network_free(n);
}

GHashTable *manager_networks_new(void)
{
        return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, user_network_destroy);
}

static void bridge_network_destroy(gpointer b)
{
        bridge_network_free(b);
}

GHashTable *manager_network_bridges_new(void)
{
        return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, bridge_network_destroy);
}

/* The BridgeNetwork of n: its allocations and rules, on its bridge device. */
static int network_bridge_open(Manager *m, const UserNetwork *n, BerthError *e)
{
        BridgeNetwork *b = NULL;
        NetworkConfig config = { .subnet = n->subnet };
        int r;

        user_network_bridge_name(n->id, config.bridge);
        r = bridge_network_new_full(m->state_dir, n->name, &config, n->gateway, n->internal, &b);
        if (r < 0)
                return berth_error_set_errno(e, r, "cannot load the addresses of network %s", n->name);
        if (n->ipv6)
                bridge_network_set_ipv6(b, &n->subnet6);
        g_hash_table_replace(m->network_bridges, g_strdup(n->name), b);
        return 0;
}

bool container_joins_network(const Container *c)
{
        return !streq_ptr(c->config.network, "none") && !streq_ptr(c->config.network, "host");
}

BridgeNetwork *container_bridge(const Container *c)
{
        if (streq_ptr(c->config.network, "bridge"))
                return c->manager->bridge;
        if (!container_joins_network(c) || !c->config.network)
                return NULL;
        return g_hash_table_lookup(c->manager->network_bridges, c->config.network);
}

void manager_sweep_networks(Manager *m, bool (*alive)(const char *id, void *userdata))
{
        GHashTableIter it;
        gpointer k, v;

        g_hash_table_iter_init(&it, m->network_bridges);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                int r = bridge_network_sweep(v, alive, m);
                if (r < 0)
                        log_warning_errno(
                                r, "Failed to set up network %s for its running containers, ignoring: %m",
                                (const char *) k);
        }
}

int manager_load_networks(Manager *m)
{
        _cleanup_free_ char *dir = g_strdup_printf("%s/networks", m->state_dir);
        g_autoptr(GDir) d = NULL;
        const char *f;

        d = g_dir_open(dir, 0, NULL);
        if (!d)
                return 0; /* none yet */
        while ((f = g_dir_read_name(d))) {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
                _cleanup_free_ char *path = NULL, *text = NULL;
                _cleanup_(user_network_freep) UserNetwork *n = NULL;
                size_t size;
                int r;

                if (!g_str_has_suffix(f, ".json"))
                        continue;
                path = g_strdup_printf("%s/%s", dir, f);
                r = read_file_at(AT_FDCWD, path, NETWORK_RECORD_MAX, &text, &size);
                if (r < 0) {
                        log_warning_errno(r, "Failed to read network record '%s', ignoring: %m", path);
                        continue;
                }
                r = user_network_from_json(text, &n, &e);
                if (r >= 0 && (!g_str_has_prefix(f, n->name) || !streq(f + strlen(n->name), ".json")))
                        r = berth_error_set(&e, -EBADMSG, "the record of network %s is named %s", n->name,
                                            f);
                if (r < 0) {
                        log_warning("Ignoring network record '%s': %s", path, berth_error_message(&e));
                        continue;
                }
                r = user_network_is_cni(n) ? 0 : network_device_make(n, &e);
                if (r >= 0 && !user_network_is_cni(n))
                        r = network_bridge_open(m, n, &e);
                if (r < 0)
                        log_warning("Network %s: %s", n->name, berth_error_message(&e));
                char *key = g_strdup(n->name);

                g_hash_table_replace(m->networks, key, TAKE_PTR(n));
        }
        return 0;
}

int manager_find_network(Manager *m, const char *name, UserNetwork **ret, BerthError *e)
{
        UserNetwork *n = g_hash_table_lookup(m->networks, name);

        if (!n)
                return berth_error_set(e, -ENOENT, "no such network: %s", name);
        *ret = n;
        return 0;
}

/* The subnets a new network must not overlap: the default bridge's, every user network's, and every network
 * the host routes to (its own links' and any other: a container network there would shadow it). The owners
 * of the routes' entries are strings owned by owners. */
static GArray *taken_subnets(Manager *m, GPtrArray *owners)
{
        GArray *a = g_array_new(false, true, sizeof(TakenSubnet));
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        g_autofree RtnlRoute *routes = NULL;
        size_t n_routes = 0;
        int r;
        TakenSubnet t = { .owner = "the bridge network" };
        GHashTableIter it;
        gpointer v;

        if (m->bridge) {
                t.subnet = bridge_network_config(m->bridge)->subnet;
                g_array_append_val(a, t);
        }
        g_hash_table_iter_init(&it, m->networks);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const UserNetwork *n = v;

                if (user_network_is_cni(n))
                        continue; /* its IPAM plugin's business */
                t = (TakenSubnet){ .subnet = n->subnet, .owner = n->name };
                g_array_append_val(a, t);
        }
        /* After berth's own, so that an overlap with those is named as such, not as their route. */
        r = rtnl_open(-EBADF, &nl);
        if (r >= 0)
                r = rtnl_route_list_ipv4(nl, &routes, &n_routes);
        if (r < 0)
                log_warning_errno(r, "Cannot list the host's routes, ignoring them: %m");
        for (size_t i = 0; i < n_routes; i++) {
                char ifname[IF_NAMESIZE] = "";
                char *owner;

                if (routes[i].prefixlen < 8 || routes[i].prefixlen > 32)
                        continue;
                if (routes[i].oif > 0)
                        (void) if_indextoname((unsigned) routes[i].oif, ifname);
                owner = g_strdup_printf("a route of the host%s%s", ifname[0] ? " on " : "", ifname);
                g_ptr_array_add(owners, owner);
                t = (TakenSubnet){ .subnet = { .network = routes[i].dst, .prefixlen = routes[i].prefixlen },
                                   .owner = owner };
                g_array_append_val(a, t);
        }
        return a;
}

int manager_create_network(Manager *m, const char *name, const UserNetworkOptions *options,
                           UserNetwork **ret, BerthError *e)
{
        _cleanup_(user_network_freep) UserNetwork *n = NULL;
        _cleanup_free_ char *path = NULL, *dir = NULL, *text = NULL;
        g_autoptr(GPtrArray) owners = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GArray) taken = NULL;
        char id[65];
        int r;

        if (g_hash_table_contains(m->networks, name))
                return berth_error_set(e, -EEXIST, "network name %s is already in use", name);
        r = container_generate_id(id);
        if (r < 0)
                return berth_error_set_errno(e, r, "cannot generate a network id");
        taken = taken_subnets(m, owners);
        r = user_network_new(name, id, options, (const TakenSubnet *) taken->data, taken->len,
                             (uint64_t) g_get_real_time(), &n, e);
        if (r < 0)
                return r;
        if (user_network_is_cni(n)) {
                _cleanup_free_ char *missing = cni_conflist_missing_plugin(n->cni_config, m->cni.path);

                if (missing)
                        return berth_error_set(e, -EINVAL, "CNI plugin %s is not installed in %s", missing,
                                               m->cni.path);
        }
        if (n->ipv6) {
                const UserNetwork *d = manager_bridge_record(m);
                GHashTableIter it;
                gpointer v;

                if (d && d->ipv6 && subnet6_overlaps(&n->subnet6, &d->subnet6)) {
                        char s6[SUBNET6_STRING_MAX];

                        subnet6_format(&d->subnet6, s6);
                        return berth_error_set(e, -EADDRINUSE,
                                               "IPv6 subnet %s overlaps %s of the bridge network",
                                               options->subnet6, s6);
                }
                g_hash_table_iter_init(&it, m->networks);
                while (g_hash_table_iter_next(&it, NULL, &v)) {
                        const UserNetwork *o = v;
                        char s6[SUBNET6_STRING_MAX];

                        if (o->ipv6 && subnet6_overlaps(&n->subnet6, &o->subnet6))
                                return berth_error_set(e, -EADDRINUSE, "IPv6 subnet %s overlaps %s of %s",
                                                       options->subnet6,
                                                       (subnet6_format(&o->subnet6, s6), s6), o->name);
                }
        }
        dir = g_strdup_printf("%s/networks", m->state_dir);
        path = network_record_path(m, name);
        text = user_network_to_json(n);
        r = mkdir_p_at(AT_FDCWD, dir, 0700);
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600);
        if (r < 0)
                return berth_error_set_errno(e, r, "cannot write the record of network %s", name);
        r = user_network_is_cni(n) ? 0 : network_device_make(n, e);
        if (r >= 0 && !user_network_is_cni(n))
                r = network_bridge_open(m, n, e);
        if (r < 0) {
                network_device_delete(n);
                (void) unlink(path);
                return r;
        }
        if (user_network_is_cni(n))
                log_info("Network %s created: driver cni.", name);
        else {
                char s[SUBNET_STRING_MAX], g[INET_ADDRSTRLEN];

                subnet_format(&n->subnet, s);
                log_info("Network %s created: %s, gateway %s, bridge br-%.12s%s.", name, s,
                         ipv4_format(n->gateway, g), n->id, n->internal ? ", internal" : "");
        }
        *ret = n;
        g_hash_table_replace(m->networks, g_strdup(name), TAKE_PTR(n));
        network_send_signal(m, *ret, true);
        return 0;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

char **manager_network_containers(Manager *m, const UserNetwork *n)
{
        g_autoptr(GPtrArray) l = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const Container *c = v;
                g_auto(GStrv) joined = container_config_networks(&c->config);

                if (g_strv_contains((const char *const *) joined, n->name))
                        g_ptr_array_add(l, g_strdup(c->name));
        }
        g_ptr_array_sort(l, compare_names);
        g_ptr_array_add(l, NULL);
        return (char **) g_ptr_array_steal(l, NULL);
}

int manager_remove_network(Manager *m, UserNetwork *n, bool force, BerthError *e)
{
        _cleanup_free_ char *path = network_record_path(m, n->name);
        g_auto(GStrv) containers = manager_network_containers(m, n);

        if (containers[0] && !force)
                return berth_error_set(e, -EBUSY, "network %s has containers: %s", n->name, containers[0]);
        {
                BridgeNetwork *b = g_hash_table_lookup(m->network_bridges, n->name);

                if (b)
                        bridge_network_forget(b);
                g_hash_table_remove(m->network_bridges, n->name);
        }
        if (!user_network_is_cni(n))
                network_device_delete(n);
        if (unlink(path) < 0 && errno != ENOENT)
                return berth_error_set_errno(e, -errno, "cannot remove the record of network %s", n->name);
        log_info("Network %s removed.", n->name);
        network_send_signal(m, n, false);
        g_hash_table_remove(m->networks, n->name);
        manager_dns_update(m);
        return 0;
}

int manager_prune_networks(Manager *m, char ***ret, BerthError *e)
{
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autofree gpointer *keys = g_hash_table_get_keys_as_array(m->networks, NULL);
        int r;

        for (gpointer *k = keys; *k; k++) {
                UserNetwork *n = g_hash_table_lookup(m->networks, *k);
                g_auto(GStrv) containers = manager_network_containers(m, n);
                _cleanup_free_ char *name = g_strdup(n->name);

                if (containers[0])
                        continue;
                r = manager_remove_network(m, n, false, e);
                if (r < 0)
                        return r;
                g_ptr_array_add(names, TAKE_PTR(name));
        }
        g_ptr_array_sort(names, compare_names);
        g_ptr_array_add(names, NULL);
        *ret = (char **) g_ptr_array_steal(names, NULL);
        return 0;
}

const UserNetwork *manager_bridge_record(Manager *m)
{
        g_autoptr(GChecksum) sum = NULL;
        const NetworkConfig *config;
        UserNetwork *n;

        if (!m->bridge)
                return NULL;
        if (m->bridge_record)
                return m->bridge_record;
        config = bridge_network_config(m->bridge);
        n = g_new0(UserNetwork, 1);
        n->name = g_strdup("bridge");
        n->driver = g_strdup(USER_NETWORK_DRIVER_BRIDGE);
        n->labels = g_new0(char *, 1);
        n->subnet = config->subnet;
        n->gateway = bridge_network_gateway(m->bridge);
        n->ipv6 = config->ipv6; /* berth.conf's Subnet6= */
        n->subnet6 = config->subnet6;
        /* Stable across restarts and the same on every host with the same device, like a name. */
        sum = g_checksum_new(G_CHECKSUM_SHA256);
        g_checksum_update(sum, (const guchar *) "berth bridge network ", -1);
        g_checksum_update(sum, (const guchar *) config->bridge, -1);
        g_strlcpy(n->id, g_checksum_get_string(sum), sizeof(n->id));
        m->bridge_record = n;
        return n;
}

static gint compare_endpoints(gconstpointer a, gconstpointer b)
{
        return strcmp(((const NetworkEndpoint *) a)->name, ((const NetworkEndpoint *) b)->name);
}

GArray *manager_network_endpoints(Manager *m, const char *network)
{
        GArray *l = g_array_new(false, true, sizeof(NetworkEndpoint));
        BridgeNetwork *b = manager_network_bridge(m, network);
        GHashTableIter it;
        gpointer v;

        if (!b)
                return l;
        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                const Container *c = v;
                NetworkEndpoint e = { .name = c->name, .id = c->id };
                struct in6_addr a6;
                char a[INET6_ADDRSTRLEN];
                uint32_t address;

                if (bridge_network_address(b, c->id, &address) < 0)
                        continue;
                snprintf(e.ipv4, sizeof(e.ipv4), "%s/%u", ipv4_format(address, a),
                         bridge_network_prefixlen(b));
                if (bridge_network_address6(b, c->id, &a6) >= 0)
                        snprintf(e.ipv6, sizeof(e.ipv6), "%s/%u", ipv6_format(&a6, a),
                                 bridge_network_prefixlen6(b));
                bridge_network_mac_format(address, e.mac);
                g_array_append_val(l, e);
        }
        g_array_sort(l, compare_endpoints);
        return l;
}
