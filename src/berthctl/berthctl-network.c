/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "berthctl.h"
#if BERTHCTL_FULL
#include "shared/json-build.h"
#endif

/* berthctl network create / ls / inspect / rm / prune: user networks (org.berth1.Network). */

static int verb_network_create(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        g_autoptr(GPtrArray) labels = g_ptr_array_new();
        const char *driver = NULL, *subnet = NULL, *gateway = NULL, *id = NULL, *subnet6 = NULL;
        _cleanup_free_ char *id_copy = NULL, *cni_config = NULL;
        bool internal = false, ipv6 = false;
        const char *path;
        int c, r;

        enum { ARG_SUBNET = 0x100, ARG_GATEWAY, ARG_INTERNAL, ARG_LABEL, ARG_IPV6, ARG_CNI_CONFIG };
        static const struct option options[] = { { "driver", required_argument, NULL, 'd' },
                                                 { "subnet", required_argument, NULL, ARG_SUBNET },
                                                 { "gateway", required_argument, NULL, ARG_GATEWAY },
                                                 { "internal", no_argument, NULL, ARG_INTERNAL },
                                                 { "label", required_argument, NULL, ARG_LABEL },
                                                 { "ipv6", no_argument, NULL, ARG_IPV6 },
                                                 { "cni-config", required_argument, NULL, ARG_CNI_CONFIG },
                                                 {} };
        while ((c = getopt_long(argc, argv, "d:", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        driver = optarg;
                        break;
                case ARG_SUBNET: /* Docker's repeatable --subnet: the one with a colon is the IPv6 one */
                        if (strchr(optarg, ':'))
                                subnet6 = optarg;
                        else
                                subnet = optarg;
                        break;
                case ARG_IPV6:
                        ipv6 = true;
                        break;
                case ARG_GATEWAY:
                        gateway = optarg;
                        break;
                case ARG_INTERNAL:
                        internal = true;
                        break;
                case ARG_LABEL:
                        g_ptr_array_add(labels, optarg);
                        break;
                case ARG_CNI_CONFIG: { /* a conflist, sent as text: berthd reads no file of the caller's */
                        g_autoptr(GError) error = NULL;

                        free(cni_config);
                        cni_config = NULL;
                        if (streq(optarg, "-")) {
                                g_autoptr(GIOChannel) in = g_io_channel_unix_new(STDIN_FILENO);

                                if (g_io_channel_read_to_end(in, &cni_config, NULL, &error) !=
                                    G_IO_STATUS_NORMAL)
                                        cni_config = NULL;
                        } else
                                (void) g_file_get_contents(optarg, &cni_config, NULL, &error);
                        if (!cni_config) {
                                fprintf(stderr, "Cannot read the CNI configuration %s: %s\n", optarg,
                                        error ? error->message : "failed");
                                return EXIT_FAILURE;
                        }
                        break;
                }
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "berthctl network create takes one network name.\n");
                return EXIT_USAGE;
        }
        g_ptr_array_add(labels, NULL);

        polkit_agent_open_if_enabled();
        r = manager_new_call("CreateNetwork", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[optind]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && driver)
                r = sd_bus_message_append(m, "{sv}", "driver", "s", driver);
        if (r >= 0 && subnet)
                r = sd_bus_message_append(m, "{sv}", "subnet", "s", subnet);
        if (r >= 0 && gateway)
                r = sd_bus_message_append(m, "{sv}", "gateway", "s", gateway);
        if (r >= 0 && internal)
                r = sd_bus_message_append(m, "{sv}", "internal", "b", 1);
        if (r >= 0 && ipv6)
                r = sd_bus_message_append(m, "{sv}", "ipv6", "b", 1);
        if (r >= 0 && subnet6)
                r = sd_bus_message_append(m, "{sv}", "ipv6_subnet", "s", subnet6);
        if (r >= 0 && cni_config)
                r = sd_bus_message_append(m, "{sv}", "cni_config", "s", cni_config);
        if (r >= 0 && labels->len > 1) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "labels");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, (char **) labels->pdata);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        if (manager_call_message(m, &reply) < 0)
                return EXIT_ERROR;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        {
                sd_bus *bus = NULL;

                if (bus_get(&bus) >= 0 &&
                    sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Network", "Id", NULL,
                                               &id_copy) >= 0)
                        id = id_copy;
        }
        printf("%s\n", strna(id));
        return EXIT_OK;
}

#if BERTHCTL_FULL
/* ls --json: the rest of ListNetworks' array, an object each. */
static int print_networks_json(sd_bus_message *reply)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        const char *name, *id, *driver, *subnet, *gateway, *path;
        int internal, r;

        json_builder_begin_array(b);
        while ((r = sd_bus_message_read(reply, "(sssssbo)", &name, &id, &driver, &subnet, &gateway,
                                        &internal, &path)) > 0) {
                json_builder_begin_object(b);
                json_build_string(b, "Name", name);
                json_build_string(b, "Id", id);
                json_build_string(b, "Driver", driver);
                json_build_string(b, "Subnet", subnet);
                json_build_string(b, "Gateway", gateway);
                json_build_bool(b, "Internal", internal);
                json_builder_end_object(b);
        }
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        json_builder_end_array(b);
        print_json(json_builder_get_root(b));
        return EXIT_OK;
}
#endif

static int verb_network_ls(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *id, *driver, *subnet, *gateway, *path;
        bool quiet = false;
        int internal, c, r;

        static const struct option options[] = { { "quiet", no_argument, NULL, 'q' }, {} };
        while ((c = getopt_long(argc, argv, "q", options, NULL)) >= 0)
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (manager_call("ListNetworks", &reply, NULL) < 0)
                return EXIT_ERROR;
        r = sd_bus_message_enter_container(reply, 'a', "(sssssbo)");
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
#if BERTHCTL_FULL
        if (arg_json)
                return print_networks_json(reply);
#endif
        if (!quiet)
                printf("%-14s %-20s %-8s %-18s %s\n", "NETWORK ID", "NAME", "DRIVER", "SUBNET", "INTERNAL");
        while ((r = sd_bus_message_read(reply, "(sssssbo)", &name, &id, &driver, &subnet, &gateway,
                                        &internal, &path)) > 0) {
                if (quiet)
                        printf("%.12s\n", id);
                else
                        printf("%-14.12s %-20s %-8s %-18s %s\n", id, name, driver, subnet,
                               internal ? "true" : "false");
        }
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        return EXIT_OK;
}

#if BERTHCTL_FULL
/* docker network inspect's shape, for the members berth has. */
static int inspect_one(sd_bus *bus, const char *name, JsonBuilder *b)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *labels = NULL, *endpoints = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        static const char *const strings[] = { "Name", "Id", "Driver", "Created" };
        _cleanup_free_ char *subnet = NULL, *gateway = NULL, *subnet6 = NULL, *cni_config = NULL;
        g_auto(GStrv) containers = NULL;
        const char *path, *k, *v;
        int internal = 0, r;
        uint64_t created = 0;

        if (manager_call("GetNetwork", &reply, "s", name) < 0)
                return -ENOENT;
        r = sd_bus_message_read(reply, "o", &path);
        json_builder_begin_object(b);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(strings); i++) {
                _cleanup_free_ char *s = NULL;

                if (streq(strings[i], "Created")) {
                        r = sd_bus_get_property_trivial(bus, "org.berth1", path, "org.berth1.Network",
                                                        "Created", &error, 't', &created);
                        json_build_int(b, "Created", (gint64) created);
                        continue;
                }
                r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Network", strings[i],
                                               &error, &s);
                if (r >= 0)
                        json_build_string(b, strings[i], s);
        }
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Network", "Subnet",
                                               &error, &subnet);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Network", "Gateway",
                                               &error, &gateway);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, "org.berth1", path, "org.berth1.Network", "Internal",
                                                &error, 'b', &internal);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Network", "Subnet6",
                                               &error, &subnet6);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Network", "CniConfig",
                                               &error, &cni_config);
        if (r >= 0)
                r = sd_bus_get_property_strv(bus, "org.berth1", path, "org.berth1.Network", "Containers",
                                             &error, &containers);
        if (r >= 0)
                r = sd_bus_get_property(bus, "org.berth1", path, "org.berth1.Network", "Labels", &error,
                                        &labels, "a{ss}");
        if (r >= 0)
                r = sd_bus_get_property(bus, "org.berth1", path, "org.berth1.Network", "Endpoints", &error,
                                        &endpoints, "a(sssss)");
        if (r < 0)
                return log_bus_error(&error, r);
        json_build_bool(b, "Internal", internal);
        json_build_bool(b, "EnableIPv6", !isempty(subnet6));
        json_builder_set_member_name(b, "IPAM");
        json_builder_begin_object(b);
        json_build_string(b, "Driver", "default");
        json_builder_set_member_name(b, "Config");
        json_builder_begin_array(b);
        if (!isempty(subnet)) { /* none on a CNI network: its IPAM plugin has them */
                json_builder_begin_object(b);
                json_build_string(b, "Subnet", subnet);
                json_build_string(b, "Gateway", gateway);
                json_builder_end_object(b);
        }
        if (!isempty(subnet6)) {
                json_builder_begin_object(b);
                json_build_string(b, "Subnet", subnet6);
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
        if (!isempty(cni_config)) { /* a CNI network: its conflist, as JSON */
                JsonNode *conflist = json_from_string(cni_config, NULL);

                json_builder_set_member_name(b, "CniConfig");
                if (conflist)
                        json_builder_add_value(b, conflist);
                else
                        json_builder_add_string_value(b, cni_config);
        }
        /* Docker's map: the containers attached now, by id; berth's list of every container created on
         * the network, running or not, as ContainerNames. */
        json_builder_set_member_name(b, "Containers");
        json_builder_begin_object(b);
        r = sd_bus_message_enter_container(endpoints, 'a', "(sssss)");
        while (r >= 0) {
                const char *ename, *eid, *ipv4, *ipv6, *mac;

                r = sd_bus_message_read(endpoints, "(sssss)", &ename, &eid, &ipv4, &ipv6, &mac);
                if (r <= 0)
                        break;
                json_builder_set_member_name(b, eid);
                json_builder_begin_object(b);
                json_build_string(b, "Name", ename);
                json_build_string(b, "MacAddress", mac);
                json_build_string(b, "IPv4Address", ipv4);
                json_build_string(b, "IPv6Address", ipv6);
                json_builder_end_object(b);
        }
        json_builder_end_object(b);
        if (r < 0)
                return log_bus_error(NULL, r);
        json_build_strv(b, "ContainerNames", containers);
        json_builder_set_member_name(b, "Labels");
        json_builder_begin_object(b);
        r = sd_bus_message_enter_container(labels, 'a', "{ss}");
        while (r >= 0 && (r = sd_bus_message_read(labels, "{ss}", &k, &v)) > 0)
                json_build_string(b, k, v);
        json_builder_end_object(b);
        json_builder_end_object(b);
        return r < 0 ? log_bus_error(NULL, r) : 0;
}

static int verb_network_inspect(int argc, char *argv[])
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        sd_bus *bus;
        int ret = EXIT_OK;

        if (argc < 2) {
                fprintf(stderr, "berthctl network inspect takes one or more network names.\n");
                return EXIT_USAGE;
        }
        if (bus_get(&bus) < 0)
                return EXIT_ERROR;
        json_builder_begin_array(b);
        for (int i = 1; i < argc; i++)
                if (inspect_one(bus, argv[i], b) < 0)
                        ret = EXIT_ERROR;
        json_builder_end_array(b);
        print_json(json_builder_get_root(b));
        return ret;
}
#endif

static int verb_network_rm(int argc, char *argv[])
{
        return verb_remove_each(argc, argv, "network rm", "network", "RemoveNetwork", "");
}

static int verb_network_prune(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_auto(GStrv) removed = NULL;
        bool force;
        int r;

        if (parse_force_option(argc, argv, &force) < 0)
                return EXIT_USAGE;
        if (!force && !confirm("This will remove all custom networks not used by at least one container."))
                return EXIT_OK;
        polkit_agent_open_if_enabled();
        if (manager_call("PruneNetworks", &reply, "a{sv}", 0) < 0)
                return EXIT_ERROR;
        r = sd_bus_message_read_strv(reply, &removed);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        if (removed && removed[0]) {
                printf("Deleted Networks:\n");
                STRV_FOREACH (n, removed)
                        printf("%s\n", *n);
        }
        return EXIT_OK;
}

/* network connect [--ip ADDRESS] [--alias NAME]... NETWORK CONTAINER */
static int verb_network_connect(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        g_autoptr(GPtrArray) aliases = g_ptr_array_new();
        const char *ip = NULL;
        int c, r;

        enum { ARG_IP = 0x100, ARG_ALIAS };
        static const struct option options[] = { { "ip", required_argument, NULL, ARG_IP },
                                                 { "alias", required_argument, NULL, ARG_ALIAS },
                                                 {} };
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_IP:
                        ip = optarg;
                        break;
                case ARG_ALIAS:
                        g_ptr_array_add(aliases, optarg);
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 2 != argc) {
                fprintf(stderr, "berthctl network connect takes a network and a container.\n");
                return EXIT_USAGE;
        }
        g_ptr_array_add(aliases, NULL);

        polkit_agent_open_if_enabled();
        r = manager_new_call("ConnectNetwork", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", argv[optind], argv[optind + 1]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && ip)
                r = sd_bus_message_append(m, "{sv}", "ip", "s", ip);
        if (r >= 0 && aliases->len > 1) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "aliases");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, (char **) aliases->pdata);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        return manager_call_message(m, NULL) < 0 ? EXIT_ERROR : EXIT_OK;
}

/* network disconnect [-f] NETWORK CONTAINER */
static int verb_network_disconnect(int argc, char *argv[])
{
        bool force;

        if (parse_force_option(argc, argv, &force) < 0)
                return EXIT_USAGE;
        if (optind + 2 != argc) {
                fprintf(stderr, "berthctl network disconnect takes a network and a container.\n");
                return EXIT_USAGE;
        }
        polkit_agent_open_if_enabled();
        return manager_call("DisconnectNetwork", NULL, "ssb", argv[optind], argv[optind + 1], (int) force) <
                               0
                       ? EXIT_ERROR
                       : EXIT_OK;
}

const Verb network_verbs[] = {
        { "create", "network", "[--subnet CIDR] [--gateway IP] [--internal] [--ipv6] [--label K=V] NAME",
          "Create a user network", verb_network_create },
        { "ls", "network", "[-q]", "List user networks", verb_network_ls },
        { "inspect", "network", "NAME...", "Show networks (bridge too) as JSON",
          FULL_VERB(verb_network_inspect) },
        { "rm", "network", "[-f] NAME...", "Remove user networks", verb_network_rm },
        { "prune", "network", "[-f]", "Remove user networks no container uses", verb_network_prune },
        { "connect", "network", "[--ip IP] [--alias NAME] NETWORK CONTAINER",
          "Connect a container to a network", verb_network_connect },
        { "disconnect", "network", "[-f] NETWORK CONTAINER", "Disconnect a container from a network",
          verb_network_disconnect },
        {}
};
