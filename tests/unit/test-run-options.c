/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>

#include "berthctl/format.h"
#include "berthctl/run-options.h"
#include "shared/macro.h"

#define SEC USEC_PER_SEC

static int parse(bool is_run, RunOptions *o, ...)
{
        char *argv[64];
        int argc = 0;
        va_list ap;

        va_start(ap, o);
        for (char *a = va_arg(ap, char *); a; a = va_arg(ap, char *))
                argv[argc++] = a;
        va_end(ap);
        argv[argc] = NULL;
        optind = 0;
        return run_options_parse(argc, argv, is_run, o);
}

static const UnitProperty *find_property(const RunOptions *o, const char *name)
{
        for (size_t i = 0; i < o->n_properties; i++)
                if (streq(o->properties[i].name, name))
                        return &o->properties[i];
        return NULL;
}

static void test_run_options_full(void)
{
        _cleanup_(run_options_done) RunOptions o = {};

        g_setenv("BERTH_TEST_FROM_ENV", "ours", true);
        g_unsetenv("BERTH_TEST_UNSET");
        g_assert_cmpint(parse(true, &o, "run", "--name", "web", "-d", "-e", "A=1", "--env", "B=two words",
                              "-e", "BERTH_TEST_FROM_ENV", "-e", "BERTH_TEST_UNSET", "-w", "/srv", "-u",
                              "1000:1000", "-h", "box", "--entrypoint", "/bin/sh", "--network", "host",
                              "--rm", "--property", "MemoryMax=512M", "--property", "CPUQuota=50%",
                              "--property", "TasksMax=64", "-p", "8080:80", "--publish", "127.0.0.1::53/udp",
                              "busybox", "-c", "echo -x", NULL),
                        ==, 0);
        g_assert_cmpstr(o.name, ==, "web");
        g_assert_true(o.detach);
        g_assert_true(o.rm);
        g_assert_false(o.tty);
        g_assert_cmpuint(g_strv_length(o.env), ==, 3);
        g_assert_cmpstr(o.env[0], ==, "A=1");
        g_assert_cmpstr(o.env[1], ==, "B=two words");
        g_assert_cmpstr(o.env[2], ==, "BERTH_TEST_FROM_ENV=ours");
        g_assert_cmpstr(o.workdir, ==, "/srv");
        g_assert_cmpstr(o.user, ==, "1000:1000");
        g_assert_cmpstr(o.hostname, ==, "box");
        g_assert_true(o.entrypoint_set);
        g_assert_cmpstr(o.entrypoint, ==, "/bin/sh");
        g_assert_cmpstr(o.network, ==, "host");
        /* -p is Docker's --publish (checked by the daemon), and repeatable. */
        g_assert_cmpuint(g_strv_length(o.ports), ==, 2);
        g_assert_cmpstr(o.ports[0], ==, "8080:80");
        g_assert_cmpstr(o.ports[1], ==, "127.0.0.1::53/udp");
        g_assert_cmpstr(o.image, ==, "busybox");
        /* Options end at the image: "-c" and "echo -x" are the command's. */
        g_assert_cmpuint(g_strv_length(o.command), ==, 2);
        g_assert_cmpstr(o.command[0], ==, "-c");
        g_assert_cmpstr(o.command[1], ==, "echo -x");
        g_assert_cmpuint(o.n_properties, ==, 3);
        g_assert_cmpuint(find_property(&o, "MemoryMax")->value, ==, 512ULL << 20);
        g_assert_cmpuint(find_property(&o, "CPUQuotaPerSecUSec")->value, ==, 500000);
        g_assert_cmpuint(find_property(&o, "TasksMax")->value, ==, 64);
        g_assert_cmpint(find_property(&o, "TasksMax")->type, ==, 't');
}

static void test_run_options_short_and_docker_flags(void)
{
        _cleanup_(run_options_done) RunOptions o = {};

        g_assert_cmpint(parse(true, &o, "run", "-ti", "-m", "1g", "--cpus", "1.5", "--pids-limit", "100",
                              "--property", "MemoryMax=2G", "debian:12", NULL),
                        ==, 0);
        g_assert_true(o.tty);
        g_assert_true(o.interactive);
        g_assert_null(o.command[0]);
        /* A later MemoryMax wins, as in a unit file. */
        g_assert_cmpuint(o.n_properties, ==, 3);
        g_assert_cmpuint(find_property(&o, "MemoryMax")->value, ==, 2ULL << 30);
        g_assert_cmpuint(find_property(&o, "CPUQuotaPerSecUSec")->value, ==, 1500000);
        g_assert_cmpuint(find_property(&o, "TasksMax")->value, ==, 100);
}

static void test_run_options_entrypoint_clear(void)
{
        _cleanup_(run_options_done) RunOptions o = {};

        g_assert_cmpint(parse(false, &o, "create", "--entrypoint", "", "img", "true", NULL), ==, 0);
        g_assert_true(o.entrypoint_set);
        g_assert_cmpstr(o.entrypoint, ==, "");
        g_assert_false(o.detach);
}

static void test_run_options_devices(void)
{
        _cleanup_(run_options_done) RunOptions o = {};

        /* Docker's --device: repeatable, never split at commas; checked by the daemon. */
        g_assert_cmpint(parse(true, &o, "run", "--device", "/dev/loop0:/dev/xvdc:r", "--device=/dev/a,b",
                              "--privileged", "img", NULL),
                        ==, 0);
        g_assert_cmpuint(g_strv_length(o.devices), ==, 2);
        g_assert_cmpstr(o.devices[0], ==, "/dev/loop0:/dev/xvdc:r");
        g_assert_cmpstr(o.devices[1], ==, "/dev/a,b");
        g_assert_true(o.privileged);
}

static void test_run_options_network(void)
{
        _cleanup_(run_options_done) RunOptions o = {};

        /* --network-alias repeatable, --ip the last one given, -P. */
        g_assert_cmpint(parse(true, &o, "run", "--network", "front", "--network-alias", "web",
                              "--network-alias=www", "--ip", "10.1.0.9", "-P", "img", NULL),
                        ==, 0);
        g_assert_cmpuint(g_strv_length(o.aliases), ==, 2);
        g_assert_cmpstr(o.aliases[1], ==, "www");
        g_assert_cmpstr(o.ip, ==, "10.1.0.9");
        g_assert_true(o.publish_all);
        g_assert_cmpstr(o.image, ==, "img");
}

static void test_run_options_errors(void)
{
        RunOptions o = {};

        g_assert_cmpint(parse(true, &o, "run", NULL), ==, -EINVAL);                   /* no image */
        g_assert_cmpint(parse(true, &o, "run", "--bogus", "img", NULL), ==, -EINVAL); /* unknown flag */
        g_assert_cmpint(parse(true, &o, "run", "-Z", "img", NULL), ==, -EINVAL);      /* unknown short */
        g_assert_cmpint(parse(true, &o, "run", "img", "-e", NULL), ==, 0);            /* command's -e */
        run_options_done(&o);
        g_assert_cmpint(parse(true, &o, "run", "-e", NULL), ==, -EINVAL); /* missing argument */
        g_assert_cmpint(parse(true, &o, "run", "--network", "mynet", "img", NULL), ==,
                        0); /* the daemon checks */
        run_options_done(&o);
        g_assert_cmpint(parse(true, &o, "run", "--property", "Foo=1", "img", NULL), ==, -EINVAL);
        g_assert_cmpint(parse(true, &o, "run", "--cpus", "0", "img", NULL), ==, -EINVAL);
        g_assert_cmpint(parse(true, &o, "run", "-e", "=x", "img", NULL), ==, -EINVAL);
        g_assert_cmpint(parse(false, &o, "create", "-d", "img", NULL), ==, -EINVAL); /* create has no -d */
        g_assert_cmpint(parse(true, &o, "run", "--env-file", "/nonexistent/berth-env", "img", NULL), ==,
                        -EINVAL);
        g_assert_null(o.image);
}

static void test_env_file(void)
{
        g_autofree char *path = NULL;
        g_autoptr(GError) error = NULL;
        _cleanup_(run_options_done) RunOptions o = {};
        int fd;

        g_setenv("BERTH_TEST_PASS", "passed", true);
        g_unsetenv("BERTH_TEST_UNSET");
        fd = g_file_open_tmp("berth-env-XXXXXX", &path, &error);
        g_assert_no_error(error);
        close(fd);
        g_assert_true(g_file_set_contents(path,
                                          "# a comment\n"
                                          "\n"
                                          "  A=1\n"
                                          "B= spaced value \n"
                                          "BERTH_TEST_PASS\n"
                                          "BERTH_TEST_UNSET\n"
                                          "C=x=y\r\n"
                                          "A=from-file\n",
                                          -1, &error));
        /* -e comes after the file, so it wins in the daemon's merge. */
        g_assert_cmpint(parse(true, &o, "run", "-e", "A=cli", "--env-file", path, "img", NULL), ==, 0);
        g_assert_cmpuint(g_strv_length(o.env), ==, 6);
        g_assert_cmpstr(o.env[0], ==, "A=1");
        g_assert_cmpstr(o.env[1], ==, "B= spaced value ");
        g_assert_cmpstr(o.env[2], ==, "BERTH_TEST_PASS=passed");
        g_assert_cmpstr(o.env[3], ==, "C=x=y\r");
        g_assert_cmpstr(o.env[4], ==, "A=from-file");
        g_assert_cmpstr(o.env[5], ==, "A=cli");
        unlink(path);

        g_auto(GStrv) env = NULL;
        g_assert_cmpint(env_file_parse("BAD NAME=1\n", "f", &env), ==, -EINVAL);
        g_assert_cmpint(env_file_parse("=1\n", "f", &env), ==, -EINVAL);
        g_assert_cmpint(env_file_parse("OK=\xff\n", "f", &env), ==, -EINVAL);
        g_assert_cmpint(env_file_parse("OK=\n", "f", &env), ==, 0);
        g_assert_cmpstr(env[0], ==, "OK=");
}

static void test_unit_property(void)
{
        static const struct {
                const char *in;
                const char *name;
                uint64_t value;
        } good[] = {
                { "MemoryMax=512M", "MemoryMax", 512ULL << 20 },
                { "MemoryMax=1.5G", "MemoryMax", 3ULL << 29 },
                { "MemoryMax=100", "MemoryMax", 100 },
                { "MemoryMax=4096K", "MemoryMax", 4096ULL << 10 },
                { "MemoryMax=2T", "MemoryMax", 2ULL << 40 },
                { "MemoryMax=512m", "MemoryMax", 512ULL << 20 },
                { "MemoryMax=1GiB", "MemoryMax", 1ULL << 30 },
                { "MemoryMax=infinity", "MemoryMax", UNIT_INFINITY },
                { "MemoryHigh=256M", "MemoryHigh", 256ULL << 20 },
                { "MemorySwapMax=0", "MemorySwapMax", 0 },
                { "CPUQuota=50%", "CPUQuotaPerSecUSec", 500000 },
                { "CPUQuota=150%", "CPUQuotaPerSecUSec", 1500000 },
                { "CPUQuota=12.5%", "CPUQuotaPerSecUSec", 125000 },
                { "CPUQuota=0.01%", "CPUQuotaPerSecUSec", 100 },
                { "CPUQuota=infinity", "CPUQuotaPerSecUSec", UNIT_INFINITY },
                { "TasksMax=64", "TasksMax", 64 },
                { "TasksMax=infinity", "TasksMax", UNIT_INFINITY },
                { "CPUWeight=1", "CPUWeight", 1 },
                { "CPUWeight=10000", "CPUWeight", 10000 },
                { "IOWeight=200", "IOWeight", 200 },
        };
        static const char *const bad[] = {
                "MemoryMax",
                "=1",
                "MemoryMax=",
                "MemoryMax=12Q",
                "MemoryMax=-1",
                "MemoryMax=1.5",
                "MemoryMax=99999999999T",
                "CPUQuota=50",
                "CPUQuota=0%",
                "CPUQuota=1.234%",
                "CPUQuota=%",
                "CPUQuota=abc%",
                "TasksMax=0",
                "TasksMax=ten",
                "TasksMax=10%",
                "CPUWeight=0",
                "CPUWeight=10001",
                "IOWeight=x",
                "Memorymax=1G",
                "Delegate=yes",
                "CPUQuotaPerSecUSec=1",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                UnitProperty p = {};
                g_test_message("%s", good[i].in);
                g_assert_cmpint(unit_property_parse(good[i].in, &p), ==, 0);
                g_assert_cmpstr(p.name, ==, good[i].name);
                g_assert_cmpint(p.type, ==, 't');
                g_assert_cmpuint(p.value, ==, good[i].value);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                UnitProperty p = {};
                g_test_message("%s", bad[i]);
                g_assert_cmpint(unit_property_parse(bad[i], &p), ==, -EINVAL);
        }
}

static void test_parse_signal(void)
{
        g_assert_cmpint(parse_signal("TERM"), ==, SIGTERM);
        g_assert_cmpint(parse_signal("SIGTERM"), ==, SIGTERM);
        g_assert_cmpint(parse_signal("sigterm"), ==, SIGTERM);
        g_assert_cmpint(parse_signal("kill"), ==, SIGKILL);
        g_assert_cmpint(parse_signal("15"), ==, 15);
        g_assert_cmpint(parse_signal("9"), ==, SIGKILL);
        g_assert_cmpint(parse_signal("HUP"), ==, SIGHUP);
        g_assert_cmpint(parse_signal("SIGUSR1"), ==, SIGUSR1);
        g_assert_cmpint(parse_signal("WINCH"), ==, SIGWINCH);
        g_assert_cmpint(parse_signal("RTMIN"), ==, SIGRTMIN);
        g_assert_cmpint(parse_signal("SIGRTMIN+3"), ==, SIGRTMIN + 3);
        g_assert_cmpint(parse_signal("RTMAX-1"), ==, SIGRTMAX - 1);
        g_assert_cmpint(parse_signal("0"), ==, -EINVAL);
        g_assert_cmpint(parse_signal("65"), ==, -EINVAL);
        g_assert_cmpint(parse_signal("SIGFOO"), ==, -EINVAL);
        g_assert_cmpint(parse_signal("SIG"), ==, -EINVAL);
        g_assert_cmpint(parse_signal(""), ==, -EINVAL);
        g_assert_cmpint(parse_signal("RTMIN+99"), ==, -EINVAL);
        g_assert_cmpint(parse_signal("-9"), ==, -EINVAL);
}

static void test_parse_since(void)
{
        const uint64_t now = 1714557600ULL * SEC; /* 2024-05-01T10:00:00Z */
        uint64_t t;

        g_setenv("TZ", "UTC", true);
        g_assert_cmpint(parse_since("10m", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now - 600 * SEC);
        g_assert_cmpint(parse_since("2h", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now - 7200 * SEC);
        g_assert_cmpint(parse_since("1h30m", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now - 5400 * SEC);
        g_assert_cmpint(parse_since("1.5h", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now - 5400 * SEC);
        g_assert_cmpint(parse_since("250ms", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now - 250 * USEC_PER_MSEC);
        g_assert_cmpint(parse_since("1714550400", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, 1714550400ULL * SEC);
        g_assert_cmpint(parse_since("1714550400.25", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, 1714550400ULL * SEC + 250000);
        g_assert_cmpint(parse_since("2024-05-01T10:00:00Z", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now);
        g_assert_cmpint(parse_since("2024-05-01T12:00:00+02:00", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now);
        g_assert_cmpint(parse_since("2024-05-01T10:00:00.5Z", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now + 500000);
        g_assert_cmpint(parse_since("2024-05-01T10:00Z", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now);
        /* No zone: local time (TZ=UTC here). */
        g_assert_cmpint(parse_since("2024-05-01T10:00:00", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now);
        g_assert_cmpint(parse_since("2024-05-01", now, &t), ==, 0);
        g_assert_cmpuint(t, ==, now - 10 * 3600 * SEC);

        g_assert_cmpint(parse_since("", now, &t), ==, -EINVAL);
        g_assert_cmpint(parse_since("yesterday", now, &t), ==, -EINVAL);
        g_assert_cmpint(parse_since("10x", now, &t), ==, -EINVAL);
        g_assert_cmpint(parse_since("2024-13-01", now, &t), ==, -EINVAL);
        g_assert_cmpint(parse_since("1714550400.", now, &t), ==, -EINVAL);
}

static void test_format_status(void)
{
        const uint64_t now = 1714557600ULL * SEC;
        char buf[FORMAT_STATUS_MAX];

        g_assert_cmpstr(format_container_status(buf, sizeof(buf), "created", 0, 0, 0, now), ==, "Created");
        g_assert_cmpstr(format_container_status(buf, sizeof(buf), "running", 0, now - 300 * SEC, 0, now), ==,
                        "Up 5 minutes");
        g_assert_cmpstr(format_container_status(buf, sizeof(buf), "running", 0, now - SEC / 2, 0, now), ==,
                        "Up Less than a second");
        g_assert_cmpstr(format_container_status(buf, sizeof(buf), "running", 0, now - 90 * SEC, 0, now), ==,
                        "Up About a minute");
        g_assert_cmpstr(format_container_status(buf, sizeof(buf), "exited", 0, now - 600 * SEC,
                                                now - 120 * SEC, now),
                        ==, "Exited (0) 2 minutes ago");
        g_assert_cmpstr(format_container_status(buf, sizeof(buf), "exited", 137, 0, now - 3 * SEC, now), ==,
                        "Exited (137) 3 seconds ago");
        g_assert_cmpstr(format_container_status(buf, sizeof(buf), "exited", 127, 0, 0, now), ==,
                        "Exited (127)");

        g_assert_cmpstr(format_human_duration(buf, sizeof(buf), 1 * SEC), ==, "1 second");
        g_assert_cmpstr(format_human_duration(buf, sizeof(buf), 3600 * SEC), ==, "About an hour");
        g_assert_cmpstr(format_human_duration(buf, sizeof(buf), 5 * 3600 * SEC), ==, "5 hours");
        g_assert_cmpstr(format_human_duration(buf, sizeof(buf), 3 * 24 * 3600 * SEC), ==, "3 days");
        g_assert_cmpstr(format_human_duration(buf, sizeof(buf), 21 * 24 * 3600 * SEC), ==, "3 weeks");
        g_assert_cmpstr(format_human_duration(buf, sizeof(buf), 90 * 24 * 3600 * SEC), ==, "3 months");
        g_assert_cmpstr(format_human_duration(buf, sizeof(buf), 3 * 365 * 24 * 3600 * SEC), ==, "3 years");
}

static void test_format_command(void)
{
        char *sh[] = { "sh", "-c", "echo hello world; sleep 1", NULL };
        char *quoted[] = { "echo", "\"hi\"", "a\\b", "tab\there", NULL };
        char *empty[] = { NULL };
        g_autofree char *a = format_command(sh, 20), *b = format_command(sh, 0),
                        *c = format_command(quoted, 0), *d = format_command(empty, 20),
                        *e = format_command(NULL, 20);

        g_assert_cmpuint(g_utf8_strlen(a, -1), ==, 22); /* 20 characters and the quotes */
        g_assert_cmpstr(a, ==, "\"sh -c echo hello wo…\"");
        g_assert_cmpstr(b, ==, "\"sh -c echo hello world; sleep 1\"");
        g_assert_cmpstr(c, ==, "\"echo \\\"hi\\\" a\\\\b tab\\there\"");
        g_assert_cmpstr(d, ==, "\"\"");
        g_assert_cmpstr(e, ==, "\"\"");
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        /* The parser reports errors on stderr, as berthctl does; keep TAP on stdout clean. */

        g_test_add_func("/run-options/network", test_run_options_network);
        g_test_add_func("/run-options/full", test_run_options_full);
        g_test_add_func("/run-options/short-and-docker-flags", test_run_options_short_and_docker_flags);
        g_test_add_func("/run-options/entrypoint-clear", test_run_options_entrypoint_clear);
        g_test_add_func("/run-options/devices", test_run_options_devices);
        g_test_add_func("/run-options/errors", test_run_options_errors);
        g_test_add_func("/run-options/env-file", test_env_file);
        g_test_add_func("/run-options/unit-property", test_unit_property);
        g_test_add_func("/run-options/signal", test_parse_signal);
        g_test_add_func("/run-options/since", test_parse_since);
        g_test_add_func("/format/status", test_format_status);
        g_test_add_func("/format/command", test_format_command);

        return g_test_run();
}
