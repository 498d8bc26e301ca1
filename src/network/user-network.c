/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "network/cni.h"
#include "network/user-network.h"
#include "shared/json-build.h"
#include "shared/json-read.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

bool user_network_name_is_valid(const char *name)
{
        static const char *const reserved[] = { "bridge", "host", "none", "default" };

        if (isempty(name) || strlen(name) > USER_NETWORK_NAME_MAX || !g_ascii_isalnum(name[0]) ||
            strspn(name, NAME_CHARS) != strlen(name))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (streq(name, reserved[i]))
                        return false;
        return true;
}

void user_network_bridge_name(const char *id, char ret[static IFNAMSIZ])
{
        snprintf(ret, IFNAMSIZ, "br-%.12s", id);
}

static bool id_is_valid(const char *id)
{
        return id && strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64;
}

static bool label_is_valid(const char *l)
{
        const char *eq = strchr(l, '=');

        /* The key is a word of printable characters; the value anything but a line break. */
        if (!eq || eq == l || strpbrk(l, "\n\r"))
                return false;
        for (const char *c = l; c < eq; c++)
                if (!g_ascii_isgraph(*c))
                        return false;
        return true;
}

UserNetwork *user_network_free(UserNetwork *n)
{
        if (!n)
                return NULL;
        g_free(n->name);
        g_free(n->driver);
        g_strfreev(n->labels);
        g_free(n->cni_config);
        g_free(n);
        return NULL;
}

static const TakenSubnet *find_overlap(const Subnet *s, const TakenSubnet *taken, size_t n_taken)
{
        for (size_t i = 0; i < n_taken; i++)
                if (subnet_overlaps(s, &taken[i].subnet))
                        return &taken[i];
        return NULL;
}

/* The lowest /24 of the pool that overlaps nothing taken. */
static int pool_allocate(const TakenSubnet *taken, size_t n_taken, Subnet *ret)
{
        Subnet pool;
        uint32_t step = UINT32_C(1) << (32 - USER_NETWORK_POOL_PREFIX);

        (void) subnet_parse(USER_NETWORK_POOL, &pool);
        for (uint64_t a = pool.network; subnet_contains(&pool, (uint32_t) a); a += step) {
                Subnet s = { .network = (uint32_t) a, .prefixlen = USER_NETWORK_POOL_PREFIX };

                if (!find_overlap(&s, taken, n_taken)) {
                        *ret = s;
                        return 0;
                }
        }
        return -EADDRNOTAVAIL;
}

/* Everything but the subnet's overlaps: shared by new and from_json. */
static int check(const UserNetwork *n, BerthError *e)
{
        char s[SUBNET_STRING_MAX], a[INET_ADDRSTRLEN];

        if (!user_network_name_is_valid(n->name))
                return berth_error_set(e, -EINVAL,
                                       "invalid network name '%s': a letter or digit, then letters, digits, "
                                       "'_', '.' or '-' (at most %d), and not bridge, host, none or default",
                                       strempty(n->name), USER_NETWORK_NAME_MAX);
        if (!id_is_valid(n->id))
                return berth_error_set(e, -EINVAL, "invalid network id '%s'", n->id);
        if (user_network_is_cni(n)) {
                STRV_FOREACH (l, n->labels)
                        if (!label_is_valid(*l))
                                return berth_error_set(e, -EINVAL, "invalid label '%s': KEY=VALUE expected",
                                                       *l);
                return cni_conflist_check(n->cni_config, e);
        }
        if (!streq_ptr(n->driver, USER_NETWORK_DRIVER_BRIDGE))
                return berth_error_set(e, -EOPNOTSUPP,
                                       "network driver '%s' is not supported (bridge and cni are)",
                                       strempty(n->driver));
        subnet_format(&n->subnet, s);
        if (n->gateway <= n->subnet.network || n->gateway > subnet_last_host(&n->subnet))
                return berth_error_set(e, -EINVAL, "gateway %s is not a host address of %s",
                                       ipv4_format(n->gateway, a), s);
        STRV_FOREACH (l, n->labels)
                if (!label_is_valid(*l))
                        return berth_error_set(e, -EINVAL, "invalid label '%s': KEY=VALUE expected", *l);
        /* A container's IPv6 host part is its IPv4 one (subnet6.h): the IPv6 host part must hold it. */
        if (n->ipv6 && 32 - n->subnet.prefixlen > 128 - n->subnet6.prefixlen) {
                char s6[SUBNET6_STRING_MAX];

                subnet6_format(&n->subnet6, s6);
                return berth_error_set(e, -EINVAL, "IPv6 subnet %s is smaller than %s", s6, s);
        }
        return 0;
}

int user_network_new(const char *name, const char *id, const UserNetworkOptions *options,
                     const TakenSubnet *taken, size_t n_taken, uint64_t created_usec, UserNetwork **ret,
                     BerthError *e)
{
        _cleanup_(user_network_freep) UserNetwork *n = g_new0(UserNetwork, 1);
        char s[SUBNET_STRING_MAX];
        int r;

        n->name = g_strdup(name);
        g_strlcpy(n->id, strempty(id), sizeof(n->id));
        n->driver = g_strdup(isempty(options->driver) ? USER_NETWORK_DRIVER_BRIDGE : options->driver);
        n->internal = options->internal;
        n->labels = options->labels ? g_strdupv(options->labels) : g_new0(char *, 1);
        n->created_usec = created_usec;
        if (!user_network_name_is_valid(name))
                return check(n, e);
        if (user_network_is_cni(n)) {
                /* The conflist says it all: its IPAM plugin has the addresses. */
                if (!isempty(options->subnet) || !isempty(options->gateway) || options->internal ||
                    options->ipv6)
                        return berth_error_set(e, -EINVAL,
                                               "driver cni takes no --subnet, --gateway, --internal or "
                                               "--ipv6: the CNI configuration holds them");
                if (isempty(options->cni_config))
                        return berth_error_set(e, -EINVAL,
                                               "driver cni needs a CNI configuration (--cni-config)");
                n->cni_config = g_strdup(options->cni_config);
                r = check(n, e);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(n);
                return 0;
        }
        if (!isempty(options->cni_config))
                return berth_error_set(e, -EINVAL, "a CNI configuration needs --driver cni");
        if (!isempty(options->subnet)) {
                const TakenSubnet *t;

                if (subnet_parse(options->subnet, &n->subnet) < 0)
                        return berth_error_set(e, -EINVAL,
                                               "invalid subnet '%s': an IPv4 network in CIDR form, prefix "
                                               "8 to 30, host bits zero (e.g. 10.90.7.0/24)",
                                               options->subnet);
                t = find_overlap(&n->subnet, taken, n_taken);
                if (t) {
                        char o[SUBNET_STRING_MAX];

                        subnet_format(&t->subnet, o);
                        return berth_error_set(e, -EADDRINUSE, "subnet %s overlaps %s of %s",
                                               options->subnet, o, t->owner);
                }
        } else {
                r = pool_allocate(taken, n_taken, &n->subnet);
                if (r < 0)
                        return berth_error_set(e, r,
                                               "no free subnet left in berth's pool %s: give one with "
                                               "--subnet",
                                               USER_NETWORK_POOL);
        }
        subnet_format(&n->subnet, s);
        if (!isempty(options->gateway)) {
                if (ipv4_parse(options->gateway, &n->gateway) < 0)
                        return berth_error_set(e, -EINVAL, "invalid gateway '%s': an IPv4 address expected",
                                               options->gateway);
                if (isempty(options->subnet))
                        return berth_error_set(e, -EINVAL, "--gateway needs --subnet");
        } else
                n->gateway = subnet_first_host(&n->subnet);
        if (!isempty(options->subnet6) && !options->ipv6)
                return berth_error_set(e, -EINVAL, "an IPv6 subnet needs --ipv6");
        if (options->ipv6) {
                if (isempty(options->subnet6))
                        return berth_error_set(e, -EINVAL,
                                               "--ipv6 needs an IPv6 --subnet (e.g. fd00:1::/64)");
                if (subnet6_parse(options->subnet6, &n->subnet6) < 0)
                        return berth_error_set(e, -EINVAL,
                                               "invalid IPv6 subnet '%s': CIDR form, prefix 16 to 112, host "
                                               "bits zero (e.g. fd00:1::/64)",
                                               options->subnet6);
                n->ipv6 = true;
        }
        r = check(n, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

const char *user_network_label(const UserNetwork *n, const char *key)
{
        size_t k = strlen(key);

        STRV_FOREACH (l, n->labels)
                if (strneq(*l, key, k) && (*l)[k] == '=')
                        return *l + k + 1;
        return NULL;
}

char *user_network_to_json(const UserNetwork *n)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonGenerator) g = json_generator_new();
        g_autoptr(JsonNode) root = NULL;
        char s[SUBNET_STRING_MAX], a[INET_ADDRSTRLEN];

        subnet_format(&n->subnet, s);
        json_builder_begin_object(b);
        json_build_string(b, "Name", n->name);
        json_build_string(b, "Id", n->id);
        json_build_string(b, "Driver", n->driver);
        json_build_string(b, "Subnet", user_network_is_cni(n) ? "" : s);
        json_build_string(b, "Gateway", user_network_is_cni(n) ? "" : ipv4_format(n->gateway, a));
        if (user_network_is_cni(n))
                json_build_string(b, "CniConfig", n->cni_config);
        json_build_bool(b, "Internal", n->internal);
        json_builder_set_member_name(b, "Labels");
        json_builder_begin_object(b);
        STRV_FOREACH (l, n->labels) {
                const char *eq = strchr(*l, '=');
                _cleanup_free_ char *key = g_strndup(*l, eq - *l);

                json_build_string(b, key, eq + 1);
        }
        json_builder_end_object(b);
        json_build_int(b, "Created", (gint64) n->created_usec);
        if (n->ipv6) {
                char s6[SUBNET6_STRING_MAX];

                subnet6_format(&n->subnet6, s6);
                json_build_bool(b, "EnableIPv6", true);
                json_build_string(b, "Subnet6", s6);
        }
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        json_generator_set_root(g, root);
        json_generator_set_pretty(g, true);
        return json_generator_to_data(g, NULL);
}

int user_network_from_json(const char *text, UserNetwork **ret, BerthError *e)
{
        g_autoptr(JsonParser) p = json_parser_new();
        _cleanup_(user_network_freep) UserNetwork *n = g_new0(UserNetwork, 1);
        const char *id = NULL, *subnet = NULL, *gateway = NULL;
        JsonObject *o, *labels = NULL;
        g_autoptr(GPtrArray) l = g_ptr_array_new();
        bool present = false;
        int64_t created = 0;
        int r;

        if (!json_parser_load_from_data(p, text, -1, NULL) || !json_parser_get_root(p) ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
                return berth_error_set(e, -EBADMSG, "network record is not a JSON object");
        o = json_node_get_object(json_parser_get_root(p));
        r = json_read_string_dup(o, "Name", &n->name);
        if (r >= 0)
                r = json_read_string_dup(o, "Driver", &n->driver);
        if (r >= 0)
                r = json_read_string(o, "Id", &id);
        if (r >= 0)
                r = json_read_string(o, "Subnet", &subnet);
        if (r >= 0)
                r = json_read_string(o, "Gateway", &gateway);
        if (r >= 0)
                r = json_read_bool(o, "Internal", &n->internal);
        if (r >= 0)
                r = json_read_object(o, "Labels", &labels);
        if (r >= 0)
                r = json_read_int64(o, "Created", &present, &created);
        if (r >= 0)
                r = json_read_bool(o, "EnableIPv6", &n->ipv6);
        if (r >= 0 && n->ipv6) {
                const char *s6 = NULL;

                r = json_read_string(o, "Subnet6", &s6);
                if (r >= 0 && subnet6_parse(s6, &n->subnet6) < 0)
                        r = -EBADMSG;
        }
        if (r >= 0)
                r = json_read_string_dup(o, "CniConfig", &n->cni_config);
        if (r < 0 || !id || created < 0 ||
            (!user_network_is_cni(n) &&
             (subnet_parse(subnet, &n->subnet) < 0 || ipv4_parse(gateway, &n->gateway) < 0)))
                return berth_error_set(e, -EBADMSG, "network record '%s': a member is missing or malformed",
                                       strna(n->name));
        g_strlcpy(n->id, id, sizeof(n->id));
        n->created_usec = (uint64_t) created;
        if (labels) {
                g_autoptr(GList) members = json_object_get_members(labels);

                for (GList *m = members; m; m = m->next) {
                        const char *v;

                        if (json_read_string(labels, m->data, &v) < 0 || !v)
                                return berth_error_set(e, -EBADMSG,
                                                       "network record '%s': label '%s' is "
                                                       "not a string",
                                                       n->name, (const char *) m->data);
                        g_ptr_array_add(l, g_strdup_printf("%s=%s", (const char *) m->data, v));
                }
        }
        g_ptr_array_add(l, NULL);
        n->labels = (char **) g_ptr_array_steal(l, NULL);
        {
                _cleanup_berth_error_ BerthError c = BERTH_ERROR_INIT;

                if (check(n, &c) < 0)
                        return berth_error_set(e, -EBADMSG, "network record '%s' is invalid: %s",
                                               strna(n->name), berth_error_message(&c));
        }
        *ret = TAKE_PTR(n);
        return 0;
}
