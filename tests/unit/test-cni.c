/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "network/cni.h"

/* The CNI protocol as cni_run() speaks it, against fake plugins (shell scripts in a temporary CNI_PATH):
 * each saves its environment and stdin and answers a result naming itself, or an error object. */

#define FAKE_PLUGIN                                                                                         \
        "#!/bin/sh\n"                                                                                       \
        "d=$(dirname \"$0\"); t=$(basename \"$0\")\n"                                                       \
        "cat > \"$d/$t.$CNI_COMMAND.json\"\n"                                                               \
        "echo \"$t $CNI_COMMAND $CNI_CONTAINERID $CNI_NETNS $CNI_IFNAME $CNI_PATH\" >> \"$d/calls\"\n"      \
        "[ \"$t\" = failing ] && { echo '{\"cniVersion\": \"1.0.0\", \"code\": 11, \"msg\": \"boom\", "     \
        "\"details\": \"why\"}'; exit 1; }\n"                                                               \
        "[ \"$CNI_COMMAND\" = ADD ] && echo \"{\\\"cniVersion\\\": \\\"1.0.0\\\", \\\"by\\\": \\\"$t\\\", " \
        "\\\"ips\\\": [{\\\"address\\\": \\\"10.99.0.7/24\\\"}]}\"\n"                                       \
        "exit 0\n"

/* A plugin that starts a helper and hangs: both must die at the deadline. */
#define HANGING_PLUGIN                                                                                      \
        "#!/bin/sh\n"                                                                                       \
        "sleep 1000 &\n"                                                                                    \
        "echo $! > \"$(dirname \"$0\")/helper.pid\"\n"                                                      \
        "wait\n"

static char *dir;
static CniSettings settings;

static void plugin(const char *type)
{
        g_autofree char *path = g_build_filename(dir, type, NULL);

        g_assert_true(g_file_set_contents(path, FAKE_PLUGIN, -1, NULL));
        g_assert_cmpint(chmod(path, 0755), ==, 0);
}

static char *read_in_dir(const char *name)
{
        g_autofree char *path = g_build_filename(dir, name, NULL);
        char *text = NULL;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        return text;
}

static JsonObject *read_json(const char *name, JsonParser *p)
{
        g_autofree char *text = read_in_dir(name);

        g_assert_true(json_parser_load_from_data(p, text, -1, NULL));
        return json_node_get_object(json_parser_get_root(p));
}

#define LIST                                                                                                \
        "{\"cniVersion\": \"1.0.0\", \"name\": \"ignored\", \"plugins\": [{\"type\": \"first\", \"x\": "    \
        "1}, {\"type\": \"second\"}]}"

static void test_add_del(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autofree char *result = NULL, *calls = NULL, *ip = NULL, *expected = NULL;
        g_autoptr(JsonParser) p1 = json_parser_new(), p2 = json_parser_new(), p3 = json_parser_new();
        JsonObject *c1, *c2, *d1;

        g_assert_cmpint(cni_run(LIST, "net", CNI_ADD, "cid", "/proc/1/ns/net", "eth1", &settings, NULL, NULL,
                                &result, &e),
                        ==, 0);
        /* The final result is the last plugin's. */
        g_assert_nonnull(strstr(result, "\"second\""));
        ip = cni_result_ipv4(result);
        g_assert_cmpstr(ip, ==, "10.99.0.7");
        /* Each plugin's config: its own members, the list's version, the network's name; the second has the
         * first's result as prevResult. */
        c1 = read_json("first.ADD.json", p1);
        g_assert_cmpstr(json_object_get_string_member(c1, "name"), ==, "net");
        g_assert_cmpstr(json_object_get_string_member(c1, "cniVersion"), ==, "1.0.0");
        g_assert_cmpint(json_object_get_int_member(c1, "x"), ==, 1);
        g_assert_false(json_object_has_member(c1, "prevResult"));
        c2 = read_json("second.ADD.json", p2);
        g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(c2, "prevResult"), "by"),
                        ==, "first");

        /* DEL: in reverse, each with the recorded result, no netns. */
        g_assert_cmpint(cni_run(LIST, "net", CNI_DEL, "cid", "", "eth1", &settings, result, NULL, NULL, &e),
                        ==, 0);
        d1 = read_json("first.DEL.json", p3);
        g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(d1, "prevResult"), "by"),
                        ==, "second");
        calls = read_in_dir("calls");
        expected = g_strdup_printf("first ADD cid /proc/1/ns/net eth1 %s\n"
                                   "second ADD cid /proc/1/ns/net eth1 %s\n"
                                   "second DEL cid  eth1 %s\n"
                                   "first DEL cid  eth1 %s\n",
                                   dir, dir, dir, dir);
        g_assert_cmpstr(calls, ==, expected);
}

static void test_errors(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT, m = BERTH_ERROR_INIT;
        g_autofree char *result = NULL;

        g_assert_cmpint(cni_run("{\"cniVersion\": \"1.0.0\", \"plugins\": [{\"type\": \"failing\"}]}", "net",
                                CNI_ADD, "cid", "/x", "eth0", &settings, NULL, NULL, &result, &e),
                        ==, -EIO);
        g_assert_cmpstr(berth_error_message(&e), ==, "CNI plugin failing failed: boom: why");
        g_assert_cmpint(cni_run("{\"cniVersion\": \"1.0.0\", \"plugins\": [{\"type\": \"absent\"}]}", "net",
                                CNI_ADD, "cid", "/x", "eth0", &settings, NULL, NULL, &result, &m),
                        ==, -ENOENT);
        g_assert_nonnull(strstr(berth_error_message(&m), "CNI plugin absent is not installed"));
        {
                g_autofree char *missing = cni_conflist_missing_plugin(LIST, dir);
                g_autofree char *absent =
                        cni_conflist_missing_plugin("{\"cniVersion\": \"1.0.0\", \"plugins\": [{\"type\": "
                                                    "\"first\"}, {\"type\": \"absent\"}]}",
                                                    dir);

                g_assert_null(missing);
                g_assert_cmpstr(absent, ==, "absent");
        }
}

static void test_timeout(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autofree char *path = g_build_filename(dir, "hanging", NULL), *result = NULL, *pid_text = NULL;
        CniSettings quick = { .path = dir, .timeout_sec = 1 };
        int status;
        pid_t helper;

        g_assert_true(g_file_set_contents(path, HANGING_PLUGIN, -1, NULL));
        g_assert_cmpint(chmod(path, 0755), ==, 0);
        /* The helper is reparented to us when the plugin dies, so that we can see how it ended. */
        g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 1), ==, 0);
        g_assert_cmpint(cni_run("{\"cniVersion\": \"1.0.0\", \"plugins\": [{\"type\": \"hanging\"}]}", "net",
                                CNI_ADD, "cid", "/x", "eth0", &quick, NULL, NULL, &result, &e),
                        ==, -ETIME);
        g_assert_cmpstr(berth_error_message(&e), ==,
                        "CNI plugin hanging did not answer ADD within 1 s and was killed");
        pid_text = read_in_dir("helper.pid");
        helper = (pid_t) atoi(pid_text);
        g_assert_cmpint(helper, >, 0);
        g_assert_cmpint(waitpid(helper, &status, 0), ==, helper);
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);
}

/* runtimeConfig reaches only the plugins that declare the capability, on ADD and on DEL. */
static void test_runtime_config(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        const char *list = "{\"cniVersion\": \"1.0.0\", \"plugins\": [{\"type\": \"first\"}, {\"type\": "
                           "\"second\", \"capabilities\": {\"portMappings\": true, \"bandwidth\": false}}]}";
        PortMapping m[2] = {
                { .protocol = PORT_PROTOCOL_TCP, .host_port = 8080, .container_port = 80 },
                { .protocol = PORT_PROTOCOL_UDP,
                  .host_address = 0x7f000001,
                  .host_port = 5353,
                  .container_port = 53 },
        };
        g_autofree char *runtime = cni_port_mappings_to_runtime_config(m, 2), *result = NULL;
        g_autofree PortMapping *back = NULL;
        g_autoptr(JsonParser) p1 = json_parser_new(), p2 = json_parser_new(), p3 = json_parser_new();
        JsonObject *c1, *c2, *d2, *pm;
        size_t n;

        g_assert_cmpstr(
                runtime, ==,
                "{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"},"
                "{\"hostPort\":5353,\"containerPort\":53,\"protocol\":\"udp\",\"hostIP\":\"127.0.0.1\"}]}");
        g_assert_cmpint(cni_port_mappings_from_runtime_config(runtime, &back, &n), ==, 0);
        g_assert_cmpuint(n, ==, 2);
        g_assert_cmpmem(back, sizeof(PortMapping) * 2, m, sizeof(m));
        g_assert_cmpint(cni_port_mappings_from_runtime_config("[]", &back, &n), ==, -EINVAL);
        g_assert_cmpint(cni_port_mappings_from_runtime_config("{\"portMappings\": [{\"hostPort\": 0, "
                                                              "\"containerPort\": 80}]}",
                                                              &back, &n),
                        ==, -EINVAL);

        g_assert_true(cni_conflist_has_capability(list, "portMappings"));
        g_assert_false(cni_conflist_has_capability(list, "bandwidth"));
        g_assert_false(cni_conflist_has_capability(LIST, "portMappings"));

        g_assert_cmpint(
                cni_run(list, "net", CNI_ADD, "cid", "/x", "eth0", &settings, NULL, runtime, &result, &e),
                ==, 0);
        c1 = read_json("first.ADD.json", p1);
        g_assert_false(json_object_has_member(c1, "runtimeConfig"));
        c2 = read_json("second.ADD.json", p2);
        pm = json_object_get_object_member(c2, "runtimeConfig");
        g_assert_nonnull(pm);
        g_assert_cmpuint(json_array_get_length(json_object_get_array_member(pm, "portMappings")), ==, 2);
        g_assert_false(json_object_has_member(pm, "bandwidth"));
        g_assert_cmpint(
                cni_run(list, "net", CNI_DEL, "cid", "", "eth0", &settings, result, runtime, NULL, &e), ==,
                0);
        d2 = read_json("second.DEL.json", p3);
        g_assert_true(
                json_object_has_member(json_object_get_object_member(d2, "runtimeConfig"), "portMappings"));
}

static void test_result_gateway(void)
{
        uint32_t a = 0, g = 0;

        g_assert_cmpint(cni_result_ipv4_gateway(
                                "{\"ips\": [{\"address\": \"fd00::2/64\", \"gateway\": \"fd00::1\"}, "
                                "{\"address\": \"10.99.0.7/24\"}, {\"address\": \"10.98.0.7/24\", "
                                "\"gateway\": \"10.98.0.1\"}]}",
                                &a, &g),
                        ==, 0);
        g_assert_cmphex(a, ==, 0x0a620007);
        g_assert_cmphex(g, ==, 0x0a620001);
        g_assert_cmpint(cni_result_ipv4_gateway("{\"ips\": [{\"address\": \"10.99.0.7/24\"}]}", &a, &g), ==,
                        -ENOENT);
        g_assert_cmpint(cni_result_ipv4_gateway("{}", &a, &g), ==, -ENOENT);
        g_assert_cmpint(cni_result_ipv4_gateway("nonsense", &a, &g), ==, -ENOENT);
}

static void test_settings(void)
{
        g_autofree char *file = g_build_filename(dir, "berth.conf", NULL), *p = NULL;
        CniSettings s = {};

        g_assert_cmpint(cni_path_parse(" /a/b:/c ", &p), ==, 0);
        g_assert_cmpstr(p, ==, "/a/b:/c");
        g_assert_cmpint(cni_path_parse("", &p), ==, -EINVAL);
        g_assert_cmpint(cni_path_parse("/a::/b", &p), ==, -EINVAL);
        g_assert_cmpint(cni_path_parse("/a:rel", &p), ==, -EINVAL);
        g_assert_cmpint(cni_path_parse("/a:", &p), ==, -EINVAL);

        /* No file, no section: the defaults. */
        g_assert_cmpint(cni_settings_load("/nonexistent/berth.conf", &s), ==, 0);
        g_assert_cmpstr(s.path, ==, CNI_PATH_DEFAULT);
        g_assert_cmpuint(s.timeout_sec, ==, CNI_TIMEOUT_DEFAULT_SEC);
        cni_settings_done(&s);
        g_assert_true(g_file_set_contents(file, "[Network]\nBridge=x\n", -1, NULL));
        g_assert_cmpint(cni_settings_load(file, &s), ==, 0);
        g_assert_cmpstr(s.path, ==, CNI_PATH_DEFAULT);
        cni_settings_done(&s);

        g_assert_true(g_file_set_contents(
                file, "[Network]\nCniPath=/etc/cni/bin:/usr/lib/cni\nCniTimeout=2\n", -1, NULL));
        g_assert_cmpint(cni_settings_load(file, &s), ==, 0);
        g_assert_cmpstr(s.path, ==, "/etc/cni/bin:/usr/lib/cni");
        g_assert_cmpuint(s.timeout_sec, ==, 2);
        cni_settings_done(&s);
        g_assert_null(s.path);

        g_assert_true(g_file_set_contents(file, "[Network]\nCniPath=bin\n", -1, NULL));
        g_assert_cmpint(cni_settings_load(file, &s), ==, -EINVAL);
        g_assert_true(g_file_set_contents(file, "[Network]\nCniTimeout=0\n", -1, NULL));
        g_assert_cmpint(cni_settings_load(file, &s), ==, -EINVAL);
        g_assert_true(g_file_set_contents(file, "[Network]\nCniTimeout=5s\n", -1, NULL));
        g_assert_cmpint(cni_settings_load(file, &s), ==, -EINVAL);
        g_assert_true(g_file_set_contents(file, "[Network]\nCniTimeout=86401\n", -1, NULL));
        g_assert_cmpint(cni_settings_load(file, &s), ==, -EINVAL);
        g_assert_true(g_file_set_contents(file, "not a key file\n", -1, NULL));
        g_assert_cmpint(cni_settings_load(file, &s), ==, -EBADMSG);
}

int main(int argc, char *argv[])
{
        int r;

        g_test_init(&argc, &argv, NULL);
        dir = g_dir_make_tmp("berth-test-cni-XXXXXX", NULL);
        g_assert_nonnull(dir);
        settings = (CniSettings){ .path = dir, .timeout_sec = CNI_TIMEOUT_DEFAULT_SEC };
        plugin("first");
        plugin("second");
        plugin("failing");
        g_test_add_func("/cni/add-del", test_add_del);
        g_test_add_func("/cni/errors", test_errors);
        g_test_add_func("/cni/timeout", test_timeout);
        g_test_add_func("/cni/runtime-config", test_runtime_config);
        g_test_add_func("/cni/result-gateway", test_result_gateway);
        g_test_add_func("/cni/settings", test_settings);
        r = g_test_run();
        {
                g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
                g_assert_cmpint(system(cmd), ==, 0);
        }
        return r;
}
