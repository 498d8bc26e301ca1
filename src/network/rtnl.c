/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "network/rtnl.h"
#include "shared/log.h"

/* Fixed sizes: libmnl's MNL_SOCKET_BUFFER_SIZE is computed at run time (it would make these VLAs). A request
 * here is a few hundred bytes; an answer to a non-dump request one message. */
#define RTNL_REQUEST_SIZE 4096
#define RTNL_ANSWER_SIZE  32768

struct Rtnl {
        struct mnl_socket *sock;
        uint32_t portid, seq;
};

int rtnl_open(int netns_fd, Rtnl **ret)
{
        _cleanup_close_ int self_fd = -EBADF;
        struct mnl_socket *sock;
        int r = 0;

        if (netns_fd >= 0) {
                self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
                if (self_fd < 0)
                        return -errno;
                if (setns(netns_fd, CLONE_NEWNET) < 0)
                        return -errno;
        }
        sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!sock)
                r = -errno;
        /* Back into our own namespace before anything else: a daemon left in a container's namespace would
         * make every later socket there. There is no sane way on if this fails. */
        if (self_fd >= 0 && setns(self_fd, CLONE_NEWNET) < 0) {
                log_error_errno(errno, "Cannot return to berthd's network namespace: %m");
                abort();
        }
        if (r < 0)
                return r;
        if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                mnl_socket_close(sock);
                return r;
        }
        *ret = g_new0(Rtnl, 1);
        (*ret)->sock = sock;
        (*ret)->portid = mnl_socket_get_portid(sock);
        (*ret)->seq = (uint32_t) time(NULL);
        return 0;
}

Rtnl *rtnl_close(Rtnl *nl)
{
        if (!nl)
                return NULL;
        mnl_socket_close(nl->sock);
        g_free(nl);
        return NULL;
}

/* Sends nlh (with NLM_F_ACK) and reads until the kernel's ack; each answer message goes to cb. */
static int rtnl_call(Rtnl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
        char buf[RTNL_ANSWER_SIZE];
        ssize_t n;
        int r;

        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++nl->seq;
        if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
                if (n < 0)
                        return -errno;
                r = mnl_cb_run(buf, (size_t) n, nlh->nlmsg_seq, nl->portid, cb, data);
                if (r == MNL_CB_ERROR)
                        return -errno;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static struct nlmsghdr *put_link_header(char *buf, uint16_t type, uint16_t flags, struct ifinfomsg **ret_ifm)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct ifinfomsg *ifm;

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        if (ret_ifm)
                *ret_ifm = ifm;
        return nlh;
}

typedef struct LinkInfo {
        int ifindex;
        char *kind;
} LinkInfo;

static int link_info_cb(const struct nlmsghdr *nlh, void *data)
{
        LinkInfo *info = data;
        const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a, *i;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return MNL_CB_OK;
        info->ifindex = ifm->ifi_index;
        mnl_attr_for_each(a, nlh, sizeof(*ifm))
        {
                if (mnl_attr_get_type(a) != IFLA_LINKINFO)
                        continue;
                mnl_attr_for_each_nested(i, a) if (mnl_attr_get_type(i) == IFLA_INFO_KIND &&
                                                   mnl_attr_validate(i, MNL_TYPE_NUL_STRING) >= 0)
                {
                        g_free(info->kind);
                        info->kind = g_strdup(mnl_attr_get_str(i));
                }
        }
        return MNL_CB_OK;
}

int rtnl_link_get(Rtnl *nl, const char *name, int *ret_ifindex, char **ret_kind)
{
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh = put_link_header(buf, RTM_GETLINK, 0, NULL);
        LinkInfo info = {};
        int r;

        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        r = rtnl_call(nl, nlh, link_info_cb, &info);
        if (r < 0 || info.ifindex <= 0) {
                g_free(info.kind);
                return r < 0 ? r : -ENODEV;
        }
        if (ret_ifindex)
                *ret_ifindex = info.ifindex;
        if (ret_kind)
                *ret_kind = info.kind ?: g_strdup("");
        else
                g_free(info.kind);
        return 0;
}

int rtnl_bridge_add(Rtnl *nl, const char *name)
{
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh = put_link_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, NULL);
        struct nlattr *linkinfo;

        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, linkinfo);
        return rtnl_call(nl, nlh, NULL, NULL);
}

int rtnl_link_up(Rtnl *nl, int ifindex)
{
        char buf[RTNL_REQUEST_SIZE];
        struct ifinfomsg *ifm;
        struct nlmsghdr *nlh = put_link_header(buf, RTM_NEWLINK, 0, &ifm);

        ifm->ifi_index = ifindex;
        ifm->ifi_flags = IFF_UP;
        ifm->ifi_change = IFF_UP;
        return rtnl_call(nl, nlh, NULL, NULL);
}

int rtnl_link_set_address(Rtnl *nl, int ifindex, const uint8_t mac[static 6])
{
        char buf[RTNL_REQUEST_SIZE];
        struct ifinfomsg *ifm;
        struct nlmsghdr *nlh = put_link_header(buf, RTM_NEWLINK, 0, &ifm);

        ifm->ifi_index = ifindex;
        mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
        return rtnl_call(nl, nlh, NULL, NULL);
}

int rtnl_link_set_route_localnet(Rtnl *nl, int ifindex)
{
        char buf[RTNL_REQUEST_SIZE];
        struct ifinfomsg *ifm;
        struct nlmsghdr *nlh = put_link_header(buf, RTM_NEWLINK, 0, &ifm);
        struct nlattr *spec, *inet, *conf;

        ifm->ifi_index = ifindex;
        spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
        inet = mnl_attr_nest_start(nlh, AF_INET);
        conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
        mnl_attr_put_u32(nlh, IPV4_DEVCONF_ROUTE_LOCALNET, 1);
        mnl_attr_nest_end(nlh, conf);
        mnl_attr_nest_end(nlh, inet);
        mnl_attr_nest_end(nlh, spec);
        return rtnl_call(nl, nlh, NULL, NULL);
}

int rtnl_bridge_port_set_hairpin(Rtnl *nl, int ifindex)
{
        char buf[RTNL_REQUEST_SIZE];
        struct ifinfomsg *ifm;
        struct nlmsghdr *nlh = put_link_header(buf, RTM_SETLINK, 0, &ifm);
        struct nlattr *protinfo;

        /* PF_BRIDGE's RTM_SETLINK reaches the bridge's own handler; it reads IFLA_PROTINFO as a nest of
         * IFLA_BRPORT_* only when the attribute says NLA_F_NESTED (without, it is the old port state). */
        ifm->ifi_family = AF_BRIDGE;
        ifm->ifi_index = ifindex;
        protinfo = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
        protinfo->nla_type |= NLA_F_NESTED;
        mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
        mnl_attr_nest_end(nlh, protinfo);
        return rtnl_call(nl, nlh, NULL, NULL);
}

int rtnl_link_del(Rtnl *nl, int ifindex)
{
        char buf[RTNL_REQUEST_SIZE];
        struct ifinfomsg *ifm;
        struct nlmsghdr *nlh = put_link_header(buf, RTM_DELLINK, 0, &ifm);

        ifm->ifi_index = ifindex;
        return rtnl_call(nl, nlh, NULL, NULL);
}

int rtnl_veth_add(Rtnl *nl, const char *name, int master_ifindex, const char *peer_name, int peer_netns_fd)
{
        char buf[RTNL_REQUEST_SIZE];
        struct ifinfomsg *ifm;
        struct nlmsghdr *nlh = put_link_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifm);
        struct nlattr *linkinfo, *data, *peer;

        /* Up and enslaved from the start: the kernel applies both while it creates the link. */
        ifm->ifi_flags = IFF_UP;
        ifm->ifi_change = IFF_UP;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) master_ifindex);
        linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        /* The peer's attributes follow an ifinfomsg of its own inside VETH_INFO_PEER. */
        peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, linkinfo);
        return rtnl_call(nl, nlh, NULL, NULL);
}

int rtnl_addr_add(Rtnl *nl, int ifindex, uint32_t address, unsigned prefixlen)
{
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct ifaddrmsg *ifa;
        uint32_t a = htonl(address), broadcast = htonl(address | (prefixlen ? UINT32_MAX >> prefixlen : 0));
        int r;

        nlh->nlmsg_type = RTM_NEWADDR;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = ifindex;
        mnl_attr_put(nlh, IFA_LOCAL, sizeof(a), &a);
        mnl_attr_put(nlh, IFA_ADDRESS, sizeof(a), &a);
        mnl_attr_put(nlh, IFA_BROADCAST, sizeof(broadcast), &broadcast);
        r = rtnl_call(nl, nlh, NULL, NULL);
        return r == -EEXIST ? 0 : r;
}

int rtnl_route_add_default(Rtnl *nl, int ifindex, uint32_t gateway)
{
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct rtmsg *rtm;
        uint32_t gw = htonl(gateway);

        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_BOOT;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put(nlh, RTA_GATEWAY, sizeof(gw), &gw);
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t) ifindex);
        return rtnl_call(nl, nlh, NULL, NULL);
}

int rtnl_addr_add6(Rtnl *nl, int ifindex, const struct in6_addr *address, unsigned prefixlen)
{
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct ifaddrmsg *ifa;
        int r;

        nlh->nlmsg_type = RTM_NEWADDR;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_INET6;
        ifa->ifa_prefixlen = prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_flags = IFA_F_NODAD;
        ifa->ifa_index = ifindex;
        mnl_attr_put(nlh, IFA_LOCAL, sizeof(*address), address);
        mnl_attr_put(nlh, IFA_ADDRESS, sizeof(*address), address);
        r = rtnl_call(nl, nlh, NULL, NULL);
        return r == -EEXIST ? 0 : r;
}

int rtnl_route_add_default6(Rtnl *nl, int ifindex, const struct in6_addr *gateway)
{
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct rtmsg *rtm;

        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET6;
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_BOOT;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put(nlh, RTA_GATEWAY, sizeof(*gateway), gateway);
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t) ifindex);
        return rtnl_call(nl, nlh, NULL, NULL);
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
        GArray *routes = data;
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        RtnlRoute route = { .prefixlen = rtm->rtm_dst_len };
        uint32_t table = rtm->rtm_table;
        const struct nlattr *a;

        if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET || rtm->rtm_type != RTN_UNICAST ||
            rtm->rtm_dst_len == 0)
                return MNL_CB_OK;
        mnl_attr_for_each(a, nlh, sizeof(*rtm))
        {
                switch (mnl_attr_get_type(a)) {
                case RTA_DST:
                        if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                                route.dst = ntohl(mnl_attr_get_u32(a));
                        break;
                case RTA_OIF:
                        if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                                route.oif = (int) mnl_attr_get_u32(a);
                        break;
                case RTA_TABLE:
                        if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                                table = mnl_attr_get_u32(a);
                        break;
                }
        }
        if (table == RT_TABLE_MAIN)
                g_array_append_val(routes, route);
        return MNL_CB_OK;
}

int rtnl_route_list_ipv4(Rtnl *nl, RtnlRoute **ret, size_t *ret_n)
{
        char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        g_autoptr(GArray) routes = g_array_new(false, true, sizeof(RtnlRoute));
        struct rtmsg *rtm;
        int r;

        nlh->nlmsg_type = RTM_GETROUTE;
        nlh->nlmsg_flags = NLM_F_DUMP;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        r = rtnl_call(nl, nlh, route_cb, routes);
        if (r < 0)
                return r;
        *ret_n = routes->len;
        *ret = (RtnlRoute *) g_array_free(g_steal_pointer(&routes), false);
        return 0;
}

static int link_stats_cb(const struct nlmsghdr *nlh, void *data)
{
        uint64_t *sum = data;
        const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        if (nlh->nlmsg_type != RTM_NEWLINK || (ifm->ifi_flags & IFF_LOOPBACK))
                return MNL_CB_OK;
        mnl_attr_for_each(a, nlh, sizeof(*ifm))
        {
                struct rtnl_link_stats64 st;

                if (mnl_attr_get_type(a) != IFLA_STATS64 || mnl_attr_get_payload_len(a) < sizeof(st))
                        continue;
                memcpy(&st, mnl_attr_get_payload(a), sizeof(st));
                sum[0] += st.rx_bytes;
                sum[1] += st.tx_bytes;
        }
        return MNL_CB_OK;
}

int rtnl_link_stats_sum(Rtnl *nl, uint64_t *ret_rx_bytes, uint64_t *ret_tx_bytes)
{
        char buf[RTNL_REQUEST_SIZE];
        uint64_t sum[2] = {};
        int r;

        r = rtnl_call(nl, put_link_header(buf, RTM_GETLINK, NLM_F_DUMP, NULL), link_stats_cb, sum);
        if (r < 0)
                return r;
        *ret_rx_bytes = sum[0];
        *ret_tx_bytes = sum[1];
        return 0;
}
