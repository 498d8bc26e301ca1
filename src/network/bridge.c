/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "network/bridge.h"
#include "network/firewall.h"
#include "network/port-proxy.h"
#include "network/rtnl.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"

#define IPAM_FILE_MAX (4 * 1024 * 1024)
/* The state files are rewritten at every start and exit of a container on the bridge: with a spare of this
 * size (write_file_reserved_at()), a start on a full disk still records its address, as state.json does.
 * Never synced (WRITE_FILE_NO_SYNC): they describe running containers only, which no power loss outlives;
 * replaced atomically, they stay right across a kill -9 of berthd. After a power loss they may be old or
 * blank: ipam_parse() drops what it cannot read, and addresses of containers that are gone are freed. */
#define NETWORK_STATE_RESERVE (64 * 1024)
#define IP_FORWARD_PATH       "/proc/sys/net/ipv4/ip_forward"
#define IPV6_FORWARD_PATH     "/proc/sys/net/ipv6/conf/all/forwarding"

/* A running container's published ports. */
typedef struct Published {
        PortMapping *mappings; /* host ports resolved */
        size_t n;
        int *fds;  /* the host ports, bound by berthd while the container runs */
        int *fds6; /* on a dual-stack network, the IPv6 side of a port published on every address */
        PortProxy **proxies; /* TCP on [::1] (port-proxy.h), on the IPv6 socket of fds or fds6 */
} Published;

static void published_free(gpointer p)
{
        Published *pub = p;

        for (size_t i = 0; i < pub->n; i++) {
                port_proxy_free(pub->proxies[i]);
                safe_close(pub->fds[i]);
                safe_close(pub->fds6[i]);
        }
        g_free(pub->fds);
        g_free(pub->fds6);
        g_free(pub->proxies);
        g_free(pub->mappings);
        g_free(pub);
}

struct BridgeNetwork {
        NetworkConfig config;
        char *ipam_path, *ports_path;
        Ipam *ipam;
        GHashTable *published; /* id → Published */
        int bridge_ifindex;    /* > 0 once the host side is made (since this berthd started) */
        uint32_t gateway;      /* the bridge's address: the subnet's first, or a user network's gateway */
        bool internal;         /* a user network without a way out */
        bool ipv6;
        Subnet6 subnet6;
};

void bridge_network_set_ipv6(BridgeNetwork *b, const Subnet6 *subnet6)
{
        b->ipv6 = true;
        b->subnet6 = *subnet6;
}

/* The container's IPv6 address: its IPv4 host part in the IPv6 subnet. */
static struct in6_addr address6_of(const BridgeNetwork *b, uint32_t address)
{
        return subnet6_host(&b->subnet6, address - b->config.subnet.network);
}

int bridge_network_address6(const BridgeNetwork *b, const char *id, struct in6_addr *ret)
{
        uint32_t a;

        if (!b || !b->ipv6 || ipam_lookup(b->ipam, id, &a) < 0)
                return -ENOENT;
        *ret = address6_of(b, a);
        return 0;
}

void bridge_network_mac(uint32_t address, uint8_t ret[static 6])
{
        ret[0] = 0x02; /* locally administered, unicast */
        ret[1] = 0x42;
        for (unsigned i = 0; i < 4; i++)
                ret[2 + i] = (uint8_t) (address >> (24 - 8 * i));
}

char *bridge_network_mac_format(uint32_t address, char ret[static BRIDGE_MAC_STRING_MAX])
{
        uint8_t m[6];

        bridge_network_mac(address, m);
        snprintf(ret, BRIDGE_MAC_STRING_MAX, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                 m[5]);
        return ret;
}

unsigned bridge_network_prefixlen(const BridgeNetwork *b)
{
        return b->config.subnet.prefixlen;
}

unsigned bridge_network_prefixlen6(const BridgeNetwork *b)
{
        return b->ipv6 ? b->subnet6.prefixlen : 0;
}

const NetworkConfig *bridge_network_config(const BridgeNetwork *b)
{
        return &b->config;
}

void bridge_network_veth_name(const BridgeNetwork *b, const char *id, char ret[static IFNAMSIZ])
{
        if (g_str_has_prefix(b->config.bridge, "br-"))
                snprintf(ret, IFNAMSIZ, "vb%.7s%.6s", id, b->config.bridge + 3);
        else
                snprintf(ret, IFNAMSIZ, "veth%.11s", id);
}

uint32_t bridge_network_gateway(const BridgeNetwork *b)
{
        return b->gateway;
}

bool bridge_network_internal(const BridgeNetwork *b)
{
        return b->internal;
}

/* network/bridge.ports: "ID PROTOCOL HOST_ADDRESS HOST_PORT CONTAINER_PORT" per published port of a running
 * container, so that a restarted berthd routes them again and holds their host ports again. */
static void ports_parse(BridgeNetwork *b, const char *text)
{
        g_auto(GStrv) lines = g_strsplit(strempty(text), "\n", -1);

        STRV_FOREACH (l, lines) {
                g_auto(GStrv) f = g_strsplit(g_strstrip(*l), " ", -1);
                _cleanup_free_ char *spec = NULL;
                PortMapping m;
                Published *pub;

                if (g_strv_length(f) != 5 || ipam_lookup(b->ipam, f[0], NULL) < 0)
                        continue;
                spec = g_strdup_printf("%s:%s:%s/%s", f[2], f[3], f[4], f[1]);
                if (port_mapping_parse(spec, &m) < 0 || m.host_port == 0)
                        continue;
                pub = g_hash_table_lookup(b->published, f[0]);
                if (!pub) {
                        pub = g_new0(Published, 1);
                        g_hash_table_insert(b->published, g_strdup(f[0]), pub);
                }
                pub->mappings = g_renew(PortMapping, pub->mappings, pub->n + 1);
                pub->fds = g_renew(int, pub->fds, pub->n + 1);
                pub->fds6 = g_renew(int, pub->fds6, pub->n + 1);
                pub->proxies = g_renew(PortProxy *, pub->proxies, pub->n + 1);
                pub->proxies[pub->n] = NULL;
                pub->mappings[pub->n] = m;
                pub->fds6[pub->n] = -EBADF;
                pub->fds[pub->n++] = -EBADF;
        }
}

static int ports_save(BridgeNetwork *b)
{
        g_autoptr(GString) s = g_string_new(NULL);
        GHashTableIter it;
        gpointer k, v;
        int r;

        g_hash_table_iter_init(&it, b->published);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                Published *pub = v;

                for (size_t i = 0; i < pub->n; i++) {
                        char a[PORT_HOST_STRING_MAX];

                        g_string_append_printf(s, "%s %s %s %u %u\n", (const char *) k,
                                               port_protocol_to_string(pub->mappings[i].protocol),
                                               port_mapping_host_format(&pub->mappings[i], true, a),
                                               pub->mappings[i].host_port, pub->mappings[i].container_port);
                }
        }
        r = write_file_reserved_flags_at(AT_FDCWD, b->ports_path, s->str, s->len, NETWORK_STATE_RESERVE,
                                         0644, WRITE_FILE_NO_SYNC);
        if (r < 0)
                return log_error_errno(r, "Failed to save the published ports to '%s': %m", b->ports_path);
        return 0;
}

static int firewall_apply_all(BridgeNetwork *b)
{
        g_autoptr(GArray) ports = g_array_new(false, true, sizeof(FirewallPort));
        GHashTableIter it;
        gpointer k, v;
        int r;

        g_hash_table_iter_init(&it, b->published);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                Published *pub = v;
                uint32_t address;

                if (ipam_lookup(b->ipam, k, &address) < 0)
                        continue;
                for (size_t i = 0; i < pub->n; i++) {
                        FirewallPort p = { .mapping = pub->mappings[i], .container_address = address };

                        if (b->ipv6)
                                p.container_address6 = address6_of(b, address);
                        g_array_append_val(ports, p);
                }
        }
        r = firewall_set_network6(b->config.bridge, &b->config.subnet, b->ipv6 ? &b->subnet6 : NULL,
                                  b->internal, (const FirewallPort *) ports->data, ports->len);
        if (r < 0)
                return log_error_errno(r, "Failed to set up nftables table ip " FIREWALL_TABLE ": %m");
        return 0;
}

/* Binds the host port of m (a free one if it is 0, written back), so that nothing else takes it while the
 * container runs; a TCP port also listens, which keeps even SO_REUSEADDR binds off it. The traffic never
 * reaches the socket: the table DNATs it first. ipv6: the IPv6 side, [::] (IPV6_V6ONLY) or m's IPv6 host
 * address. */
static int hold_port(PortMapping *m, bool ipv6, int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } u = {};
        socklen_t len;
        int one = 1;

        if (ipv6) {
                u.in6 = (struct sockaddr_in6){ .sin6_family = AF_INET6,
                                               .sin6_port = htons(m->host_port),
                                               .sin6_addr = m->host_ipv6 ? m->host_address6 : in6addr_any };
                len = sizeof(u.in6);
        } else {
                u.in = (struct sockaddr_in){ .sin_family = AF_INET,
                                             .sin_addr = ipv4_to_in_addr(m->host_address),
                                             .sin_port = htons(m->host_port) };
                len = sizeof(u.in);
        }
        fd = socket(u.sa.sa_family,
                    (m->protocol == PORT_PROTOCOL_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
                return -errno;
        /* TCP: connections the [::1] relay closed linger in TIME_WAIT on the port, which must not keep the
         * container's next start (or berthd's next run) from holding it again. A listener is never shared:
         * Linux refuses a second listening bind whatever its options. (For UDP it would share the port.) */
        if (m->protocol == PORT_PROTOCOL_TCP &&
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return -errno;
        if (bind(fd, &u.sa, len) < 0)
                return -errno;
        if (m->protocol == PORT_PROTOCOL_TCP && listen(fd, 1) < 0)
                return -errno;
        if (getsockname(fd, &u.sa, &len) < 0)
                return -errno;
        m->host_port = ntohs(ipv6 ? u.in6.sin6_port : u.in.sin_port);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The sockets m needs: IPv4 unless it names an IPv6 address; IPv6 too on a dual-stack network when it names
 * none. The second takes the port the first got. */
static int hold_ports(PortMapping *m, const struct in6_addr *dual_stack, int *ret_fd, int *ret_fd6)
{
        int r;

        if (m->host_ipv6)
                return hold_port(m, true, ret_fd);
        r = hold_port(m, false, ret_fd);
        if (r < 0 || !dual_stack || m->host_address != 0)
                return r;
        r = hold_port(m, true, ret_fd6);
        if (r < 0)
                *ret_fd = safe_close(*ret_fd);
        return r;
}

/* Mapping i of pub held (dual stack: address6 is the container's IPv6 address, else NULL), and a TCP port
 * that the host's [::1] reaches relayed by a proxy, since no DNAT can take it there. */
static int published_hold_one(Published *pub, size_t i, const struct in6_addr *address6)
{
        PortMapping *m = &pub->mappings[i];
        int r, fd6;

        r = hold_ports(m, address6, &pub->fds[i], &pub->fds6[i]);
        if (r < 0 || !address6 || m->protocol != PORT_PROTOCOL_TCP)
                return r;
        fd6 = m->host_ipv6 ? pub->fds[i] : pub->fds6[i];
        if (fd6 < 0 || (m->host_ipv6 && !IN6_IS_ADDR_LOOPBACK(&m->host_address6) &&
                        !IN6_IS_ADDR_UNSPECIFIED(&m->host_address6)))
                return 0;
        return port_proxy_new(fd6, address6, m->container_port, &pub->proxies[i]);
}

static void published_hold(Published *pub, const char *id, const struct in6_addr *address6)
{
        for (size_t i = 0; i < pub->n; i++) {
                int r;

                if (pub->fds[i] >= 0)
                        continue;
                r = published_hold_one(pub, i, address6);
                if (r < 0)
                        log_warning_errno(
                                r, "Cannot hold host port %u/%s of container %.12s again, ignoring: %m",
                                pub->mappings[i].host_port,
                                port_protocol_to_string(pub->mappings[i].protocol), id);
        }
}

/* The container's ports, parsed (checked at create) and held. On failure *ret_error names the port. */
static int published_new(char **ports, const struct in6_addr *address6, Published **ret, char **ret_error)
{
        Published *pub = g_new0(Published, 1);
        size_t n = g_strv_length(ports);

        pub->mappings = g_new0(PortMapping, n);
        pub->fds = g_new(int, n);
        pub->fds6 = g_new(int, n);
        pub->proxies = g_new0(PortProxy *, n);
        for (size_t i = 0; i < n; i++) {
                int r;

                pub->fds[i] = pub->fds6[i] = -EBADF;
                pub->n = i + 1;
                r = port_mapping_parse(ports[i], &pub->mappings[i]);
                if (r >= 0 && pub->mappings[i].host_ipv6 && !address6)
                        r = -EAFNOSUPPORT;
                /* [::1] is reached through the proxy (port-proxy.h), which relays TCP only. */
                if (r >= 0 && pub->mappings[i].host_ipv6 && pub->mappings[i].protocol != PORT_PROTOCOL_TCP &&
                    IN6_IS_ADDR_LOOPBACK(&pub->mappings[i].host_address6))
                        r = -EADDRNOTAVAIL;
                if (r >= 0)
                        r = published_hold_one(pub, i, address6);
                if (r < 0) {
                        const PortMapping *m = &pub->mappings[i];
                        char a[PORT_HOST_STRING_MAX];

                        if (r == -EADDRNOTAVAIL)
                                *ret_error =
                                        g_strdup_printf("cannot publish '%s': berth relays only TCP on "
                                                        "[::1] (the kernel does not forward IPv6 loopback "
                                                        "traffic); publish it on 127.0.0.1",
                                                        ports[i]);
                        else if (r == -EAFNOSUPPORT)
                                *ret_error = g_strdup_printf("cannot publish '%s' on an IPv6 address: the "
                                                             "network has no IPv6",
                                                             ports[i]);
                        else if (r == -EADDRINUSE)
                                *ret_error =
                                        g_strdup_printf("host port %s:%u/%s is already in use",
                                                        port_mapping_host_format(m, true, a), m->host_port,
                                                        port_protocol_to_string(m->protocol));
                        else
                                *ret_error =
                                        g_strdup_printf("cannot publish '%s': %s", ports[i], strerror(-r));
                        published_free(pub);
                        return r;
                }
        }
        *ret = pub;
        return 0;
}

const PortMapping *bridge_network_ports(const BridgeNetwork *b, const char *id, size_t *ret_n)
{
        Published *pub = b ? g_hash_table_lookup(b->published, id) : NULL;

        *ret_n = pub ? pub->n : 0;
        return pub ? pub->mappings : NULL;
}

int bridge_network_new(const char *state_dir, const NetworkConfig *config, BridgeNetwork **ret)
{
        return bridge_network_new_full(state_dir, "bridge", config, subnet_first_host(&config->subnet),
                                       false, ret);
}

int bridge_network_new_full(const char *state_dir, const char *state_name, const NetworkConfig *config,
                            uint32_t gateway, bool internal, BridgeNetwork **ret)
{
        _cleanup_(bridge_network_freep) BridgeNetwork *b = g_new0(BridgeNetwork, 1);
        _cleanup_free_ char *text = NULL;
        unsigned dropped = 0;
        size_t size;
        int r;

        b->config = *config;
        b->ipam = ipam_new(&config->subnet);
        ipam_set_gateway(b->ipam, gateway);
        b->published = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, published_free);
        b->gateway = gateway;
        b->internal = internal;
        b->ipam_path = g_strdup_printf("%s/network/%s.addresses", state_dir, state_name);
        b->ports_path = g_strdup_printf("%s/network/%s.ports", state_dir, state_name);
        r = read_file_at(AT_FDCWD, b->ipam_path, IPAM_FILE_MAX, &text, &size);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read '%s': %m", b->ipam_path);
        if (r >= 0) {
                (void) ipam_parse(b->ipam, text, &dropped);
                if (dropped > 0)
                        log_warning("Dropped %u allocations of '%s' outside the subnet or malformed.",
                                    dropped, b->ipam_path);
        }
        text = mfree(text);
        r = read_file_at(AT_FDCWD, b->ports_path, IPAM_FILE_MAX, &text, &size);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read '%s': %m", b->ports_path);
        if (r >= 0)
                ports_parse(b, text);
        *ret = TAKE_PTR(b);
        return 0;
}

BridgeNetwork *bridge_network_free(BridgeNetwork *b)
{
        if (!b)
                return NULL;
        ipam_free(b->ipam);
        if (b->published)
                g_hash_table_destroy(b->published);
        g_free(b->ipam_path);
        g_free(b->ports_path);
        g_free(b);
        return NULL;
}

static int bridge_network_save(BridgeNetwork *b)
{
        _cleanup_free_ char *text = ipam_format(b->ipam), *dir = g_path_get_dirname(b->ipam_path);
        int r;

        r = mkdir_p_at(AT_FDCWD, dir, 0755);
        if (r >= 0)
                r = write_file_reserved_flags_at(AT_FDCWD, b->ipam_path, text, strlen(text),
                                                 NETWORK_STATE_RESERVE, 0644, WRITE_FILE_NO_SYNC);
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

/* net.ipv6.conf.all.forwarding=1, for the first dual-stack network with a way out (an internal one, or
 * containers of one network among themselves, need none: that is bridging). As for IPv4, the global switch,
 * set once and never reset, which Docker sets too. Its price on the host: an interface with accept_ra=1 (the
 * kernel's default) stops taking router advertisements while forwarding is on, so a host that gets its own
 * IPv6 address or route by kernel SLAAC needs accept_ra=2 on its uplink (docs/security.md). */
static int enable_ipv6_forward(void)
{
        _cleanup_free_ char *v = NULL;
        size_t size;
        int r;

        r = read_file_at(AT_FDCWD, IPV6_FORWARD_PATH, 64, &v, &size);
        if (r >= 0 && v[0] == '1')
                return 0;
        r = write_sysctl(IPV6_FORWARD_PATH, "1\n");
        if (r < 0)
                return log_error_errno(r, "Failed to enable IPv6 forwarding (%s): %m", IPV6_FORWARD_PATH);
        log_info("Enabled IPv6 forwarding (net.ipv6.conf.all.forwarding=1) for the IPv6 networks.");
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
        r = rtnl_addr_add(nl, ifindex, b->gateway, b->config.subnet.prefixlen);
        if (r < 0)
                return log_error_errno(r, "Failed to give '%s' the address %s/%u: %m", b->config.bridge,
                                       ipv4_format(b->gateway, gw), b->config.subnet.prefixlen);
        if (b->ipv6) {
                struct in6_addr gw6 = subnet6_host(&b->subnet6, 1);
                char s6[SUBNET6_STRING_MAX];

                r = rtnl_addr_add6(nl, ifindex, &gw6, b->subnet6.prefixlen);
                if (r < 0)
                        return log_error_errno(r, "Failed to give '%s' its IPv6 address in %s: %m",
                                               b->config.bridge, (subnet6_format(&b->subnet6, s6), s6));
        }
        r = rtnl_link_up(nl, ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to bring '%s' up: %m", b->config.bridge);
        /* Published ports reached at 127.0.0.1 are routed into the bridge from the host's loopback. */
        r = rtnl_link_set_route_localnet(nl, ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to set route_localnet on '%s': %m", b->config.bridge);
        r = enable_ip_forward();
        if (r >= 0 && b->ipv6 && !b->internal)
                r = enable_ipv6_forward();
        if (r < 0)
                return r;
        subnet_format(&b->config.subnet, subnet);
        r = firewall_apply_all(b);
        if (r < 0)
                return r;
        log_info("Bridge network ready: %s, %s, gateway %s.", b->config.bridge, subnet,
                 ipv4_format(b->gateway, gw));
        b->bridge_ifindex = ifindex;
        return 0;
}

static int bridge_network_configure_inside(BridgeNetwork *b, int netns_fd, const char *ifname,
                                           bool default_route, uint32_t address)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        uint8_t mac[6];
        int ifindex, r;

        r = rtnl_open(netns_fd, &nl);
        if (r < 0)
                return r;
        r = rtnl_link_get(nl, ifname, &ifindex, NULL);
        if (r < 0)
                return r;
        bridge_network_mac(address, mac);
        r = rtnl_link_set_address(nl, ifindex, mac);
        if (r < 0)
                return r;
        r = rtnl_addr_add(nl, ifindex, address, b->config.subnet.prefixlen);
        if (r < 0)
                return r;
        if (b->ipv6) {
                struct in6_addr a6 = address6_of(b, address);

                r = rtnl_addr_add6(nl, ifindex, &a6, b->subnet6.prefixlen);
                if (r < 0)
                        return r;
        }
        r = rtnl_link_up(nl, ifindex);
        if (r < 0 || !default_route)
                return r;
        r = rtnl_route_add_default(nl, ifindex, b->gateway);
        if (r >= 0 && b->ipv6) {
                struct in6_addr gw6 = subnet6_host(&b->subnet6, 1);

                r = rtnl_route_add_default6(nl, ifindex, &gw6);
        }
        return r;
}

/* The address id asked for (--ip), with what the user is told when it cannot have it. */
static int allocate_requested(BridgeNetwork *b, const char *id, uint32_t address, char **ret_error)
{
        char a[INET_ADDRSTRLEN], s[SUBNET_STRING_MAX];
        int r;

        r = address == b->gateway ? -EINVAL : ipam_allocate_address(b->ipam, id, address);
        if (r == -EEXIST) {
                /* An allocation left from another run with another address: the one asked for wins. */
                ipam_release(b->ipam, id);
                r = ipam_allocate_address(b->ipam, id, address);
        }
        ipv4_format(address, a);
        subnet_format(&b->config.subnet, s);
        if (r == -EADDRINUSE)
                *ret_error = g_strdup_printf("address %s is already in use on %s", a, b->config.bridge);
        else if (r < 0)
                *ret_error = g_strdup_printf("address %s is not a free host address of %s", a, s);
        return r;
}

int bridge_network_attach(BridgeNetwork *b, const char *id, const char *name, int netns_fd,
                          const BridgeAttach *attach, uint32_t *ret_address, char **ret_error)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        char veth[IFNAMSIZ], a[INET_ADDRSTRLEN];
        const char *ifname = attach->ifname ?: "eth0";
        bool had = bridge_network_address(b, id, NULL) >= 0;
        char **ports = attach->ports;
        Published *pub = NULL;
        uint32_t address;
        int r;

        r = bridge_network_setup_host(b);
        if (r < 0)
                return r;
        if (attach->address != 0) {
                r = allocate_requested(b, id, attach->address, ret_error);
                if (r < 0)
                        return log_error_errno(r, "Container %s: %s.", name, *ret_error);
                had = false;
                address = attach->address;
        } else
                r = ipam_allocate(b->ipam, id, &address);
        if (r == -EADDRNOTAVAIL) {
                char s[SUBNET_STRING_MAX];

                subnet_format(&b->config.subnet, s);
                *ret_error = g_strdup_printf("no free address left in %s", s);
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
        if (ports && ports[0]) {
                struct in6_addr a6 = b->ipv6 ? address6_of(b, address) : (struct in6_addr){};

                r = published_new(ports, b->ipv6 ? &a6 : NULL, &pub, ret_error);
                if (r < 0) {
                        log_error_errno(r, "Container %s: %s.", name, *ret_error);
                        bridge_network_release(b, id);
                        return r;
                }
        }

        bridge_network_veth_name(b, id, veth);
        r = rtnl_open(-EBADF, &nl);
        if (r >= 0)
                r = rtnl_veth_add(nl, veth, b->bridge_ifindex, ifname, netns_fd);
        if (nl && (r == -ENODEV || r == -EINVAL)) {
                /* The bridge went away under us (deleted by hand): make it again, once. */
                b->bridge_ifindex = 0;
                r = bridge_network_setup_host(b);
                if (r >= 0)
                        r = rtnl_veth_add(nl, veth, b->bridge_ifindex, ifname, netns_fd);
        }
        if (nl && r == -EEXIST) {
                /* The previous run's pair, named after the same id: the kernel destroys a dead network
                 * namespace (and the veth in it) from a work queue, so a restart right after the exit can
                 * find it still there. Nothing else uses the name; delete it and try once more. The work
                 * queue may delete it first, between our calls: gone (ENODEV) is as good as deleted. */
                g_autofree char *kind = NULL;
                int stale, k;

                k = rtnl_link_get(nl, veth, &stale, &kind);
                if (k >= 0)
                        k = streq_ptr(kind, "veth") ? rtnl_link_del(nl, stale) : -EEXIST;
                if (k >= 0 || k == -ENODEV)
                        r = rtnl_veth_add(nl, veth, b->bridge_ifindex, ifname, netns_fd);
        }
        if (r < 0) {
                log_error_errno(r, "Failed to create the veth pair %s of container %s: %m", veth, name);
                if (pub)
                        published_free(pub);
                bridge_network_release(b, id);
                return r;
        }
        int veth_ifindex;
        r = rtnl_link_get(nl, veth, &veth_ifindex, NULL);
        if (r >= 0)
                r = rtnl_bridge_port_set_hairpin(nl, veth_ifindex);
        if (r >= 0)
                r = bridge_network_configure_inside(b, netns_fd, ifname, attach->default_route, address);
        if (r < 0) {
                log_error_errno(r,
                                "Failed to configure %s (%s) in the network namespace of container %s: %m",
                                ifname, ipv4_format(address, a), name);
                /* The pair goes with the namespace; do not wait for the monitor to end it. */
                int ifindex;
                if (rtnl_link_get(nl, veth, &ifindex, NULL) >= 0)
                        (void) rtnl_link_del(nl, ifindex);
                if (pub)
                        published_free(pub);
                bridge_network_release(b, id);
                return r;
        }
        if (pub) {
                g_hash_table_replace(b->published, g_strdup(id), pub);
                r = ports_save(b);
                if (r >= 0)
                        r = firewall_apply_all(b);
                if (r < 0) {
                        *ret_error = g_strdup("cannot set up the published ports");
                        bridge_network_release(b, id);
                        return r;
                }
        }
        log_debug("Container %s joined %s as %s (%s).", name, b->config.bridge, ipv4_format(address, a),
                  veth);
        *ret_address = address;
        return 0;
}

int bridge_network_address(const BridgeNetwork *b, const char *id, uint32_t *ret)
{
        if (!b)
                return -ENOENT;
        return ipam_lookup(b->ipam, id, ret);
}

const char **bridge_network_ids(const BridgeNetwork *b)
{
        return ipam_ids(b->ipam);
}

void bridge_network_detach(BridgeNetwork *b, const char *id)
{
        _cleanup_(rtnl_closep) Rtnl *nl = NULL;
        char veth[IFNAMSIZ];
        int ifindex, r;

        if (!b)
                return;
        bridge_network_veth_name(b, id, veth);
        r = rtnl_open(-EBADF, &nl);
        if (r >= 0)
                r = rtnl_link_get(nl, veth, &ifindex, NULL);
        if (r >= 0)
                r = rtnl_link_del(nl, ifindex);
        if (r < 0 && r != -ENODEV)
                log_warning_errno(r, "Failed to delete the veth pair %s of container %.12s, ignoring: %m",
                                  veth, id);
        bridge_network_release(b, id);
}

void bridge_network_release(BridgeNetwork *b, const char *id)
{
        if (!b)
                return;
        if (g_hash_table_remove(b->published, id)) {
                (void) ports_save(b);
                if (b->bridge_ifindex > 0)
                        (void) firewall_apply_all(b);
        }
        if (ipam_release(b->ipam, id))
                (void) bridge_network_save(b);
}

int bridge_network_sweep(BridgeNetwork *b, bool (*alive)(const char *id, void *userdata), void *userdata)
{
        g_autofree const char **ids = ipam_ids(b->ipam);
        unsigned freed = 0;
        GHashTableIter it;
        gpointer k, v;
        int r;

        for (const char **id = ids; id && *id; id++) {
                if (alive(*id, userdata))
                        continue;
                /* *id points into the allocator: copy it before it is freed. */
                _cleanup_free_ char *copy = g_strdup(*id);
                g_hash_table_remove(b->published, copy);
                ipam_release(b->ipam, copy);
                freed++;
        }
        /* The ports of running containers are held again; those without an allocation go. */
        g_hash_table_iter_init(&it, b->published);
        while (g_hash_table_iter_next(&it, &k, &v))
                if (ipam_lookup(b->ipam, k, NULL) < 0)
                        g_hash_table_iter_remove(&it);
                else {
                        struct in6_addr a6;

                        published_hold(v, k, bridge_network_address6(b, k, &a6) >= 0 ? &a6 : NULL);
                }
        if (freed > 0) {
                log_info("Freed %u addresses of the bridge network held by containers that are gone.",
                         freed);
                (void) bridge_network_save(b);
                (void) ports_save(b);
        }
        if (ipam_size(b->ipam) > 0)
                return bridge_network_setup_host(b);
        /* No container on the bridge: berth's table has nothing to do until one joins (then it is made
         * again), and what a crash left in it (the DNAT of a container gone since) goes now. */
        r = firewall_unset_network(b->config.bridge);
        if (r < 0)
                log_debug_errno(r, "Failed to remove nftables table ip " FIREWALL_TABLE ", ignoring: %m");
        return 0;
}

void bridge_network_forget(BridgeNetwork *b)
{
        int r;

        r = firewall_unset_network(b->config.bridge);
        if (r < 0)
                log_debug_errno(r, "Failed to update nftables table ip " FIREWALL_TABLE ", ignoring: %m");
        (void) unlink(b->ipam_path);
        (void) unlink(b->ports_path);
}
