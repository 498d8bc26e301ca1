/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/network.h"
#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/container-attach.h"
#include "daemon/exec-session-dbus.h"
#include "daemon/container-archive-dbus.h"
#include "daemon/container-commit.h"
#include "daemon/container-cni.h"
#include "daemon/container-dbus.h"
#include "daemon/container-restart.h"
#include "daemon/container-verbs.h"
#include "daemon/container.h"
#include "daemon/durable.h"
#include "daemon/image.h"
#include "daemon/polkit.h"
#include "daemon/scope.h"
#include "daemon/volume.h"
#include "oci/config-change.h"
#include "network/bridge.h"
#include "shared/berth-unit.h"
#include "shared/json-build.h"
#include "shared/log.h"
#include "store/image-store.h"

/* ---- org.berth1.Container objects: one fallback vtable, the path's name resolved on each call ---- */

static int container_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                                 void **found, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        GHashTableIter it;
        Container *c;
        int r;

        r = sd_bus_path_decode(path, "/org/berth1/container", &name);
        if (r <= 0)
                return r;
        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c))
                if (streq(c->name, name)) {
                        *found = c;
                        return 1;
                }
        return 0;
}

static int container_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                     sd_bus_error *error)
{
        Manager *m = userdata;
        GPtrArray *l = g_ptr_array_new();
        GHashTableIter it;
        Container *c;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c)) {
                char *p;
                if (container_object_path(c->name, &p) >= 0)
                        g_ptr_array_add(l, p);
        }
        g_ptr_array_add(l, NULL);
        *nodes = (char **) g_ptr_array_free(l, false);
        return 1;
}

#define CONTAINER_GETTER(fn, type, expr)                                                                    \
        static int fn(sd_bus *bus, const char *path, const char *interface, const char *property,           \
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)                           \
        {                                                                                                   \
                Container *c = userdata;                                                                    \
                return sd_bus_message_append(reply, type, expr);                                            \
        }

CONTAINER_GETTER(property_get_id, "s", c->id)
CONTAINER_GETTER(property_get_name, "s", c->name)
CONTAINER_GETTER(property_get_image, "s", c->image_name)
CONTAINER_GETTER(property_get_image_id, "s", c->image_id)
CONTAINER_GETTER(property_get_state, "s", container_state_string(c))
CONTAINER_GETTER(property_get_exit_code, "u", (uint32_t) c->state.exit_code)
CONTAINER_GETTER(property_get_error, "s", strempty(c->state.error))
CONTAINER_GETTER(property_get_pid, "u", (uint32_t) (c->state.status == CONTAINER_RUNNING ? c->state.pid : 0))
CONTAINER_GETTER(property_get_created, "t", c->created_usec)
CONTAINER_GETTER(property_get_restart_count, "u", c->restart_count)
CONTAINER_GETTER(property_get_started, "t", c->state.started_usec)
CONTAINER_GETTER(property_get_finished, "t", c->state.finished_usec)
CONTAINER_GETTER(property_get_tty, "b", (int) c->config.tty)
CONTAINER_GETTER(property_get_interactive, "b", (int) c->config.interactive)

static int property_get_mounts(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;

        return sd_bus_message_append_strv(reply, c->config.mounts);
}

/* A container's environment and arguments often carry secrets (POSTGRES_PASSWORD=…, --token …), while its
 * properties are open to every local user. So Command and the Env, Entrypoint and Cmd of Config are shown
 * to root and to the container's creator only; anyone else reads them through GetConfig(), which asks polkit
 * for manage-containers (a property getter cannot wait for polkit). As with the container's output, which
 * only root and the systemd-journal group read in the journal, and its creator through AttachContainer. */
static bool sender_owns_config(sd_bus_message *m, const Container *c)
{
        uid_t uid;

        /* No caller to ask about (a signal's payload, say) or no answer: hide. */
        if (!m || bus_sender_euid(m, &uid) < 0)
                return false;
        return uid == 0 || (c->creator_uid != UID_INVALID && uid == c->creator_uid);
}

static int property_get_command(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;

        if (!sender_owns_config(sd_bus_get_current_message(bus), c))
                return sd_bus_message_append_strv(reply, NULL);
        return sd_bus_message_append_strv(reply, c->config.argv);
}

static int property_get_ip_address(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        Container *c = userdata;
        char a[INET_ADDRSTRLEN] = "";
        uint32_t address;

        if (c->monitor_source && bridge_network_address(container_bridge(c), c->id, &address) >= 0)
                ipv4_format(address, a);
        else if (c->monitor_source) {
                _cleanup_free_ char *cni = container_cni_ipv4(c);

                if (cni)
                        g_strlcpy(a, cni, sizeof(a));
        }
        return sd_bus_message_append(reply, "s", a);
}

static int property_get_ports(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        const PortMapping *ports = NULL;
        _cleanup_free_ PortMapping *cni = NULL;
        size_t n = 0;
        int r;

        if (c->monitor_source)
                ports = bridge_network_ports(container_bridge(c), c->id, &n);
        if (c->monitor_source && n == 0)
                ports = cni = container_cni_ports(c, &n); /* through a CNI network's portmap */
        r = sd_bus_message_open_container(reply, 'a', "(ssqq)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char a[PORT_HOST_STRING_MAX];

                r = sd_bus_message_append(reply, "(ssqq)", port_protocol_to_string(ports[i].protocol),
                                          port_mapping_host_format(&ports[i], false, a), ports[i].host_port,
                                          ports[i].container_port);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* The name is a container's, or still its running scope's after a rename (berth-NAME.scope cannot be made
 * twice). */
static int bus_error_name_in_use(sd_bus_error *error, const Container *other, const char *name)
{
        if (!streq(other->name, name))
                return sd_bus_error_setf(
                        error, BERTH_ERROR_NAME_IN_USE,
                        "The name '%s' is still used by the running scope of container %.12s "
                        "(renamed to %s) until it stops.",
                        name, other->id, other->name);
        return sd_bus_error_setf(error, BERTH_ERROR_NAME_IN_USE,
                                 "The name '%s' is already used by container %.12s.", name, other->id);
}

static int property_get_unit(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        _cleanup_free_ char *unit = container_scope_unit(c);

        if (!unit)
                return -ENOMEM;
        return sd_bus_message_append(reply, "s", unit);
}

/* Docker's "container inspect" Config; without Env, Entrypoint and Cmd unless full. */
static char *container_config_json(const Container *c, bool full)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonParser) props = json_parser_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_object(b);
        json_build_string(b, "Hostname", c->config.hostname);
        json_build_string(b, "User", c->config.user);
        if (full) {
                json_build_strv(b, "Env", c->config.env);
                json_build_strv(b, "Entrypoint", c->config.entrypoint);
                json_build_strv(b, "Cmd", c->config.cmd);
        }
        json_build_string(b, "WorkingDir", c->config.workdir);
        json_build_string(b, "StopSignal", c->config.stop_signal);
        json_build_string(b, "Network", c->config.network);
        json_build_strv(b, "Networks", c->config.networks);
        json_build_strv(b, "NetworkAliases", c->config.network_aliases);
        json_build_strv(b, "NetworkIPs", c->config.network_ips);
        json_build_strv(b, "Dns", c->config.dns);
        json_build_strv(b, "DnsSearch", c->config.dns_search);
        json_build_strv(b, "ExtraHosts", c->config.add_hosts);
        json_build_strv(b, "Ports", c->config.ports);
        json_build_strv(b, "Mounts", c->config.mounts);
        volume_build_mount_points(c->manager, b, "MountPoints", c->config.mounts);
        json_build_bool(b, "ReadOnly", c->config.read_only);
        json_build_bool(b, "AutoRemove", c->config.remove_on_exit);
        json_build_string(b, "RestartPolicy", c->config.restart ?: "no");
        json_build_bool(b, "Tty", c->config.tty);
        json_build_bool(b, "OpenStdin", c->config.interactive);
        json_builder_set_member_name(b, "Properties");
        if (json_parser_load_from_data(props, c->properties_json ?: "[]", -1, NULL))
                json_builder_add_value(b, json_node_copy(json_parser_get_root(props)));
        else
                json_builder_add_null_value(b);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        json_generator_set_root(gen, root);
        return json_generator_to_data(gen, NULL);
}

static int property_get_config(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        g_autofree char *s =
                container_config_json(c, sender_owns_config(sd_bus_get_current_message(bus), c));

        return sd_bus_message_append(reply, "s", s);
}

static int method_get_config(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Container *c = userdata;
        Manager *m = c->manager;
        g_autofree char *s = NULL;
        int r;

        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;
        if (!sender_owns_config(message, c)) {
                bool weakens = container_config_weakens_confinement(&c->config);
                const char *details[] = { "container", c->name,      "verb",
                                          "inspect",   "privileged", weakens ? "true" : "false",
                                          NULL };
                r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CONTAINERS, details,
                                            &m->polkit_registry, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1;
        }

        s = container_config_json(c, true);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", s);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, c->config.argv);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ---- Manager methods ---- */

typedef struct CreateOptions {
        ContainerOptions *options;
        char **properties; /* the scope properties, as JSON */
        bool *auto_remove; /* removed by the caller once exited (run --rm): answered before it is durable */
} CreateOptions;

static int read_create_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        CreateOptions *c = userdata;
        ContainerOptions *o = c->options;
        int r;

        if (streq(key, "auto_remove"))
                return bus_option_read_bool(m, key, c->auto_remove, error);
        if (streq(key, "tty"))
                return bus_option_read_bool(m, key, &o->tty, error);
        if (streq(key, "interactive"))
                return bus_option_read_bool(m, key, &o->interactive, error);
        if (streq(key, "env"))
                return bus_option_read_strv(m, key, &o->env, error);
        if (streq(key, "workdir"))
                return bus_option_read_string(m, key, &o->workdir, error);
        if (streq(key, "user")) {
                o->set_user = true;
                return bus_option_read_string(m, key, &o->user, error);
        }
        if (streq(key, "hostname"))
                return bus_option_read_string(m, key, &o->hostname, error);
        if (streq(key, "entrypoint")) {
                o->set_entrypoint = true;
                return bus_option_read_strv(m, key, &o->entrypoint, error);
        }
        if (streq(key, "network"))
                return bus_option_read_string(m, key, &o->network, error);
        if (streq(key, "dns"))
                return bus_option_read_strv(m, key, &o->dns, error);
        if (streq(key, "dns_search"))
                return bus_option_read_strv(m, key, &o->dns_search, error);
        if (streq(key, "add_hosts"))
                return bus_option_read_strv(m, key, &o->add_hosts, error);
        if (streq(key, "aliases")) /* --network-alias, on the network option's user network */
                return bus_option_read_strv(m, key, &o->aliases, error);
        if (streq(key, "ip"))
                return bus_option_read_string(m, key, &o->ip, error);
        if (streq(key, "publish_all"))
                return bus_option_read_bool(m, key, &o->publish_all, error);
        if (streq(key, "ports"))
                return bus_option_read_strv(m, key, &o->ports, error);
        if (streq(key, "privileged"))
                return bus_option_read_bool(m, key, &o->privileged, error);
        if (streq(key, "cap_add"))
                return bus_option_read_strv(m, key, &o->cap_add, error);
        if (streq(key, "cap_drop"))
                return bus_option_read_strv(m, key, &o->cap_drop, error);
        if (streq(key, "security_opt"))
                return bus_option_read_strv(m, key, &o->security_opt, error);
        if (streq(key, "devices"))
                return bus_option_read_strv(m, key, &o->devices, error);
        if (streq(key, "mounts"))
                return bus_option_read_strv(m, key, &o->mounts, error);
        if (streq(key, "volumes"))
                return bus_option_read_strv(m, key, &o->volumes, error);
        if (streq(key, "tmpfs"))
                return bus_option_read_strv(m, key, &o->tmpfs, error);
        if (streq(key, "read_only"))
                return bus_option_read_bool(m, key, &o->read_only, error);
        if (streq(key, "remove_on_exit"))
                return bus_option_read_bool(m, key, &o->remove_on_exit, error);
        if (streq(key, "restart"))
                return bus_option_read_string(m, key, &o->restart, error);
        if (!streq(key, "properties"))
                return bus_option_unknown(key, error);

        r = bus_option_enter(m, key, "a(sv)", error);
        if (r < 0)
                return r;
        *c->properties = mfree(*c->properties);
        r = scope_properties_from_bus(m, &e, c->properties);
        if (r == -EINVAL)
                return bus_error_set(error, &e, SD_BUS_ERROR_INVALID_ARGS);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* A CreateContainer or RunContainer waiting for its new record to be durable. */
typedef struct CreatePending {
        Manager *manager;
        sd_bus_message *message;
        char *id;
        bool run;
} CreatePending;

static void create_pending_free(CreatePending *p)
{
        sd_bus_message_unref(p->message);
        g_free(p->id);
        g_free(p);
}

static void on_create_durable(void *userdata, int r);

static int create_container(sd_bus_message *message, Manager *m, bool run, sd_bus_error *error)
{
        _cleanup_(container_options_done) ContainerOptions o = {};
        _cleanup_(container_config_done) ContainerConfig config = {};
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *properties = NULL, *name = NULL, *image_json = NULL;
        _cleanup_(oci_image_config_freep) OciImageConfig *image_config = NULL;
        const char *image_key, *name_in;
        const ImageRecord *image;
        ContainerSyncFds sync = {};
        CreatePending *pending;
        bool auto_remove = false;
        Container *c = NULL;
        char id[65];
        size_t image_json_size;
        uid_t creator;
        bool weakens;
        int r;

        r = sd_bus_message_read(message, "ss", &image_key, &name_in);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(message, &o.command);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_create_option, &(CreateOptions){ &o, &properties, &auto_remove },
                             error);
        if (r < 0)
                return r;

        r = manager_find_image(m, image_key, &e, &image);
        if (r == -ENOENT || r == -ENOTUNIQ) {
                berth_error_done(&e);
                berth_error_set(&e, r, "No such image: %s (pull it first)", image_key);
        }
        if (r < 0)
                return bus_error_set_image_lookup(error, &e);
        if (!isempty(name_in)) {
                if (!container_name_is_valid(name_in))
                        return sd_bus_error_setf(
                                error, BERTH_ERROR_INVALID_NAME,
                                "Invalid container name '%s': use [a-zA-Z0-9][a-zA-Z0-9_.-]*, "
                                "at most 128 characters.",
                                name_in);
                if (container_name_is_id(name_in))
                        return sd_bus_error_setf(
                                error, BERTH_ERROR_INVALID_NAME,
                                "Invalid container name '%s': 64 hex digits are a container id.", name_in);
                Container *other = manager_container_holding_name(m, name_in);
                if (other)
                        return bus_error_name_in_use(error, other, name_in);
        }

        r = container_options_check_confinement(&o, &e, &weakens);
        if (r == -EINVAL)
                return bus_error_set(error, &e, SD_BUS_ERROR_INVALID_ARGS);
        if (r < 0)
                return r;
        weakens = weakens || scope_properties_weaken(properties);

        const char *details[] = { "image",      image_key,
                                  "container",  name_in,
                                  "verb",       run ? "run" : "create",
                                  "privileged", weakens ? "true" : "false",
                                  NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CONTAINERS, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        /* Less confinement than Docker's defaults is root on the host in all but name: a second action, so
         * that a rule can hand out ordinary containers alone. */
        if (weakens) {
                r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CONTAINERS_PRIVILEGED, details,
                                            &m->polkit_registry, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1;
        }

        r = image_store_read_config(m->images, image->id, &image_json, &image_json_size);
        if (r >= 0)
                r = oci_image_config_parse(image_json, image_json_size, NULL, &image_config);
        if (r < 0)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_IMAGE,
                                         "The config of image %s is unreadable.", image_key);

        if (isempty(name_in)) {
                Container *other;
                for (unsigned i = 0;; i++) {
                        free(name);
                        name = container_name_generate();
                        if (manager_find_container(m, name, NULL, &other) < 0)
                                break;
                        if (i > 100)
                                return -EEXIST;
                }
        } else
                name = strdup(name_in);

        r = container_generate_id(id);
        if (r < 0)
                return r;
        r = container_config_resolve(image_config, &o, id, &e, &config);
        if (r == -EINVAL)
                return bus_error_set(error, &e, SD_BUS_ERROR_INVALID_ARGS);
        if (r < 0)
                return r;
        r = bus_sender_euid(message, &creator);
        if (r < 0)
                return r;
        r = container_create(m, id, image_key, image->id, name, &config, properties, creator, &c, &sync);
        if (r < 0)
                return log_error_errno(r, "Failed to create container %s: %m", name);

        container_send_signal(c, true);
        log_info("Created container %s (%.12s) from %s.", c->name, c->id, image_key);
        /* The answer once the record is durable; meanwhile the loop serves others. */
        pending = g_new0(CreatePending, 1);
        pending->manager = m;
        pending->message = sd_bus_message_ref(message);
        pending->id = g_strdup(c->id);
        pending->run = run;
        c->auto_remove = auto_remove;
        if (auto_remove) {
                /* Not synced at all: written, renamed into place, answered. After a power loss it is whole,
                 * or gone, or a directory with an empty config.json that the next start removes. */
                for (size_t i = 0; i < sync.n; i++)
                        safe_close(sync.fds[i]);
                on_create_durable(pending, 0);
                return 1;
        }
        r = durable_fsync_async(m->event, sync.fds, sync.n, on_create_durable, pending);
        if (r < 0) {
                create_pending_free(pending);
                return log_error_errno(r, "Failed to sync container %s: %m", name);
        }
        return 1;
}

static void on_create_durable(void *userdata, int r)
{
        _cleanup_free_ char *path = NULL;
        CreatePending *p = userdata;
        Container *c = g_hash_table_lookup(p->manager->containers, p->id);

        if (!c)
                (void) sd_bus_reply_method_errorf(p->message, BERTH_ERROR_NO_SUCH_CONTAINER,
                                                  "Container %.12s was removed while it was being created.",
                                                  p->id);
        else if (r < 0) {
                log_error_errno(r, "Failed to sync the new container %s, removing it: %m", c->name);
                (void) container_remove(c);
                (void) sd_bus_reply_method_errnof(p->message, r, "Failed to sync the new container: %m");
        } else if (p->run)
                /* RunContainer answers when the start did (container_send_start_reply() knows its shape). */
                (void) container_start(c, p->message);
        else if (container_object_path(c->name, &path) >= 0)
                (void) sd_bus_reply_method_return(p->message, "so", c->id, path);
        else
                (void) sd_bus_reply_method_errnof(p->message, ENOMEM, "Out of memory.");
        create_pending_free(p);
}

int bus_method_create_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return create_container(message, userdata, false, error);
}

int bus_method_run_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return create_container(message, userdata, true, error);
}

/* ---- The container's own methods (org.berth1.Container.Start, Stop, …). userdata is the Container; the
 * Manager's by-name forms (StartContainer, …) find it and call these, so both paths ask polkit with the
 * same details. ---- */

/* Asks for manage-containers with the verb in the details; and, for verbs that run the container's process
 * with a weaker confinement (start), for manage-containers-privileged too, as creating it did. Returns
 * bus_verify_polkit_async()'s answer: 1 allowed, 0 asked (return 1 at once), negative denied. */
static int verify_manage_container(sd_bus_message *message, Container *c, const char *verb, bool runs_it,
                                   sd_bus_error *error)
{
        Manager *m = c->manager;
        bool weakens = container_config_weakens_confinement(&c->config) ||
                       scope_properties_weaken(c->properties_json);
        const char *details[] = { "container", c->name,      "verb",
                                  verb,        "privileged", weakens ? "true" : "false",
                                  NULL };
        int r;

        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CONTAINERS, details, &m->polkit_registry,
                                    error);
        if (r <= 0)
                return r;
        if (weakens && runs_it)
                return bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CONTAINERS_PRIVILEGED, details,
                                               &m->polkit_registry, error);
        return 1;
}

int bus_container_method_start(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        int r;

        r = verify_manage_container(message, c, "start", true, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        container_policy_user_stopped(c, false);
        r = container_start(c, message);
        return r < 0 ? 1 : r; /* the waiters got the error */
}

int bus_container_method_stop(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        uint64_t timeout;
        int r;

        r = sd_bus_message_read(message, "t", &timeout);
        if (r < 0)
                return r;
        r = verify_manage_container(message, c, "stop", false, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        container_policy_user_stopped(c, true);
        return container_stop(c, timeout, message);
}

int bus_container_method_kill(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Container *c = userdata;
        int sig, r;

        r = sd_bus_message_read(message, "i", &sig);
        if (r < 0)
                return r;
        if (sig == 0)
                sig = SIGKILL;
        if (sig < 0 || sig >= _NSIG)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid signal %i.", sig);
        r = verify_manage_container(message, c, "kill", false, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = container_kill(c, sig);
        if (r == -ESRCH) {
                berth_error_set(&e, r, "Container %s is not running.", c->name);
                return bus_error_set(error, &e, NULL);
        }
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

int bus_container_method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        _cleanup_free_ char *name = NULL;
        int force, r;

        r = sd_bus_message_read(message, "b", &force);
        if (r < 0)
                return r;
        r = verify_manage_container(message, c, "remove", false, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        if (c->monitor_source && !force)
                return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_RUNNING,
                                         "Container %s is running: stop it first, or force the removal.",
                                         c->name);
        if (c->monitor_source)
                return container_remove_forced(c, message);
        name = strdup(c->name);
        if (!name)
                return -ENOMEM;
        r = container_remove(c);
        if (r < 0)
                return log_error_errno(r, "Failed to remove container %s: %m", name);
        return sd_bus_reply_method_return(message, NULL);
}

/* machined's redirect_method_to_machine(): the by-name form reads the name, finds the container and calls
 * the object's handler with it, the message positioned at the remaining arguments. */
static int redirect_method_to_container(sd_bus_message *message, Manager *m, sd_bus_error *error,
                                        sd_bus_message_handler_t method)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        const char *key;
        Container *c;
        int r;

        r = sd_bus_message_read(message, "s", &key);
        if (r < 0)
                return r;
        r = manager_find_container(m, key, &e, &c);
        if (r < 0)
                return bus_error_set_container_lookup(error, &e);
        return method(message, c, error);
}

/* Restart, Pause, Unpause, Wait (the model is container-verbs.c). */
int bus_container_method_restart(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        uint64_t timeout;
        int r;

        r = sd_bus_message_read(message, "t", &timeout);
        if (r < 0)
                return r;
        r = verify_manage_container(message, c, "restart", true, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        container_policy_user_stopped(c, false);
        r = container_restart(c, timeout, message);
        if (r == -ESHUTDOWN)
                return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_NOT_RUNNING,
                                         "Container %s is being removed.", c->name);
        return r < 0 ? 1 : r; /* the start's waiters got the error */
}

static int pause_or_unpause(sd_bus_message *message, Container *c, bool freeze, sd_bus_error *error)
{
        int r;

        r = verify_manage_container(message, c, freeze ? "pause" : "unpause", false, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = container_pause(c, freeze, message);
        if (r == -ESRCH)
                return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_NOT_RUNNING,
                                         "Container %s is not running.", c->name);
        if (r == -EALREADY || r == -ENOTCONN)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Container %s is %s paused.", c->name,
                                         freeze ? "already" : "not");
        if (r < 0)
                return log_error_errno(r, "Failed to %s container %s: %m", freeze ? "pause" : "unpause",
                                       c->name);
        return 1;
}

int bus_container_method_pause(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return pause_or_unpause(message, userdata, true, error);
}

int bus_container_method_unpause(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return pause_or_unpause(message, userdata, false, error);
}

/* Read-only, like the properties: anyone may wait for a container's exit. */
int bus_container_method_wait(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        int r;

        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;
        return container_wait(userdata, message);
}

typedef struct UpdateOptions {
        bool set_remove_on_exit;
        bool remove_on_exit;
} UpdateOptions;

static int read_update_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        UpdateOptions *o = userdata;

        if (!streq(key, "remove_on_exit"))
                return bus_option_unknown(key, error);
        o->set_remove_on_exit = true;
        return bus_option_read_bool(m, key, &o->remove_on_exit, error);
}

int bus_container_method_update(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *update = NULL;
        UpdateOptions o = {};
        Container *c = userdata;
        Manager *m = c->manager;
        int r;

        r = scope_properties_from_bus(message, &e, &update);
        if (r == -EINVAL)
                return bus_error_set(error, &e, SD_BUS_ERROR_INVALID_ARGS);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_update_option, &o, error);
        if (r < 0)
                return r;
        r = verify_manage_container(message, c, "update", false, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        /* Favouring the container over the host needs the privileged action, as at create. */
        if (scope_properties_weaken(update)) {
                const char *details[] = {
                        "container", c->name, "verb", "update", "privileged", "true", NULL
                };
                r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CONTAINERS_PRIVILEGED, details,
                                            &m->polkit_registry, error);
                if (r <= 0)
                        return r < 0 ? r : 1;
        }
        if (o.set_remove_on_exit) {
                r = container_set_remove_on_exit(c, o.remove_on_exit);
                if (r == -EINVAL)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Container %s has a restart policy: it cannot be removed "
                                                 "once it exits.",
                                                 c->name);
                if (r < 0)
                        return log_error_errno(r, "Failed to update container %s: %m", c->name);
                if (r > 0) /* it had exited: removed */
                        return sd_bus_reply_method_return(message, NULL);
        }
        r = container_update(c, update, message);
        if (r < 0)
                return log_error_errno(r, "Failed to update container %s: %m", c->name);
        return 1;
}

/* Read-only, like /proc: every local user sees these command lines there already. */
int bus_container_method_top(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        int r;

        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;
        r = container_top(c, message);
        if (r == -ESRCH)
                return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_NOT_RUNNING,
                                         "Container %s is not running.", c->name);
        if (r < 0)
                return log_error_errno(r, "Failed to list the processes of container %s: %m", c->name);
        return 1;
}

int bus_method_top_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_top);
}

/* Read-only, as the unit's own properties are for every local user. */
int bus_container_method_get_stats(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        int r;

        r = bus_read_options(message, NULL, NULL, error);
        if (r < 0)
                return r;
        r = container_get_stats(c, message);
        if (r == -ESRCH)
                return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_NOT_RUNNING,
                                         "Container %s is not running.", c->name);
        if (r < 0)
                return log_error_errno(r, "Failed to get the counters of container %s: %m", c->name);
        return 1;
}

int bus_container_method_rename(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Container *c = userdata, *other;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (!container_name_is_valid(name) || container_name_is_id(name))
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_NAME,
                        "Invalid container name '%s': use [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most "
                        "128 characters, not 64 hex digits.",
                        name);
        other = manager_container_holding_name(c->manager, name);
        /* Back to the name its running scope has is fine; any other name held, even its own, is not. */
        if (other && !(other == c && c->run_name && streq(c->run_name, name)))
                return bus_error_name_in_use(error, other, name);
        r = verify_manage_container(message, c, "rename", false, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = container_rename(c, name);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_RUNNING,
                                         "Container %s is starting: rename it once it runs.", c->name);
        if (r < 0)
                return log_error_errno(r, "Failed to rename container %s: %m", c->name);
        return sd_bus_reply_method_return(message, NULL);
}

int bus_method_rename_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_rename);
}

int bus_method_update_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_update);
}

int bus_method_restart_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_restart);
}

int bus_method_pause_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_pause);
}

int bus_method_unpause_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_unpause);
}

int bus_method_wait_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_wait);
}

int bus_method_start_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_start);
}

int bus_method_stop_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_stop);
}

int bus_method_kill_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_kill);
}

int bus_method_remove_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_remove);
}

int bus_method_commit_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_commit);
}

int bus_method_exec_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_exec);
}

int bus_method_attach_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_attach);
}

int bus_method_resize_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, bus_container_method_resize);
}

static gint compare_created_desc(gconstpointer a, gconstpointer b)
{
        const Container *x = *(Container *const *) a, *y = *(Container *const *) b;
        return x->created_usec < y->created_usec ? 1 : x->created_usec > y->created_usec ? -1 : 0;
}

int bus_method_list_containers(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_autoptr(GPtrArray) list = g_ptr_array_new();
        Manager *m = userdata;
        GHashTableIter it;
        Container *c;
        int all, r;

        r = sd_bus_message_read(message, "b", &all);
        if (r < 0)
                return r;
        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, (gpointer *) &c))
                if (all || c->state.status == CONTAINER_RUNNING)
                        g_ptr_array_add(list, c);
        g_ptr_array_sort(list, compare_created_desc);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssssuo)");
        if (r < 0)
                return r;
        for (guint i = 0; i < list->len; i++) {
                _cleanup_free_ char *path = NULL;
                c = list->pdata[i];
                r = container_object_path(c->name, &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "(ssssuo)", c->id, c->name, c->image_name,
                                          c->paused ? "paused" : container_status_to_string(c->state.status),
                                          (uint32_t) c->state.exit_code, path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int reply_container_path(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        _cleanup_free_ char *path = NULL;
        int r;

        r = container_object_path(c->name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}

int bus_method_get_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return redirect_method_to_container(message, userdata, error, reply_container_path);
}

/* ---- CommitContainer: arguments, options, polkit; the work is in container-commit.c ---- */

typedef struct CommitOptions {
        char *author;
        char *message;
        char **changes;
        bool pause;
} CommitOptions;

static void commit_options_done(CommitOptions *o)
{
        o->author = mfree(o->author);
        o->message = mfree(o->message);
        g_strfreev(o->changes);
        o->changes = NULL;
}

static int read_commit_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        CommitOptions *o = userdata;

        if (streq(key, "author"))
                return bus_option_read_string(m, key, &o->author, error);
        if (streq(key, "message"))
                return bus_option_read_string(m, key, &o->message, error);
        if (streq(key, "changes"))
                return bus_option_read_strv(m, key, &o->changes, error);
        if (streq(key, "pause"))
                return bus_option_read_bool(m, key, &o->pause, error);
        return bus_option_unknown(key, error);
}

int bus_container_method_commit(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(commit_options_done) CommitOptions o = { .pause = true };
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_(commit_request_done) CommitRequest req = {};
        _cleanup_free_ char *config = NULL;
        Container *c = userdata;
        Manager *m = c->manager;
        const char *reference;
        const ImageRecord *parent;
        OciConfigChangeState change_state = {};
        size_t config_size;
        int r;

        r = sd_bus_message_read(message, "s", &reference);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_commit_option, &o, error);
        if (r < 0)
                return r;

        if (!isempty(reference)) {
                r = manager_canonical_reference(m, reference, &e, &req.tag);
                if (r < 0)
                        return bus_error_set_image_lookup(error, &e);
                if (strchr(req.tag, '@'))
                        return sd_bus_error_setf(error, BERTH_ERROR_INVALID_REFERENCE,
                                                 "'%s': a commit is tagged, it cannot name a digest",
                                                 reference);
        }

        parent = image_store_get(m->images, c->image_id);
        if (!parent)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_IMAGE,
                                         "The image of container %s (%s) is no longer in the store", c->name,
                                         c->image_id);
        r = image_store_read_config(m->images, parent->id, &config, &config_size);
        if (r < 0)
                return log_error_errno(r, "Failed to read the config of image %s: %m", parent->id);
        r = oci_image_config_parse(config, config_size, NULL, &req.config);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the config of image %s: %m", parent->id);
        STRV_FOREACH (change, o.changes) {
                _cleanup_berth_error_ BerthError change_error = BERTH_ERROR_INIT;
                r = oci_image_config_apply_change(req.config, *change, &change_state, &change_error);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Change '%s': %s",
                                                 *change, change_error.message ?: "invalid");
        }

        const char *details[] = { "container", c->name, "image", strempty(req.tag), "verb", "commit", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_IMAGES, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us back */

        req.author = TAKE_PTR(o.author);
        req.comment = TAKE_PTR(o.message);
        req.pause = o.pause;
        r = container_commit(c, &req, message);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_IMAGE,
                                         "The image of container %s is gone", c->name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot commit container %s: %m", c->name);
        return 1; /* answered when the copy is done */
}

/* ---- AttachContainer, ResizeContainer: the socket work is in container-attach.c ---- */

/* Attaching is a shell in the container, so it has its own polkit action (org.berth1.attach-container),
 * which admins can grant apart from managing containers; resizing a terminal is part of using it. */

static int read_attach_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        AttachOptions *o = userdata;

        if (streq(key, "stdin"))
                return bus_option_read_bool(m, key, &o->want_stdin, error);
        if (streq(key, "stdout"))
                return bus_option_read_bool(m, key, &o->want_stdout, error);
        if (streq(key, "stderr"))
                return bus_option_read_bool(m, key, &o->want_stderr, error);
        if (streq(key, "stdin_once"))
                return bus_option_read_bool(m, key, &o->stdin_once, error);
        if (streq(key, "before_start"))
                return bus_option_read_bool(m, key, &o->before_start, error);
        if (streq(key, "lossless"))
                return bus_option_read_bool(m, key, &o->lossless, error);
        if (streq(key, "rows"))
                return bus_option_read_basic(m, key, 'u', &o->rows, error);
        if (streq(key, "columns"))
                return bus_option_read_basic(m, key, 'u', &o->columns, error);
        return bus_option_unknown(key, error);
}

static int not_running(sd_bus_error *error, Container *c)
{
        return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_NOT_RUNNING, "Container %s is not running.",
                                 c->name);
}

/* Attaching is a shell in the container (attach-container). Watching the output of a container one created
 * (berthctl run, start -a) and sizing its terminal are part of running it: its creator chose its command, so
 * that needs what creating it needed (manage-containers, with the same details). */
static int verify_attach(sd_bus_message *message, Container *c, const char *verb, bool as_creator,
                         sd_bus_error *error)
{
        const char *details[] = { "container", c->name, "verb", verb, NULL };

        if (as_creator)
                return verify_manage_container(message, c, verb, false, error);
        return bus_verify_polkit_async(message, BERTH_ACTION_ATTACH_CONTAINER, details,
                                       &c->manager->polkit_registry, error);
}

int bus_container_method_attach(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        AttachOptions o = ATTACH_OPTIONS_INIT;
        _cleanup_close_ int fd = -EBADF;
        Container *c = userdata;
        int r;

        r = bus_read_options(message, read_attach_option, &o, error);
        if (r < 0)
                return r;
        if ((o.rows == 0) != (o.columns == 0) || o.rows > UINT16_MAX || o.columns > UINT16_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Options 'rows' and 'columns' go together, each 1…65535.");

        /* A lossless stream holds the container back while its reader stalls: the container's own
         * business, not an onlooker's. */
        bool owner = sender_owns_config(message, c);
        if (o.lossless && !owner)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Option 'lossless' is for the creator of container %s.", c->name);
        r = verify_attach(message, c, "attach", owner && !o.want_stdin, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = container_attach(c, &o, &fd);
        if (r == -ESRCH)
                return not_running(error, c);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many streams wait for container %s to start.", c->name);
        if (r < 0)
                return log_error_errno(r, "Failed to attach to container %s: %m", c->name);
        log_debug("Attached a client to container %s.", c->name);
        return sd_bus_reply_method_return(message, "h", fd);
}

/* A resize in flight: the call is answered when the monitor has answered. */
typedef struct ResizeCall {
        sd_bus_message *message;
        sd_event_source *source;
        int fd;
        char *name;
} ResizeCall;

static void resize_call_free(ResizeCall *rc)
{
        sd_event_source_disable_unref(rc->source);
        sd_bus_message_unref(rc->message);
        safe_close(rc->fd);
        free(rc->name);
        free(rc);
}

static int on_resize_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ResizeCall *rc = userdata;
        char buf[256];
        ssize_t n;

        n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0)
                /* The monitor went away in between: the container ended. */
                (void) sd_bus_reply_method_errorf(rc->message, BERTH_ERROR_CONTAINER_NOT_RUNNING,
                                                  "Container %s is not running.", rc->name);
        else if (buf[n] = 0, startswith(buf, "OK"))
                (void) sd_bus_reply_method_return(rc->message, NULL);
        else {
                buf[strcspn(buf, "\n")] = 0;
                (void) sd_bus_reply_method_errorf(rc->message, SD_BUS_ERROR_FAILED,
                                                  "Cannot resize the terminal of container %s: %s", rc->name,
                                                  startswith(buf, "ERR ") ?: buf);
        }
        resize_call_free(rc);
        return 0;
}

int bus_container_method_resize(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Container *c = userdata;
        Manager *m = c->manager;
        uint32_t rows, columns;
        int r, fd = -EBADF;

        r = sd_bus_message_read(message, "uu", &rows, &columns);
        if (r < 0)
                return r;
        if (rows == 0 || columns == 0 || rows > UINT16_MAX || columns > UINT16_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid terminal size %ux%u.",
                                         rows, columns);

        r = verify_attach(message, c, "resize", sender_owns_config(message, c), error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        if (!c->config.tty)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Container %s has no terminal to resize.", c->name);
        r = container_resize_connect(c, rows, columns, &fd);
        if (r == -ESRCH)
                return not_running(error, c);
        if (r < 0)
                return log_error_errno(r, "Failed to resize the terminal of container %s: %m", c->name);

        ResizeCall *rc = calloc(1, sizeof(*rc));
        if (!rc) {
                safe_close(fd);
                return -ENOMEM;
        }
        *rc = (ResizeCall){ .message = sd_bus_message_ref(message), .fd = fd, .name = strdup(c->name) };
        r = sd_event_add_io(m->event, &rc->source, fd, EPOLLIN, on_resize_answer, rc);
        if (r < 0) {
                resize_call_free(rc);
                return r;
        }
        return 1;
}

static const sd_bus_vtable container_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Image", "s", property_get_image, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ImageId", "s", property_get_image_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Command", "as", property_get_command, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitCode", "u", property_get_exit_code, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Error", "s", property_get_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pid", "u", property_get_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Unit", "s", property_get_unit, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CreatedUSec", "t", property_get_created, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StartedUSec", "t", property_get_started, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FinishedUSec", "t", property_get_finished, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Tty", "b", property_get_tty, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Interactive", "b", property_get_interactive, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Config", "s", property_get_config, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mounts", "as", property_get_mounts, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IPAddress", "s", property_get_ip_address, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Ports", "a(ssqq)", property_get_ports, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RestartCount", "u", property_get_restart_count, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetConfig", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("s", config, "as", command), method_get_config,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Start", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, bus_container_method_start,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("t", timeout_usec), SD_BUS_NO_RESULT,
                                bus_container_method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("i", signal), SD_BUS_NO_RESULT,
                                bus_container_method_kill, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_ARGS("b", force), SD_BUS_NO_RESULT,
                                bus_container_method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Attach", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("h", stream),
                                bus_container_method_attach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Resize", SD_BUS_ARGS("u", rows, "u", columns), SD_BUS_NO_RESULT,
                                bus_container_method_resize, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Exec", SD_BUS_ARGS("as", command, "a{sv}", options),
                                SD_BUS_RESULT("h", stream, "o", session), bus_container_method_exec,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetArchive", SD_BUS_ARGS("s", path, "a{sv}", options),
                                SD_BUS_RESULT("h", tar), bus_container_method_get_archive,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PutArchive", SD_BUS_ARGS("s", path, "h", tar, "a{sv}", options),
                                SD_BUS_NO_RESULT, bus_container_method_put_archive,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Commit", SD_BUS_ARGS("s", reference, "a{sv}", options),
                                SD_BUS_RESULT("s", image_id), bus_container_method_commit,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Restart", SD_BUS_ARGS("t", timeout_usec), SD_BUS_NO_RESULT,
                                bus_container_method_restart, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Pause", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, bus_container_method_pause,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unpause", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, bus_container_method_unpause,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Wait", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("i", exit_code),
                                bus_container_method_wait, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Top", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("a(us)", processes),
                                bus_container_method_top, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetStats", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("a{sv}", stats),
                                bus_container_method_get_stats, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Rename", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                bus_container_method_rename, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a(sv)", properties, "a{sv}", options),
                                SD_BUS_NO_RESULT, bus_container_method_update, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

void container_send_signal(Container *c, bool new_container)
{
        _cleanup_free_ char *path = NULL;

        if (!c->manager->bus || container_object_path(c->name, &path) < 0)
                return;
        (void) sd_bus_emit_signal(c->manager->bus, "/org/berth1", "org.berth1.Manager",
                                  new_container ? "ContainerNew" : "ContainerRemoved", "sso", c->id, c->name,
                                  path);
        container_send_networks_changed(c); /* their Containers */
}

void container_send_networks_changed(Container *c)
{
        g_auto(GStrv) networks = container_config_networks(&c->config);

        STRV_FOREACH (n, networks)
                network_send_members_changed(c->manager, *n);
}

void container_send_start_reply(Container *c, sd_bus_message *call, const BerthError *e)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_berth_error_ BerthError named = BERTH_ERROR_INIT;
        _cleanup_free_ char *path = NULL;
        bool run = streq_ptr(sd_bus_message_get_member(call), "RunContainer");

        if (e) {
                /* RunContainer's caller has no other way to learn which container it made: an error reply
                 * carries nothing but a name and a message (sd-bus drops the rest of its body). */
                if (run) {
                        (void) berth_error_set(&named, e->error, "Container %s (%s): %s", c->name, c->id,
                                               berth_error_message(e));
                        if (named.message)
                                e = &named;
                }
                (void) bus_error_set_start_failed(&error, e);
                (void) sd_bus_reply_method_error(call, &error);
        } else if (!run)
                (void) sd_bus_reply_method_return(call, NULL);
        else if (container_object_path(c->name, &path) >= 0)
                (void) sd_bus_reply_method_return(call, "so", c->id, path);
        else
                /* Not an empty reply where the signature promises "so": the container runs, and the caller
                 * can find it by name. */
                (void) sd_bus_reply_method_errorf(
                        call, SD_BUS_ERROR_NO_MEMORY,
                        "Container %s (%s) started, but its reply could not be made.", c->name, c->id);
}

void container_send_exit_reply(sd_bus_message *call, int exit_code, const BerthError *e)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (!e && g_strv_contains((const char *const[]){ "Wait", "WaitContainer", NULL },
                                  strempty(sd_bus_message_get_member(call)))) {
                (void) sd_bus_reply_method_return(call, "i", (int32_t) exit_code);
                return;
        }
        if (!e) {
                (void) sd_bus_reply_method_return(call, NULL);
                return;
        }
        (void) bus_error_set_failed(&error, e);
        (void) sd_bus_reply_method_error(call, &error);
}

void container_send_pause_reply(sd_bus_message *call, const BerthError *e)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (!e) {
                (void) sd_bus_reply_method_return(call, NULL);
                return;
        }
        (void) bus_error_set_failed(&error, e);
        (void) sd_bus_reply_method_error(call, &error);
}

void container_send_top_reply(sd_bus_message *call, const BerthError *e, const uint32_t *pids,
                              const char *const *commands, size_t n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (e) {
                (void) bus_error_set_failed(&error, e);
                (void) sd_bus_reply_method_error(call, &error);
                return;
        }
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(us)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(us)", pids[i], commands[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                (void) sd_bus_reply_method_errnof(call, r, "Failed to answer: %m");
}

/* The counters GetStats passes on from systemd's unit, under systemd's names (UINT64_MAX: not known, as
 * when the cgroup has no such controller). */
static const char *const stats_properties[] = {
        "CPUUsageNSec", "MemoryCurrent", "MemoryMax",    "TasksCurrent",
        "TasksMax",     "IOReadBytes",   "IOWriteBytes", NULL,
};

static int stats_copy(sd_bus_message *from, sd_bus_message *to, uint64_t net_rx, uint64_t net_tx)
{
        const char *name, *contents;
        int r;

        r = sd_bus_message_open_container(to, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(from, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(from, 'e', "sv")) > 0) {
                r = sd_bus_message_read(from, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(from, NULL, &contents);
                if (r < 0)
                        return r;
                if (g_strv_contains(stats_properties, name) && streq(contents, "t")) {
                        uint64_t v;

                        r = sd_bus_message_read(from, "v", "t", &v);
                        if (r >= 0)
                                r = sd_bus_message_append(to, "{sv}", name, "t", v);
                } else
                        r = sd_bus_message_skip(from, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(from);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        /* berth's own: the container's network namespace's counters (container-verbs.c). */
        r = sd_bus_message_append(to, "{sv}{sv}", "NetRxBytes", "t", net_rx, "NetTxBytes", "t", net_tx);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(to);
}

void container_send_stats_reply(sd_bus_message *call, sd_bus_message *systemd_reply, uint64_t net_rx,
                                uint64_t net_tx)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const sd_bus_error *e = sd_bus_message_get_error(systemd_reply);
        int r;

        if (e) {
                (void) sd_bus_reply_method_errorf(call, SD_BUS_ERROR_FAILED, "systemd could not tell: %s",
                                                  e->message ?: e->name);
                return;
        }
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = stats_copy(systemd_reply, reply, net_rx, net_tx);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                (void) sd_bus_reply_method_errnof(call, r, "Failed to answer: %m");
}

void container_send_commit_reply(sd_bus_message *call, const char *image_id, const BerthError *e)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (!e) {
                (void) sd_bus_reply_method_return(call, "s", image_id);
                return;
        }
        (void) bus_error_set_failed(&error, e);
        (void) sd_bus_reply_method_error(call, &error);
}

void container_emit_changed(Container *c)
{
        _cleanup_free_ char *path = NULL;

        if (!c->manager->bus || container_object_path(c->name, &path) < 0)
                return;
        (void) sd_bus_emit_properties_changed(c->manager->bus, path, "org.berth1.Container", "State",
                                              "ExitCode", "Error", "Pid", "StartedUSec", "FinishedUSec",
                                              "IPAddress", "Ports", "RestartCount", "Unit", NULL);
}

const BusObjectImplementation container_object = {
        .path = "/org/berth1/container",
        .interface = "org.berth1.Container",
        .vtable = container_vtable,
        .find = container_object_find,
        .enumerator = container_node_enumerator,
};
