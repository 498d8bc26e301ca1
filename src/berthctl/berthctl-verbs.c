/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "berthctl-container.h"
#include "berthctl.h"
#include "format.h"
#include "run-options.h"
#include "shared/log.h"

/* restart, pause, unpause, wait: the verbs that chain or suspend a container's run. */

static int verb_restart(int argc, char *argv[])
{
        /* Answered when the container runs again: the grace period, the kill and a start. */
        return stop_each("restart", "RestartContainer", 60 * USEC_PER_SEC, argc, argv);
}

static int names_only(const char *verb, int argc, char *argv[])
{
        static const struct option options[] = { {} };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                return EXIT_USAGE;
        if (optind >= argc) {
                fprintf(stderr, "berthctl %s: at least one container is needed.\n", verb);
                return EXIT_USAGE;
        }
        return EXIT_OK;
}

static int verb_pause(int argc, char *argv[])
{
        int r = names_only("pause", argc, argv);

        return r != EXIT_OK ? r : manager_call_each("PauseContainer", argv + optind, "", NULL);
}

static int verb_unpause(int argc, char *argv[])
{
        int r = names_only("unpause", argc, argv);

        return r != EXIT_OK ? r : manager_call_each("UnpauseContainer", argv + optind, "", NULL);
}

static int verb_wait(int argc, char *argv[])
{
        int r, ret = names_only("wait", argc, argv);

        if (ret != EXIT_OK)
                return ret;
        for (int i = optind; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int32_t code;

                /* Blocks until the container exits, however long that is, as docker wait does. */
                r = manager_call_quiet("WaitContainer", UINT64_MAX - 1, &error, &reply, "sa{sv}", argv[i],
                                       0);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "i", &code);
                if (r < 0) {
                        log_bus_error(&error, r);
                        ret = EXIT_ERROR;
                } else
                        printf("%" PRIi32 "\n", code);
        }
        return ret;
}

/* docker update's resource flags, as scope properties (the same conversions as run's). */
static int verb_update(int argc, char *argv[])
{
        _cleanup_free_ UnitProperty *props = NULL;
        size_t n = 0;
        int c, r, ret = EXIT_OK;

        enum { ARG_CPUS = 0x100, ARG_PIDS_LIMIT };
        static const struct option options[] = { { "memory", required_argument, NULL, 'm' },
                                                 { "cpus", required_argument, NULL, ARG_CPUS },
                                                 { "pids-limit", required_argument, NULL, ARG_PIDS_LIMIT },
                                                 {} };
        while ((c = getopt_long(argc, argv, "m:", options, NULL)) >= 0) {
                g_autofree char *a = NULL;
                UnitProperty p;

                if (c == ARG_CPUS) {
                        char *end;
                        double cpus = g_ascii_strtod(optarg, &end);

                        if (end == optarg || *end || !(cpus > 0) || cpus > 1e6) {
                                fprintf(stderr, "berthctl update: invalid --cpus '%s'.\n", optarg);
                                return EXIT_USAGE;
                        }
                        p = (UnitProperty){ .name = "CPUQuotaPerSecUSec",
                                            .type = 't',
                                            .value = MAX((uint64_t) (cpus * 1e6 + 0.5), (uint64_t) 1) };
                } else {
                        if (c == 'm')
                                a = g_strconcat("MemoryMax=", optarg, NULL);
                        else if (c == ARG_PIDS_LIMIT)
                                a = g_strconcat("TasksMax=", optarg, NULL);
                        else
                                return EXIT_USAGE;
                        r = unit_property_parse(a, &p);
                        if (r < 0)
                                return EXIT_USAGE;
                }
                props = g_renew(UnitProperty, props, n + 1);
                props[n++] = p;
        }
        if (optind >= argc || n == 0) {
                fprintf(stderr, "berthctl update: a container and at least one of --memory, --cpus, "
                                "--pids-limit are needed.\n");
                return EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                r = manager_new_call("UpdateContainer", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", argv[i]);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "(sv)");
                for (size_t k = 0; r >= 0 && k < n; k++)
                        r = sd_bus_message_append(m, "(sv)", props[k].name, "t", props[k].value);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "a{sv}", 0);
                if (r < 0) {
                        log_bus_error(NULL, r);
                        return EXIT_ERROR;
                }
                if (manager_call_message(m, NULL) < 0)
                        ret = EXIT_ERROR;
                else
                        printf("%s\n", argv[i]);
        }
        return ret;
}

/* A status field ("Uid:", "PPid:") of /proc/PID/status: its first number; -1 when unreadable (gone). */
static long proc_status_field(uint32_t pid, const char *field)
{
        g_autofree char *path = g_strdup_printf("/proc/%" PRIu32 "/status", pid), *text = NULL;
        const char *p;

        if (!g_file_get_contents(path, &text, NULL, NULL))
                return -1;
        for (p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (g_str_has_prefix(p, field))
                        return strtol(p + strlen(field), NULL, 10);
        return -1;
}

/* docker top's columns that berth knows from the host: UID PID PPID CMD. */
static int verb_top(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *cmd;
        uint32_t pid;
        int r;

        r = names_only("top", argc, argv);
        if (r != EXIT_OK)
                return r;
        if (argc - optind != 1) {
                fprintf(stderr, "berthctl top: one container, please.\n");
                return EXIT_USAGE;
        }
        r = manager_call("TopContainer", &reply, "sa{sv}", argv[optind], 0);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_enter_container(reply, 'a', "(us)");
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        printf("%-10s %-8s %-8s %s\n", "UID", "PID", "PPID", "CMD");
        while ((r = sd_bus_message_read(reply, "(us)", &pid, &cmd)) > 0) {
                long uid = proc_status_field(pid, "Uid:"), ppid = proc_status_field(pid, "PPid:");
                struct passwd *pw = uid >= 0 ? getpwuid((uid_t) uid) : NULL;
                char u[32];

                if (pw)
                        snprintf(u, sizeof(u), "%s", pw->pw_name);
                else
                        snprintf(u, sizeof(u), "%ld", uid);
                printf("%-10s %-8" PRIu32 " %-8ld %s\n", uid >= 0 ? u : "?", pid, ppid, cmd);
        }
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}

typedef struct StatsSample {
        char *name, *path;
        uint64_t cpu_ns, mem, mem_max, tasks, io_read, io_write, net_rx, net_tx, at_usec;
        bool ok;
} StatsSample;

static int stats_sample(StatsSample *s)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *key;
        sd_bus *bus;
        int r;

        r = bus_get(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.berth1", s->path, "org.berth1.Container", "GetStats", &error,
                               &reply, "a{sv}", 0);
        if (r < 0)
                return log_bus_error(&error, r);
        s->cpu_ns = s->mem = s->mem_max = s->tasks = s->io_read = s->io_write = s->net_rx = s->net_tx =
                UINT64_MAX;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                uint64_t v = UINT64_MAX;

                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "v", "t", &v);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
                if (streq(key, "CPUUsageNSec"))
                        s->cpu_ns = v;
                else if (streq(key, "MemoryCurrent"))
                        s->mem = v;
                else if (streq(key, "MemoryMax"))
                        s->mem_max = v;
                else if (streq(key, "TasksCurrent"))
                        s->tasks = v;
                else if (streq(key, "IOReadBytes"))
                        s->io_read = v;
                else if (streq(key, "IOWriteBytes"))
                        s->io_write = v;
                else if (streq(key, "NetRxBytes"))
                        s->net_rx = v;
                else if (streq(key, "NetTxBytes"))
                        s->net_tx = v;
        }
        if (r < 0)
                return log_bus_error(NULL, r);
        s->at_usec = g_get_monotonic_time();
        s->ok = true;
        return 0;
}

static const char *size_or_dash(char *buf, size_t len, uint64_t v)
{
        return v == UINT64_MAX ? "--" : format_size(buf, len, v);
}

static void stats_print(const StatsSample *before, const StatsSample *now, size_t n)
{
        printf("%-20s %-8s %-22s %-8s %-22s %-22s\n", "NAME", "CPU %", "MEM USAGE / LIMIT", "PIDS",
               "NET I/O", "BLOCK I/O");
        for (size_t i = 0; i < n; i++) {
                char a[32], b[32], c[32], d[32], e[32], f[32], cpu[16] = "--", mem[64], net[64], io[64],
                                                               pids[24] = "--";
                const StatsSample *s = &now[i], *p = &before[i];

                if (!s->ok)
                        continue;
                if (p->ok && s->cpu_ns != UINT64_MAX && p->cpu_ns != UINT64_MAX && s->at_usec > p->at_usec)
                        snprintf(cpu, sizeof(cpu), "%.2f%%",
                                 (double) (s->cpu_ns - p->cpu_ns) / 1000.0 /
                                         (double) (s->at_usec - p->at_usec) * 100.0);
                snprintf(mem, sizeof(mem), "%s / %s", size_or_dash(a, sizeof(a), s->mem),
                         s->mem_max == UINT64_MAX ? "unlimited" : format_size(b, sizeof(b), s->mem_max));
                snprintf(net, sizeof(net), "%s / %s", size_or_dash(e, sizeof(e), s->net_rx),
                         size_or_dash(f, sizeof(f), s->net_tx));
                snprintf(io, sizeof(io), "%s / %s", size_or_dash(c, sizeof(c), s->io_read),
                         size_or_dash(d, sizeof(d), s->io_write));
                if (s->tasks != UINT64_MAX)
                        snprintf(pids, sizeof(pids), "%" PRIu64, s->tasks);
                printf("%-20s %-8s %-22s %-8s %-22s %-22s\n", s->name, cpu, mem, pids, net, io);
        }
}

/* docker stats: the counters of the scopes; CPU % over the last interval, so always two samples. */
static int verb_stats(int argc, char *argv[])
{
        bool stream = true;
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autofree StatsSample *prev = NULL, *cur = NULL;
        int c;

        static const struct option options[] = { { "no-stream", no_argument, NULL, 'N' }, {} };
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                if (c == 'N')
                        stream = false;
                else
                        return EXIT_USAGE;
        if (optind >= argc) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const char *id, *name, *image, *state, *path;
                uint32_t code;
                int r;

                r = manager_call("ListContainers", &reply, "b", 0);
                if (r < 0)
                        return EXIT_ERROR;
                r = sd_bus_message_enter_container(reply, 'a', "(ssssuo)");
                while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssuo)", &id, &name, &image, &state,
                                                          &code, &path)) > 0)
                        g_ptr_array_add(names, g_strdup(name));
        } else
                for (int i = optind; i < argc; i++)
                        g_ptr_array_add(names, g_strdup(argv[i]));

        prev = g_new0(StatsSample, names->len);
        cur = g_new0(StatsSample, names->len);
        for (guint i = 0; i < names->len; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const char *path;

                if (manager_call("GetContainer", &reply, "s", names->pdata[i]) < 0 ||
                    sd_bus_message_read(reply, "o", &path) < 0)
                        return EXIT_ERROR;
                prev[i].name = cur[i].name = names->pdata[i];
                prev[i].path = cur[i].path = g_strdup(path);
        }
        for (guint i = 0; i < names->len; i++)
                if (stats_sample(&prev[i]) < 0)
                        return EXIT_ERROR;
        for (;;) {
                /* The interval CPU % is measured over, as docker's (which refreshes each second). */
                (void) usleep(stream ? 1000000 : 500000);
                for (guint i = 0; i < names->len; i++)
                        cur[i].ok = stats_sample(&cur[i]) >= 0;
                if (stream)
                        fputs("\033[2J\033[H", stdout);
                stats_print(prev, cur, names->len);
                fflush(stdout);
                if (!stream)
                        break;
                for (guint i = 0; i < names->len; i++) {
                        char *path = prev[i].path;
                        prev[i] = cur[i];
                        prev[i].path = path;
                }
        }
        for (guint i = 0; i < names->len; i++)
                g_free(prev[i].path);
        return EXIT_OK;
}

static int verb_rename(int argc, char *argv[])
{
        if (argc != 3) {
                fprintf(stderr, "berthctl rename: CONTAINER NEW_NAME, please.\n");
                return EXIT_USAGE;
        }
        return manager_call("RenameContainer", NULL, "ss", argv[1], argv[2]) < 0 ? EXIT_ERROR : EXIT_OK;
}

const Verb lifecycle_verbs[] = {
        { "restart", NULL, "[-t SECONDS] CONTAINER...", "Restart containers", verb_restart },
        { "pause", NULL, "CONTAINER...", "Freeze all processes of containers", verb_pause },
        { "unpause", NULL, "CONTAINER...", "Thaw paused containers", verb_unpause },
        { "wait", NULL, "CONTAINER...", "Wait for containers to exit and print their exit codes",
          verb_wait },
        { "update", NULL, "[-m SIZE] [--cpus N] [--pids-limit N] CONTAINER...",
          "Change a container's resource limits, now and for its next starts", verb_update },
        { "top", NULL, "CONTAINER", "List a container's processes", verb_top },
        { "update", "container", "...", "Alias of 'update'", verb_update },
        { "top", "container", "...", "Alias of 'top'", verb_top },
        { "stats", NULL, "[--no-stream] [CONTAINER...]", "Show containers' resource use", verb_stats },
        { "stats", "container", "...", "Alias of 'stats'", verb_stats },
        { "rename", NULL, "CONTAINER NEW_NAME", "Rename a container that does not run", verb_rename },
        { "rename", "container", "...", "Alias of 'rename'", verb_rename },
        { "restart", "container", "...", "Alias of 'restart'", verb_restart },
        { "pause", "container", "...", "Alias of 'pause'", verb_pause },
        { "unpause", "container", "...", "Alias of 'unpause'", verb_unpause },
        { "wait", "container", "...", "Alias of 'wait'", verb_wait },
        {}
};
