/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The pure parts of berthctl's container verbs: `run`/`create` options, scope properties, signals and times,
 * with no bus and no journal, so that they can be unit tested. Parse errors are printed to stderr as one
 * line and returned as -EINVAL. */

/* One assignment for the container's scope, converted into the type systemd wants for the unit property.
 * Every property berthctl accepts is a 't' today; `type` keeps room for others. */
typedef struct UnitProperty {
        const char *name; /* the D-Bus name, e.g. "CPUQuotaPerSecUSec" (static) */
        char type;        /* D-Bus type: 't' */
        uint64_t value;
} UnitProperty;

#define UNIT_INFINITY UINT64_MAX

typedef struct RunOptions {
        char *name;
        bool tty;
        bool interactive;
        bool detach;
        bool rm;
        bool remove_on_exit; /* --rm where berthd removes it (run -d, create): nobody waits to */
        char *detach_keys;   /* Docker's spelling, "ctrl-p,ctrl-q"; NULL for the default */
        bool privileged;
        char **cap_add, **cap_drop, **security_opt; /* checked by the daemon */
        char **devices; /* --device HOST[:CONTAINER][:PERMS], checked by the daemon */
        char **env;     /* "NAME=value", env files first, then -e, in order (later ones win in the daemon) */
        char *workdir;
        char *user;
        char *hostname;
        bool entrypoint_set;
        char *entrypoint; /* "" clears the image's Entrypoint */
        char *network;
        char *restart;                         /* --restart, checked by the daemon */
        char **dns, **dns_search, **add_hosts; /* --dns, --dns-search, --add-host; checked by the daemon */
        char **ports;                          /* -p, --publish; checked by the daemon */
        char **aliases, *ip;                   /* --network-alias, --ip; checked by the daemon */
        bool publish_all;                      /* -P */
        char **volumes, **mounts, **tmpfs;     /* -v, --mount, --tmpfs; checked by the daemon */
        bool read_only;
        UnitProperty *properties;
        size_t n_properties;
        char *image;
        char **command;
} RunOptions;

void run_options_done(RunOptions *o);

/* Parses `run`/`create` arguments (argv[0] is the verb, used in messages). `is_run` allows -d. Returns 0,
 * 1 when --help was printed, or -EINVAL with the reason printed. */
int run_options_parse(int argc, char *argv[], bool is_run, RunOptions *ret);

/* "MemoryMax=512M", "CPUQuota=50%", "TasksMax=infinity" … into the unit property systemd knows. */
int unit_property_parse(const char *assignment, UnitProperty *ret);

/* systemd's sizes: "512", "512K", "1.5G", "2T" (base 1024) or "infinity". */
int parse_size(const char *s, uint64_t *ret);

/* "50%", "150%", "12.5%": µs of CPU time per second of wall time. */
int parse_cpu_quota(const char *s, uint64_t *ret_usec_per_sec);

/* Docker's --env-file: one NAME=value per line; a NAME alone takes the value from our environment (and is
 * dropped when unset); blank lines and lines starting with '#' are skipped. Appends to *env. */
int env_file_parse(const char *contents, const char *filename, char ***env);

/* Docker's -e: "NAME=value" as is; "NAME" takes the value from our environment, or is dropped when unset.
 * Appends to *env. */
int env_add(char ***env, const char *assignment);

/* "TERM", "SIGTERM", "term", "15", "RTMIN+3" → the signal number, or -EINVAL. */
int parse_signal(const char *s);

/* Docker's --since/--until: RFC 3339 ("2024-05-01T10:00:00Z", "…+02:00", a date alone, local time when no
 * zone is given), a Go duration back from now ("10m", "1h30m", "1.5h", "90s") or a unix timestamp
 * ("1714550400", "1714550400.5"). */
int parse_since(const char *s, uint64_t now_usec, uint64_t *ret_usec);
