/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "network/cni.h"
#include "network/subnet.h"
#include "shared/fs-util.h"
#include "shared/keyfile.h"
#include "shared/log.h"
#include "shared/macro.h"

#define CNI_OUTPUT_MAX (1024 * 1024)

static bool plugin_type_is_valid(const char *t)
{
        if (isempty(t) || strlen(t) > 255 || streq(t, ".") || streq(t, ".."))
                return false;
        for (const char *p = t; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr("-_.", *p))
                        return false;
        return true;
}

static JsonNode *parse(const char *text)
{
        g_autoptr(JsonParser) p = json_parser_new();
        JsonNode *root;

        if (!text || !json_parser_load_from_data(p, text, -1, NULL))
                return NULL;
        root = json_parser_get_root(p);
        return root ? json_node_copy(root) : NULL;
}

int cni_conflist_check(const char *text, BerthError *e)
{
        g_autoptr(JsonNode) root = parse(text);
        JsonObject *o;
        JsonNode *v, *plugins;
        JsonArray *a;

        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return berth_error_set(e, -EINVAL, "the CNI configuration is not a JSON object");
        o = json_node_get_object(root);
        v = json_object_get_member(o, "cniVersion");
        if (!v || !JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING ||
            isempty(json_node_get_string(v)))
                return berth_error_set(e, -EINVAL, "the CNI configuration has no cniVersion string");
        v = json_object_get_member(o, "name");
        if (v && (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING))
                return berth_error_set(e, -EINVAL, "the CNI configuration's name is not a string");
        plugins = json_object_get_member(o, "plugins");
        if (!plugins || !JSON_NODE_HOLDS_ARRAY(plugins) ||
            json_array_get_length(json_node_get_array(plugins)) == 0)
                return berth_error_set(
                        e, -EINVAL,
                        "the CNI configuration has no plugins (a conflist, with a \"plugins\" "
                        "array, is expected)");
        a = json_node_get_array(plugins);
        for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonNode *p = json_array_get_element(a, i);
                const char *type;

                if (!JSON_NODE_HOLDS_OBJECT(p))
                        return berth_error_set(e, -EINVAL, "CNI plugin %u is not an object", i);
                type = json_object_get_string_member_with_default(json_node_get_object(p), "type", NULL);
                if (!plugin_type_is_valid(type))
                        return berth_error_set(e, -EINVAL,
                                               "CNI plugin %u has no valid type (a plugin's file name, "
                                               "e.g. bridge)",
                                               i);
        }
        return 0;
}

void cni_settings_done(CniSettings *s)
{
        s->path = mfree(s->path);
}

int cni_path_parse(const char *text, char **ret)
{
        g_autofree char *copy = g_strstrip(g_strdup(strempty(text)));
        g_auto(GStrv) dirs = g_strsplit(copy, ":", -1);

        if (isempty(copy))
                return -EINVAL;
        for (char **d = dirs; *d; d++)
                if (**d != '/')
                        return -EINVAL;
        *ret = g_steal_pointer(&copy);
        return 0;
}

int cni_settings_load(const char *file, CniSettings *ret)
{
        g_autoptr(GKeyFile) k = NULL;
        g_autofree char *path = NULL, *timeout = NULL;
        CniSettings s = { .timeout_sec = CNI_TIMEOUT_DEFAULT_SEC };
        guint64 t;
        int r;

        r = keyfile_load(file, &k);
        if (r < 0 && r != -ENOENT)
                return r;
        if (k) {
                path = g_key_file_get_string(k, "Network", "CniPath", NULL);
                timeout = g_key_file_get_string(k, "Network", "CniTimeout", NULL);
        }
        if (path) {
                r = cni_path_parse(path, &s.path);
                if (r < 0)
                        return log_debug_errno(r, "Invalid value '%s' for CniPath= in [Network].", path);
        } else
                s.path = g_strdup(CNI_PATH_DEFAULT);
        if (timeout) {
                g_strstrip(timeout);
                if (!g_ascii_string_to_unsigned(timeout, 10, 1, CNI_TIMEOUT_MAX_SEC, &t, NULL)) {
                        cni_settings_done(&s);
                        return log_debug_errno(-EINVAL, "Invalid value '%s' for CniTimeout= in [Network].",
                                               timeout);
                }
                s.timeout_sec = (unsigned) t;
        }
        *ret = s;
        return 0;
}

static char *find_plugin(const char *type, const char *cni_path)
{
        g_auto(GStrv) dirs = g_strsplit(cni_path, ":", -1);

        for (char **d = dirs; *d; d++) {
                _cleanup_free_ char *path = NULL;

                if (**d != '/')
                        continue;
                path = g_build_filename(*d, type, NULL);
                if (access(path, X_OK) == 0)
                        return TAKE_PTR(path);
        }
        return NULL;
}

char *cni_conflist_missing_plugin(const char *text, const char *cni_path)
{
        g_autoptr(JsonNode) root = parse(text);
        JsonArray *a = json_object_get_array_member(json_node_get_object(root), "plugins");

        for (guint i = 0; i < json_array_get_length(a); i++) {
                const char *type = json_object_get_string_member(
                        json_node_get_object(json_array_get_element(a, i)), "type");
                _cleanup_free_ char *path = find_plugin(type, cni_path);

                if (!path)
                        return g_strdup(type);
        }
        return NULL;
}

static const char *command_name(CniCommand c)
{
        return c == CNI_ADD ? "ADD" : c == CNI_CHECK ? "CHECK" : "DEL";
}

/* The plugin's error object as a message, or its raw output. */
static char *plugin_error(const char *type, int status, const char *out)
{
        g_autoptr(JsonNode) root = parse(out);

        if (root && JSON_NODE_HOLDS_OBJECT(root)) {
                JsonObject *o = json_node_get_object(root);
                const char *msg = json_object_get_string_member_with_default(o, "msg", NULL);
                const char *details = json_object_get_string_member_with_default(o, "details", NULL);

                if (msg)
                        return g_strdup_printf("CNI plugin %s failed: %s%s%s", type, msg,
                                               isempty(details) ? "" : ": ", strempty(details));
        }
        return g_strdup_printf("CNI plugin %s failed (exit status %d)%s%s", type, status,
                               isempty(out) ? "" : ": ", strempty(out));
}

static int64_t now_msec(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one plugin with config on stdin; its stdout goes to *ret_out. The plugin leads a process group of its
 * own, so that at its deadline whatever it started dies with it (-ETIME). */
static int exec_plugin(const char *path, char **env, const char *config, unsigned timeout_sec,
                       char **ret_out, int *ret_status)
{
        _cleanup_close_ int in = -EBADF, out_r = -EBADF, out_w = -EBADF;
        g_autoptr(GString) out = g_string_new(NULL);
        int64_t deadline = now_msec() + (int64_t) timeout_sec * 1000;
        int fds[2], status;
        pid_t pid;

        in = memfd_create("cni-config", MFD_CLOEXEC);
        if (in < 0)
                return -errno;
        if (write(in, config, strlen(config)) != (ssize_t) strlen(config) || lseek(in, 0, SEEK_SET) < 0)
                return -EIO;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        out_r = fds[0];
        out_w = fds[1];
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char *argv[] = { (char *) path, NULL };

                if (setpgid(0, 0) < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0)
                        _exit(127);
                execve(path, argv, env);
                _exit(127);
        }
        /* Both sides set the group, so that a kill at the deadline finds it whichever ran first. */
        (void) setpgid(pid, pid);
        out_w = safe_close(out_w);
        for (;;) {
                struct pollfd p = { .fd = out_r, .events = POLLIN };
                int64_t left = deadline - now_msec();
                char buf[4096];
                ssize_t n;
                int k;

                k = left > 0 ? poll(&p, 1, (int) MIN(left, (int64_t) INT_MAX)) : 0;
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        (void) kill(-pid, SIGKILL);
                        (void) kill(pid, SIGKILL);
                        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                        return -ETIME;
                }
                n = read(out_r, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (out->len < CNI_OUTPUT_MAX)
                        g_string_append_len(out, buf, n);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        *ret_out = g_string_free(g_steal_pointer(&out), false);
        return 0;
}

/* Whether the plugin's "capabilities" object says key is true. */
static bool plugin_has_capability(JsonObject *plugin, const char *key)
{
        JsonNode *caps = json_object_get_member(plugin, "capabilities"), *v;

        if (!caps || !JSON_NODE_HOLDS_OBJECT(caps))
                return false;
        v = json_object_get_member(json_node_get_object(caps), key);
        return v && JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_BOOLEAN &&
               json_node_get_boolean(v);
}

bool cni_conflist_has_capability(const char *conflist, const char *capability)
{
        g_autoptr(JsonNode) root = parse(conflist);
        JsonArray *a;

        if (cni_conflist_check(conflist, NULL) < 0)
                return false;
        a = json_object_get_array_member(json_node_get_object(root), "plugins");
        for (guint i = 0; i < json_array_get_length(a); i++)
                if (plugin_has_capability(json_node_get_object(json_array_get_element(a, i)), capability))
                        return true;
        return false;
}

char *cni_port_mappings_to_runtime_config(const PortMapping *m, size_t n)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonGenerator) g = json_generator_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "portMappings");
        json_builder_begin_array(b);
        for (size_t i = 0; i < n; i++) {
                char a[INET_ADDRSTRLEN];

                json_builder_begin_object(b);
                json_builder_set_member_name(b, "hostPort");
                json_builder_add_int_value(b, m[i].host_port);
                json_builder_set_member_name(b, "containerPort");
                json_builder_add_int_value(b, m[i].container_port);
                json_builder_set_member_name(b, "protocol");
                json_builder_add_string_value(b, port_protocol_to_string(m[i].protocol));
                if (m[i].host_address != 0) {
                        json_builder_set_member_name(b, "hostIP");
                        json_builder_add_string_value(b, ipv4_format(m[i].host_address, a));
                }
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        json_generator_set_root(g, root);
        return json_generator_to_data(g, NULL);
}

int cni_port_mappings_from_runtime_config(const char *runtime_config, PortMapping **ret, size_t *ret_n)
{
        g_autoptr(JsonNode) root = parse(runtime_config);
        _cleanup_free_ PortMapping *m = NULL;
        JsonNode *pm;
        JsonArray *a;
        size_t n = 0;

        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return -EINVAL;
        pm = json_object_get_member(json_node_get_object(root), "portMappings");
        if (!pm || !JSON_NODE_HOLDS_ARRAY(pm)) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        a = json_node_get_array(pm);
        m = g_new0(PortMapping, json_array_get_length(a) + 1);
        for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonNode *node = json_array_get_element(a, i);
                JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
                gint64 host, ctr;
                const char *ip;

                if (!o)
                        return -EINVAL;
                host = json_object_get_int_member_with_default(o, "hostPort", 0);
                ctr = json_object_get_int_member_with_default(o, "containerPort", 0);
                if (host < 1 || host > 65535 || ctr < 1 || ctr > 65535)
                        return -EINVAL;
                m[n].host_port = (uint16_t) host;
                m[n].container_port = (uint16_t) ctr;
                m[n].protocol = port_protocol_from_string(
                        json_object_get_string_member_with_default(o, "protocol", "tcp"));
                if (m[n].protocol < 0)
                        return -EINVAL;
                ip = json_object_get_string_member_with_default(o, "hostIP", NULL);
                if (!isempty(ip) && ipv4_parse(ip, &m[n].host_address) < 0)
                        return -EINVAL;
                n++;
        }
        *ret = TAKE_PTR(m);
        *ret_n = n;
        return 0;
}

/* The config of plugin i: its own members, the list's name and version, prevResult if given, and
 * runtimeConfig: those members of runtime (the runtime's, e.g. portMappings) the plugin declares a
 * capability for, as the spec's conventions have it. */
static char *plugin_config(JsonObject *plugin, const char *name, const char *version, JsonNode *prev,
                           JsonNode *runtime)
{
        g_autoptr(JsonNode) copy = json_node_alloc();
        g_autoptr(JsonGenerator) g = json_generator_new();
        JsonObject *o = json_object_new();
        g_autoptr(GList) members = json_object_get_members(plugin);

        for (GList *m = members; m; m = m->next)
                if (!streq(m->data, "name") && !streq(m->data, "cniVersion") &&
                    !streq(m->data, "prevResult"))
                        json_object_set_member(o, m->data,
                                               json_node_copy(json_object_get_member(plugin, m->data)));
        json_object_set_string_member(o, "name", name);
        json_object_set_string_member(o, "cniVersion", version);
        if (prev)
                json_object_set_member(o, "prevResult", json_node_copy(prev));
        if (runtime && JSON_NODE_HOLDS_OBJECT(runtime)) {
                g_autoptr(GList) keys = json_object_get_members(json_node_get_object(runtime));
                JsonObject *rc = NULL;

                for (GList *k = keys; k; k = k->next) {
                        if (!plugin_has_capability(plugin, k->data))
                                continue;
                        if (!rc)
                                rc = json_object_new();
                        json_object_set_member(rc, k->data,
                                               json_node_copy(json_object_get_member(
                                                       json_node_get_object(runtime), k->data)));
                }
                if (rc) {
                        json_object_remove_member(o, "runtimeConfig");
                        json_object_set_object_member(o, "runtimeConfig", rc);
                }
        }
        json_node_init_object(copy, o);
        json_object_unref(o);
        json_generator_set_root(g, copy);
        return json_generator_to_data(g, NULL);
}

int cni_run(const char *conflist, const char *name, CniCommand command, const char *container_id,
            const char *netns, const char *ifname, const CniSettings *settings, const char *prev_result,
            const char *runtime_config, char **ret_result, BerthError *e)
{
        const char *cni_path = settings->path;
        g_autoptr(JsonNode) root = NULL, prev = NULL, runtime = parse(runtime_config);
        g_auto(GStrv) env = NULL;
        JsonObject *o;
        JsonArray *plugins;
        const char *version;
        guint n;
        int r;

        r = cni_conflist_check(conflist, e);
        if (r < 0)
                return r;
        root = parse(conflist);
        o = json_node_get_object(root);
        version = json_object_get_string_member(o, "cniVersion");
        plugins = json_object_get_array_member(o, "plugins");
        n = json_array_get_length(plugins);
        if (command != CNI_ADD && prev_result) {
                prev = parse(prev_result);
                if (prev && !JSON_NODE_HOLDS_OBJECT(prev))
                        g_clear_pointer(&prev, json_node_unref);
        }
        env = g_new0(char *, 8);
        env[0] = g_strdup_printf("CNI_COMMAND=%s", command_name(command));
        env[1] = g_strdup_printf("CNI_CONTAINERID=%s", container_id);
        env[2] = g_strdup_printf("CNI_NETNS=%s", strempty(netns));
        env[3] = g_strdup_printf("CNI_IFNAME=%s", ifname);
        env[4] = g_strdup_printf("CNI_PATH=%s", cni_path);
        env[5] = g_strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
        for (guint k = 0; k < n; k++) {
                guint i = command == CNI_DEL ? n - 1 - k : k;
                JsonObject *plugin = json_node_get_object(json_array_get_element(plugins, i));
                const char *type = json_object_get_string_member(plugin, "type");
                _cleanup_free_ char *path = find_plugin(type, cni_path), *config = NULL, *out = NULL;
                int status;

                if (!path)
                        return berth_error_set(e, -ENOENT, "CNI plugin %s is not installed in %s", type,
                                               cni_path);
                config = plugin_config(plugin, name, version, prev, runtime);
                r = exec_plugin(path, env, config, settings->timeout_sec, &out, &status);
                if (r == -ETIME)
                        return berth_error_set(e, r,
                                               "CNI plugin %s did not answer %s within %u s and was killed",
                                               type, command_name(command), settings->timeout_sec);
                if (r < 0)
                        return berth_error_set_errno(e, r, "cannot run CNI plugin %s", path);
                if (status != 0) {
                        _cleanup_free_ char *msg = plugin_error(type, status, out);

                        return berth_error_set(e, -EIO, "%s", msg);
                }
                if (command == CNI_ADD) {
                        g_autoptr(JsonNode) result = parse(out);

                        if (!result || !JSON_NODE_HOLDS_OBJECT(result))
                                return berth_error_set(e, -EBADMSG, "CNI plugin %s answered no result",
                                                       type);
                        g_clear_pointer(&prev, json_node_unref);
                        prev = TAKE_PTR(result);
                }
        }
        if (ret_result) {
                g_autoptr(JsonGenerator) g = json_generator_new();

                if (!prev) {
                        *ret_result = NULL;
                        return 0;
                }
                json_generator_set_root(g, prev);
                *ret_result = json_generator_to_data(g, NULL);
        }
        return 0;
}

char *cni_result_ipv4(const char *result)
{
        g_autoptr(JsonNode) root = parse(result);
        JsonArray *ips;

        if (!root || !JSON_NODE_HOLDS_OBJECT(root) ||
            !json_object_has_member(json_node_get_object(root), "ips"))
                return NULL;
        ips = json_object_get_array_member(json_node_get_object(root), "ips");
        for (guint i = 0; ips && i < json_array_get_length(ips); i++) {
                JsonNode *ip = json_array_get_element(ips, i);
                const char *a;

                if (!JSON_NODE_HOLDS_OBJECT(ip))
                        continue;
                a = json_object_get_string_member_with_default(json_node_get_object(ip), "address", NULL);
                if (a && strchr(a, '.') && !strchr(a, ':')) {
                        const char *slash = strchr(a, '/');

                        return slash ? g_strndup(a, slash - a) : g_strdup(a);
                }
        }
        return NULL;
}

int cni_result_ipv4_gateway(const char *result, uint32_t *ret_address, uint32_t *ret_gateway)
{
        g_autoptr(JsonNode) root = parse(result);
        JsonNode *ips;

        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return -ENOENT;
        ips = json_object_get_member(json_node_get_object(root), "ips");
        if (!ips || !JSON_NODE_HOLDS_ARRAY(ips))
                return -ENOENT;
        for (guint i = 0; i < json_array_get_length(json_node_get_array(ips)); i++) {
                JsonNode *ip = json_array_get_element(json_node_get_array(ips), i);
                g_autofree char *address = NULL;
                const char *a, *gw;
                uint32_t x, y;

                if (!JSON_NODE_HOLDS_OBJECT(ip))
                        continue;
                a = json_object_get_string_member_with_default(json_node_get_object(ip), "address", NULL);
                gw = json_object_get_string_member_with_default(json_node_get_object(ip), "gateway", NULL);
                if (!a || !gw)
                        continue;
                address = g_strndup(a, strcspn(a, "/"));
                if (ipv4_parse(address, &x) < 0 || ipv4_parse(gw, &y) < 0)
                        continue;
                *ret_address = x;
                *ret_gateway = y;
                return 0;
        }
        return -ENOENT;
}
