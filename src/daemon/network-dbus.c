/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/container-cni.h"
#include "daemon/container-network.h"
#include "daemon/container.h"
#include "daemon/network-dbus.h"
#include "daemon/network.h"
#include "daemon/polkit.h"
#include "shared/log.h"

/* As for images: the getters and methods get the UserNetwork as userdata, and find the Manager as the
 * userdata of the current slot (the fallback vtable is registered with it). */
static Manager *network_bus_manager(sd_bus *bus)
{
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus));
}

int network_object_path(const char *name, char **ret)
{
        return sd_bus_path_encode("/org/berth1/network", name, ret);
}

/* A user network, or the default one ("bridge", which has an object too but is no user network). */
static UserNetwork *network_lookup(Manager *m, const char *name)
{
        if (streq(name, "bridge"))
                return (UserNetwork *) manager_bridge_record(m);
        return g_hash_table_lookup(m->networks, name);
}

static int network_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **found, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        UserNetwork *n;
        int r;

        r = sd_bus_path_decode(path, "/org/berth1/network", &name);
        if (r <= 0)
                return r;
        n = network_lookup(m, name);
        if (!n)
                return 0;
        *found = n;
        return 1;
}

static int network_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                   sd_bus_error *error)
{
        Manager *m = userdata;
        g_autoptr(GPtrArray) l = g_ptr_array_new_with_free_func(free);
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init(&it, m->networks);
        while (g_hash_table_iter_next(&it, &k, NULL)) {
                char *p;

                if (network_object_path(k, &p) < 0)
                        return -ENOMEM;
                g_ptr_array_add(l, p);
        }
        if (manager_bridge_record(m)) {
                char *p;

                if (network_object_path("bridge", &p) < 0)
                        return -ENOMEM;
                g_ptr_array_add(l, p);
        }
        g_ptr_array_add(l, NULL);
        *nodes = (char **) g_ptr_array_steal(l, NULL);
        return 1;
}

/* NoSuchNetwork, NameInUse, NetworkInUse, SubnetInUse by errno; a malformed option is InvalidArgs. */
static int bus_error_set_network(sd_bus_error *error, const BerthError *e)
{
        switch (e->error) {
        case -ENOENT:
                return bus_error_set(error, e, BERTH_ERROR_NO_SUCH_NETWORK);
        case -EEXIST:
                return bus_error_set(error, e, BERTH_ERROR_NAME_IN_USE);
        case -EBUSY:
                return bus_error_set(error, e, BERTH_ERROR_NETWORK_IN_USE);
        case -EINVAL:
                return bus_error_set(error, e, SD_BUS_ERROR_INVALID_ARGS);
        case -EADDRINUSE:
                sd_bus_error_set(error, BERTH_ERROR_SUBNET_IN_USE, berth_error_message(e));
                return e->error;
        case -EADDRNOTAVAIL:
                sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED, berth_error_message(e));
                return e->error;
        case -EOPNOTSUPP:
                sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, berth_error_message(e));
                return e->error;
        default:
                return bus_error_set_failed(error, e);
        }
}

#define NETWORK_PROPERTY(fn, type, expr)                                                                    \
        static int fn(sd_bus *bus, const char *path, const char *interface, const char *property,           \
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)                           \
        {                                                                                                   \
                const UserNetwork *n = userdata;                                                            \
                return sd_bus_message_append(reply, type, expr);                                            \
        }

NETWORK_PROPERTY(property_get_name, "s", n->name)
NETWORK_PROPERTY(property_get_id, "s", n->id)
NETWORK_PROPERTY(property_get_driver, "s", n->driver)
NETWORK_PROPERTY(property_get_internal, "b", (int) n->internal)
NETWORK_PROPERTY(property_get_created, "t", n->created_usec)
NETWORK_PROPERTY(property_get_ipv6, "b", (int) n->ipv6)
NETWORK_PROPERTY(property_get_cni_config, "s", strempty(n->cni_config))

static int property_get_subnet6(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const UserNetwork *n = userdata;
        char s[SUBNET6_STRING_MAX] = "";

        if (n->ipv6)
                subnet6_format(&n->subnet6, s);
        return sd_bus_message_append(reply, "s", s);
}

static int property_get_subnet(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const UserNetwork *n = userdata;
        char s[SUBNET_STRING_MAX] = "";

        if (!user_network_is_cni(n)) /* its IPAM plugin's */
                subnet_format(&n->subnet, s);
        return sd_bus_message_append(reply, "s", s);
}

static int property_get_gateway(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const UserNetwork *n = userdata;
        char a[INET_ADDRSTRLEN] = "";

        return sd_bus_message_append(reply, "s", user_network_is_cni(n) ? a : ipv4_format(n->gateway, a));
}

static int property_get_containers(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        g_auto(GStrv) l = manager_network_containers(network_bus_manager(bus), userdata);

        return sd_bus_message_append_strv(reply, l);
}

/* Endpoints a(sssss): name, id, IPv4 address/prefix, IPv6 address/prefix ("" without), MAC. */
static int property_get_endpoints(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const UserNetwork *n = userdata;
        g_autoptr(GArray) l = manager_network_endpoints(network_bus_manager(bus), n->name);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sssss)");
        for (guint i = 0; r >= 0 && i < l->len; i++) {
                const NetworkEndpoint *e = &g_array_index(l, NetworkEndpoint, i);

                r = sd_bus_message_append(reply, "(sssss)", e->name, e->id, e->ipv4, e->ipv6, e->mac);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int property_get_labels(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const UserNetwork *n = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{ss}");
        STRV_FOREACH (l, n->labels) {
                const char *eq = strchr(*l, '=');
                _cleanup_free_ char *key = g_strndup(*l, eq - *l);

                if (r >= 0)
                        r = sd_bus_message_append(reply, "{ss}", key, eq + 1);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

void network_send_members_changed(Manager *m, const char *name)
{
        _cleanup_free_ char *path = NULL;

        /* Only networks with an object: user networks, and the default one once it exists. */
        if (!m->bus || !(g_hash_table_contains(m->networks, name) ||
                         (streq(name, "bridge") && manager_bridge_record(m))))
                return;
        if (network_object_path(name, &path) >= 0)
                (void) sd_bus_emit_properties_changed(m->bus, path, "org.berth1.Network", "Containers",
                                                      "Endpoints", NULL);
}

void network_send_signal(Manager *m, const UserNetwork *n, bool new_network)
{
        _cleanup_free_ char *path = NULL;

        if (!m->bus || network_object_path(n->name, &path) < 0)
                return;
        (void) sd_bus_emit_signal(m->bus, "/org/berth1", "org.berth1.Manager",
                                  new_network ? "NetworkNew" : "NetworkRemoved", "sso", n->id, n->name,
                                  path);
}

/* ---- CreateNetwork(s name, a{sv} options) ---- */

typedef struct CreateOptions {
        char *driver, *subnet, *gateway, *subnet6, *cni_config;
        bool internal, ipv6;
        char **labels;
} CreateOptions;

static void create_options_done(CreateOptions *o)
{
        free(o->driver);
        free(o->subnet);
        free(o->gateway);
        free(o->subnet6);
        free(o->cni_config);
        g_strfreev(o->labels);
}

static int read_create_option(sd_bus_message *message, const char *key, void *userdata, sd_bus_error *error)
{
        CreateOptions *o = userdata;

        if (streq(key, "driver"))
                return bus_option_read_string(message, key, &o->driver, error);
        if (streq(key, "subnet"))
                return bus_option_read_string(message, key, &o->subnet, error);
        if (streq(key, "gateway"))
                return bus_option_read_string(message, key, &o->gateway, error);
        if (streq(key, "internal"))
                return bus_option_read_bool(message, key, &o->internal, error);
        if (streq(key, "labels"))
                return bus_option_read_strv(message, key, &o->labels, error);
        if (streq(key, "ipv6"))
                return bus_option_read_bool(message, key, &o->ipv6, error);
        if (streq(key, "ipv6_subnet"))
                return bus_option_read_string(message, key, &o->subnet6, error);
        if (streq(key, "cni_config"))
                return bus_option_read_string(message, key, &o->cni_config, error);
        return bus_option_unknown(key, error);
}

int bus_method_create_network(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_(create_options_done) CreateOptions o = {};
        _cleanup_free_ char *path = NULL;
        Manager *m = userdata;
        UserNetwork *n;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_create_option, &o, error);
        if (r < 0)
                return r;

        const char *details[] = { "network", name, "verb", "create", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_NETWORKS, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_create_network(m, name,
                                   &(UserNetworkOptions){ .driver = o.driver,
                                                          .subnet = o.subnet,
                                                          .gateway = o.gateway,
                                                          .internal = o.internal,
                                                          .labels = o.labels,
                                                          .ipv6 = o.ipv6,
                                                          .subnet6 = o.subnet6,
                                                          .cni_config = o.cni_config },
                                   &n, &e);
        if (r < 0)
                return bus_error_set_network(error, &e);
        r = network_object_path(n->name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}

/* ---- Network.Remove(b force), and the Manager's RemoveNetwork(s name, b force) ---- */

static int network_method_remove(sd_bus_message *message, Manager *m, UserNetwork *n, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        int force, r;

        r = sd_bus_message_read(message, "b", &force);
        if (r < 0)
                return r;
        if (n == manager_bridge_record(m))
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "bridge is the default network: it cannot be removed");

        const char *details[] = { "network", n->name, "verb", "remove", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_NETWORKS, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_remove_network(m, n, force, &e);
        if (r < 0)
                return bus_error_set_network(error, &e);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return network_method_remove(message, network_bus_manager(sd_bus_message_get_bus(message)), userdata,
                                     error);
}

/* The network a Manager method names in its first argument (by name, "bridge" included, or id prefix). */
static int network_from_message(sd_bus_message *message, Manager *m, UserNetwork **ret, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        *ret = network_lookup(m, name);
        if (*ret)
                return 0;
        r = manager_find_network(m, name, ret, &e);
        if (r < 0)
                return bus_error_set_network(error, &e);
        return 0;
}

int bus_method_remove_network(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        UserNetwork *n;
        int r;

        r = network_from_message(message, m, &n, error);
        if (r < 0)
                return r;
        return network_method_remove(message, m, n, error);
}

int bus_method_get_network(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *path = NULL;
        Manager *m = userdata;
        UserNetwork *n;
        int r;

        r = network_from_message(message, m, &n, error);
        if (r < 0)
                return r;
        r = network_object_path(n->name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* ListNetworks() -> a(sssssbo): name, id, driver, subnet, gateway, internal, path; sorted by name. */
int bus_method_list_networks(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        guint len;
        g_autofree gpointer *names = g_hash_table_get_keys_as_array(m->networks, &len);
        int r;

        qsort(names, len, sizeof(gpointer), (int (*)(const void *, const void *)) compare_names);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssssbo)");
        for (guint i = 0; r >= 0 && i < len; i++) {
                const UserNetwork *n = g_hash_table_lookup(m->networks, names[i]);
                _cleanup_free_ char *path = NULL;
                char s[SUBNET_STRING_MAX] = "", a[INET_ADDRSTRLEN] = "";

                if (!user_network_is_cni(n)) {
                        subnet_format(&n->subnet, s);
                        ipv4_format(n->gateway, a);
                }
                r = network_object_path(n->name, &path);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(sssssbo)", n->name, n->id, n->driver, s, a,
                                                  (int) n->internal, path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* PruneNetworks(a{sv} options) -> (as removed): no option yet. */
int bus_method_prune_networks(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_auto(GStrv) removed = NULL;
        Manager *m = userdata;
        int r;

        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;

        const char *details[] = { "verb", "prune", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_NETWORKS, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_prune_networks(m, &removed, &e);
        if (r < 0)
                return bus_error_set_network(error, &e);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, removed);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ---- Network.Connect(s container, a{sv} options), Network.Disconnect(s container, b force), and the
 * Manager's ConnectNetwork(s network, …), DisconnectNetwork(s network, …): the by-name forms find the
 * network and call the same handler; they also take "bridge", the default network, which has no object. ----
 */

typedef struct ConnectOptions {
        char *ip;
        char **aliases;
} ConnectOptions;

static void connect_options_done(ConnectOptions *o)
{
        free(o->ip);
        g_strfreev(o->aliases);
}

static int read_connect_option(sd_bus_message *message, const char *key, void *userdata, sd_bus_error *error)
{
        ConnectOptions *o = userdata;

        if (streq(key, "ip"))
                return bus_option_read_string(message, key, &o->ip, error);
        if (streq(key, "aliases"))
                return bus_option_read_strv(message, key, &o->aliases, error);
        return bus_option_unknown(key, error);
}

static int bus_error_set_connect(sd_bus_error *error, const BerthError *e)
{
        switch (e->error) {
        case -ENOENT:
                return bus_error_set(error, e, BERTH_ERROR_NO_SUCH_NETWORK);
        case -EINVAL:
                return bus_error_set(error, e, SD_BUS_ERROR_INVALID_ARGS);
        default:
                return bus_error_set_failed(error, e);
        }
}

static void on_cni_changed(Container *c, int r, const char *error, void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = userdata;

        if (r < 0)
                (void) sd_bus_reply_method_errorf(message, SD_BUS_ERROR_FAILED, "%s", error);
        else
                (void) sd_bus_reply_method_return(message, NULL);
}

static int network_method_connect(sd_bus_message *message, Manager *m, const char *network, bool connect,
                                  sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_(connect_options_done) ConnectOptions o = {};
        const char *key;
        Container *c;
        int force = false, r;

        r = sd_bus_message_read(message, "s", &key);
        if (r < 0)
                return r;
        if (connect)
                r = bus_read_options(message, read_connect_option, &o, error);
        else
                r = sd_bus_message_read(message, "b", &force);
        if (r < 0)
                return r;
        r = manager_find_container(m, key, &e, &c);
        if (r < 0)
                return bus_error_set_container_lookup(error, &e);

        const char *verb = connect ? "connect" : "disconnect";
        const char *details[] = { "network", network, "container", c->name, "verb", verb, NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_NETWORKS, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        /* A running container's CNI network: its plugins run in a child, the reply follows them. */
        r = container_cni_change(c, network, connect, o.ip, o.aliases, force, on_cni_changed, message, &e);
        if (r > 0) {
                sd_bus_message_ref(message);
                return 1;
        }
        if (r < 0)
                return bus_error_set_connect(error, &e);
        if (connect)
                r = container_connect(c, network, o.ip, o.aliases, &e);
        else
                r = container_disconnect(c, network, force, &e);
        if (r < 0)
                return connect || r != -ENOENT ? bus_error_set_connect(error, &e)
                                               : bus_error_set_failed(error, &e);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_connect(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        const UserNetwork *n = userdata;

        return network_method_connect(message, network_bus_manager(sd_bus_message_get_bus(message)), n->name,
                                      true, error);
}

static int method_disconnect(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        const UserNetwork *n = userdata;

        return network_method_connect(message, network_bus_manager(sd_bus_message_get_bus(message)), n->name,
                                      false, error);
}

/* The network by name: a user network, or "bridge"; the message is left at the remaining arguments. */
static int redirect_method_to_network(sd_bus_message *message, Manager *m, bool connect, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        UserNetwork *n;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (streq(name, "bridge"))
                return network_method_connect(message, m, name, connect, error);
        r = manager_find_network(m, name, &n, &e);
        if (r < 0)
                return bus_error_set_network(error, &e);
        return network_method_connect(message, m, n->name, connect, error);
}

int bus_method_connect_network(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_network(message, userdata, true, error);
}

int bus_method_disconnect_network(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_network(message, userdata, false, error);
}

static const sd_bus_vtable network_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Id", "s", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Driver", "s", property_get_driver, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Subnet", "s", property_get_subnet, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Gateway", "s", property_get_gateway, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Internal", "b", property_get_internal, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Created", "t", property_get_created, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Labels", "a{ss}", property_get_labels, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Containers", "as", property_get_containers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Endpoints", "a(sssss)", property_get_endpoints, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("EnableIPv6", "b", property_get_ipv6, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Subnet6", "s", property_get_subnet6, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CniConfig", "s", property_get_cni_config, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_ARGS("b", force), SD_BUS_NO_RESULT, method_remove,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Connect", SD_BUS_ARGS("s", container, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_connect, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Disconnect", SD_BUS_ARGS("s", container, "b", force), SD_BUS_NO_RESULT,
                                method_disconnect, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectImplementation network_object = {
        .path = "/org/berth1/network",
        .interface = "org.berth1.Network",
        .vtable = network_vtable,
        .find = network_object_find,
        .enumerator = network_node_enumerator,
};
