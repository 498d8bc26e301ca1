/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "runtime/child-error.h"
#include "runtime/run-spec.h"
#include "shared/fs-util.h"

static RunSpec *make_spec(void)
{
        RunSpec *s = g_new0(RunSpec, 1);
        const char *argv[] = { "sh", "-c", "echo \"hi\" \\ there", NULL };
        const char *env[] = { "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "EMPTY=", NULL };
        const char *caps[] = { "NET_ADMIN", NULL };
        const char *devices[] = { "b 7:3 660 0:6 /dev/xvdc", "c 10:200 666 0:0 /dev/net/tun", NULL };
        const char *mounts[] = { "type=bind,source=/var/lib/berth/volumes/db/_data,target=/data",
                                 "type=tmpfs,target=/run,tmpfs-mode=1777", NULL };

        s->id = g_strdup("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        s->name = g_strdup("happy_turing");
        s->image_name = g_strdup("busybox:latest");
        s->layers_dir = g_strdup("/var/lib/berth/layers");
        s->lowerdir = g_strdup("l/AAAA:l/BBBB");
        s->upperdir = g_strdup("/var/lib/berth/containers/x/upper");
        s->workdir = g_strdup("/var/lib/berth/containers/x/work");
        s->rootfs = g_strdup("/run/berth/containers/x/rootfs");
        s->argv = g_strdupv((char **) argv);
        s->env = g_strdupv((char **) env);
        s->cwd = g_strdup("/srv/ünïcode");
        s->user = g_strdup("1000:1000");
        s->hostname = g_strdup("0123456789ab");
        s->hostname_file = g_strdup("/run/berth/containers/x/hostname");
        s->tty = true;
        s->interactive = true;
        s->state_file = g_strdup("/var/lib/berth/containers/x/state.json");
        s->attach_socket = g_strdup("/run/berth/containers/x/attach");
        s->no_new_privileges = true;
        s->cap_add = g_strdupv((char **) caps);
        s->devices = g_strdupv((char **) devices);
        s->mounts = g_strdupv((char **) mounts);
        s->read_only = true;
        s->copy_up = g_strsplit("/data", ",", -1);
        return s;
}

static void test_round_trip(void)
{
        _cleanup_(run_spec_freep) RunSpec *s = make_spec(), *t = NULL;
        _cleanup_free_ char *json = NULL, *json2 = NULL;

        g_assert_cmpint(run_spec_to_json(s, &json), ==, 0);
        g_assert_cmpint(run_spec_from_json(json, &t), ==, 0);

        g_assert_cmpstr(t->id, ==, s->id);
        g_assert_cmpstr(t->name, ==, "happy_turing");
        g_assert_cmpstr(t->image_name, ==, "busybox:latest");
        g_assert_cmpstr(t->lowerdir, ==, "l/AAAA:l/BBBB");
        g_assert_cmpstr(t->rootfs, ==, s->rootfs);
        g_assert_cmpuint(g_strv_length(t->argv), ==, 3);
        g_assert_cmpstr(t->argv[2], ==, "echo \"hi\" \\ there");
        g_assert_cmpuint(g_strv_length(t->env), ==, 3);
        g_assert_cmpstr(t->env[2], ==, "EMPTY=");
        g_assert_cmpstr(t->cwd, ==, "/srv/ünïcode");
        g_assert_cmpstr(t->user, ==, "1000:1000");
        g_assert_null(t->hosts_file);
        g_assert_null(t->resolv_conf_file);
        g_assert_true(t->tty);
        g_assert_true(t->interactive);
        g_assert_false(t->host_network);
        g_assert_true(t->no_new_privileges);
        g_assert_false(t->privileged);
        g_assert_cmpstr(t->cap_add[0], ==, "NET_ADMIN");
        g_assert_null(t->cap_drop);
        g_assert_cmpuint(g_strv_length(t->devices), ==, 2);
        g_assert_cmpstr(t->devices[1], ==, "c 10:200 666 0:0 /dev/net/tun");
        g_assert_cmpuint(g_strv_length(t->mounts), ==, 2);
        g_assert_cmpstr(t->mounts[1], ==, "type=tmpfs,target=/run,tmpfs-mode=1777");
        g_assert_true(t->read_only);
        g_assert_cmpstr(t->copy_up[0], ==, "/data");

        /* Stable: writing what was read gives the same document. */
        g_assert_cmpint(run_spec_to_json(t, &json2), ==, 0);
        g_assert_cmpstr(json, ==, json2);
}

static void test_minimal(void)
{
        _cleanup_(run_spec_freep) RunSpec *s = NULL;
        const char *json = "{\"id\":\"abc\",\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\","
                           "\"argv\":[\"true\"],\"lowerdir\":null,\"future_member\":{\"x\":1}}";

        g_assert_cmpint(run_spec_from_json(json, &s), ==, 0);
        g_assert_cmpstr(s->argv[0], ==, "true");
        g_assert_null(s->argv[1]);
        g_assert_null(s->lowerdir);
        g_assert_null(s->env);
        g_assert_false(s->tty);
}

static void test_malformed(void)
{
        static const char *const bad[] = {
                "",
                "not json",
                "[1,2]",
                "\"string\"",
                "{\"id\":\"abc\",\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\"",
                /* missing required members */
                "{\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\",\"argv\":[\"x\"]}",
                "{\"id\":\"abc\",\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\"}",
                "{\"id\":\"abc\",\"name\":\"n\",\"state_file\":\"/s\",\"argv\":[\"x\"]}",
                "{\"id\":\"abc\",\"name\":\"n\",\"rootfs\":\"/r\",\"argv\":[\"x\"]}",
                /* wrong types */
                "{\"id\":1,\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\",\"argv\":[\"x\"]}",
                "{\"id\":\"a\",\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\",\"argv\":\"x\"}",
                "{\"id\":\"a\",\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\",\"argv\":[\"x\",2]}",
                "{\"id\":\"a\",\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\",\"argv\":[]}",
                "{\"id\":\"a\",\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\",\"argv\":[\"x\"],"
                "\"tty\":\"yes\"}",
                "{\"id\":\"a\",\"name\":\"n\",\"rootfs\":\"/r\",\"state_file\":\"/s\",\"argv\":[\"x\"],"
                "\"env\":{\"A\":\"B\"}}",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                RunSpec *s = NULL;
                g_test_message("case %zu: %s", i, bad[i]);
                g_assert_cmpint(run_spec_from_json(bad[i], &s), ==, -EBADMSG);
                g_assert_null(s);
        }
}

static void test_load(void)
{
        _cleanup_(run_spec_freep) RunSpec *s = make_spec(), *t = NULL;
        _cleanup_free_ char *json = NULL;
        g_autofree char *dir = g_dir_make_tmp("test-run-spec-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "spec.json", NULL);
        RunSpec *none = NULL;

        g_assert_nonnull(dir);
        g_assert_cmpint(run_spec_load(path, &none), ==, -ENOENT);
        g_assert_cmpint(run_spec_to_json(s, &json), ==, 0);
        g_assert_cmpint(write_file_atomic_at(AT_FDCWD, path, json, strlen(json), 0600), ==, 0);
        g_assert_cmpint(run_spec_load(path, &t), ==, 0);
        g_assert_cmpstr(t->attach_socket, ==, s->attach_socket);
        g_assert_cmpint(g_unlink(path), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* The child's fixed-size report as the runtime's API hands it on. */
static void test_child_error_to_berth(void)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT, f = BERTH_ERROR_INIT;
        ChildError ce = {};

        g_assert_cmpint(child_fail(&ce, -ENOENT, "cannot open '%s'", "/x"), ==, -ENOENT);
        g_assert_cmpint(child_fail(&ce, -EIO, "a consequence"), ==, -EIO);
        g_assert_cmpint(ce.exit_code, ==, CHILD_EXIT_SETUP);
        g_assert_cmpint(child_error_to_berth(&ce, &e), ==, -ENOENT);
        g_assert_cmpint(e.error, ==, -ENOENT);
        g_assert_cmpstr(e.message, ==, "cannot open '/x': No such file or directory");

        /* A report without an errno (exec's 126/127) still reads as a failure. */
        ce = (ChildError){ .exit_code = CHILD_EXIT_NOT_FOUND };
        snprintf(ce.message, sizeof(ce.message), "exec: \"nope\": not found");
        g_assert_cmpint(child_error_to_berth(&ce, &f), ==, -EIO);
        g_assert_cmpstr(berth_error_message(&f), ==, "exec: \"nope\": not found");
        g_assert_cmpint(child_error_to_berth(&ce, NULL), ==, -EIO);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/run-spec/round-trip", test_round_trip);
        g_test_add_func("/run-spec/minimal", test_minimal);
        g_test_add_func("/run-spec/malformed", test_malformed);
        g_test_add_func("/run-spec/child-error-to-berth", test_child_error_to_berth);
        g_test_add_func("/run-spec/load", test_load);
        return g_test_run();
}
