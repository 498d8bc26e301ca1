/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <getopt.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "run-options.h"
#include "shared/macro.h"

/* Docker accepts repeated and comma-separated values: "--cap-add A,B --cap-add C". */
static void strv_push_split(char ***l, const char *value)
{
        g_auto(GStrv) parts = g_strsplit(value, ",", -1);
        GPtrArray *a = g_ptr_array_new();

        STRV_FOREACH (s, *l)
                g_ptr_array_add(a, g_strdup(*s));
        STRV_FOREACH (s, parts)
                if (**s)
                        g_ptr_array_add(a, g_strdup(*s));
        g_ptr_array_add(a, NULL);
        g_strfreev(*l);
        *l = (char **) g_ptr_array_free(a, false);
}

void run_options_done(RunOptions *o)
{
        g_free(o->name);
        g_strfreev(o->env);
        g_free(o->workdir);
        g_free(o->user);
        g_free(o->hostname);
        g_free(o->entrypoint);
        g_free(o->network);
        g_free(o->restart);
        g_free(o->detach_keys);
        g_strfreev(o->cap_add);
        g_strfreev(o->cap_drop);
        g_strfreev(o->security_opt);
        g_strfreev(o->devices);
        g_strfreev(o->dns);
        g_strfreev(o->dns_search);
        g_strfreev(o->add_hosts);
        g_strfreev(o->aliases);
        g_free(o->ip);
        g_strfreev(o->ports);
        g_strfreev(o->volumes);
        g_strfreev(o->mounts);
        g_strfreev(o->tmpfs);
        g_free(o->properties);
        g_free(o->image);
        g_strfreev(o->command);
        *o = (RunOptions){};
}

static void strv_push(char ***l, char *s)
{
        size_t n = *l ? g_strv_length(*l) : 0;

        *l = g_renew(char *, *l, n + 2);
        (*l)[n] = s;
        (*l)[n + 1] = NULL;
}

int parse_size(const char *s, uint64_t *ret)
{
        static const char suffixes[] = "KMGTPE";
        uint64_t whole = 0, frac = 0, frac_div = 1, factor = 1;
        const char *p = s;

        if (streq(s, "infinity")) {
                *ret = UNIT_INFINITY;
                return 0;
        }
        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                if (whole > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                whole = whole * 10 + (uint64_t) (*p - '0');
        }
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++)
                        if (frac_div < 1000000000) {
                                frac = frac * 10 + (uint64_t) (*p - '0');
                                frac_div *= 10;
                        }
        }
        /* systemd's K/M/G/T/P/E, and docker's spellings of the same: "512m", "1GiB", "100kb". */
        if (*p) {
                const char *u = strchr(suffixes, toupper((unsigned char) *p));
                if (!u)
                        return -EINVAL;
                for (size_t i = 0; i <= (size_t) (u - suffixes); i++)
                        factor *= 1024;
                p++;
                if (*p == 'i' || *p == 'I')
                        p++;
                if (*p == 'b' || *p == 'B')
                        p++;
        } else if (frac_div > 1)
                return -EINVAL; /* "1.5" bytes */
        if (*p)
                return -EINVAL;
        if (whole > UINT64_MAX / factor)
                return -ERANGE;
        *ret = whole * factor + frac * factor / frac_div;
        return 0;
}

/* A decimal with at most two places, as 1/100 units: "12.5" → 1250. */
static int parse_hundredths(const char *s, const char *end, uint64_t *ret)
{
        uint64_t v = 0;
        int places = -1;

        if (s == end)
                return -EINVAL;
        for (const char *p = s; p < end; p++) {
                if (*p == '.' && places < 0) {
                        places = 0;
                        continue;
                }
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                if (places >= 0 && ++places > 2)
                        return -EINVAL;
                if (v > UINT64_MAX / 100)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (places == 0)
                return -EINVAL; /* "12." */
        for (int i = places < 0 ? 0 : places; i < 2; i++)
                v *= 10;
        *ret = v;
        return 0;
}

int parse_cpu_quota(const char *s, uint64_t *ret_usec_per_sec)
{
        size_t n = strlen(s);
        uint64_t h;
        int r;

        if (n < 2 || s[n - 1] != '%')
                return -EINVAL;
        r = parse_hundredths(s, s + n - 1, &h);
        if (r < 0)
                return r;
        if (h == 0)
                return -ERANGE;
        /* 1% is 10 ms of CPU per second. */
        *ret_usec_per_sec = h * 100;
        return 0;
}

static int parse_uint64(const char *s, uint64_t *ret)
{
        char *end;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

typedef enum PropertyKind {
        PROPERTY_SIZE,
        PROPERTY_CPU_QUOTA,
        PROPERTY_COUNT,
        PROPERTY_WEIGHT,
} PropertyKind;

static const struct {
        const char *assignment; /* as systemd-run and unit files spell it */
        const char *bus_name;
        PropertyKind kind;
} unit_properties[] = {
        { "MemoryMax", "MemoryMax", PROPERTY_SIZE },
        { "MemoryHigh", "MemoryHigh", PROPERTY_SIZE },
        { "MemoryLow", "MemoryLow", PROPERTY_SIZE },
        { "MemoryMin", "MemoryMin", PROPERTY_SIZE },
        { "MemorySwapMax", "MemorySwapMax", PROPERTY_SIZE },
        { "CPUQuota", "CPUQuotaPerSecUSec", PROPERTY_CPU_QUOTA },
        { "TasksMax", "TasksMax", PROPERTY_COUNT },
        { "CPUWeight", "CPUWeight", PROPERTY_WEIGHT },
        { "StartupCPUWeight", "StartupCPUWeight", PROPERTY_WEIGHT },
        { "IOWeight", "IOWeight", PROPERTY_WEIGHT },
        { "StartupIOWeight", "StartupIOWeight", PROPERTY_WEIGHT },
};

/* The value of one kind of property, as systemd's D-Bus API takes it. -EINVAL when it is not one. */
static int property_value_parse(PropertyKind kind, const char *value, uint64_t *ret)
{
        uint64_t v;
        int r;

        switch (kind) {
        case PROPERTY_SIZE:
                return parse_size(value, ret);
        case PROPERTY_CPU_QUOTA:
                if (streq(value, "infinity")) {
                        *ret = UNIT_INFINITY;
                        return 0;
                }
                return parse_cpu_quota(value, ret);
        case PROPERTY_COUNT:
                if (streq(value, "infinity")) {
                        *ret = UNIT_INFINITY;
                        return 0;
                }
                r = parse_uint64(value, &v);
                if (r < 0 || v == 0)
                        return -EINVAL;
                *ret = v;
                return 0;
        case PROPERTY_WEIGHT:
                r = parse_uint64(value, &v);
                if (r < 0 || v < 1 || v > 10000)
                        return -EINVAL;
                *ret = v;
                return 0;
        }
        return -EINVAL;
}

int unit_property_parse(const char *assignment, UnitProperty *ret)
{
        const char *eq = strchr(assignment, '='), *value;
        uint64_t v = 0;
        size_t i;
        int r;

        if (!eq || eq == assignment) {
                /* systemd-run's -p is --property; berth's, as docker's, is --publish. */
                fprintf(stderr,
                        "Error: '%s' is not a property assignment (Name=Value, e.g. MemoryMax=512M)%s\n",
                        assignment, strchr(assignment, ':') ? "; to publish a port, use -p/--publish" : "");
                return -EINVAL;
        }
        for (i = 0; i < ELEMENTSOF(unit_properties); i++)
                if (strlen(unit_properties[i].assignment) == (size_t) (eq - assignment) &&
                    strneq(unit_properties[i].assignment, assignment, (size_t) (eq - assignment)))
                        break;
        if (i >= ELEMENTSOF(unit_properties)) {
                fprintf(stderr, "Error: unknown property '%.*s'; supported: ", (int) (eq - assignment),
                        assignment);
                for (size_t k = 0; k < ELEMENTSOF(unit_properties); k++)
                        fprintf(stderr, "%s%s", k > 0 ? ", " : "", unit_properties[k].assignment);
                fprintf(stderr, "\n");
                return -EINVAL;
        }
        value = eq + 1;

        r = property_value_parse(unit_properties[i].kind, value, &v);
        if (r < 0) {
                static const char *const expected[] = {
                        [PROPERTY_SIZE] = "a size such as 512M, 2G or infinity",
                        [PROPERTY_CPU_QUOTA] = "a percentage such as 50% or 150%",
                        [PROPERTY_COUNT] = "a positive number or infinity",
                        [PROPERTY_WEIGHT] = "a number from 1 to 10000",
                };
                fprintf(stderr, "Error: invalid value '%s' for %s: expected %s\n", value,
                        unit_properties[i].assignment, expected[unit_properties[i].kind]);
                return -EINVAL;
        }
        *ret = (UnitProperty){ .name = unit_properties[i].bus_name, .type = 't', .value = v };
        return 0;
}

static void properties_set(RunOptions *o, const UnitProperty *p)
{
        /* A later assignment of the same property wins, as in a unit file. */
        for (size_t i = 0; i < o->n_properties; i++)
                if (streq(o->properties[i].name, p->name)) {
                        o->properties[i] = *p;
                        return;
                }
        o->properties = g_renew(UnitProperty, o->properties, o->n_properties + 1);
        o->properties[o->n_properties++] = *p;
}

int env_add(char ***env, const char *assignment)
{
        const char *value;

        if (isempty(assignment) || assignment[0] == '=') {
                fprintf(stderr, "Error: invalid environment variable '%s'\n", assignment);
                return -EINVAL;
        }
        if (strchr(assignment, '=')) {
                strv_push(env, g_strdup(assignment));
                return 0;
        }
        value = getenv(assignment);
        if (value)
                strv_push(env, g_strdup_printf("%s=%s", assignment, value));
        return 0;
}

int env_file_parse(const char *contents, const char *filename, char ***env)
{
        g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
        unsigned n = 0;

        STRV_FOREACH (l, lines) {
                const char *line = *l, *eq;
                g_autofree char *variable = NULL;

                n++;
                while (g_ascii_isspace(*line))
                        line++;
                if (!*line || *line == '#')
                        continue;
                if (!g_utf8_validate(line, -1, NULL)) {
                        fprintf(stderr, "Error: %s:%u: invalid UTF-8\n", filename, n);
                        return -EINVAL;
                }
                eq = strchr(line, '=');
                variable = eq ? g_strndup(line, (gsize) (eq - line)) : g_strdup(line);
                /* A trailing '\r' of a DOS file, and spaces before the '=', are not part of the name. */
                g_strchomp(variable);
                if (isempty(variable)) {
                        fprintf(stderr, "Error: %s:%u: no variable name\n", filename, n);
                        return -EINVAL;
                }
                for (const char *c = variable; *c; c++)
                        if (g_ascii_isspace(*c)) {
                                fprintf(stderr, "Error: %s:%u: variable '%s' contains whitespace\n",
                                        filename, n, variable);
                                return -EINVAL;
                        }
                if (eq)
                        strv_push(env, g_strdup_printf("%s=%s", variable, eq + 1));
                else {
                        const char *v = getenv(variable);
                        if (v)
                                strv_push(env, g_strdup_printf("%s=%s", variable, v));
                }
        }
        return 0;
}

int parse_signal(const char *s)
{
        const char *name;
        uint64_t n;

        if (isempty(s))
                return -EINVAL;
        if (parse_uint64(s, &n) >= 0)
                return n >= 1 && n < (uint64_t) NSIG ? (int) n : -EINVAL;

        name = (s[0] == 's' || s[0] == 'S') && (s[1] == 'i' || s[1] == 'I') && (s[2] == 'g' || s[2] == 'G')
                       ? s + 3
                       : s;
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && strcasecmp(abbrev, name) == 0)
                        return sig;
        }
        if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
                bool max = toupper((unsigned char) name[3]) == 'A';
                int off = 0;

                if (name[5]) {
                        if (name[5] != (max ? '-' : '+') || parse_uint64(name + 6, &n) < 0 ||
                            n > (uint64_t) (SIGRTMAX - SIGRTMIN))
                                return -EINVAL;
                        off = (int) n;
                }
                return max ? SIGRTMAX - off : SIGRTMIN + off;
        }
        return -EINVAL;
}

/* Go's time.ParseDuration, for the units that make sense here: "10m", "1h30m", "1.5h", "250ms". */
static int parse_go_duration(const char *s, uint64_t *ret)
{
        static const struct {
                const char *unit;
                double usec;
        } units[] = {
                { "ns", 1e-3 }, { "us", 1 },   { "µs", 1 },     { "ms", 1e3 },
                { "s", 1e6 },   { "m", 60e6 }, { "h", 3600e6 },
        };
        double total = 0;
        const char *p = s;

        if (!*p)
                return -EINVAL;
        while (*p) {
                char *end;
                size_t best = 0, best_len = 0;

                if (!isdigit((unsigned char) *p) && *p != '.')
                        return -EINVAL;
                double v = g_ascii_strtod(p, &end);
                if (end == p)
                        return -EINVAL;
                p = end;
                for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                        size_t l = strlen(units[i].unit);
                        if (strneq(p, units[i].unit, l) && l > best_len)
                                best = i, best_len = l;
                }
                if (best_len == 0)
                        return -EINVAL;
                total += v * units[best].usec;
                p += best_len;
        }
        if (total >= 1.8e19)
                return -ERANGE;
        *ret = (uint64_t) total;
        return 0;
}

static bool all_digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char) s[i]))
                        return false;
        return true;
}

int parse_since(const char *s, uint64_t now_usec, uint64_t *ret_usec)
{
        const char *dot;
        uint64_t v;

        if (isempty(s))
                return -EINVAL;

        /* A unix timestamp, with an optional fraction of a second. */
        dot = strchr(s, '.');
        if (all_digits(s, dot ? (size_t) (dot - s) : strlen(s)) &&
            (!dot || (dot[1] && all_digits(dot + 1, strlen(dot + 1))))) {
                uint64_t sec, usec = 0;

                if (dot) {
                        g_autofree char *whole = g_strndup(s, (gsize) (dot - s));
                        char frac[7] = "000000";

                        if (parse_uint64(whole, &sec) < 0)
                                return -EINVAL;
                        memcpy(frac, dot + 1, MIN(strlen(dot + 1), (size_t) 6));
                        usec = strtoull(frac, NULL, 10);
                } else if (parse_uint64(s, &sec) < 0)
                        return -EINVAL;
                if (sec > UINT64_MAX / USEC_PER_SEC - 1)
                        return -ERANGE;
                *ret_usec = sec * USEC_PER_SEC + usec;
                return 0;
        }

        if (parse_go_duration(s, &v) >= 0) {
                *ret_usec = v < now_usec ? now_usec - v : 0;
                return 0;
        }

        /* RFC 3339 and the shorter forms docker takes: a date alone, minutes without seconds; local time
         * when no zone is given. */
        g_autofree char *text = NULL;
        size_t n = strlen(s);
        if (n == 10 && all_digits(s, 4) && s[4] == '-' && all_digits(s + 5, 2) && s[7] == '-' &&
            all_digits(s + 8, 2))
                text = g_strconcat(s, "T00:00:00", NULL);
        else if (n >= 16 && s[10] == 'T' && s[13] == ':' &&
                 (n == 16 || s[16] == 'Z' || s[16] == '+' || s[16] == '-'))
                text = g_strdup_printf("%.16s:00%s", s, s + 16);
        else
                text = g_strdup(s);

        g_autoptr(GTimeZone) tz = g_time_zone_new_local();
        g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(text, tz);
        if (!dt)
                return -EINVAL;
        gint64 unix_usec = g_date_time_to_unix(dt) * (gint64) USEC_PER_SEC + g_date_time_get_microsecond(dt);
        *ret_usec = unix_usec > 0 ? (uint64_t) unix_usec : 0;
        return 0;
}

static int usage_error(const char *verb, const char *fmt, const char *arg)
{
        fprintf(stderr, "berthctl %s: ", verb);
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\nSee 'berthctl %s --help'.\n", verb);
        return -EINVAL;
}

static void run_help(const char *verb, bool is_run)
{
        printf("Usage: berthctl %s [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
               "%s\n\n"
               "Options:\n"
               "      --name NAME           Name the container (default: a generated adjective_noun)\n"
               "  -t, --tty                 Give the container a terminal\n"
               "  -i, --interactive         Keep the container's stdin open\n"
               "%s"
               "  -e, --env NAME[=VALUE]    Set an environment variable (NAME alone: take ours)\n"
               "      --env-file FILE       Read environment variables from a file\n"
               "  -w, --workdir DIR         Working directory inside the container\n"
               "  -u, --user USER[:GROUP]   User to run as, by name or number\n"
               "  -h, --hostname NAME       The container's host name\n"
               "      --entrypoint CMD      Replace the image's entrypoint (\"\" clears it)\n"
               "      --network bridge|none|host|NAME\n"
               "                            berth's bridge with NAT (default), lo only, or the host's\n"
               "      --network-alias NAME  Another name on the user network (repeatable)\n"
               "      --ip ADDRESS          The container's IPv4 address on the user network\n"
               "      --dns ADDRESS         A nameserver for the container's resolv.conf (repeatable)\n"
               "      --dns-search DOMAIN   A search domain for its resolv.conf (repeatable; \".\": none)\n"
               "      --add-host NAME:ADDRESS\n"
               "                            A line for the container's /etc/hosts (repeatable)\n"
               "      --rm                  Remove the container when it exits\n"
               "      --restart POLICY      no, on-failure[:N], always or unless-stopped\n"
               "      --privileged          No confinement: all capabilities and devices\n"
               "      --device HOST[:CONTAINER][:PERMS]\n"
               "                            Give the container a device of the host's (PERMS: rwm)\n"
               "  -p, --publish [IP:][HOSTPORT:]PORT[/tcp|udp]\n"
               "                            Publish a container port on the host (repeatable)\n"
               "  -P, --publish-all         Publish every port the image exposes on a free host port\n"
               "  -v, --volume NAME:PATH[:ro], HOSTPATH:PATH[:ro], PATH\n"
               "                            Mount a named volume, a host directory or file (needs the\n"
               "                            privileged action) or a new anonymous volume (repeatable)\n"
               "      --mount type=volume|bind|tmpfs,source=…,target=…[,readonly]\n"
               "                            The same in Docker's long form (tmpfs-size, tmpfs-mode)\n"
               "      --tmpfs PATH[:size=SIZE,mode=MODE]\n"
               "                            Mount a tmpfs (noexec, nosuid, nodev)\n"
               "      --read-only           Make the container's root read-only (mounts keep theirs)\n"
               "      --property NAME=VALUE Set a property of the container's scope: MemoryMax,\n"
               "                            MemoryHigh, MemoryLow, MemoryMin, MemorySwapMax, CPUQuota,\n"
               "                            TasksMax, CPUWeight, StartupCPUWeight, IOWeight,\n"
               "                            StartupIOWeight\n"
               "  -m, --memory SIZE         MemoryMax= (\"512m\", \"2g\")\n"
               "      --cpus N              CPUQuota= of N CPUs (\"1.5\")\n"
               "      --pids-limit N        TasksMax=\n"
               "      --help                Show this help\n",
               verb,
               is_run ? "Create a container from an image and run a command in it."
                      : "Create a container from an image, without starting it.",
               is_run ? "  -d, --detach              Run in the background and print the container's id\n"
                      : "");
}

int run_options_parse(int argc, char *argv[], bool is_run, RunOptions *ret)
{
        enum {
                ARG_NAME = 0x100,
                ARG_ENV_FILE,
                ARG_ENTRYPOINT,
                ARG_NETWORK,
                ARG_DNS,
                ARG_DNS_SEARCH,
                ARG_ADD_HOST,
                ARG_PROPERTY,
                ARG_RM,
                ARG_DETACH_KEYS,
                ARG_PRIVILEGED,
                ARG_CAP_ADD,
                ARG_CAP_DROP,
                ARG_SECURITY_OPT,
                ARG_DEVICE,
                ARG_CPUS,
                ARG_PIDS_LIMIT,
                ARG_MOUNT,
                ARG_TMPFS,
                ARG_READ_ONLY,
                ARG_RESTART,
                ARG_ALIAS,
                ARG_IP,
                ARG_HELP,
        };
        static const struct option options[] = { { "name", required_argument, NULL, ARG_NAME },
                                                 { "tty", no_argument, NULL, 't' },
                                                 { "interactive", no_argument, NULL, 'i' },
                                                 { "detach", no_argument, NULL, 'd' },
                                                 { "env", required_argument, NULL, 'e' },
                                                 { "env-file", required_argument, NULL, ARG_ENV_FILE },
                                                 { "workdir", required_argument, NULL, 'w' },
                                                 { "user", required_argument, NULL, 'u' },
                                                 { "hostname", required_argument, NULL, 'h' },
                                                 { "entrypoint", required_argument, NULL, ARG_ENTRYPOINT },
                                                 { "network", required_argument, NULL, ARG_NETWORK },
                                                 { "net", required_argument, NULL, ARG_NETWORK },
                                                 { "network-alias", required_argument, NULL, ARG_ALIAS },
                                                 { "ip", required_argument, NULL, ARG_IP },
                                                 { "dns", required_argument, NULL, ARG_DNS },
                                                 { "dns-search", required_argument, NULL, ARG_DNS_SEARCH },
                                                 { "add-host", required_argument, NULL, ARG_ADD_HOST },
                                                 { "rm", no_argument, NULL, ARG_RM },
                                                 { "detach-keys", required_argument, NULL, ARG_DETACH_KEYS },
                                                 { "privileged", no_argument, NULL, ARG_PRIVILEGED },
                                                 { "cap-add", required_argument, NULL, ARG_CAP_ADD },
                                                 { "cap-drop", required_argument, NULL, ARG_CAP_DROP },
                                                 { "security-opt", required_argument, NULL,
                                                   ARG_SECURITY_OPT },
                                                 { "device", required_argument, NULL, ARG_DEVICE },
                                                 { "publish", required_argument, NULL, 'p' },
                                                 { "publish-all", no_argument, NULL, 'P' },
                                                 { "property", required_argument, NULL, ARG_PROPERTY },
                                                 { "memory", required_argument, NULL, 'm' },
                                                 { "cpus", required_argument, NULL, ARG_CPUS },
                                                 { "pids-limit", required_argument, NULL, ARG_PIDS_LIMIT },
                                                 { "volume", required_argument, NULL, 'v' },
                                                 { "mount", required_argument, NULL, ARG_MOUNT },
                                                 { "tmpfs", required_argument, NULL, ARG_TMPFS },
                                                 { "read-only", no_argument, NULL, ARG_READ_ONLY },
                                                 { "restart", required_argument, NULL, ARG_RESTART },
                                                 { "help", no_argument, NULL, ARG_HELP },
                                                 {} };
        const char *verb = argv[0];
        g_auto(GStrv) env_from_files = NULL, env = NULL;
        _cleanup_(run_options_done) RunOptions o = {};
        UnitProperty p;
        int c, r;

        /* "+": the image ends our options; whatever follows belongs to the container's command. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, is_run ? "+:tide:w:u:h:p:Pm:v:" : "+:tie:w:u:h:p:Pm:v:", options,
                                NULL)) >= 0)
                switch (c) {
                case ARG_NAME:
                        g_free(o.name);
                        o.name = g_strdup(optarg);
                        break;
                case 't':
                        o.tty = true;
                        break;
                case 'i':
                        o.interactive = true;
                        break;
                case 'd':
                        if (!is_run)
                                return usage_error(verb, "unknown flag: %s", "--detach");
                        o.detach = true;
                        break;
                case 'e':
                        r = env_add(&env, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_ENV_FILE: {
                        g_autofree char *contents = NULL;
                        g_autoptr(GError) error = NULL;

                        if (!g_file_get_contents(optarg, &contents, NULL, &error)) {
                                fprintf(stderr, "Error: cannot read env file: %s\n", error->message);
                                return -EINVAL;
                        }
                        r = env_file_parse(contents, optarg, &env_from_files);
                        if (r < 0)
                                return r;
                        break;
                }
                case 'w':
                        g_free(o.workdir);
                        o.workdir = g_strdup(optarg);
                        break;
                case 'u':
                        g_free(o.user);
                        o.user = g_strdup(optarg);
                        break;
                case 'h':
                        g_free(o.hostname);
                        o.hostname = g_strdup(optarg);
                        break;
                case ARG_ENTRYPOINT:
                        g_free(o.entrypoint);
                        o.entrypoint = g_strdup(optarg);
                        o.entrypoint_set = true;
                        break;
                case ARG_RESTART: /* checked by the daemon */
                        g_free(o.restart);
                        o.restart = g_strdup(optarg);
                        break;
                case ARG_NETWORK:
                        /* bridge, none, host or a user network's name: checked by the daemon. */
                        g_free(o.network);
                        o.network = g_strdup(optarg);
                        break;
                /* Repeated, never comma-split, as Docker's; checked by the daemon. */
                case ARG_DNS:
                        strv_push(&o.dns, g_strdup(optarg));
                        break;
                case ARG_DNS_SEARCH:
                        strv_push(&o.dns_search, g_strdup(optarg));
                        break;
                case ARG_ADD_HOST:
                        strv_push(&o.add_hosts, g_strdup(optarg));
                        break;
                case ARG_ALIAS:
                        strv_push(&o.aliases, g_strdup(optarg));
                        break;
                case ARG_IP:
                        g_free(o.ip);
                        o.ip = g_strdup(optarg);
                        break;
                case ARG_RM:
                        o.rm = true;
                        break;
                case ARG_PRIVILEGED:
                        o.privileged = true;
                        break;
                case ARG_CAP_ADD:
                        strv_push_split(&o.cap_add, optarg);
                        break;
                case ARG_CAP_DROP:
                        strv_push_split(&o.cap_drop, optarg);
                        break;
                case ARG_SECURITY_OPT:
                        strv_push_split(&o.security_opt, optarg);
                        break;
                case ARG_DEVICE:
                        /* Repeated, never comma-split (Docker's too): a path may hold a comma. */
                        strv_push(&o.devices, g_strdup(optarg));
                        break;
                case ARG_DETACH_KEYS:
                        /* Checked where the keys are used (berthctl-attach.c). */
                        g_free(o.detach_keys);
                        o.detach_keys = g_strdup(optarg);
                        break;
                case 'p':
                        /* Docker's -p; repeated, never comma-split. */
                        strv_push(&o.ports, g_strdup(optarg));
                        break;
                case 'P':
                        o.publish_all = true;
                        break;
                /* Repeated, never comma-split; checked by the daemon (runtime/mount-entry.h). */
                case 'v':
                        strv_push(&o.volumes, g_strdup(optarg));
                        break;
                case ARG_MOUNT:
                        strv_push(&o.mounts, g_strdup(optarg));
                        break;
                case ARG_TMPFS:
                        strv_push(&o.tmpfs, g_strdup(optarg));
                        break;
                case ARG_READ_ONLY:
                        o.read_only = true;
                        break;
                case ARG_PROPERTY:
                        r = unit_property_parse(optarg, &p);
                        if (r < 0)
                                return r;
                        properties_set(&o, &p);
                        break;
                case 'm': {
                        g_autofree char *a = g_strconcat("MemoryMax=", optarg, NULL);
                        r = unit_property_parse(a, &p);
                        if (r < 0)
                                return r;
                        properties_set(&o, &p);
                        break;
                }
                case ARG_CPUS: {
                        char *end;
                        double cpus = g_ascii_strtod(optarg, &end);

                        if (end == optarg || *end || !(cpus > 0) || cpus > 1e6)
                                return usage_error(
                                        verb, "invalid --cpus '%s': expected a number of CPUs such as 1.5",
                                        optarg);
                        p = (UnitProperty){ .name = "CPUQuotaPerSecUSec",
                                            .type = 't',
                                            .value = MAX((uint64_t) (cpus * 1e6 + 0.5), (uint64_t) 1) };
                        properties_set(&o, &p);
                        break;
                }
                case ARG_PIDS_LIMIT: {
                        g_autofree char *a = g_strconcat("TasksMax=", optarg, NULL);
                        r = unit_property_parse(a, &p);
                        if (r < 0)
                                return r;
                        properties_set(&o, &p);
                        break;
                }
                case ARG_HELP:
                        run_help(verb, is_run);
                        return 1;
                case ':':
                        return usage_error(verb, "flag needs an argument: %s", argv[optind - 1]);
                default:
                        if (optopt > 0 && optopt < 0x100) {
                                char flag[3] = { '-', (char) optopt, 0 };
                                return usage_error(verb, "unknown shorthand flag: %s", flag);
                        }
                        return usage_error(verb, "unknown flag: %s", argv[optind - 1]);
                }

        if (optind >= argc)
                return usage_error(verb, "%s", "requires at least 1 argument (the image)");
        o.image = g_strdup(argv[optind]);
        o.command = g_strdupv(argv + optind + 1);

        /* Docker's order: the env files first, then -e, so that -e wins. */
        STRV_FOREACH (e, env_from_files)
                strv_push(&o.env, g_strdup(*e));
        STRV_FOREACH (e, env)
                strv_push(&o.env, g_strdup(*e));

        *ret = o;
        o = (RunOptions){};
        return 0;
}
