/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "berthctl-container.h"
#include "berthctl.h"
#if BERTHCTL_FULL
#include "shared/json-build.h"
#endif
#include "shared/berth-errors.h"
#include "berthctl-attach.h"
#include "format.h"
#include "run-options.h"

/* The container verbs that look at or act on existing containers: stop, kill, rm, ps, inspect; run, create
 * and start are in berthctl-run.c. The one verb table of them all ends this file. */

void container_info_done(ContainerInfo *c)
{
        free(c->path);
        free(c->id);
        free(c->name);
        free(c->image);
        free(c->image_id);
        free(c->state);
        free(c->error);
        free(c->unit);
        free(c->config);
        free(c->ip_address);
        free(c->ports);
        g_strfreev(c->command);
        g_strfreev(c->mounts);
        *c = (ContainerInfo){};
}

/* The Ports property ("a(ssqq)", in a variant) as docker ps prints it. */
static int read_ports(sd_bus_message *reply, char **ret)
{
        g_autoptr(GString) s = g_string_new(NULL);
        const char *proto, *address;
        uint16_t host_port, container_port;
        int r;

        r = sd_bus_message_enter_container(reply, 'v', "a(ssqq)");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssqq)");
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, "(ssqq)", &proto, &address, &host_port, &container_port)) > 0)
                g_string_append_printf(s, "%s%s%s%s:%u->%u/%s", s->len ? ", " : "",
                                       strchr(address, ':') ? "[" : "", address,
                                       strchr(address, ':') ? "]" : "", host_port, container_port, proto);
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        free(*ret);
        *ret = g_string_free(g_steal_pointer(&s), false);
        return 0;
}

int container_info_get(const char *path, ContainerInfo *ret, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(container_info_done) ContainerInfo c = {};
        sd_bus *bus;
        int r;

        r = bus_get(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.berth1", path, "org.freedesktop.DBus.Properties", "GetAll", error,
                               &reply, "s", "org.berth1.Container");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                static const struct {
                        const char *name;
                        char type;
                        size_t offset;
                } fields[] = {
                        { "Id", 's', offsetof(ContainerInfo, id) },
                        { "Name", 's', offsetof(ContainerInfo, name) },
                        { "Image", 's', offsetof(ContainerInfo, image) },
                        { "ImageId", 's', offsetof(ContainerInfo, image_id) },
                        { "State", 's', offsetof(ContainerInfo, state) },
                        { "Error", 's', offsetof(ContainerInfo, error) },
                        { "Unit", 's', offsetof(ContainerInfo, unit) },
                        { "Config", 's', offsetof(ContainerInfo, config) },
                        { "IPAddress", 's', offsetof(ContainerInfo, ip_address) },
                        { "Command", 'a', offsetof(ContainerInfo, command) },
                        { "Mounts", 'a', offsetof(ContainerInfo, mounts) },
                        { "ExitCode", 'u', offsetof(ContainerInfo, exit_code) },
                        { "Pid", 'u', offsetof(ContainerInfo, pid) },
                        { "RestartCount", 'u', offsetof(ContainerInfo, restart_count) },
                        { "CreatedUSec", 't', offsetof(ContainerInfo, created_usec) },
                        { "StartedUSec", 't', offsetof(ContainerInfo, started_usec) },
                        { "FinishedUSec", 't', offsetof(ContainerInfo, finished_usec) },
                        { "Tty", 'b', offsetof(ContainerInfo, tty) },
                        { "Interactive", 'b', offsetof(ContainerInfo, interactive) },
                };
                const char *name, *contents;
                char type;
                size_t i;

                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(reply, NULL, &contents);
                if (r < 0)
                        return r;
                type = contents[0];
                if (streq(name, "Ports") && streq(contents, "a(ssqq)")) {
                        r = read_ports(reply, &c.ports);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (i = 0; i < ELEMENTSOF(fields); i++)
                        if (streq(fields[i].name, name) && fields[i].type == type)
                                break;
                if (i >= ELEMENTSOF(fields) || (type == 'a' && !streq(contents, "as"))) {
                        /* A property of a newer berthd, or one we do not show. */
                        r = sd_bus_message_skip(reply, "v");
                } else {
                        void *p = (uint8_t *) &c + fields[i].offset;

                        r = sd_bus_message_enter_container(reply, 'v', contents);
                        if (r < 0)
                                return r;
                        switch (type) {
                        case 's': {
                                const char *s;
                                r = sd_bus_message_read_basic(reply, 's', &s);
                                if (r >= 0) {
                                        free(*(char **) p);
                                        *(char **) p = strdup(s);
                                }
                                break;
                        }
                        case 'a':
                                g_strfreev(*(char ***) p);
                                *(char ***) p = NULL;
                                r = sd_bus_message_read_strv(reply, (char ***) p);
                                break;
                        case 'b': {
                                int b;
                                r = sd_bus_message_read_basic(reply, 'b', &b);
                                *(bool *) p = b;
                                break;
                        }
                        default:
                                r = sd_bus_message_read_basic(reply, type, p);
                        }
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(reply);
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (!c.id || !c.name || !c.state)
                return -EBADMSG;
        c.path = strdup(path);
        *ret = c;
        c = (ContainerInfo){};
        return 0;
}

static int container_get_path(const char *name_or_id, char **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = manager_call("GetContainer", &reply, "s", name_or_id);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(NULL, r);
        *ret = strdup(path);
        return *ret ? 0 : -ENOMEM;
}

int container_lookup(const char *name_or_id, ContainerInfo *ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = container_get_path(name_or_id, &path);
        if (r < 0)
                return r;
        r = container_info_get(path, ret, &error);
        if (r < 0)
                return log_bus_error(&error, r);
        return 0;
}

/* stop's and restart's -t SECONDS as the bus takes it: 0 there is "the default, 10 s", so docker's -t 0
 * (kill at once) becomes 1 µs. -EINVAL after a message naming the verb when it is no number of seconds. */
static int parse_stop_timeout(const char *verb, const char *arg, uint64_t *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(arg, &end, 10);
        if (errno != 0 || end == arg || *end || arg[0] == '-' || v > 365UL * 24 * 3600) {
                fprintf(stderr, "berthctl %s: invalid --time '%s': seconds, 0 or more.\n", verb, arg);
                return -EINVAL;
        }
        *ret = v == 0 ? 1 : v * USEC_PER_SEC;
        return 0;
}

int stop_each(const char *verb, const char *method, uint64_t extra_usec, int argc, char *argv[])
{
        uint64_t timeout = 0;
        int c, r, ret = EXIT_OK;

        static const struct option options[] = { { "time", required_argument, NULL, 't' },
                                                 { "timeout", required_argument, NULL, 't' },
                                                 {} };
        while ((c = getopt_long(argc, argv, "t:", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        if (parse_stop_timeout(verb, optarg, &timeout) < 0)
                                return EXIT_USAGE;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "berthctl %s: at least one container is needed.\n", verb);
                return EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                r = manager_call_quiet(method, (timeout > 0 ? timeout : 10 * USEC_PER_SEC) + extra_usec,
                                       &error, NULL, "st", argv[i], timeout);
                if (r < 0) {
                        log_bus_error(&error, r);
                        ret = EXIT_ERROR;
                } else
                        printf("%s\n", argv[i]);
        }
        return ret;
}

static int verb_stop(int argc, char *argv[])
{
        /* The call returns when the container is gone: allow for the grace period and the kill. */
        return stop_each("stop", "StopContainer", 30 * USEC_PER_SEC, argc, argv);
}

static int verb_kill(int argc, char *argv[])
{
        int c, sig = SIGKILL;

        static const struct option options[] = { { "signal", required_argument, NULL, 's' }, {} };
        while ((c = getopt_long(argc, argv, "s:", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        sig = parse_signal(optarg);
                        if (sig < 0) {
                                fprintf(stderr, "berthctl kill: invalid signal '%s'.\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "berthctl kill: at least one container is needed.\n");
                return EXIT_USAGE;
        }
        return manager_call_each("KillContainer", argv + optind, "", "i", sig);
}

static int verb_rm(int argc, char *argv[])
{
        bool force = false, volumes = false;
        int c, ret = EXIT_OK;

        static const struct option options[] = { { "force", no_argument, NULL, 'f' },
                                                 { "volumes", no_argument, NULL, 'v' },
                                                 {} };
        while ((c = getopt_long(argc, argv, "fv", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'v':
                        volumes = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "berthctl rm: at least one container is needed.\n");
                return EXIT_USAGE;
        }
        if (!volumes)
                return manager_call_each("RemoveContainer", argv + optind, "", "b", force);
        /* -v: the container's anonymous volumes go with it (Docker's). */
        for (int i = optind; i < argc; i++) {
                g_auto(GStrv) names = container_volume_names(argv[i]);
                char *one[] = { argv[i], NULL };

                if (manager_call_each("RemoveContainer", one, "", "b", force) != EXIT_OK) {
                        ret = EXIT_ERROR;
                        continue;
                }
                remove_anonymous_volumes(names);
        }
        return ret;
}

#if BERTHCTL_FULL
static void json_add_time(JsonBuilder *b, const char *name, uint64_t usec)
{
        char when[FORMAT_RFC3339_MAX];

        /* Go's zero time, as docker shows a time that never was. */
        json_build_string(b, name,
                          usec > 0 ? format_rfc3339(when, sizeof(when), usec) : "0001-01-01T00:00:00Z");
}

/* The Engine API's /containers/json shape, as `docker ps --format json` has it. */
static void print_containers_json(GArray *rows)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_array(b);
        for (guint i = 0; i < rows->len; i++) {
                ContainerInfo *ci = &g_array_index(rows, ContainerInfo, i);
                char status[FORMAT_STATUS_MAX];
                g_autofree char *names = g_strconcat("/", strempty(ci->name), NULL);
                g_autofree char *cmd = ci->command ? g_strjoinv(" ", ci->command) : g_strdup("");

                if (!ci->state)
                        continue;
                /* The Engine API's /containers/json shape, as `docker ps` gets it. */
                json_builder_begin_object(b);
                json_build_string(b, "Id", ci->id);
                json_builder_set_member_name(b, "Names");
                json_builder_begin_array(b);
                json_builder_add_string_value(b, names);
                json_builder_end_array(b);
                json_build_string(b, "Image", ci->image);
                json_build_string(b, "ImageID", ci->image_id);
                json_build_string(b, "Command", cmd);
                json_build_int(b, "Created", (gint64) (ci->created_usec / USEC_PER_SEC));
                json_build_string(b, "State", ci->state);
                json_build_string(b, "Status",
                                  format_container_status(status, sizeof(status), ci->state, ci->exit_code,
                                                          ci->started_usec, ci->finished_usec, 0));
                json_build_string(b, "Unit", ci->unit);
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        print_json(json_builder_get_root(b));
}
#endif

static int verb_ps(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        bool all = false, quiet = false, no_trunc = false;
        g_autoptr(GArray) rows = g_array_new(false, true, sizeof(ContainerInfo));
        long last = -1;
        const char *id, *name, *image, *state, *path;
        uint32_t exit_code;
        int c, r;

        g_array_set_clear_func(rows, (GDestroyNotify) container_info_done);

        enum { ARG_NO_TRUNC = 0x100 };
        static const struct option options[] = { { "all", no_argument, NULL, 'a' },
                                                 { "quiet", no_argument, NULL, 'q' },
                                                 { "no-trunc", no_argument, NULL, ARG_NO_TRUNC },
                                                 { "last", required_argument, NULL, 'n' },
                                                 { "latest", no_argument, NULL, 'l' },
                                                 {} };
        while ((c = getopt_long(argc, argv, "aqn:l", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case ARG_NO_TRUNC:
                        no_trunc = true;
                        break;
                case 'n':
                case 'l': {
                        char *end = NULL;
                        last = c == 'l' ? 1 : strtol(optarg, &end, 10);
                        if (c == 'n' && (end == optarg || *end)) {
                                fprintf(stderr, "berthctl ps: invalid --last '%s'.\n", optarg);
                                return EXIT_USAGE;
                        }
                        /* docker: the last N created, in any state. */
                        if (last >= 0)
                                all = true;
                        break;
                }
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "berthctl ps takes no arguments.\n");
                return EXIT_USAGE;
        }

        r = manager_call("ListContainers", &reply, "b", all);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_enter_container(reply, 'a', "(ssssuo)");
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        while ((r = sd_bus_message_read(reply, "(ssssuo)", &id, &name, &image, &state, &exit_code, &path)) >
               0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                ContainerInfo info = {};

                if (last >= 0 && (long) rows->len >= last)
                        break;
                /* The details come from the object; one that went away since the list is not shown. */
                if (container_info_get(path, &info, &error) < 0) {
                        if (quiet) {
                                info.id = strdup(id);
                                g_array_append_val(rows, info);
                        }
                        continue;
                }
                g_array_append_val(rows, info);
        }
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;

#if BERTHCTL_FULL
        if (arg_json) {
                print_containers_json(rows);
                return EXIT_OK;
        }
#endif
        if (quiet) {
                for (guint i = 0; i < rows->len; i++) {
                        ContainerInfo *ci = &g_array_index(rows, ContainerInfo, i);
                        char sid[13];
                        printf("%s\n", no_trunc ? ci->id : short_id(ci->id, sid));
                }
        } else {
                Table *t = table_new("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
                                     "NAMES", NULL);
                for (guint i = 0; i < rows->len; i++) {
                        ContainerInfo *ci = &g_array_index(rows, ContainerInfo, i);
                        char sid[13], when[FORMAT_RELATIVE_MAX], status[FORMAT_STATUS_MAX];
                        /* Empty only when berthd hides it from us (see container_info_fetch_config()). */
                        g_autofree char *cmd = ci->command && ci->command[0]
                                                       ? format_command(ci->command, no_trunc ? 0 : 20)
                                                       : g_strdup("(hidden)");

                        table_add_row(t, no_trunc ? ci->id : short_id(ci->id, sid), strempty(ci->image), cmd,
                                      format_relative_time(when, sizeof(when), ci->created_usec),
                                      format_container_status(status, sizeof(status), ci->state,
                                                              ci->exit_code, ci->started_usec,
                                                              ci->finished_usec, 0),
                                      strempty(ci->ports), ci->name, NULL);
                }
                table_print(t);
                table_free(t);
        }
        return EXIT_OK;
}

#if BERTHCTL_FULL
/* Docker's "container inspect" shape, from the object's properties; Config is berthd's, completed. */
static void container_inspect_build(const ContainerInfo *c, JsonBuilder *b)
{
        g_autoptr(JsonParser) parser = json_parser_new();
        JsonObject *cfg = NULL;
        g_autofree char *name = g_strconcat("/", c->name, NULL);

        if (c->config && json_parser_load_from_data(parser, c->config, -1, NULL) &&
            JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
                cfg = json_node_get_object(json_parser_get_root(parser));

        json_builder_begin_object(b);
        json_build_string(b, "Id", c->id);
        json_add_time(b, "Created", c->created_usec);
        json_build_string(b, "Path", c->command && c->command[0] ? c->command[0] : "");
        json_build_strv(b, "Args", c->command && c->command[0] ? c->command + 1 : NULL);

        json_builder_set_member_name(b, "State");
        json_builder_begin_object(b);
        json_build_string(b, "Status", c->state);
        json_build_bool(b, "Running", streq(c->state, "running") || streq(c->state, "paused"));
        json_build_bool(b, "Paused", streq(c->state, "paused"));
        json_build_int(b, "Pid", c->pid);
        json_build_int(b, "ExitCode", c->exit_code);
        json_build_string(b, "Error", c->error);
        json_add_time(b, "StartedAt", c->started_usec);
        json_add_time(b, "FinishedAt", c->finished_usec);
        json_builder_end_object(b);

        json_build_string(b, "Image", c->image_id);
        json_build_string(b, "Name", name);
        json_build_int(b, "RestartCount", c->restart_count);
        /* Docker's NetworkSettings, as far as berth has it: the bridge address while running. */
        json_builder_set_member_name(b, "NetworkSettings");
        json_builder_begin_object(b);
        json_build_string(b, "IPAddress", strempty(c->ip_address));
        json_builder_end_object(b);
        json_build_string(b, "Unit", c->unit);
        /* Docker's Mounts, which berthd gives inside Config. */
        json_builder_set_member_name(b, "Mounts");
        if (cfg && json_object_has_member(cfg, "MountPoints"))
                json_builder_add_value(b, json_node_copy(json_object_get_member(cfg, "MountPoints")));
        else {
                json_builder_begin_array(b);
                json_builder_end_array(b);
        }

        /* Where Docker users look for --rm (Docker's HostConfig.AutoRemove). */
        json_builder_set_member_name(b, "HostConfig");
        json_builder_begin_object(b);
        json_build_bool(b, "AutoRemove",
                        cfg && json_object_get_boolean_member_with_default(cfg, "AutoRemove", false));
        json_builder_end_object(b);

        json_builder_set_member_name(b, "Config");
        json_builder_begin_object(b);
        if (cfg) {
                g_autoptr(GList) members = json_object_get_members(cfg);
                for (GList *l = members; l; l = l->next) {
                        const char *k = l->data;
                        if (streq(k, "Tty") || streq(k, "OpenStdin") || streq(k, "Image") ||
                            streq(k, "MountPoints"))
                                continue;
                        json_builder_set_member_name(b, k);
                        json_builder_add_value(b, json_node_copy(json_object_get_member(cfg, k)));
                }
        }
        json_build_bool(b, "Tty", c->tty);
        json_build_bool(b, "OpenStdin", c->interactive);
        json_build_string(b, "Image", c->image);
        json_builder_end_object(b);
        json_builder_end_object(b);
}

/* Command and Config's Env, Entrypoint and Cmd are shown by the properties to root and the container's
 * creator only (a Command is never empty otherwise); anyone else asks GetConfig(), which polkit authorises
 * as manage-containers. Returns 1 when the full config is now in c, 0 when the caller may not see it (said
 * on stderr), < 0 on other errors. */
static int container_info_fetch_config(ContainerInfo *c)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_auto(GStrv) command = NULL;
        const char *config;
        sd_bus *bus;
        int r;

        if (c->command && c->command[0])
                return 1;
        r = bus_get(&bus);
        if (r < 0)
                return r;
        polkit_agent_open_if_enabled();
        r = sd_bus_call_method(bus, "org.berth1", c->path, "org.berth1.Container", "GetConfig", &error,
                               &reply, "a{sv}", 0);
        if (r < 0 && (sd_bus_error_has_name(&error, SD_BUS_ERROR_ACCESS_DENIED) ||
                      sd_bus_error_has_name(&error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))) {
                fprintf(stderr,
                        "berthctl: the environment and command of container %s are shown only to root, "
                        "to the user who created it and to users allowed to manage containers (%s).\n",
                        c->name, error.message ?: error.name);
                return 0;
        }
        if (r < 0)
                return log_bus_error(&error, r);
        r = sd_bus_message_read(reply, "s", &config);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &command);
        if (r < 0)
                return log_bus_error(NULL, r);
        free(c->config);
        c->config = strdup(config);
        g_strfreev(c->command);
        c->command = TAKE_PTR(command);
        return c->config ? 1 : -ENOMEM;
}

static int verb_inspect(int argc, char *argv[])
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        int ret = EXIT_OK;

        if (argc < 2) {
                fprintf(stderr, "berthctl container inspect: at least one container is needed.\n");
                return EXIT_USAGE;
        }
        json_builder_begin_array(b);
        for (int i = 1; i < argc; i++) {
                _cleanup_(container_info_done) ContainerInfo c = {};

                if (container_lookup(argv[i], &c) < 0) {
                        ret = EXIT_ERROR;
                        continue;
                }
                if (container_info_fetch_config(&c) < 0)
                        ret = EXIT_ERROR;
                container_inspect_build(&c, b);
        }
        json_builder_end_array(b);
        print_json(json_builder_get_root(b));
        return ret;
}
#endif

/* docker port: "80/tcp -> 0.0.0.0:8080" per published port of a running container, or the host side of
 * one ("0.0.0.0:8080") when PRIVATE_PORT[/PROTO] is given. */
static int verb_port(int argc, char *argv[])
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL, *want = NULL;
        const char *proto, *address;
        uint16_t host_port, container_port;
        bool found = false;
        sd_bus *bus;
        int r;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "berthctl port: CONTAINER [PRIVATE_PORT[/PROTO]] is needed.\n");
                return EXIT_USAGE;
        }
        if (argc == 3)
                want = strchr(argv[2], '/') ? g_strdup(argv[2]) : g_strdup_printf("%s/tcp", argv[2]);
        if (container_get_path(argv[1], &path) < 0)
                return EXIT_ERROR;
        r = bus_get(&bus);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_get_property(bus, "org.berth1", path, "org.berth1.Container", "Ports", &error, &reply,
                                "a(ssqq)");
        if (r < 0) {
                log_bus_error(&error, r);
                return EXIT_ERROR;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ssqq)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssqq)", &proto, &address, &host_port,
                                                  &container_port)) > 0) {
                _cleanup_free_ char *key = g_strdup_printf("%u/%s", container_port, proto);
                /* An IPv6 address in brackets, as Docker prints it. */
                const char *lb = strchr(address, ':') ? "[" : "", *rb = *lb ? "]" : "";

                if (!want)
                        printf("%s -> %s%s%s:%u\n", key, lb, address, rb, host_port);
                else if (streq(key, want)) {
                        printf("%s%s%s:%u\n", lb, address, rb, host_port);
                        found = true;
                }
        }
        if (r < 0) {
                log_bus_error(NULL, r);
                return EXIT_ERROR;
        }
        if (want && !found) {
                fprintf(stderr, "Error: No public port '%s' published for %s\n", want, argv[1]);
                return EXIT_ERROR;
        }
        return EXIT_OK;
}

#define RUN_ARGS  "[OPTIONS] IMAGE [COMMAND...]"
#define LOGS_ARGS "[-f] [-n N] [--since T] NAME"

/* Each verb also as "container VERB", which the help lists in short. */
const Verb container_verbs[] = {
        { "run", NULL, RUN_ARGS, "Run a command in a new container", verb_run },
        { "create", NULL, RUN_ARGS, "Create a container without starting it", verb_create },
        { "start", NULL, "[-a] [-i] CONTAINER...", "Start containers", verb_start },
        { "attach", NULL, "[--no-stdin] [--detach-keys KEYS] CONTAINER", "Attach to a running container",
          verb_attach },
        { "exec", NULL, "[-d] [-i] [-t] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]",
          "Run a command in a running container", verb_exec },
        { "cp", NULL, "[-a] CONTAINER:SRC DEST|- or [-a] SRC|- CONTAINER:DEST",
          "Copy files between a container and here", FULL_VERB(verb_cp) },
        { "stop", NULL, "[-t SECONDS] CONTAINER...", "Stop containers", verb_stop },
        { "kill", NULL, "[-s SIGNAL] CONTAINER...", "Send a signal to containers", verb_kill },
        { "rm", NULL, "[-f] [-v] CONTAINER...", "Remove containers", verb_rm },
        { "ps", NULL, "[-a] [-q] [--no-trunc]", "List containers", verb_ps },
        { "logs", NULL, LOGS_ARGS, "Show a container's output", verb_logs },
        { "inspect", "container", "CONTAINER...", "Show containers' details as JSON",
          FULL_VERB(verb_inspect) },
        { "port", NULL, "CONTAINER [PRIVATE_PORT[/PROTO]]", "List a container's published ports",
          verb_port },
        { "ls", "container", "[-a] [-q] [--no-trunc]", "Alias of 'ps'", verb_ps },
        { "list", "container", "...", "Alias of 'ps'", verb_ps },
        { "ps", "container", "...", "Alias of 'ps'", verb_ps },
        { "run", "container", "...", "Alias of 'run'", verb_run },
        { "create", "container", "...", "Alias of 'create'", verb_create },
        { "start", "container", "...", "Alias of 'start'", verb_start },
        { "attach", "container", "...", "Alias of 'attach'", verb_attach },
        { "stop", "container", "...", "Alias of 'stop'", verb_stop },
        { "kill", "container", "...", "Alias of 'kill'", verb_kill },
        { "rm", "container", "...", "Alias of 'rm'", verb_rm },
        { "logs", "container", "...", "Alias of 'logs'", verb_logs },
        { "port", "container", "...", "Alias of 'port'", verb_port },
        {}
};
