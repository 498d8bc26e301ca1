/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "runtime/child-error.h"
#include "runtime/run-spec.h"
#include "shared/fs-util.h"

/* Every member set, none to its default, strings with the bytes the format must carry. */
static RunSpec *make_spec(void)
{
        RunSpec *s = g_new0(RunSpec, 1);
        const char *argv[] = { "sh", "-c", "echo \"hi\" \\ there\nline two", "", NULL };
        const char *env[] = { "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "EMPTY=", NULL };
        const char *caps[] = { "NET_ADMIN", NULL };
        const char *drop[] = { "CHOWN", "MKNOD", NULL };
        const char *devices[] = { "b 7:3 660 0:6 /dev/xvdc", "c 10:200 666 0:0 /dev/net/tun", NULL };
        const char *mounts[] = { "type=bind,source=/var/lib/berth/volumes/db/_data,target=/data",
                                 "type=tmpfs,target=/run,tmpfs-mode=1777", NULL };
        static const uint8_t bpf[16] = { 0x20, 0, 0, 0, 4, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f };

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
        s->cwd = g_strdup("/srv/ünïcode dir");
        s->user = g_strdup("1000:1000");
        s->hostname = g_strdup("0123456789ab");
        s->hostname_file = g_strdup("/run/berth/containers/x/hostname");
        s->hosts_file = g_strdup("/run/berth/containers/x/hosts");
        s->resolv_conf_file = g_strdup("/run/berth/containers/x/resolv.conf");
        s->tty = true;
        s->interactive = true;
        s->host_network = true;
        s->network_inherited = true;
        s->state_file = g_strdup("/var/lib/berth/containers/x/state.json");
        s->attach_socket = g_strdup("/run/berth/containers/x/attach");
        s->privileged = true;
        s->no_new_privileges = true;
        s->seccomp_unconfined = true;
        s->cap_add = g_strdupv((char **) caps);
        s->cap_drop = g_strdupv((char **) drop);
        s->seccomp_filter = g_memdup2(bpf, sizeof(bpf));
        s->seccomp_filter_size = sizeof(bpf);
        s->devices = g_strdupv((char **) devices);
        s->mounts = g_strdupv((char **) mounts);
        s->read_only = true;
        s->state_unsynced = true;
        s->prepare_after_go = true;
        s->copy_up = g_strsplit("/data", ",", -1);
        return s;
}

static void assert_strv_equal(char **a, char **b)
{
        g_assert_nonnull(a);
        g_assert_nonnull(b);
        g_assert_true(g_strv_equal((const char *const *) a, (const char *const *) b));
}

/* Each member of RunSpec, one by one: adding a member to the struct without adding it here, and to the
 * format's table, leaves it unchecked; the size check below catches that. */
static void assert_spec_equal(const RunSpec *s, const RunSpec *t)
{
        g_assert_cmpstr(t->id, ==, s->id);
        g_assert_cmpstr(t->name, ==, s->name);
        g_assert_cmpstr(t->image_name, ==, s->image_name);
        g_assert_cmpstr(t->layers_dir, ==, s->layers_dir);
        g_assert_cmpstr(t->lowerdir, ==, s->lowerdir);
        g_assert_cmpstr(t->upperdir, ==, s->upperdir);
        g_assert_cmpstr(t->workdir, ==, s->workdir);
        g_assert_cmpstr(t->rootfs, ==, s->rootfs);
        assert_strv_equal(t->argv, s->argv);
        assert_strv_equal(t->env, s->env);
        g_assert_cmpstr(t->cwd, ==, s->cwd);
        g_assert_cmpstr(t->user, ==, s->user);
        g_assert_cmpstr(t->hostname, ==, s->hostname);
        g_assert_cmpstr(t->hostname_file, ==, s->hostname_file);
        g_assert_cmpstr(t->hosts_file, ==, s->hosts_file);
        g_assert_cmpstr(t->resolv_conf_file, ==, s->resolv_conf_file);
        g_assert_cmpint(t->tty, ==, s->tty);
        g_assert_cmpint(t->interactive, ==, s->interactive);
        g_assert_cmpint(t->host_network, ==, s->host_network);
        g_assert_cmpint(t->network_inherited, ==, s->network_inherited);
        g_assert_cmpstr(t->state_file, ==, s->state_file);
        g_assert_cmpstr(t->attach_socket, ==, s->attach_socket);
        g_assert_cmpint(t->privileged, ==, s->privileged);
        g_assert_cmpint(t->no_new_privileges, ==, s->no_new_privileges);
        g_assert_cmpint(t->seccomp_unconfined, ==, s->seccomp_unconfined);
        assert_strv_equal(t->cap_add, s->cap_add);
        assert_strv_equal(t->cap_drop, s->cap_drop);
        g_assert_cmpmem(t->seccomp_filter, t->seccomp_filter_size, s->seccomp_filter,
                        s->seccomp_filter_size);
        assert_strv_equal(t->devices, s->devices);
        assert_strv_equal(t->mounts, s->mounts);
        g_assert_cmpint(t->read_only, ==, s->read_only);
        g_assert_cmpint(t->state_unsynced, ==, s->state_unsynced);
        g_assert_cmpint(t->prepare_after_go, ==, s->prepare_after_go);
        assert_strv_equal(t->copy_up, s->copy_up);
        /* 24 strings or lists or byte pointers, 11 booleans, one size: a new member changes this. */
        G_STATIC_ASSERT(sizeof(RunSpec) == 25 * sizeof(void *) + sizeof(size_t) + 11 * sizeof(bool) + 5);
}

static void test_round_trip(void)
{
        _cleanup_(run_spec_freep) RunSpec *s = make_spec(), *t = NULL;
        _cleanup_free_ char *data = NULL, *data2 = NULL;
        size_t size = 0, size2 = 0;

        g_assert_cmpint(run_spec_serialize(s, &data, &size), ==, 0);
        g_assert_true(g_str_has_prefix(data, "berth-run-spec 1\n"));
        g_assert_cmpint(run_spec_parse(data, size, &t), ==, 0);
        assert_spec_equal(s, t);

        /* Stable: writing what was read gives the same bytes. */
        g_assert_cmpint(run_spec_serialize(t, &data2, &size2), ==, 0);
        g_assert_cmpmem(data, size, data2, size2);

        /* Every proper prefix is refused (a truncated file), never read as a smaller spec. */
        for (size_t n = 0; n < size; n++) {
                RunSpec *u = NULL;
                g_assert_cmpint(run_spec_parse(data, n, &u), ==, -EBADMSG);
                g_assert_null(u);
        }
}

/* Booleans false and members absent come back so; an empty list stays an empty list. */
static void test_defaults(void)
{
        _cleanup_(run_spec_freep) RunSpec *s = g_new0(RunSpec, 1), *t = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size = 0;

        s->id = g_strdup("a");
        s->name = g_strdup("n");
        s->rootfs = g_strdup("/r");
        s->state_file = g_strdup("/s");
        s->argv = g_strsplit("true", ",", -1);
        s->env = g_new0(char *, 1);
        g_assert_cmpint(run_spec_serialize(s, &data, &size), ==, 0);
        g_assert_cmpint(run_spec_parse(data, size, &t), ==, 0);
        g_assert_cmpstr(t->argv[0], ==, "true");
        g_assert_null(t->argv[1]);
        g_assert_nonnull(t->env);
        g_assert_null(t->env[0]);
        g_assert_null(t->lowerdir);
        g_assert_null(t->cap_add);
        g_assert_null(t->seccomp_filter);
        g_assert_cmpuint(t->seccomp_filter_size, ==, 0);
        g_assert_false(t->tty);
        g_assert_false(t->read_only);
        g_assert_false(t->state_unsynced);
        g_assert_false(t->prepare_after_go);
}

#define HEAD      "berth-run-spec 1\n"
#define REQUIRED  "s id 3\nabc\ns name 1\nn\ns rootfs 2\n/r\ns state_file 2\n/s\n"
#define ARGV_TRUE "v argv 5\ntrue\0\n"
#define END       "end\n"

static void test_minimal(void)
{
        _cleanup_(run_spec_freep) RunSpec *s = NULL;
        /* Unknown members of any type, even one this build does not know, are skipped. */
        static const char spec[] =
                HEAD REQUIRED ARGV_TRUE "s future_member 3\nxyz\nz future_type 2\n\0\0\n" END;

        g_assert_cmpint(run_spec_parse(spec, sizeof(spec) - 1, &s), ==, 0);
        g_assert_cmpstr(s->argv[0], ==, "true");
        g_assert_null(s->argv[1]);
        g_assert_null(s->lowerdir);
        g_assert_null(s->env);
        g_assert_false(s->tty);
}

static void test_malformed(void)
{
#define CASE(s)                                                                                             \
        {                                                                                                   \
                s, sizeof(s) - 1                                                                            \
        }
        static const struct {
                const char *data;
                size_t size;
        } bad[] = {
                CASE(""),
                CASE("not a spec"),
                CASE("{\"id\":\"abc\"}"),
                CASE("berth-run-spec 2\n" REQUIRED ARGV_TRUE END),
                CASE(HEAD END),
                CASE(HEAD REQUIRED ARGV_TRUE),
                CASE(HEAD REQUIRED ARGV_TRUE END "b tty 1\n1\n"),
                CASE(HEAD REQUIRED ARGV_TRUE END END),
                /* missing required members */
                CASE(HEAD "s name 1\nn\ns rootfs 2\n/r\ns state_file 2\n/s\n" ARGV_TRUE END),
                CASE(HEAD REQUIRED END),
                /* wrong types, bad values */
                CASE(HEAD REQUIRED "s argv 4\ntrue\n" END),
                CASE(HEAD REQUIRED "v argv 4\ntrue\n" END),
                CASE(HEAD REQUIRED "v argv 0\n\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "b tty 3\nyes\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "b tty 1\n2\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "s cwd 3\na\0b\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "x cwd 1\n/\n" END),
                /* twice */
                CASE(HEAD REQUIRED ARGV_TRUE "b tty 1\n1\nb tty 1\n0\n" END),
                /* framing */
                CASE(HEAD REQUIRED ARGV_TRUE "s cwd 2\n/\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "s cwd 1\n//" END),
                CASE(HEAD REQUIRED ARGV_TRUE "s cwd -1\n/\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "s cwd 99999999999999999999999\n/\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "s cwd\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "scwd 1\n/\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "s  1\n/\n" END),
                CASE(HEAD REQUIRED ARGV_TRUE "\n" END),
        };
#undef CASE

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                RunSpec *s = NULL;
                g_test_message("case %zu", i);
                g_assert_cmpint(run_spec_parse(bad[i].data, bad[i].size, &s), ==, -EBADMSG);
                g_assert_null(s);
        }
}

static void test_load(void)
{
        _cleanup_(run_spec_freep) RunSpec *s = make_spec(), *t = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        g_autofree char *dir = g_dir_make_tmp("test-run-spec-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "run-spec", NULL);
        RunSpec *none = NULL;

        g_assert_nonnull(dir);
        g_assert_cmpint(run_spec_load(path, &none), ==, -ENOENT);
        g_assert_cmpint(run_spec_serialize(s, &data, &size), ==, 0);
        g_assert_cmpint(write_file_atomic_at(AT_FDCWD, path, data, size, 0600), ==, 0);
        g_assert_cmpint(run_spec_load(path, &t), ==, 0);
        assert_spec_equal(s, t);
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
        g_test_add_func("/run-spec/defaults", test_defaults);
        g_test_add_func("/run-spec/minimal", test_minimal);
        g_test_add_func("/run-spec/malformed", test_malformed);
        g_test_add_func("/run-spec/child-error-to-berth", test_child_error_to_berth);
        g_test_add_func("/run-spec/load", test_load);
        return g_test_run();
}
