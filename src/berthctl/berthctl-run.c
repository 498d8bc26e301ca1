/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "berthctl-attach.h"
#include "berthctl-container.h"
#include "berthctl-exit-watch.h"
#include "berthctl.h"
#include "format.h"
#include "run-options.h"
#include "shared/berth-errors.h"

/* run, create and start, as docker spells them. `run` and `start -a` exit with the container's code, and
 * with 125 when berth itself fails, 126/127 when the command cannot be invoked (docker's convention); the
 * other verbs use berthctl's 0/1/2. */

#define EXIT_CANNOT_INVOKE 126

static int append_strv_option(sd_bus_message *m, const char *key, char **l)
{
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_run_options(sd_bus_message *m, const RunOptions *o)
{
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        if (o->tty)
                r = sd_bus_message_append(m, "{sv}", "tty", "b", 1);
        if (r >= 0 && o->interactive)
                r = sd_bus_message_append(m, "{sv}", "interactive", "b", 1);
        if (r >= 0 && o->workdir)
                r = sd_bus_message_append(m, "{sv}", "workdir", "s", o->workdir);
        if (r >= 0 && o->user)
                r = sd_bus_message_append(m, "{sv}", "user", "s", o->user);
        if (r >= 0 && o->hostname)
                r = sd_bus_message_append(m, "{sv}", "hostname", "s", o->hostname);
        if (r >= 0 && o->network)
                r = sd_bus_message_append(m, "{sv}", "network", "s", o->network);
        if (r >= 0 && o->restart)
                r = sd_bus_message_append(m, "{sv}", "restart", "s", o->restart);
        if (r >= 0 && o->privileged)
                r = sd_bus_message_append(m, "{sv}", "privileged", "b", 1);
        if (r >= 0 && o->cap_add)
                r = append_strv_option(m, "cap_add", o->cap_add);
        if (r >= 0 && o->cap_drop)
                r = append_strv_option(m, "cap_drop", o->cap_drop);
        if (r >= 0 && o->security_opt)
                r = append_strv_option(m, "security_opt", o->security_opt);
        if (r >= 0 && o->devices)
                r = append_strv_option(m, "devices", o->devices);
        if (r >= 0 && o->dns)
                r = append_strv_option(m, "dns", o->dns);
        if (r >= 0 && o->dns_search)
                r = append_strv_option(m, "dns_search", o->dns_search);
        if (r >= 0 && o->add_hosts)
                r = append_strv_option(m, "add_hosts", o->add_hosts);
        if (r >= 0 && o->ports)
                r = append_strv_option(m, "ports", o->ports);
        if (r >= 0 && o->aliases)
                r = append_strv_option(m, "aliases", o->aliases);
        if (r >= 0 && o->ip)
                r = sd_bus_message_append(m, "{sv}", "ip", "s", o->ip);
        if (r >= 0 && o->publish_all)
                r = sd_bus_message_append(m, "{sv}", "publish_all", "b", 1);
        if (r >= 0 && o->volumes)
                r = append_strv_option(m, "volumes", o->volumes);
        if (r >= 0 && o->mounts)
                r = append_strv_option(m, "mounts", o->mounts);
        if (r >= 0 && o->tmpfs)
                r = append_strv_option(m, "tmpfs", o->tmpfs);
        if (r >= 0 && o->read_only)
                r = sd_bus_message_append(m, "{sv}", "read_only", "b", 1);
        if (r >= 0 && o->rm)
                r = sd_bus_message_append(m, "{sv}", "auto_remove", "b", 1);
        if (r >= 0 && o->remove_on_exit)
                r = sd_bus_message_append(m, "{sv}", "remove_on_exit", "b", 1);
        if (r >= 0 && o->env) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "env");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, o->env);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        /* docker's --entrypoint is one word; "" clears the image's Entrypoint. */
        if (r >= 0 && o->entrypoint_set) {
                if (isempty(o->entrypoint))
                        r = sd_bus_message_append(m, "{sv}", "entrypoint", "as", 0);
                else
                        r = sd_bus_message_append(m, "{sv}", "entrypoint", "as", 1, o->entrypoint);
        }
        if (r >= 0 && o->n_properties > 0) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "properties");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "a(sv)");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "(sv)");
                for (size_t i = 0; r >= 0 && i < o->n_properties; i++)
                        r = sd_bus_message_append(m, "(sv)", o->properties[i].name, "t",
                                                  o->properties[i].value);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* docker's "Unable to find image 'busybox:latest' locally": the name with its implied tag. */
static char *reference_with_tag(const char *ref)
{
        const char *slash = strrchr(ref, '/'), *last = slash ? slash + 1 : ref;

        if (strchr(ref, '@') || strchr(last, ':'))
                return g_strdup(ref);
        return g_strconcat(ref, ":latest", NULL);
}

/* CreateContainer; an image not in the store is pulled first, as docker run does, with the pull's progress
 * on stderr (stdout is the container's). Errors are printed. */
static int container_create(const RunOptions *o, char **ret_id, char **ret_path)
{
        bool pulled = false;
        int r;

        for (;;) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                const char *id, *path;

                r = manager_new_call("CreateContainer", &m);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "ss", o->image, strempty(o->name));
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, o->command);
                if (r >= 0)
                        r = append_run_options(m, o);
                if (r < 0)
                        return log_bus_error(NULL, r);

                polkit_agent_open_if_enabled();
                r = sd_bus_call(sd_bus_message_get_bus(m), m, arg_ask_password ? UINT64_MAX - 1 : 0, &error,
                                &reply);
                if (r < 0 && !pulled && sd_bus_error_has_name(&error, BERTH_ERROR_NO_SUCH_IMAGE)) {
                        g_autofree char *shown = reference_with_tag(o->image);

                        fprintf(stderr, "Unable to find image '%s' locally\n", shown);
                        r = pull_image(o->image, stderr, false, NULL);
                        if (r < 0)
                                return r;
                        pulled = true;
                        continue;
                }
                if (r < 0)
                        return log_bus_error(&error, r);
                r = sd_bus_message_read(reply, "so", &id, &path);
                if (r < 0)
                        return log_bus_error(NULL, r);
                *ret_id = strdup(id);
                *ret_path = strdup(path);
                return 0;
        }
}

/* The exit status docker gives when a start failed: the container's recorded 125, 126 or 127. */
static int start_failed_exit_code(const char *path)
{
        _cleanup_(container_info_done) ContainerInfo c = {};

        if (!path || container_info_get(path, &c, NULL) < 0 || c.exit_code < 125 || c.exit_code > 127)
                return EXIT_DAEMON;
        return (int) c.exit_code;
}

/* StartContainer; EXIT_OK, or (the error printed) docker's status for the failed start. */
static int container_start(const char *id, const char *path)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = manager_call_quiet("StartContainer", 0, &error, NULL, "s", id);
        if (r >= 0)
                return EXIT_OK;
        log_bus_error(&error, r);
        return sd_bus_error_has_name(&error, BERTH_ERROR_START_FAILED) ? start_failed_exit_code(path)
                                                                       : EXIT_DAEMON;
}

static int container_remove_quiet(const char *id)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        /* Docker's --rm takes the container's anonymous volumes along. */
        g_auto(GStrv) volumes = container_volume_names(id);
        int r;

        r = manager_call_quiet("RemoveContainer", 0, &error, NULL, "sb", id, 0);
        /* Removed already (by someone else's rm -f): as good. */
        if (r < 0 && !sd_bus_error_has_name(&error, BERTH_ERROR_NO_SUCH_CONTAINER))
                return log_bus_error(&error, r);
        remove_anonymous_volumes(volumes);
        return 0;
}

static int container_remove_when_exited(const char *id)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = manager_call_quiet("UpdateContainer", 0, &error, NULL, "sa(sv)a{sv}", id, 0, 1, "remove_on_exit",
                               "b", 1);
        if (r < 0 && !sd_bus_error_has_name(&error, BERTH_ERROR_NO_SUCH_CONTAINER))
                return log_bus_error(&error, r);
        return 0;
}

/* Attach (the stream waits in berthd until the start, so not a byte of output is missed; docker attaches the
 * same way), start, then pump the stream until the container ends or we detach. The stream is lossless: the
 * container's output waits for us rather than our being dropped, as docker's does; its copy in the journal
 * is subject to journald's rate limit, the stream is not. With rm, *ret_removed says whether berthd removes
 * the container (ExitWatch), or leaves that to us. */
static int attach_start_session(const char *id, const char *path, const AttachParams *ap, bool rm,
                                bool *ret_detached, bool *ret_removed)
{
        _cleanup_(exit_watch_done) ExitWatch w = {};
        int r, fd, ret;

        *ret_detached = *ret_removed = false;
        r = attach_open(id, ap, &fd);
        if (r < 0)
                return EXIT_DAEMON;
        ret = container_start(id, path);
        if (ret != EXIT_OK) {
                safe_close(fd);
                return ret;
        }
        bool watching = exit_watch_send(&w, id, rm) >= 0;
        ret = attach_session(id, fd, ap, watching ? &w : NULL, ret_detached);
        /* Ended, the Wait was answered (attach_session() waited for it); detached, the Update is enough. */
        if (rm && watching)
                *ret_removed = exit_watch_poll(&w, monotonic_usec() + 10 * USEC_PER_SEC, false) &&
                               w.update_ok && (*ret_detached || w.exited || w.gone);
        return ret;
}

static int verb_run_or_create(int argc, char *argv[], bool is_run)
{
        _cleanup_(run_options_done) RunOptions o = {};
        _cleanup_free_ char *id = NULL, *path = NULL;
        int r, ret;

        r = run_options_parse(argc, argv, is_run, &o);
        if (r != 0)
                return r > 0 ? EXIT_OK : EXIT_DAEMON;

        if (o.rm && o.restart && !streq(o.restart, "no")) {
                fprintf(stderr, "berthctl %s: conflicting options: --restart and --rm.\n",
                        is_run ? "run" : "create");
                return EXIT_DAEMON;
        }
        /* Only created, berthd removes it when it exits. run -d and an attached run hand it to berthd once
         * the start succeeded (below, and ExitWatch), so that a failed start's exit code (126, 127) can
         * still be read first; berthctl removes it itself only where that hand-over did not take. */
        o.remove_on_exit = o.rm && !is_run;
        if (!is_run || o.detach) {
                /* Create and start apart rather than RunContainer: when the start fails, the container's
                 * recorded exit code (126, 127) is our exit status, and only its path tells it. */
                r = container_create(&o, &id, &path);
                if (r < 0)
                        return EXIT_DAEMON;
                if (o.detach) {
                        ret = container_start(id, path);
                        if (ret != EXIT_OK) {
                                if (o.rm)
                                        (void) container_remove_quiet(id);
                                return ret;
                        }
                        if (o.rm && container_remove_when_exited(id) < 0)
                                return EXIT_DAEMON;
                }
                printf("%s\n", id);
                return EXIT_OK;
        }

        /* Attached, with a terminal or input or neither: through the container's stream (docker's way). */
        AttachParams ap = {
                .tty = o.tty,
                .want_stdin = o.interactive,
                .stdin_once = o.interactive,
                .before_start = true,
                .lossless = true,
                .detach_keys = o.detach_keys,
        };
        bool detached, removed;

        if (o.detach_keys && detach_keys_check(o.detach_keys) < 0)
                return EXIT_DAEMON;
        if (attach_check_tty(&ap) < 0)
                return EXIT_ERROR;
        r = container_create(&o, &id, &path);
        if (r < 0)
                return EXIT_DAEMON;
        ret = attach_start_session(id, path, &ap, o.rm, &detached, &removed);
        if (!o.rm || removed)
                return ret;
        if (detached)
                /* Nobody waits for it now: berthd removes it when it exits (at once if it has). */
                return container_remove_when_exited(id) < 0 && ret == EXIT_OK ? EXIT_DAEMON : ret;
        return container_remove_quiet(id) < 0 && ret == EXIT_OK ? EXIT_DAEMON : ret;
}

int verb_run(int argc, char *argv[])
{
        return verb_run_or_create(argc, argv, true);
}

int verb_create(int argc, char *argv[])
{
        return verb_run_or_create(argc, argv, false);
}

int verb_start(int argc, char *argv[])
{
        bool attach = false, interactive = false;
        const char *detach_keys = NULL;
        int c;

        enum { ARG_DETACH_KEYS = 0x100 };
        static const struct option options[] = { { "attach", no_argument, NULL, 'a' },
                                                 { "interactive", no_argument, NULL, 'i' },
                                                 { "detach-keys", required_argument, NULL, ARG_DETACH_KEYS },
                                                 { "help", no_argument, NULL, 'h' },
                                                 {} };
        while ((c = getopt_long(argc, argv, "ai", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        attach = true;
                        break;
                case 'i':
                        interactive = true;
                        break;
                case ARG_DETACH_KEYS:
                        if (detach_keys_check(optarg) < 0)
                                return EXIT_USAGE;
                        detach_keys = optarg;
                        break;
                case 'h':
                        printf("Usage: berthctl start [-a] CONTAINER...\n\n"
                               "Start created or exited containers.\n\n"
                               "  -a, --attach           Attach to its output and exit with its code\n"
                               "  -i, --interactive      Attach our input too\n"
                               "      --detach-keys KEYS Keys that detach (default ctrl-p,ctrl-q)\n");
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "berthctl start: at least one container is needed.\n");
                return EXIT_USAGE;
        }

        if (attach) {
                _cleanup_(container_info_done) ContainerInfo info = {};

                if (optind + 1 != argc) {
                        fprintf(stderr, "berthctl start: -a takes one container.\n");
                        return EXIT_USAGE;
                }
                if (container_lookup(argv[optind], &info) < 0)
                        return EXIT_DAEMON;
                AttachParams ap = {
                        .tty = info.tty,
                        .want_stdin = interactive && info.interactive,
                        .stdin_once = true,
                        .before_start = true,
                        .lossless = true,
                        .detach_keys = detach_keys,
                };
                bool detached, removed;

                if (attach_check_tty(&ap) < 0)
                        return EXIT_ERROR;
                return attach_start_session(info.id, info.path, &ap, false, &detached, &removed);
        }

        return manager_call_each("StartContainer", argv + optind, "", NULL);
}
