/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <signal.h>
#include <string.h>

#include "daemon/container-config.h"

#define ID "4f2a9c1b7d3e5a6b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b"

static OciImageConfig *image_config(const char *json)
{
        OciImageConfig *c = NULL;
        g_assert_cmpint(oci_image_config_parse(json, strlen(json), NULL, &c), ==, 0);
        return c;
}

static const char debianish[] =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
        "\"config\":{\"Env\":[\"PATH=/usr/bin:/bin\",\"LANG=C.UTF-8\"],\"Cmd\":[\"bash\"],"
        "\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\",\"StopSignal\":\"SIGQUIT\"}}";

static const char with_entrypoint[] =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
        "\"config\":{\"Entrypoint\":[\"/docker-entrypoint.sh\"],\"Cmd\":[\"postgres\"]}}";

static void assert_strv(char **got, const char *const *want)
{
        g_assert_cmpuint(g_strv_length(got), ==, g_strv_length((char **) want));
        for (size_t i = 0; want[i]; i++)
                g_assert_cmpstr(got[i], ==, want[i]);
}

static void test_defaults_from_image(void)
{
        g_autoptr(GError) unused = NULL;
        OciImageConfig *img = image_config(debianish);
        ContainerOptions o = {};
        ContainerConfig c = {};

        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        assert_strv(c.argv, (const char *[]){ "bash", NULL });
        assert_strv(c.env,
                    (const char *[]){ "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOSTNAME=4f2a9c1b7d3e", NULL });
        g_assert_cmpstr(c.workdir, ==, "/srv");
        g_assert_cmpstr(c.user, ==, "1000:1000");
        g_assert_cmpstr(c.hostname, ==, "4f2a9c1b7d3e");
        g_assert_cmpstr(c.network, ==, "bridge");
        g_assert_cmpstr(c.stop_signal, ==, "SIGQUIT");
        container_config_done(&c);
        oci_image_config_free(img);
}

static void test_command_and_entrypoint(void)
{
        OciImageConfig *img = image_config(with_entrypoint);
        ContainerOptions o = {};
        ContainerConfig c = {};

        /* A command replaces Cmd and keeps Entrypoint. */
        o.command = g_strsplit("postgres -c fsync=off", " ", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        assert_strv(c.argv,
                    (const char *[]){ "/docker-entrypoint.sh", "postgres", "-c", "fsync=off", NULL });
        container_config_done(&c);
        container_options_done(&o);

        /* --entrypoint replaces Entrypoint and drops the image's Cmd. */
        o.set_entrypoint = true;
        o.entrypoint = g_strsplit("/bin/sh", " ", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        assert_strv(c.argv, (const char *[]){ "/bin/sh", NULL });
        container_config_done(&c);

        /* An empty entrypoint clears it; with no command there is nothing to run. */
        g_strfreev(o.entrypoint);
        o.entrypoint = g_new0(char *, 1);
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        g_assert_cmpint(container_config_resolve(img, &o, ID, &reason, &c), ==, -EINVAL);
        g_assert_nonnull(strstr(berth_error_message(&reason), "no command"));
        container_options_done(&o);
        oci_image_config_free(img);
}

static void test_env_merge(void)
{
        OciImageConfig *img = image_config(debianish);
        ContainerOptions o = {};
        ContainerConfig c = {};

        o.env = g_strsplit("LANG=de_DE.UTF-8 FOO=bar PATH", " ", -1);
        o.tty = true;
        o.hostname = g_strdup("box");
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        /* PATH removed by the caller comes back as the default, first. */
        assert_strv(c.env, (const char *[]){ CONTAINER_DEFAULT_PATH, "LANG=de_DE.UTF-8", "FOO=bar",
                                             "HOSTNAME=box", "TERM=xterm", NULL });
        container_config_done(&c);
        container_options_done(&o);

        o.env = g_strsplit("=x", " ", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, -EINVAL);
        container_options_done(&o);
        oci_image_config_free(img);
}

static void test_invalid(void)
{
        OciImageConfig *img = image_config(debianish);
        ContainerOptions o = {};
        ContainerConfig c = {};
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

        o.workdir = g_strdup("relative/dir");
        g_assert_cmpint(container_config_resolve(img, &o, ID, &reason, &c), ==, -EINVAL);
        g_assert_nonnull(strstr(berth_error_message(&reason), "absolute"));
        container_options_done(&o);

        o.hostname = g_strdup("bad_host!");
        g_assert_cmpint(container_config_resolve(img, &o, ID, &reason, &c), ==, -EINVAL);
        container_options_done(&o);

        /* A user network's name is taken (the daemon checks that it exists at start); a malformed one not.
         */
        o.network = g_strdup("my net");
        g_assert_cmpint(container_config_resolve(img, &o, ID, &reason, &c), ==, -EINVAL);
        container_options_done(&o);

        /* A BerthError keeps its first failure: start afresh where the message is looked at. */
        berth_error_done(&reason);
        o.dns = g_strsplit("1.1.1.1,resolver", ",", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, &reason, &c), ==, -EINVAL);
        g_assert_nonnull(strstr(berth_error_message(&reason), "dns server"));
        container_options_done(&o);

        o.dns_search = g_strsplit("ok.example,bad..example", ",", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, &reason, &c), ==, -EINVAL);
        container_options_done(&o);

        berth_error_done(&reason);
        o.add_hosts = g_strsplit("db:10.0.0.5,nocolon", ",", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, &reason, &c), ==, -EINVAL);
        g_assert_nonnull(strstr(berth_error_message(&reason), "NAME:ADDRESS"));
        container_options_done(&o);

        /* No image config at all and no command. */
        g_assert_cmpint(container_config_resolve(NULL, &o, ID, &reason, &c), ==, -EINVAL);

        /* An explicit empty user means root even if the image names one. */
        o.set_user = true;
        o.user = g_strdup("");
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        g_assert_cmpstr(c.user, ==, "");
        container_config_done(&c);
        container_options_done(&o);
        oci_image_config_free(img);
}

static void test_signals_and_names(void)
{
        g_assert_cmpint(signal_from_string("SIGTERM"), ==, SIGTERM);
        g_assert_cmpint(signal_from_string("term"), ==, SIGTERM);
        g_assert_cmpint(signal_from_string("9"), ==, SIGKILL);
        g_assert_cmpint(signal_from_string("SIGWINCH"), ==, SIGWINCH);
        g_assert_cmpint(signal_from_string("NOPE"), ==, -EINVAL);
        g_assert_cmpint(signal_from_string("0"), ==, -EINVAL);
        g_assert_cmpint(signal_from_string(""), ==, -EINVAL);

        g_assert_true(container_name_is_valid("mydebian"));
        g_assert_true(container_name_is_valid("a"));
        g_assert_true(container_name_is_valid("web_1.prod-2"));
        g_assert_false(container_name_is_valid(""));
        g_assert_false(container_name_is_valid("_x"));
        g_assert_false(container_name_is_valid("../etc"));
        g_assert_false(container_name_is_valid("a/b"));
        g_assert_false(container_name_is_valid("a b"));
        char long_name[130];
        memset(long_name, 'a', 129);
        long_name[129] = 0;
        g_assert_false(container_name_is_valid(long_name));
        /* A name may not take the shape of a full id (it would shadow that container). */
        g_assert_true(
                container_name_is_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        g_assert_true(
                container_name_is_id("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
        g_assert_false(
                container_name_is_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
        g_assert_false(
                container_name_is_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg"));
        g_assert_false(container_name_is_id("0123456789abcdef"));

        for (int i = 0; i < 50; i++) {
                g_autofree char *n = container_name_generate();
                g_assert_true(container_name_is_valid(n));
                g_assert_nonnull(strchr(n, '_'));
        }
}

static void assert_device(const char *s, const char *host, const char *container, const char *perms)
{
        _cleanup_(device_mapping_done) DeviceMapping d = {};

        g_assert_cmpint(device_mapping_parse(s, &d), ==, 0);
        g_assert_cmpstr(d.host, ==, host);
        g_assert_cmpstr(d.container, ==, container);
        g_assert_cmpstr(d.perms, ==, perms);
}

static void test_devices(void)
{
        DeviceMapping d = {};
        ContainerOptions o = {};
        bool weakens = false;

        /* Docker's forms. */
        assert_device("/dev/loop0", "/dev/loop0", "/dev/loop0", "rwm");
        assert_device("/dev/loop0:/dev/xvdc", "/dev/loop0", "/dev/xvdc", "rwm");
        assert_device("/dev/loop0:r", "/dev/loop0", "/dev/loop0", "r");
        assert_device("/dev/net/tun:/dev/net/tun:rw", "/dev/net/tun", "/dev/net/tun", "rw");
        assert_device("/dev/loop0:/dev/disk/x:mrw", "/dev/loop0", "/dev/disk/x", "mrw");
        const char *const bad[] = { "",
                                    "loop0",
                                    "/dev/loop0:x:r",
                                    "/dev/loop0:/dev/x:rx",
                                    "/dev/a:/etc/x",
                                    "/dev/a:/dev/../etc/x",
                                    "/dev/a:/dev/x:rr",
                                    "/dev/a:/dev/x:",
                                    "/dev/a:/dev/x:r:w",
                                    "/dev/a:/dev/",
                                    NULL };
        for (const char *const *b = bad; *b; b++)
                g_assert_cmpint(device_mapping_parse(*b, &d), ==, -EINVAL);

        /* A device of the host's needs the privileged action; a bad one is refused before polkit. */
        g_assert_cmpint(container_options_check_confinement(&o, NULL, &weakens), ==, 0);
        g_assert_false(weakens);
        o.devices = g_strsplit("/dev/loop0:/dev/xvdc:r", ",", -1);
        g_assert_cmpint(container_options_check_confinement(&o, NULL, &weakens), ==, 0);
        g_assert_true(weakens);
        g_strfreev(o.devices);
        o.devices = g_strsplit("/dev/loop0:/etc/passwd", ",", -1);
        g_assert_cmpint(container_options_check_confinement(&o, NULL, &weakens), ==, -EINVAL);
        container_options_done(&o);

        ContainerConfig c = { .devices = g_strsplit("/dev/loop0", ",", -1) };
        g_assert_true(container_config_weakens_confinement(&c));
        container_config_done(&c);
}

static const char with_volumes[] =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
        "\"config\":{\"Cmd\":[\"postgres\"],\"Volumes\":{\"/var/lib/pg\":{},\"/logs\":{}}}}";

static void test_mounts(void)
{
        OciImageConfig *img = image_config(with_volumes);
        ContainerOptions o = {};
        ContainerConfig c = {};
        BerthError e = {};
        bool weakens = true;
        g_autofree char *anon = container_anonymous_volume_name(ID, "/logs");
        g_autofree char *anon_line = g_strdup_printf("type=volume,source=%s,target=/logs", anon);

        /* --mount, -v, --tmpfs, then the image's VOLUMEs not already covered, anonymous ones named. */
        o.volumes = g_strsplit("pgdata:/var/lib/pg;/srv/conf:/etc/app:ro", ";", -1);
        o.tmpfs = g_strsplit("/run", ";", -1);
        o.read_only = true;
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        assert_strv(c.mounts,
                    (const char *[]){ "type=volume,source=pgdata,target=/var/lib/pg",
                                      "type=bind,source=/srv/conf,target=/etc/app,readonly,bind-create-src",
                                      "type=tmpfs,target=/run,tmpfs-mode=1777", anon_line, NULL });
        g_assert_true(c.read_only);
        g_assert_cmpuint(strlen(anon), ==, 64);
        /* A bind of the host's needs the privileged action; volumes and tmpfs do not. */
        g_assert_true(container_config_weakens_confinement(&c));
        g_assert_cmpint(container_options_check_confinement(&o, NULL, &weakens), ==, 0);
        g_assert_true(weakens);
        container_config_done(&c);
        g_strfreev(o.volumes);
        o.volumes = g_strsplit("pgdata:/var/lib/pg", ";", -1);
        g_assert_cmpint(container_options_check_confinement(&o, NULL, &weakens), ==, 0);
        g_assert_false(weakens);
        o.mounts = g_strsplit("type=bind,src=/,dst=/host", ";", -1);
        g_assert_cmpint(container_options_check_confinement(&o, NULL, &weakens), ==, 0);
        g_assert_true(weakens);

        /* Two mounts on one target, a bad entry. */
        g_strfreev(o.mounts);
        o.mounts = g_strsplit("type=tmpfs,dst=/var/lib/pg", ";", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, &e, &c), ==, -EINVAL);
        g_assert_nonnull(strstr(e.message, "duplicate mount point: /var/lib/pg"));
        berth_error_done(&e);
        g_strfreev(o.mounts);
        o.mounts = g_strsplit("type=tmpfs,dst=relative", ";", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, &e, &c), ==, -EINVAL);
        g_assert_nonnull(strstr(e.message, "not valid"));
        berth_error_done(&e);
        container_options_done(&o);
        oci_image_config_free(img);
}

static void test_networks(void)
{
        OciImageConfig *img = image_config(debianish);
        ContainerOptions o = {};
        ContainerConfig c = {};
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_auto(GStrv) aliases = NULL, joined = NULL;

        /* --network-alias and --ip belong to a user network, as in Docker. */
        o.aliases = g_strsplit("web", ",", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, &e, &c), ==, -EINVAL);
        g_assert_nonnull(strstr(berth_error_message(&e), "need a user network"));
        berth_error_done(&e);
        o.network = g_strdup("front");
        o.ip = g_strdup("10.96.0.300");
        g_assert_cmpint(container_config_resolve(img, &o, ID, &e, &c), ==, -EINVAL);
        g_assert_nonnull(strstr(berth_error_message(&e), "invalid IPv4 address"));
        berth_error_done(&e);
        g_free(o.ip);
        o.ip = g_strdup("10.96.0.7");
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        g_assert_cmpstr(c.network, ==, "front");
        g_assert_cmpstr(container_config_network_ip(&c, "front"), ==, "10.96.0.7");
        aliases = container_config_network_aliases(&c, "front");
        assert_strv(aliases, (const char *[]){ "web", NULL });
        container_options_done(&o);

        /* connect appends; a second connect to the same network, a bad alias, host: refused. */
        g_assert_cmpint(container_config_connect(&c, "bridge", NULL, NULL, NULL), ==, 0);
        g_assert_cmpint(container_config_connect(&c, "back", NULL, (char *[]){ "db", "db2", NULL }, NULL),
                        ==, 0);
        joined = container_config_networks(&c);
        assert_strv(joined, (const char *[]){ "front", "bridge", "back", NULL });
        g_assert_cmpint(container_config_connect(&c, "back", NULL, NULL, NULL), ==, -EEXIST);
        g_assert_cmpint(container_config_connect(&c, "other", NULL, (char *[]){ "bad alias", NULL }, NULL),
                        ==, -EINVAL);
        g_assert_cmpint(container_config_connect(&c, "host", NULL, NULL, NULL), ==, -EINVAL);
        g_assert_cmpint(container_config_connect(&c, "other", "1.2.3", NULL, NULL), ==, -EINVAL);

        /* disconnect of the first: the next takes its place, its aliases and address go with it. */
        g_assert_cmpint(container_config_disconnect(&c, "front", NULL), ==, 0);
        g_strfreev(joined);
        joined = container_config_networks(&c);
        assert_strv(joined, (const char *[]){ "bridge", "back", NULL });
        g_assert_null(container_config_network_ip(&c, "front"));
        g_strfreev(aliases);
        aliases = container_config_network_aliases(&c, "back");
        assert_strv(aliases, (const char *[]){ "db", "db2", NULL });
        g_assert_cmpint(container_config_disconnect(&c, "front", NULL), ==, -ENOENT);
        g_assert_cmpint(container_config_disconnect(&c, "back", NULL), ==, 0);
        g_assert_cmpint(container_config_disconnect(&c, "bridge", NULL), ==, 0);
        g_assert_cmpstr(c.network, ==, "none");
        /* From none, a connect makes the first network again. */
        g_assert_cmpint(container_config_connect(&c, "back", NULL, NULL, NULL), ==, 0);
        g_assert_cmpstr(c.network, ==, "back");
        g_assert_null(c.networks[0]);
        container_config_done(&c);
        oci_image_config_free(img);
}

static void test_publish_all(void)
{
        OciImageConfig *img = image_config("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{"
                                           "\"type\":\"layers\",\"diff_ids\":[]},"
                                           "\"config\":{\"Cmd\":[\"httpd\"],\"ExposedPorts\":{\"80/"
                                           "tcp\":{},\"53/udp\":{},\"443/tcp\":{}}}}");
        ContainerOptions o = { .publish_all = true };
        ContainerConfig c = {};

        /* -P: each EXPOSEd port on a free host port; one given with -p keeps its -p. */
        o.ports = g_strsplit("8443:443", ",", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        g_assert_cmpuint(g_strv_length(c.ports), ==, 3);
        g_assert_cmpstr(c.ports[0], ==, "8443:443");
        g_assert_true(g_strv_contains((const char *const *) c.ports, "80/tcp"));
        g_assert_true(g_strv_contains((const char *const *) c.ports, "53/udp"));
        container_config_done(&c);
        /* Off the network, nothing to publish. */
        g_strfreev(o.ports);
        o.ports = NULL;
        o.network = g_strdup("none");
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        g_assert_true(c.ports == NULL || c.ports[0] == NULL);
        container_config_done(&c);
        /* Ports on a user network are fine; on none they are refused. */
        o.ports = g_strsplit("8080:80", ",", -1);
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, -EINVAL);
        free(o.network);
        o.network = g_strdup("front");
        g_assert_cmpint(container_config_resolve(img, &o, ID, NULL, &c), ==, 0);
        container_config_done(&c);
        container_options_done(&o);
        oci_image_config_free(img);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/container-config/mounts", test_mounts);
        g_test_add_func("/container-config/defaults", test_defaults_from_image);
        g_test_add_func("/container-config/command-entrypoint", test_command_and_entrypoint);
        g_test_add_func("/container-config/env", test_env_merge);
        g_test_add_func("/container-config/invalid", test_invalid);
        g_test_add_func("/container-config/signals-names", test_signals_and_names);
        g_test_add_func("/container-config/devices", test_devices);
        g_test_add_func("/container-config/networks", test_networks);
        g_test_add_func("/container-config/publish-all", test_publish_all);
        return g_test_run();
}
