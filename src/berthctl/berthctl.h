/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "shared/macro.h"

/* Exit codes, documented in berthctl(1). `run`, `start -a` and `attach` exit with the container's own code
 * instead, and use 125 for errors of berth itself, as docker does. */
enum {
        EXIT_OK = 0,
        EXIT_ERROR = 1,
        EXIT_USAGE = 2,
        EXIT_DAEMON = 125,
};

typedef struct Verb {
        const char *name;
        const char *group; /* "image", "container" or NULL for top level */
        const char *args;
        const char *help;
        int (*run)(int argc, char *argv[]);
} Verb;

extern bool arg_json;
extern bool arg_ask_password;
/* main()'s argv as given: berthctl-full-exec.c executes berthctl-full with it. */
extern char **berthctl_argv;

/* Two programs are built from these sources. berthctl links neither json-glib (and with it GIO, libmount,
 * libselinux, libblkid) nor the store's libarchive, libxml2, ICU and libcrypto: loading them cost every
 * verb about 3 and 2 ms before its first bus call, `run` included. berthctl-full (libexecdir) is the same
 * main() and verb tables with all of it, built with BERTHCTL_FULL 1; berthctl executes it with its own
 * arguments for the verbs that need it (inspect, history, cp, build: FULL_VERB() in the tables) and for any
 * verb given --json. Code that needs those libraries is inside #if BERTHCTL_FULL. */
#ifndef BERTHCTL_FULL
#error "BERTHCTL_FULL must be defined (src/berthctl/meson.build)"
#endif
#if BERTHCTL_FULL
#define FULL_VERB(fn) fn
#else
#define FULL_VERB(fn) verb_in_full
/* berthctl-full-exec.c: executes berthctl-full with berthctl_argv; returns only on failure. */
int exec_full(void);
int verb_in_full(int argc, char *argv[]);
#endif

/* Connects to the system bus (or $BERTH_BUS_ADDRESS, for tests) once. */
int bus_get(sd_bus **ret);

/* Calls a method on /org/berth1 org.berth1.Manager with the interactive-authorisation flag set when we may
 * prompt. On failure prints the error as one line and returns a negative errno. */
int manager_call(const char *member, sd_bus_message **ret_reply, const char *types, ...);
int manager_call_message(sd_bus_message *m, sd_bus_message **ret_reply);
/* The same, with the error left to the caller. */
int manager_call_message_quiet(sd_bus_message *m, sd_bus_error *error, sd_bus_message **ret_reply);
int manager_new_call(const char *member, sd_bus_message **ret);
/* A Manager call whose error the caller inspects (and prints) itself. timeout_usec 0: sd-bus's default. */
int manager_call_quiet(const char *member, uint64_t timeout_usec, sd_bus_error *error,
                       sd_bus_message **ret_reply, const char *types, ...);
/* docker's verbs on several names: calls member(name, extra args of types…) for each of names (NULL-ended),
 * prints done_prefix and the name for each that worked, goes on after a failure. EXIT_OK or EXIT_ERROR. */
int manager_call_each(const char *member, char *const *names, const char *done_prefix, const char *types,
                      ...);
/* Parses a verb's only option, -f/--force (optind then points at its arguments); -EINVAL after getopt
 * printed the error. */
int parse_force_option(int argc, char *argv[], bool *ret_force);
/* Docker's "WARNING! … Are you sure you want to continue? [y/N]" on stdout, asked whatever stdin is; true
 * for y or yes, false for anything else or the end of input. */
bool confirm(const char *warning);
/* `VERB [-f] NAME...` (image rm, volume rm, network rm): method(NAME, force) for each NAME, printing
 * done_prefix NAME for each removed; what names one NAME in the usage error. */
int verb_remove_each(int argc, char *argv[], const char *verb, const char *what, const char *method,
                     const char *done_prefix);

/* Prints "Error: <words>: <message>" for a D-Bus error and returns the matching negative errno. */
int log_bus_error(const sd_bus_error *error, int r);

int bus_get_manager_property_string(const char *property, char **ret);

/* The polkit agent: pkttyagent on our terminal, started only when we may ask for a password. */
void polkit_agent_open_if_enabled(void);
void polkit_agent_close(void);

#if BERTHCTL_FULL
/* Prints a JSON document (pretty) to stdout; takes ownership of root. */
#include <json-glib/json-glib.h>
void print_json(JsonNode *root);
#endif

/* Verbs, one file per area; tables end with an empty entry. */
int verb_version(int argc, char *argv[]);
extern const Verb image_verbs[];
extern const Verb build_verbs[];
int verb_build(int argc, char *argv[]); /* berthctl-build.c, in berthctl-full only */
int verb_pull(int argc, char *argv[]);
/* The pull of `berthctl pull`, with its progress lines on out; `run` pulls a missing image with it. */
int pull_image(const char *reference, FILE *out, bool quiet, char **ret_reference);
/* Calls method ("PullImage", "PushImage") with one string option (or none) and follows its Transfer. */
int transfer_run(const char *method, const char *reference, const char *option_key, const char *option_value,
                 FILE *out, bool quiet, char **ret_reference);
extern const Verb container_verbs[];
extern const Verb push_verbs[]; /* push, login, logout (berthctl-push.c) */
extern const Verb lifecycle_verbs[];
int verb_search(int argc, char *argv[]);
int verb_commit(int argc, char *argv[]);
extern const Verb system_verbs[];
extern const Verb volume_verbs[];
/* The Local Volumes row of system df: volumes, those named by a container, bytes, bytes of unused ones. */
/* rm -v: the volumes a container names (before it is removed), then the anonymous ones among them removed
 * unless another container names them. */
char **container_volume_names(const char *container);
void remove_anonymous_volumes(char **names);
/* system df -v: a VOLUME NAME, LINKS (containers naming it), SIZE row per volume. */
struct Table;
void volumes_add_df_rows(struct Table *t);
int volumes_usage(unsigned *ret_total, unsigned *ret_active, uint64_t *ret_size, uint64_t *ret_reclaimable);
extern const Verb network_verbs[];
extern const Verb save_load_verbs[]; /* save, load */
