/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/container-cni.h"
#include "daemon/container-network.h"
#include "daemon/network-dns.h"
#include "daemon/network.h"
#include "network/cni.h"
#include "network/subnet.h"
#include "shared/fs-util.h"
#include "shared/json-build.h"
#include "shared/json-read.h"
#include "shared/log.h"
#include "shared/signal-util.h"

#define CNI_RECORD_MAX (4 * 1024 * 1024)
#define CNI_ERROR_MAX  4096

bool manager_network_is_cni(Manager *m, const char *name)
{
        return name && user_network_is_cni(g_hash_table_lookup(m->networks, name));
}

bool container_cni_publishes(Manager *m, const char *name)
{
        UserNetwork *n = g_hash_table_lookup(m->networks, name);

        return user_network_is_cni(n) && cni_conflist_has_capability(n->cni_config, "portMappings");
}

bool container_has_cni_networks(const Container *c)
{
        g_auto(GStrv) networks = container_config_networks(&c->config);

        for (size_t i = 0; networks[i]; i++)
                if (manager_network_is_cni(c->manager, networks[i]))
                        return true;
        return false;
}

static char *record_path(Manager *m, const char *id)
{
        return g_strdup_printf("%s/cni/%s.json", m->state_dir, id);
}

/* The record's networks, NULL when there is none or it does not read. */
static JsonArray *record_read(Manager *m, const char *id, JsonParser *p)
{
        _cleanup_free_ char *path = record_path(m, id), *text = NULL;
        JsonObject *o;
        JsonArray *a = NULL;
        size_t size;

        if (read_file_at(AT_FDCWD, path, CNI_RECORD_MAX, &text, &size) < 0)
                return NULL;
        if (!json_parser_load_from_data(p, text, -1, NULL) || !json_parser_get_root(p) ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
                return NULL;
        o = json_node_get_object(json_parser_get_root(p));
        if (json_read_array(o, "Networks", &a) < 0)
                return NULL;
        return a;
}

typedef struct CniChild {
        Manager *manager;
        char id[65];
        ContainerCniDone done;
        int error_fd;
} CniChild;

static void cni_child_free(CniChild *ch)
{
        safe_close(ch->error_fd);
        g_free(ch);
}

/* The record of c: its CNI networks in its list's order with results[k] (NULL: not added yet), the first
 * network's with runtime, its runtimeConfig (published ports), when given. */
static int record_save(Manager *m, const char *id, JsonBuilder *b)
{
        g_autoptr(JsonGenerator) g = json_generator_new();
        g_autoptr(JsonNode) root = json_builder_get_root(b);
        _cleanup_free_ char *path = record_path(m, id), *text = NULL,
                            *dir = g_strdup_printf("%s/cni", m->state_dir);
        int r;

        json_generator_set_root(g, root);
        text = json_generator_to_data(g, NULL);
        r = mkdir_p_at(AT_FDCWD, dir, 0700);
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600);
        return r;
}

static int record_write(Container *c, char **results, const char *runtime)
{
        g_auto(GStrv) networks = container_config_networks(&c->config);
        g_autoptr(JsonBuilder) b = json_builder_new();
        Manager *m = c->manager;
        const char *id = c->id;
        size_t k = 0;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "Networks");
        json_builder_begin_array(b);
        for (size_t i = 0; networks[i]; i++) {
                UserNetwork *n = g_hash_table_lookup(c->manager->networks, networks[i]);
                _cleanup_free_ char *ifname = g_strdup_printf("eth%zu", i);

                if (!user_network_is_cni(n))
                        continue;
                json_builder_begin_object(b);
                json_build_string(b, "Name", n->name);
                json_build_string(b, "IfName", ifname);
                json_build_string(b, "Config", n->cni_config);
                json_build_string(b, "Result", strempty(results[k++]));
                if (i == 0 && runtime)
                        json_build_string(b, "RuntimeConfig", runtime);
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
        return record_save(m, id, b);
}

/* Whether host port m is free in berthd's namespace (the host's): a bind, closed again; a free one is
 * chosen when it is 0. The portmap plugin's rules take the traffic, so nothing holds the port afterwards. */
static int host_port_check(PortMapping *m, char **ret_error)
{
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_addr.s_addr = htonl(m->host_address),
                .sin_port = htons(m->host_port),
        };
        socklen_t len = sizeof(sa);
        char a[INET_ADDRSTRLEN];
        int r;

        fd = socket(AF_INET, (m->protocol == PORT_PROTOCOL_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
                    0);
        if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0 &&
            getsockname(fd, (struct sockaddr *) &sa, &len) >= 0) {
                m->host_port = ntohs(sa.sin_port);
                return 0;
        }
        r = -errno;
        *ret_error = r == -EADDRINUSE
                             ? g_strdup_printf("host port %s:%u/%s is already in use",
                                               ipv4_format(m->host_address, a), m->host_port,
                                               port_protocol_to_string(m->protocol))
                             : g_strdup_printf("cannot check host port %u: %s", m->host_port, strerror(-r));
        return r;
}

/* c's published ports (they go to its first network) as runtimeConfig for the conflist's plugins that
 * declare the portMappings capability; NULL when it has none. */
static int ports_runtime_config(Container *c, char **ret, char **ret_error)
{
        size_t n = c->config.ports ? g_strv_length(c->config.ports) : 0;
        _cleanup_free_ PortMapping *m = g_new0(PortMapping, n + 1);
        int r;

        for (size_t i = 0; i < n; i++) {
                r = port_mapping_parse(c->config.ports[i], &m[i]);
                if (r < 0) {
                        *ret_error = g_strdup_printf("cannot publish '%s'", c->config.ports[i]);
                        return r;
                }
                r = host_port_check(&m[i], ret_error);
                if (r < 0)
                        return r;
        }
        *ret = n > 0 ? cni_port_mappings_to_runtime_config(m, n) : NULL;
        return 0;
}

/* In the child: ADD for every CNI network of c. The record is written first without results, so that a DEL
 * comes whatever happens to this child (a timeout, a crash), then again with them. On a failure, DEL of them
 * all here (the spec's cleanup) and the message to error_fd. */
static int child_del(Manager *m, const char *id);

static int child_add(Container *c, pid_t monitor_pid, int error_fd)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_auto(GStrv) networks = container_config_networks(&c->config);
        g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func(g_free);
        /* The monitor lives in the container's namespace as long as the container: the same path names it
         * for ADD and, after a restart of berthd, for CHECK (plugins compare it with the result's sandbox).
         */
        _cleanup_free_ char *netns = g_strdup_printf("/proc/%d/ns/net", (int) monitor_pid);
        _cleanup_free_ char *msg = NULL, *runtime = NULL;
        int r;

        if (manager_network_is_cni(c->manager, networks[0])) {
                r = ports_runtime_config(c, &runtime, &msg);
                if (r < 0) {
                        (void) !write(error_fd, msg, strlen(msg));
                        return r;
                }
        }
        /* A record left by the last run (its DEL failed) is released before this run's replaces it, or its
         * plugins' host side (an address lease, port rules) would never be. */
        r = child_del(c->manager, c->id);
        if (r < 0)
                log_warning("The CNI networks of the last run of %s could not all be released, going on.",
                            c->name);
        for (size_t i = 0; networks[i]; i++)
                g_ptr_array_add(results, NULL);
        r = record_write(c, (char **) results->pdata, runtime);
        if (r < 0) {
                msg = g_strdup_printf("cannot record the CNI networks: %s", strerror(-r));
                (void) !write(error_fd, msg, strlen(msg));
                return r;
        }
        g_ptr_array_set_size(results, 0);
        for (size_t i = 0; networks[i]; i++) {
                UserNetwork *n = g_hash_table_lookup(c->manager->networks, networks[i]);
                _cleanup_free_ char *ifname = g_strdup_printf("eth%zu", i);
                char *result = NULL;

                if (!user_network_is_cni(n))
                        continue;
                r = cni_run(n->cni_config, n->name, CNI_ADD, c->id, netns, ifname, &c->manager->cni, NULL,
                            i == 0 ? runtime : NULL, &result, &e);
                if (r < 0) {
                        /* Undo this one and those before it. */
                        for (size_t j = 0; j <= i; j++) {
                                UserNetwork *u = g_hash_table_lookup(c->manager->networks, networks[j]);
                                _cleanup_berth_error_ BerthError d = BERTH_ERROR_INIT;
                                _cleanup_free_ char *ifj = g_strdup_printf("eth%zu", j);

                                if (user_network_is_cni(u))
                                        (void) cni_run(u->cni_config, u->name, CNI_DEL, c->id, netns, ifj,
                                                       &c->manager->cni, NULL, j == 0 ? runtime : NULL, NULL,
                                                       &d);
                        }
                        msg = g_strdup_printf("network %s: %s", n->name, berth_error_message(&e));
                        (void) !write(error_fd, msg, MIN(strlen(msg), (size_t) CNI_ERROR_MAX));
                        return r;
                }
                g_ptr_array_add(results, result);
        }
        for (size_t i = results->len; networks[i]; i++)
                g_ptr_array_add(results, NULL);
        r = record_write(c, (char **) results->pdata, runtime);
        if (r < 0) {
                msg = g_strdup_printf("cannot record the CNI results: %s", strerror(-r));
                (void) !write(error_fd, msg, strlen(msg));
        }
        return r;
}

/* One network's entry of a record; false for an entry that is not whole (skipped by DEL and CHECK). The
 * strings belong to the parsed record. */
typedef struct RecordEntry {
        const char *network, *ifname, *config, *result, *runtime;
} RecordEntry;

static bool record_entry_read(JsonNode *node, RecordEntry *ret)
{
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;

        *ret = (RecordEntry){};
        return o && json_read_string(o, "Name", &ret->network) >= 0 &&
               json_read_string(o, "IfName", &ret->ifname) >= 0 &&
               json_read_string(o, "Config", &ret->config) >= 0 &&
               json_read_string(o, "Result", &ret->result) >= 0 &&
               json_read_string(o, "RuntimeConfig", &ret->runtime) >= 0 && ret->network && ret->ifname &&
               ret->config;
}

/* What c holds on its CNI networks (every one, or only network), from its record: one NetworkAddress each
 * with an address, in the record's order. */
typedef struct NetworkAddress {
        char *network, *ifname, *address;
} NetworkAddress;

static void network_address_clear(NetworkAddress *a)
{
        free(a->network);
        free(a->ifname);
        free(a->address);
}

static GArray *record_addresses(const Container *c, const char *network)
{
        g_autoptr(JsonParser) p = json_parser_new();
        JsonArray *a = record_read(c->manager, c->id, p);
        GArray *l = g_array_new(false, true, sizeof(NetworkAddress));

        g_array_set_clear_func(l, (GDestroyNotify) network_address_clear);
        for (guint i = 0; a && i < json_array_get_length(a); i++) {
                NetworkAddress x = {};
                RecordEntry e;

                if (!record_entry_read(json_array_get_element(a, i), &e) || isempty(e.result) ||
                    (network && !streq(e.network, network)))
                        continue;
                x.address = cni_result_ipv4(e.result);
                if (!x.address)
                        continue;
                x.network = g_strdup_printf("CNI network %s", e.network);
                x.ifname = g_strdup(e.ifname);
                g_array_append_val(l, x);
        }
        return l;
}

static void journal_addresses(Container *c, const GArray *l, bool joined)
{
        for (guint i = 0; l && i < l->len; i++) {
                const NetworkAddress *x = &g_array_index(l, NetworkAddress, i);

                container_journal_network(c, joined, x->network, x->ifname, x->address);
        }
}

void container_cni_journal(Container *c, bool joined)
{
        g_autoptr(GArray) l = record_addresses(c, NULL);

        journal_addresses(c, l, joined);
}

/* In the child: DEL for every network of the record, in reverse; the record goes if all succeed. */
static int child_del(Manager *m, const char *id)
{
        g_autoptr(JsonParser) p = json_parser_new();
        _cleanup_free_ char *path = record_path(m, id);
        JsonArray *a = record_read(m, id, p);
        int r = 0;

        if (!a)
                return 0;
        for (guint k = json_array_get_length(a); k > 0; k--) {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
                RecordEntry x;

                if (!record_entry_read(json_array_get_element(a, k - 1), &x))
                        continue;
                /* Without a result the ADD never finished (and its child ran DEL itself): a failure here,
                 * for a conflist a plugin cannot even parse say, keeps nothing. */
                if (cni_run(x.config, x.network, CNI_DEL, id, "", x.ifname, &m->cni, x.result, x.runtime,
                            NULL, &e) < 0 &&
                    !isempty(x.result)) {
                        log_warning("CNI DEL of container %.12s on network %s failed: %s", id, x.network,
                                    berth_error_message(&e));
                        r = -EIO;
                }
        }
        if (r >= 0 && unlink(path) < 0 && errno != ENOENT)
                r = -errno;
        return r;
}

/* In the child: CHECK for every network of the record of a running container, in its namespace (its
 * monitor's, as at ADD). */
static int child_check(Manager *m, const char *id, const char *name, pid_t pid)
{
        g_autoptr(JsonParser) p = json_parser_new();
        _cleanup_free_ char *netns = g_strdup_printf("/proc/%d/ns/net", (int) pid);
        JsonArray *a = record_read(m, id, p);
        int r = 0;

        for (guint i = 0; a && i < json_array_get_length(a); i++) {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
                RecordEntry x;

                if (!record_entry_read(json_array_get_element(a, i), &x))
                        continue;
                if (cni_run(x.config, x.network, CNI_CHECK, id, netns, x.ifname, &m->cni, x.result,
                            x.runtime, NULL, &e) < 0) {
                        log_warning("Container %s on CNI network %s fails CHECK: %s", name, x.network,
                                    berth_error_message(&e));
                        r = -EIO;
                } else
                        log_info("Container %s on CNI network %s passes CHECK.", name, x.network);
        }
        return r;
}

static int on_add_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        CniChild *ch = userdata;
        Container *c = g_hash_table_lookup(ch->manager->containers, ch->id);
        bool ok = si->si_code == CLD_EXITED && si->si_status == 0;
        char msg[CNI_ERROR_MAX + 1] = "";
        ssize_t n;

        if (!ok) {
                n = read(ch->error_fd, msg, CNI_ERROR_MAX);
                msg[MAX(n, 0)] = 0;
        }
        if (!c || !c->starting) {
                /* Gone or killed meanwhile: undo. */
                if (ok)
                        manager_cni_del(ch->manager, ch->id);
        } else
                ch->done(c, ok ? 0 : -EIO, ok ? NULL : (msg[0] ? msg : "the CNI plugins failed"));
        cni_child_free(ch);
        sd_event_source_unref(s);
        return 0;
}

int container_cni_add(Container *c, pid_t monitor_pid, ContainerCniDone done)
{
        _cleanup_close_ int err_r = -EBADF, err_w = -EBADF;
        sd_event_source *source = NULL;
        CniChild *ch;
        int fds[2], r;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        err_r = fds[0];
        err_w = fds[1];
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                reset_signal_mask();
                _exit(child_add(c, monitor_pid, err_w) < 0 ? 1 : 0);
        }
        ch = g_new0(CniChild, 1);
        ch->manager = c->manager;
        g_strlcpy(ch->id, c->id, sizeof(ch->id));
        ch->done = done;
        ch->error_fd = TAKE_FD(err_r);
        r = sd_event_add_child(c->manager->event, &source, pid, WEXITED, on_add_exit, ch);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                cni_child_free(ch);
                return r;
        }
        log_debug("Container %s: CNI ADD in child %d.", c->name, (int) pid);
        return 0;
}

static int on_check_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        sd_event_source_unref(s); /* the child logged what it found */
        return 0;
}

typedef struct CniDel {
        Manager *manager;
        char id[65];
} CniDel;

static int on_del_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        CniDel *d = userdata;

        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning(
                        "CNI DEL of container %.12s failed; its record stays for the next start of berthd.",
                        d->id);
        else
                log_debug("CNI DEL of container %.12s done.", d->id);
        /* Its names on the CNI networks went with the record. */
        manager_dns_update(d->manager);
        g_free(d);
        sd_event_source_unref(s);
        return 0;
}

void manager_cni_del(Manager *m, const char *id)
{
        _cleanup_free_ char *path = record_path(m, id);
        sd_event_source *source = NULL;
        CniDel *d;
        pid_t pid;
        int r;

        if (access(path, F_OK) < 0)
                return;
        {
                sigset_t ss;

                /* Before berthd's loop can watch children (a container found exited while loading): the
                 * sweep, once it can, does it (manager_sweep_cni()). */
                if (sigprocmask(SIG_SETMASK, NULL, &ss) < 0 || sigismember(&ss, SIGCHLD) != 1)
                        return;
        }
        pid = fork();
        if (pid < 0) {
                log_warning_errno(errno, "Failed to fork CNI DEL of container %.12s: %m", id);
                return;
        }
        if (pid == 0) {
                reset_signal_mask();
                _exit(child_del(m, id) < 0 ? 1 : 0);
        }
        d = g_new0(CniDel, 1);
        d->manager = m;
        g_strlcpy(d->id, id, sizeof(d->id));
        r = sd_event_add_child(m->event, &source, pid, WEXITED, on_del_exit, d);
        if (r < 0) {
                log_warning_errno(r, "Failed to watch CNI DEL of container %.12s: %m", id);
                g_free(d);
        }
}

/* A running container's networks, checked in a child (after a restart of berthd: still as recorded?). */
static void container_cni_check(Container *c)
{
        sd_event_source *source = NULL;
        pid_t pid = fork();
        int r;

        if (pid < 0) {
                log_warning_errno(errno, "Failed to fork CNI CHECK of container %s: %m", c->name);
                return;
        }
        if (pid == 0) {
                reset_signal_mask();
                _exit(child_check(c->manager, c->id, c->name, c->state.monitor_pid) < 0 ? 1 : 0);
        }
        r = sd_event_add_child(c->manager->event, &source, pid, WEXITED, on_check_exit, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to watch CNI CHECK of container %s: %m", c->name);
}

void manager_sweep_cni(Manager *m, bool (*alive)(const char *id, void *userdata))
{
        _cleanup_free_ char *dir = g_strdup_printf("%s/cni", m->state_dir);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *f;

        while (d && (f = g_dir_read_name(d))) {
                _cleanup_free_ char *id = NULL;

                if (!g_str_has_suffix(f, ".json"))
                        continue;
                id = g_strndup(f, strlen(f) - strlen(".json"));
                if (!alive(id, m)) {
                        log_info("Releasing the CNI networks of container %.12s, which is gone.", id);
                        manager_cni_del(m, id);
                } else {
                        Container *c = g_hash_table_lookup(m->containers, id);

                        if (c && c->state.monitor_pid > 0)
                                container_cni_check(c);
                }
        }
}

/* ---- network connect / disconnect of a running container (container-network.c does the stopped ones:
 * they are only its list, applied at the next start). ---- */

/* In a child: the record of id with network's entry replaced by (ifname, config, result), or dropped when
 * ifname is NULL; the others kept as they are. */
static int record_set(Manager *m, const char *id, const char *network, const char *ifname,
                      const char *config, const char *result)
{
        g_autoptr(JsonParser) p = json_parser_new();
        g_autoptr(JsonBuilder) b = json_builder_new();
        JsonArray *a = record_read(m, id, p);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "Networks");
        json_builder_begin_array(b);
        for (guint i = 0; a && i < json_array_get_length(a); i++) {
                JsonNode *node = json_array_get_element(a, i);
                const char *name = NULL;

                if (!JSON_NODE_HOLDS_OBJECT(node) ||
                    (json_read_string(json_node_get_object(node), "Name", &name) >= 0 &&
                     streq_ptr(name, network)))
                        continue;
                json_builder_add_value(b, json_node_copy(node));
        }
        if (ifname) {
                json_builder_begin_object(b);
                json_build_string(b, "Name", network);
                json_build_string(b, "IfName", ifname);
                json_build_string(b, "Config", config);
                json_build_string(b, "Result", strempty(result));
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
        return record_save(m, id, b);
}

static void child_report(int error_fd, const char *fmt, ...) _printf_(2, 3);
static void child_report(int error_fd, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        (void) !write(error_fd, msg, MIN(strlen(msg), (size_t) CNI_ERROR_MAX));
}

/* In the child: ADD of network as ifname in the container's namespace (its monitor's), recorded first
 * without a result (a DEL comes whatever happens to this child), then with it; undone on failure. */
static int child_connect(Manager *m, const char *id, UserNetwork *n, const char *ifname, pid_t monitor_pid,
                         int error_fd)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT, d = BERTH_ERROR_INIT;
        _cleanup_free_ char *netns = g_strdup_printf("/proc/%d/ns/net", (int) monitor_pid), *result = NULL;
        int r;

        r = record_set(m, id, n->name, ifname, n->cni_config, NULL);
        if (r < 0) {
                child_report(error_fd, "cannot record the CNI network: %s", strerror(-r));
                return r;
        }
        r = cni_run(n->cni_config, n->name, CNI_ADD, id, netns, ifname, &m->cni, NULL, NULL, &result, &e);
        if (r < 0) {
                (void) cni_run(n->cni_config, n->name, CNI_DEL, id, netns, ifname, &m->cni, NULL, NULL, NULL,
                               &d);
                (void) record_set(m, id, n->name, NULL, NULL, NULL);
                child_report(error_fd, "network %s: %s", n->name, berth_error_message(&e));
                return r;
        }
        r = record_set(m, id, n->name, ifname, n->cni_config, result);
        if (r < 0)
                child_report(error_fd, "cannot record the CNI result: %s", strerror(-r));
        return r;
}

/* In the child: DEL of network's recorded entry in the running container's namespace, with its result; the
 * entry goes when the plugins succeeded. */
static int child_disconnect(Manager *m, const char *id, const char *network, pid_t monitor_pid, int error_fd)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *netns = g_strdup_printf("/proc/%d/ns/net", (int) monitor_pid);
        g_autoptr(JsonParser) p = json_parser_new();
        JsonArray *a = record_read(m, id, p);
        int r;

        for (guint i = 0; a && i < json_array_get_length(a); i++) {
                JsonNode *node = json_array_get_element(a, i);
                JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
                const char *name = NULL, *ifname = NULL, *config = NULL, *result = NULL, *runtime = NULL;

                if (!o || json_read_string(o, "Name", &name) < 0 || !streq_ptr(name, network) ||
                    json_read_string(o, "IfName", &ifname) < 0 ||
                    json_read_string(o, "Config", &config) < 0 ||
                    json_read_string(o, "Result", &result) < 0 ||
                    json_read_string(o, "RuntimeConfig", &runtime) < 0 || !ifname || !config)
                        continue;
                r = cni_run(config, network, CNI_DEL, id, netns, ifname, &m->cni, result, runtime, NULL, &e);
                if (r < 0) {
                        child_report(error_fd, "network %s: %s", network, berth_error_message(&e));
                        return r;
                }
        }
        r = record_set(m, id, network, NULL, NULL, NULL);
        if (r < 0)
                child_report(error_fd, "cannot update the CNI record: %s", strerror(-r));
        return r;
}

typedef struct CniChange {
        Manager *manager;
        char id[65];
        char *network;
        bool connect, force;
        ContainerCniChanged done;
        void *userdata;
        int error_fd;
        GArray *released; /* a disconnect: what c held there, journaled once the DEL succeeded */
} CniChange;

static void cni_change_free(CniChange *ch)
{
        safe_close(ch->error_fd);
        if (ch->released)
                g_array_unref(ch->released);
        free(ch->network);
        g_free(ch);
}

static int on_change_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        CniChange *ch = userdata;
        Container *c = g_hash_table_lookup(ch->manager->containers, ch->id);
        bool ok = si->si_code == CLD_EXITED && si->si_status == 0;
        char msg[CNI_ERROR_MAX + 1] = "";
        ssize_t n;
        int r;

        if (!ok) {
                n = read(ch->error_fd, msg, CNI_ERROR_MAX);
                msg[MAX(n, 0)] = 0;
                if (!msg[0])
                        g_strlcpy(msg, "the CNI plugins failed", sizeof(msg));
        }
        if (c)
                c->cni_changing = false;
        /* Stopped or removed meanwhile: the DEL at its exit may have run before this child wrote the record
         * again; what is recorded now goes the same way. */
        if (!c || (!c->starting && c->state.monitor_pid <= 0))
                manager_cni_del(ch->manager, ch->id);
        if (!c)
                ch->done(NULL, -ESRCH, "the container was removed meanwhile", ch->userdata);
        else if (!ok) {
                if (ch->connect)
                        (void) container_config_disconnect(&c->config, ch->network, NULL);
                log_warning("Container %s: network %s of %s failed: %s", c->name,
                            ch->connect ? "connect" : "disconnect", ch->network, msg);
                ch->done(c, -EIO, msg, ch->userdata);
        } else if (ch->connect) {
                r = container_save_record(c);
                if (r < 0) {
                        /* Its record entry stays: the DEL at the container's exit releases it. */
                        (void) container_config_disconnect(&c->config, ch->network, NULL);
                        g_snprintf(msg, sizeof(msg), "cannot save the record of container %s: %s", c->name,
                                   strerror(-r));
                        ch->done(c, r, msg, ch->userdata);
                } else {
                        g_autoptr(GArray) l = record_addresses(c, ch->network);

                        log_info("Container %s connected to CNI network %s.", c->name, ch->network);
                        journal_addresses(c, l, true);
                        manager_dns_update(c->manager);
                        container_emit_changed(c);
                        network_send_members_changed(c->manager, ch->network);
                        ch->done(c, 0, NULL, ch->userdata);
                }
        } else {
                journal_addresses(c, ch->released, false);
                r = container_disconnect(c, ch->network, ch->force, &e); /* and its names */
                ch->done(c, r, r < 0 ? berth_error_message(&e) : NULL, ch->userdata);
        }
        cni_change_free(ch);
        sd_event_source_unref(s);
        return 0;
}

int container_cni_change(Container *c, const char *network, bool connect, const char *ip, char **aliases,
                         bool force, ContainerCniChanged done, void *userdata, BerthError *e)
{
        g_auto(GStrv) networks = container_config_networks(&c->config);
        UserNetwork *n = g_hash_table_lookup(c->manager->networks, network);
        _cleanup_close_ int err_r = -EBADF, err_w = -EBADF, netns_fd = -EBADF;
        _cleanup_free_ char *ifname = NULL, *netns = NULL;
        pid_t monitor_pid = c->state.monitor_pid;
        sd_event_source *source = NULL;
        CniChange *ch;
        int fds[2], r;
        pid_t pid = -1;

        if (!user_network_is_cni(n) || !c->monitor_source || c->state.status != CONTAINER_RUNNING ||
            monitor_pid <= 0)
                return 0; /* container_connect()/container_disconnect() do it */
        if (c->starting || c->cni_changing)
                return berth_error_set(e, -EBUSY, "container %s is %s", c->name,
                                       c->starting ? "starting" : "changing its CNI networks");
        if (!connect && !g_strv_contains((const char *const *) networks, network))
                return 0; /* not on it: container_disconnect() says so (or, with force, nothing) */
        if (connect) {
                r = container_cni_connect_check(network, ip, e);
                if (r < 0)
                        return r;
                r = container_config_connect(&c->config, network, NULL, aliases, e);
                if (r < 0)
                        return r;
                netns = g_strdup_printf("/proc/%d/ns/net", (int) monitor_pid);
                netns_fd = open(netns, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                r = netns_fd < 0 ? -errno : netns_free_ifname(netns_fd, &ifname);
                if (r < 0) {
                        (void) container_config_disconnect(&c->config, network, NULL);
                        return berth_error_set_errno(e, r, "cannot find a free interface name in %s",
                                                     c->name);
                }
        }
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                r = -errno;
        else {
                err_r = fds[0];
                err_w = fds[1];
                pid = fork();
                r = pid < 0 ? -errno : 0;
        }
        if (r < 0) {
                if (connect)
                        (void) container_config_disconnect(&c->config, network, NULL);
                return berth_error_set_errno(e, r, "cannot start the CNI plugins");
        }
        if (pid == 0) {
                reset_signal_mask();
                _exit((connect ? child_connect(c->manager, c->id, n, ifname, monitor_pid, err_w)
                               : child_disconnect(c->manager, c->id, network, monitor_pid, err_w)) < 0
                              ? 1
                              : 0);
        }
        ch = g_new0(CniChange, 1);
        ch->manager = c->manager;
        g_strlcpy(ch->id, c->id, sizeof(ch->id));
        ch->network = g_strdup(network);
        ch->connect = connect;
        ch->force = force;
        ch->done = done;
        ch->userdata = userdata;
        ch->error_fd = TAKE_FD(err_r);
        if (!connect)
                ch->released = record_addresses(c, network);
        r = sd_event_add_child(c->manager->event, &source, pid, WEXITED, on_change_exit, ch);
        if (r < 0) {
                /* The child's record entry stays: the DEL at the container's exit releases it. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                if (connect)
                        (void) container_config_disconnect(&c->config, network, NULL);
                cni_change_free(ch);
                return berth_error_set_errno(e, r, "cannot watch the CNI plugins");
        }
        c->cni_changing = true;
        log_debug("Container %s: CNI %s of %s in child %d.", c->name, connect ? "ADD" : "DEL", network,
                  (int) pid);
        return 1;
}

int container_cni_connect_check(const char *network, const char *ip, BerthError *e)
{
        if (!isempty(ip))
                return berth_error_set(
                        e, -EINVAL,
                        "network %s is a CNI network: its IPAM plugin gives the address, not --ip", network);
        return 0;
}

PortMapping *container_cni_ports(const Container *c, size_t *ret_n)
{
        g_autoptr(JsonParser) p = json_parser_new();
        JsonArray *a;
        JsonNode *node;
        const char *name = NULL, *runtime = NULL;
        PortMapping *m = NULL;

        *ret_n = 0;
        if (!manager_network_is_cni(c->manager, c->config.network))
                return NULL;
        a = record_read(c->manager, c->id, p);
        if (!a || json_array_get_length(a) == 0)
                return NULL;
        node = json_array_get_element(a, 0);
        if (!JSON_NODE_HOLDS_OBJECT(node) ||
            json_read_string(json_node_get_object(node), "Name", &name) < 0 ||
            !streq_ptr(name, c->config.network) ||
            json_read_string(json_node_get_object(node), "RuntimeConfig", &runtime) < 0 || !runtime ||
            cni_port_mappings_from_runtime_config(runtime, &m, ret_n) < 0)
                return NULL;
        return m;
}

char *container_cni_ipv4(const Container *c)
{
        g_autoptr(GArray) l = NULL;

        if (!manager_network_is_cni(c->manager, c->config.network))
                return NULL;
        l = record_addresses(c, c->config.network);
        return l->len > 0 ? TAKE_PTR(g_array_index(l, NetworkAddress, 0).address) : NULL;
}

int container_cni_address(const Container *c, const char *network, uint32_t *ret_address,
                          uint32_t *ret_gateway)
{
        g_autoptr(JsonParser) p = json_parser_new();
        JsonArray *a = record_read(c->manager, c->id, p);

        for (guint i = 0; a && i < json_array_get_length(a); i++) {
                JsonNode *node = json_array_get_element(a, i);
                const char *name = NULL, *result = NULL;

                if (!JSON_NODE_HOLDS_OBJECT(node))
                        continue;
                (void) json_read_string(json_node_get_object(node), "Name", &name);
                (void) json_read_string(json_node_get_object(node), "Result", &result);
                if (streq_ptr(name, network) && !isempty(result))
                        return cni_result_ipv4_gateway(result, ret_address, ret_gateway);
        }
        return -ENOENT;
}

bool host_has_ipv4(uint32_t address)
{
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(address) };

        return fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0;
}

int container_cni_nameserver(const Container *c, uint32_t *ret)
{
        uint32_t address, gateway;

        if (!manager_network_is_cni(c->manager, c->config.network) || !manager_dns_available() ||
            container_cni_address(c, c->config.network, &address, &gateway) < 0 || !host_has_ipv4(gateway))
                return -ENOENT;
        *ret = gateway;
        return 0;
}
