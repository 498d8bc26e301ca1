/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "berthctl-container.h"
#include "berthctl.h"
#include "shared/json-build.h"
#include "shared/berth-errors.h"
#include "berthctl-attach.h"
#include "format.h"
#include "run-options.h"

/* The container verbs, as docker spells them. `run` and `start -a` exit with the container's code, and with
 * 125 when berth itself fails, 126/127 when the command cannot be invoked (docker's convention); the other
 * verbs use berthctl's 0/1/2. */

#define EXIT_CANNOT_INVOKE 126

/* A Manager call whose error the caller inspects (and prints) itself. timeout_usec 0: sd-bus's default. */
static int manager_call_quiet(const char *member, uint64_t timeout_usec, sd_bus_error *error,
                              sd_bus_message **ret_reply, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = manager_new_call(member, &m);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        polkit_agent_open_if_enabled();
        /* No timeout when a human may be typing a password into the agent. */
        return sd_bus_call(sd_bus_message_get_bus(m), m, arg_ask_password ? UINT64_MAX - 1 : timeout_usec,
                           error, ret_reply);
}

void container_info_done(ContainerInfo *c)
{
        free(c->path);
        free(c->id);
        free(c->name);
        free(c->image);
        free(c->image_id);
        free(c->state);
        free(c->error);
        free(c->unit);
        free(c->config);
        g_strfreev(c->command);
        *c = (ContainerInfo) {};
}

int container_info_get(const char *path, ContainerInfo *ret, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(container_info_done) ContainerInfo c = {};
        sd_bus *bus;
        int r;

        r = bus_get(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.berth1", path, "org.freedesktop.DBus.Properties", "GetAll", error,
                               &reply, "s", "org.berth1.Container");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                static const struct {
                        const char *name;
                        char type;
                        size_t offset;
                } fields[] = {
                        { "Id", 's', offsetof(ContainerInfo, id) },
                        { "Name", 's', offsetof(ContainerInfo, name) },
                        { "Image", 's', offsetof(ContainerInfo, image) },
                        { "ImageId", 's', offsetof(ContainerInfo, image_id) },
                        { "State", 's', offsetof(ContainerInfo, state) },
                        { "Error", 's', offsetof(ContainerInfo, error) },
                        { "Unit", 's', offsetof(ContainerInfo, unit) },
                        { "Config", 's', offsetof(ContainerInfo, config) },
                        { "Command", 'a', offsetof(ContainerInfo, command) },
                        { "ExitCode", 'u', offsetof(ContainerInfo, exit_code) },
                        { "Pid", 'u', offsetof(ContainerInfo, pid) },
                        { "CreatedUSec", 't', offsetof(ContainerInfo, created_usec) },
                        { "StartedUSec", 't', offsetof(ContainerInfo, started_usec) },
                        { "FinishedUSec", 't', offsetof(ContainerInfo, finished_usec) },
                        { "Tty", 'b', offsetof(ContainerInfo, tty) },
                        { "Interactive", 'b', offsetof(ContainerInfo, interactive) },
                };
                const char *name, *contents;
                char type;
                size_t i;

                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(reply, NULL, &contents);
                if (r < 0)
                        return r;
                type = contents[0];
                for (i = 0; i < ELEMENTSOF(fields); i++)
                        if (streq(fields[i].name, name) && fields[i].type == type)
                                break;
                if (i >= ELEMENTSOF(fields) || (type == 'a' && !streq(contents, "as"))) {
                        /* A property of a newer berthd, or one we do not show. */
                        r = sd_bus_message_skip(reply, "v");
                } else {
                        void *p = (uint8_t *) &c + fields[i].offset;

                        r = sd_bus_message_enter_container(reply, 'v', contents);
                        if (r < 0)
                                return r;
                        switch (type) {
                        case 's': {
                                const char *s;
                                r = sd_bus_message_read_basic(reply, 's', &s);
                                if (r >= 0) {
                                        free(*(char **) p);
                                        *(char **) p = strdup(s);
                                }
                                break;
                        }
                        case 'a':
                                g_strfreev(*(char ***) p);
                                *(char ***) p = NULL;
                                r = sd_bus_message_read_strv(reply, (char ***) p);
                                break;
                        case 'b': {
                                int b;
                                r = sd_bus_message_read_basic(reply, 'b', &b);
                                *(bool *) p = b;
                                break;
                        }
                        default:
                                r = sd_bus_message_read_basic(reply, type, p);
                        }
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(reply);
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (!c.id || !c.name || !c.state)
                return -EBADMSG;
        c.path = strdup(path);
        *ret = c;
        c = (ContainerInfo) {};
        return 0;
}

static int container_get_path(const char *name_or_id, char **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = manager_call("GetContainer", &reply, "s", name_or_id);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(NULL, r);
        *ret = strdup(path);
        return *ret ? 0 : -ENOMEM;
}

int container_lookup(const char *name_or_id, ContainerInfo *ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = container_get_path(name_or_id, &path);
        if (r < 0)
                return r;
        r = container_info_get(path, ret, &error);
        if (r < 0)
                return log_bus_error(&error, r);
        return 0;
}

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

static int container_remove_quiet(const char *id)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = manager_call_quiet("RemoveContainer", 0, &error, NULL, "sb", id, 0);
        /* Removed already (by someone else's rm -f): as good. */
        if (r < 0 && !sd_bus_error_has_name(&error, BERTH_ERROR_NO_SUCH_CONTAINER))
                return log_bus_error(&error, r);
        return 0;
}

static void container_wait_recorded(const char *path)
{
        uint64_t deadline = monotonic_usec() + 10 * USEC_PER_SEC, pause = USEC_PER_MSEC;

        while (monotonic_usec() < deadline) {
                _cleanup_(container_info_done) ContainerInfo c = {};

                if (container_info_get(path, &c, NULL) < 0 || !streq(c.state, "running"))
                        return;
                (void) usleep((useconds_t) pause);
                pause = MIN(pause * 2, 50 * USEC_PER_MSEC);
        }
}

/* While `run` or `start -a` waits: signals we get go to the container (docker's sig-proxy), and the
 * container's state is watched in case its final journal entry never comes. */
typedef struct Waiter {
        const char *id;
        const char *path;
        uint64_t last_check;
        unsigned exited_checks;
        unsigned interrupts;
} Waiter;

static const int proxied_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
static volatile sig_atomic_t pending_signals[ELEMENTSOF(proxied_signals)];

static void on_proxied_signal(int sig)
{
        for (size_t i = 0; i < ELEMENTSOF(proxied_signals); i++)
                if (proxied_signals[i] == sig)
                        pending_signals[i]++;
}

static void signal_proxy_install(bool on)
{
        struct sigaction sa = { .sa_handler = on ? on_proxied_signal : SIG_DFL };

        /* No SA_RESTART: the journal wait must return at once. */
        for (size_t i = 0; i < ELEMENTSOF(proxied_signals); i++)
                (void) sigaction(proxied_signals[i], &sa, NULL);
}

static int waiter_idle(void *userdata, int *ret_exit_code)
{
        Waiter *w = userdata;
        _cleanup_(container_info_done) ContainerInfo c = {};
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(proxied_signals); i++)
                while (pending_signals[i] > 0) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                        pending_signals[i]--;
                        if (proxied_signals[i] == SIGINT && ++w->interrupts >= 3) {
                                /* A container's init ignores signals it has no handler for; do not trap the
                                 * user with it. */
                                fprintf(stderr, "berthctl: no longer waiting; the container keeps running "
                                                "('berthctl stop %.12s' stops it).\n", w->id);
                                *ret_exit_code = 128 + SIGINT;
                                return 1;
                        }
                        r = manager_call_quiet("KillContainer", 0, &e, NULL, "si", w->id,
                                               proxied_signals[i]);
                        if (r < 0 && !sd_bus_error_has_name(&e, BERTH_ERROR_CONTAINER_NOT_RUNNING))
                                log_bus_error(&e, r);
                }

        /* Without the final entry (a monitor killed with SIGKILL cannot write it), the recorded state ends
         * the wait; checked once a second, and a few times, so that the journal delivers what is still in
         * flight first. */
        uint64_t now = monotonic_usec();
        if (now - w->last_check < USEC_PER_SEC)
                return 0;
        w->last_check = now;
        r = container_info_get(w->path, &c, &error);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                    sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD) ||
                    sd_bus_error_has_name(&error, BERTH_ERROR_NO_SUCH_CONTAINER)) {
                        fprintf(stderr, "Error: the container was removed while it ran.\n");
                        *ret_exit_code = EXIT_DAEMON;
                        return 1;
                }
                return 0; /* berthd restarting: the container goes on, and so do we */
        }
        if (streq(c.state, "running")) {
                w->exited_checks = 0;
                return 0;
        }
        if (++w->exited_checks < 3)
                return 0;
        *ret_exit_code = (int) c.exit_code;
        return 1;
}

/* Starts the container and prints its output until it ends; the journal must already be positioned where
 * the new output will come. Returns the exit status for berthctl. */
static int container_start_and_follow(sd_journal *j, const char *id, const char *path)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Waiter w = { .id = id, .path = path, .last_check = monotonic_usec() };
        int r, exit_code = EXIT_DAEMON;

        r = manager_call_quiet("StartContainer", 0, &error, NULL, "s", id);
        if (r < 0) {
                log_bus_error(&error, r);
                return sd_bus_error_has_name(&error, BERTH_ERROR_START_FAILED) ? start_failed_exit_code(path)
                                                                              : EXIT_DAEMON;
        }

        Follow f = { .j = j, .follow = true, .idle = waiter_idle, .userdata = &w };
        signal_proxy_install(true);
        r = follow_run(&f, &exit_code);
        signal_proxy_install(false);
        if (r < 0)
                return EXIT_DAEMON;
        /* The monitor writes its final entry before it exits and before berthd records the exit: wait for
         * that, so that what runs after us (rm, start, ps) sees the container exited. */
        if (w.interrupts < 3)
                container_wait_recorded(path);
        return exit_code;
}

/* Attach (waiting for the start), start, then pump the stream until the container ends or we detach. */
static int attach_start_session(const char *id, const char *path, const AttachParams *ap, bool *ret_detached)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r, fd;

        r = attach_open(id, ap, &fd);
        if (r < 0)
                return EXIT_DAEMON;
        r = manager_call_quiet("StartContainer", 0, &error, NULL, "s", id);
        if (r < 0) {
                safe_close(fd);
                log_bus_error(&error, r);
                return sd_bus_error_has_name(&error, BERTH_ERROR_START_FAILED) ? start_failed_exit_code(path)
                                                                               : EXIT_DAEMON;
        }
        return attach_session(id, path, fd, ap, ret_detached);
}

static int verb_run_or_create(int argc, char *argv[], bool is_run)
{
        _cleanup_(run_options_done) RunOptions o = {};
        _cleanup_free_ char *id = NULL, *path = NULL;
        sd_journal *j = NULL;
        int r, ret;

        r = run_options_parse(argc, argv, is_run, &o);
        if (r != 0)
                return r > 0 ? EXIT_OK : EXIT_DAEMON;

        if (o.rm && o.detach) {
                fprintf(stderr, "berthctl run: --rm with -d is not supported yet; remove the container with "
                                "'berthctl rm' after it exits.\n");
                return EXIT_DAEMON;
        }
        if (!is_run || o.detach) {
                /* Create and start apart rather than RunContainer: when the start fails, the container's
                 * recorded exit code (126, 127) is our exit status, and only its path tells it. */
                r = container_create(&o, &id, &path);
                if (r < 0)
                        return EXIT_DAEMON;
                if (o.detach) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                        r = manager_call_quiet("StartContainer", 0, &error, NULL, "s", id);
                        if (r < 0) {
                                log_bus_error(&error, r);
                                return sd_bus_error_has_name(&error, BERTH_ERROR_START_FAILED)
                                               ? start_failed_exit_code(path)
                                               : EXIT_DAEMON;
                        }
                }
                printf("%s\n", id);
                return EXIT_OK;
        }

        if (o.tty || o.interactive) {
                /* Attached before the start (the stream waits in berthd until then), so nothing the
                 * container writes first is missed; docker attaches the same way. */
                AttachParams ap = {
                        .tty = o.tty,
                        .want_stdin = o.interactive,
                        .stdin_once = o.interactive,
                        .before_start = true,
                        .detach_keys = o.detach_keys,
                };
                bool detached = false;

                if (o.detach_keys && detach_keys_check(o.detach_keys) < 0)
                        return EXIT_DAEMON;
                if (attach_check_tty(&ap) < 0)
                        return EXIT_ERROR;

                r = container_create(&o, &id, &path);
                if (r < 0)
                        return EXIT_DAEMON;
                ret = attach_start_session(id, path, &ap, &detached);
                if (o.rm && !detached && container_remove_quiet(id) < 0 && ret == EXIT_OK)
                        ret = EXIT_DAEMON;
                return ret;
        }

        /* Create, then follow the new container's entries (there are none before it starts, so reading from
         * the head misses nothing), then start. */
        r = container_create(&o, &id, &path);
        if (r < 0)
                return EXIT_DAEMON;
        r = container_journal_open(id, &j);
        if (r >= 0)
                r = sd_journal_seek_head(j);
        if (r < 0) {
                ret = EXIT_DAEMON;
                goto finish;
        }
        ret = container_start_and_follow(j, id, path);
finish:
        if (j)
                sd_journal_close(j);
        if (o.rm && container_remove_quiet(id) < 0 && ret == EXIT_OK)
                ret = EXIT_DAEMON;
        return ret;
}

static int verb_run(int argc, char *argv[])
{
        return verb_run_or_create(argc, argv, true);
}

static int verb_create(int argc, char *argv[])
{
        return verb_run_or_create(argc, argv, false);
}

static int verb_start(int argc, char *argv[])
{
        bool attach = false, interactive = false;
        const char *detach_keys = NULL;
        int c, r, ret = EXIT_OK;

        enum { ARG_DETACH_KEYS = 0x100 };
        static const struct option options[] = {
                { "attach", no_argument, NULL, 'a' },
                { "interactive", no_argument, NULL, 'i' },
                { "detach-keys", required_argument, NULL, ARG_DETACH_KEYS },
                { "help", no_argument, NULL, 'h' },
                {}
        };
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
                sd_journal *j = NULL;

                if (optind + 1 != argc) {
                        fprintf(stderr, "berthctl start: -a takes one container.\n");
                        return EXIT_USAGE;
                }
                if (container_lookup(argv[optind], &info) < 0)
                        return EXIT_DAEMON;
                if (info.tty || interactive) {
                        AttachParams ap = {
                                .tty = info.tty,
                                .want_stdin = interactive && info.interactive,
                                .stdin_once = true,
                                .before_start = true,
                                .detach_keys = detach_keys,
                        };
                        bool detached;

                        if (attach_check_tty(&ap) < 0)
                                return EXIT_ERROR;
                        return attach_start_session(info.id, info.path, &ap, &detached);
                }
                /* Earlier runs' output is in the journal too: only what comes after now is this run's. */
                r = container_journal_open(info.id, &j);
                if (r >= 0)
                        r = container_journal_seek_end(j);
                if (r < 0) {
                        if (j)
                                sd_journal_close(j);
                        return EXIT_DAEMON;
                }
                ret = container_start_and_follow(j, info.id, info.path);
                sd_journal_close(j);
                return ret;
        }

        return manager_call_each("StartContainer", argv + optind, "", NULL);
}

static int verb_stop(int argc, char *argv[])
{
        uint64_t timeout = 0;
        int c, r, ret = EXIT_OK;

        static const struct option options[] = {
                { "time", required_argument, NULL, 't' },
                { "timeout", required_argument, NULL, 't' },
                {}
        };
        while ((c = getopt_long(argc, argv, "t:", options, NULL)) >= 0)
                switch (c) {
                case 't': {
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-' ||
                            v > 365UL * 24 * 3600) {
                                fprintf(stderr, "berthctl stop: invalid --time '%s': seconds, 0 or more.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        /* StopContainer reads 0 as "the default, 10 s"; docker's -t 0: kill at once. */
                        timeout = v == 0 ? 1 : v * USEC_PER_SEC;
                        break;
                }
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "berthctl stop: at least one container is needed.\n");
                return EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                /* The call returns when the container is gone: allow for the grace period and the kill. */
                r = manager_call_quiet("StopContainer",
                                       (timeout > 0 ? timeout : 10 * USEC_PER_SEC) + 30 * USEC_PER_SEC,
                                       &error, NULL, "st", argv[i], timeout);
                if (r < 0) {
                        log_bus_error(&error, r);
                        ret = EXIT_ERROR;
                } else
                        printf("%s\n", argv[i]);
        }
        return ret;
}

static int verb_kill(int argc, char *argv[])
{
        int c, sig = SIGKILL;

        static const struct option options[] = {
                { "signal", required_argument, NULL, 's' },
                {}
        };
        while ((c = getopt_long(argc, argv, "s:", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        sig = parse_signal(optarg);
                        if (sig < 0) {
                                fprintf(stderr, "berthctl kill: invalid signal '%s'.\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "berthctl kill: at least one container is needed.\n");
                return EXIT_USAGE;
        }
        return manager_call_each("KillContainer", argv + optind, "", "i", sig);
}

static int verb_rm(int argc, char *argv[])
{
        bool force = false;
        int c;

        static const struct option options[] = {
                { "force", no_argument, NULL, 'f' },
                {}
        };
        while ((c = getopt_long(argc, argv, "f", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        force = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "berthctl rm: at least one container is needed.\n");
                return EXIT_USAGE;
        }
        return manager_call_each("RemoveContainer", argv + optind, "", "b", force);
}

static void json_add_time(JsonBuilder *b, const char *name, uint64_t usec)
{
        char when[FORMAT_RFC3339_MAX];

        /* Go's zero time, as docker shows a time that never was. */
        json_build_string(b, name,
                        usec > 0 ? format_rfc3339(when, sizeof(when), usec) : "0001-01-01T00:00:00Z");
}

static int verb_ps(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        bool all = false, quiet = false, no_trunc = false;
        g_autoptr(GArray) rows = g_array_new(false, true, sizeof(ContainerInfo));
        long last = -1;
        const char *id, *name, *image, *state, *path;
        uint32_t exit_code;
        int c, r;

        enum { ARG_NO_TRUNC = 0x100 };
        static const struct option options[] = {
                { "all", no_argument, NULL, 'a' },
                { "quiet", no_argument, NULL, 'q' },
                { "no-trunc", no_argument, NULL, ARG_NO_TRUNC },
                { "last", required_argument, NULL, 'n' },
                { "latest", no_argument, NULL, 'l' },
                {}
        };
        while ((c = getopt_long(argc, argv, "aqn:l", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case ARG_NO_TRUNC:
                        no_trunc = true;
                        break;
                case 'n':
                case 'l': {
                        char *end = NULL;
                        last = c == 'l' ? 1 : strtol(optarg, &end, 10);
                        if (c == 'n' && (end == optarg || *end)) {
                                fprintf(stderr, "berthctl ps: invalid --last '%s'.\n", optarg);
                                return EXIT_USAGE;
                        }
                        /* docker: the last N created, in any state. */
                        if (last >= 0)
                                all = true;
                        break;
                }
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "berthctl ps takes no arguments.\n");
                return EXIT_USAGE;
        }

        r = manager_call("ListContainers", &reply, "b", all);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_enter_container(reply, 'a', "(ssssuo)");
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        while ((r = sd_bus_message_read(reply, "(ssssuo)", &id, &name, &image, &state, &exit_code, &path)) >
               0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                ContainerInfo info = {};

                if (last >= 0 && (long) rows->len >= last)
                        break;
                /* The details come from the object; one that went away since the list is not shown. */
                if (container_info_get(path, &info, &error) < 0) {
                        if (quiet) {
                                info.id = strdup(id);
                                g_array_append_val(rows, info);
                        }
                        continue;
                }
                g_array_append_val(rows, info);
        }
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;

        if (arg_json) {
                g_autoptr(JsonBuilder) b = json_builder_new();
                json_builder_begin_array(b);
                for (guint i = 0; i < rows->len; i++) {
                        ContainerInfo *ci = &g_array_index(rows, ContainerInfo, i);
                        char status[FORMAT_STATUS_MAX];
                        g_autofree char *names = g_strconcat("/", strempty(ci->name), NULL);
                        g_autofree char *cmd = ci->command ? g_strjoinv(" ", ci->command) : g_strdup("");

                        if (!ci->state)
                                continue;
                        /* The Engine API's /containers/json shape, as `docker ps` gets it. */
                        json_builder_begin_object(b);
                        json_build_string(b, "Id", ci->id);
                        json_builder_set_member_name(b, "Names");
                        json_builder_begin_array(b);
                        json_builder_add_string_value(b, names);
                        json_builder_end_array(b);
                        json_build_string(b, "Image", ci->image);
                        json_build_string(b, "ImageID", ci->image_id);
                        json_build_string(b, "Command", cmd);
                        json_build_int(b, "Created", (gint64) (ci->created_usec / USEC_PER_SEC));
                        json_build_string(b, "State", ci->state);
                        json_build_string(b, "Status",
                                        format_container_status(status, sizeof(status), ci->state,
                                                                ci->exit_code, ci->started_usec,
                                                                ci->finished_usec, 0));
                        json_build_string(b, "Unit", ci->unit);
                        json_builder_end_object(b);
                }
                json_builder_end_array(b);
                print_json(json_builder_get_root(b));
        } else if (quiet) {
                for (guint i = 0; i < rows->len; i++) {
                        ContainerInfo *ci = &g_array_index(rows, ContainerInfo, i);
                        char sid[13];
                        printf("%s\n", no_trunc ? ci->id : short_id(ci->id, sid));
                }
        } else {
                Table *t = table_new("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES", NULL);
                for (guint i = 0; i < rows->len; i++) {
                        ContainerInfo *ci = &g_array_index(rows, ContainerInfo, i);
                        char sid[13], when[FORMAT_RELATIVE_MAX], status[FORMAT_STATUS_MAX];
                        /* Empty only when berthd hides it from us (see container_info_fetch_config()). */
                        g_autofree char *cmd = ci->command && ci->command[0]
                                                       ? format_command(ci->command, no_trunc ? 0 : 20)
                                                       : g_strdup("(hidden)");

                        table_add_row(t, no_trunc ? ci->id : short_id(ci->id, sid), strempty(ci->image), cmd,
                                      format_relative_time(when, sizeof(when), ci->created_usec),
                                      format_container_status(status, sizeof(status), ci->state,
                                                              ci->exit_code, ci->started_usec,
                                                              ci->finished_usec, 0),
                                      ci->name, NULL);
                }
                table_print(t);
                table_free(t);
        }

        for (guint i = 0; i < rows->len; i++)
                container_info_done(&g_array_index(rows, ContainerInfo, i));
        return EXIT_OK;
}

/* Docker's "container inspect" shape, from the object's properties; Config is berthd's, completed. */
static void container_inspect_build(const ContainerInfo *c, JsonBuilder *b)
{
        g_autoptr(JsonParser) parser = json_parser_new();
        JsonObject *cfg = NULL;
        g_autofree char *name = g_strconcat("/", c->name, NULL);

        if (c->config && json_parser_load_from_data(parser, c->config, -1, NULL) &&
            JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
                cfg = json_node_get_object(json_parser_get_root(parser));

        json_builder_begin_object(b);
        json_build_string(b, "Id", c->id);
        json_add_time(b, "Created", c->created_usec);
        json_build_string(b, "Path", c->command && c->command[0] ? c->command[0] : "");
        json_build_strv(b, "Args", c->command && c->command[0] ? c->command + 1 : NULL);

        json_builder_set_member_name(b, "State");
        json_builder_begin_object(b);
        json_build_string(b, "Status", c->state);
        json_build_bool(b, "Running", streq(c->state, "running"));
        json_build_bool(b, "Paused", false);
        json_build_int(b, "Pid", c->pid);
        json_build_int(b, "ExitCode", c->exit_code);
        json_build_string(b, "Error", c->error);
        json_add_time(b, "StartedAt", c->started_usec);
        json_add_time(b, "FinishedAt", c->finished_usec);
        json_builder_end_object(b);

        json_build_string(b, "Image", c->image_id);
        json_build_string(b, "Name", name);
        json_build_string(b, "Unit", c->unit);

        json_builder_set_member_name(b, "Config");
        json_builder_begin_object(b);
        if (cfg) {
                g_autoptr(GList) members = json_object_get_members(cfg);
                for (GList *l = members; l; l = l->next) {
                        const char *k = l->data;
                        if (streq(k, "Tty") || streq(k, "OpenStdin") || streq(k, "Image"))
                                continue;
                        json_builder_set_member_name(b, k);
                        json_builder_add_value(b, json_node_copy(json_object_get_member(cfg, k)));
                }
        }
        json_build_bool(b, "Tty", c->tty);
        json_build_bool(b, "OpenStdin", c->interactive);
        json_build_string(b, "Image", c->image);
        json_builder_end_object(b);
        json_builder_end_object(b);
}

/* Command and Config's Env, Entrypoint and Cmd are shown by the properties to root and the container's
 * creator only (a Command is never empty otherwise); anyone else asks GetConfig(), which polkit authorises
 * as manage-containers. Returns 1 when the full config is now in c, 0 when the caller may not see it (said
 * on stderr), < 0 on other errors. */
static int container_info_fetch_config(ContainerInfo *c)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_auto(GStrv) command = NULL;
        const char *config;
        sd_bus *bus;
        int r;

        if (c->command && c->command[0])
                return 1;
        r = bus_get(&bus);
        if (r < 0)
                return r;
        polkit_agent_open_if_enabled();
        r = sd_bus_call_method(bus, "org.berth1", c->path, "org.berth1.Container", "GetConfig", &error,
                               &reply, "a{sv}", 0);
        if (r < 0 && (sd_bus_error_has_name(&error, SD_BUS_ERROR_ACCESS_DENIED) ||
                      sd_bus_error_has_name(&error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))) {
                fprintf(stderr,
                        "berthctl: the environment and command of container %s are shown only to root, "
                        "to the user who created it and to users allowed to manage containers (%s).\n",
                        c->name, error.message ?: error.name);
                return 0;
        }
        if (r < 0)
                return log_bus_error(&error, r);
        r = sd_bus_message_read(reply, "s", &config);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &command);
        if (r < 0)
                return log_bus_error(NULL, r);
        free(c->config);
        c->config = strdup(config);
        g_strfreev(c->command);
        c->command = TAKE_PTR(command);
        return c->config ? 1 : -ENOMEM;
}

static int verb_inspect(int argc, char *argv[])
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        int ret = EXIT_OK;

        if (argc < 2) {
                fprintf(stderr, "berthctl container inspect: at least one container is needed.\n");
                return EXIT_USAGE;
        }
        json_builder_begin_array(b);
        for (int i = 1; i < argc; i++) {
                _cleanup_(container_info_done) ContainerInfo c = {};

                if (container_lookup(argv[i], &c) < 0) {
                        ret = EXIT_ERROR;
                        continue;
                }
                if (container_info_fetch_config(&c) < 0)
                        ret = EXIT_ERROR;
                container_inspect_build(&c, b);
        }
        json_builder_end_array(b);
        print_json(json_builder_get_root(b));
        return ret;
}

#define RUN_ARGS "[OPTIONS] IMAGE [COMMAND...]"
#define LOGS_ARGS "[-f] [-n N] [--since T] NAME"

/* Each verb also as "container VERB", which the help lists in short. */
const Verb container_verbs[] = {
        { "run", NULL, RUN_ARGS, "Run a command in a new container", verb_run },
        { "create", NULL, RUN_ARGS, "Create a container without starting it", verb_create },
        { "start", NULL, "[-a] [-i] CONTAINER...", "Start containers", verb_start },
        { "attach", NULL, "[--no-stdin] [--detach-keys KEYS] CONTAINER", "Attach to a running container",
          verb_attach },
        { "stop", NULL, "[-t SECONDS] CONTAINER...", "Stop containers", verb_stop },
        { "kill", NULL, "[-s SIGNAL] CONTAINER...", "Send a signal to containers", verb_kill },
        { "rm", NULL, "[-f] CONTAINER...", "Remove containers", verb_rm },
        { "ps", NULL, "[-a] [-q] [--no-trunc]", "List containers", verb_ps },
        { "logs", NULL, LOGS_ARGS, "Show a container's output", verb_logs },
        { "inspect", "container", "CONTAINER...", "Show containers' details as JSON", verb_inspect },
        { "ls", "container", "[-a] [-q] [--no-trunc]", "Alias of 'ps'", verb_ps },
        { "list", "container", "...", "Alias of 'ps'", verb_ps },
        { "ps", "container", "...", "Alias of 'ps'", verb_ps },
        { "run", "container", "...", "Alias of 'run'", verb_run },
        { "create", "container", "...", "Alias of 'create'", verb_create },
        { "start", "container", "...", "Alias of 'start'", verb_start },
        { "attach", "container", "...", "Alias of 'attach'", verb_attach },
        { "stop", "container", "...", "Alias of 'stop'", verb_stop },
        { "kill", "container", "...", "Alias of 'kill'", verb_kill },
        { "rm", "container", "...", "Alias of 'rm'", verb_rm },
        { "logs", "container", "...", "Alias of 'logs'", verb_logs },
        {}
};
