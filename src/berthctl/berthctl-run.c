/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "berthctl-attach.h"
#include "berthctl-container.h"
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

/* mounts: the container's Mounts when read already (run's last look at its state), else NULL. */
static int container_remove_quiet(const char *id, char **mounts)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        /* Docker's --rm takes the container's anonymous volumes along. */
        g_auto(GStrv) volumes = mounts ? mounts_volume_names(mounts) : container_volume_names(id);
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

static int on_container_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        bool *changed = userdata;

        *changed = true;
        return 0;
}

/* Waits until berthd has recorded the container's end, at most 10 s; returns the container's Mounts from
 * the last look (empty when it has none), or NULL without one (the caller frees it). berthd records it when
 * the monitor is gone, which comes a little after the monitor's final journal entry: each PropertiesChanged
 * of the container is a reason to look again. The match is asked for before the first look, and the bus
 * keeps the order of one connection's messages, so no change after that look is missed; a quiet second is
 * one too. */
static char **container_wait_recorded(const char *path)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        uint64_t deadline = monotonic_usec() + 10 * USEC_PER_SEC;
        bool changed = false;
        sd_bus *bus;
        int r;

        if (bus_get(&bus) < 0)
                return NULL;
        r = sd_bus_match_signal_async(bus, &slot, "org.berth1", path, "org.freedesktop.DBus.Properties",
                                      "PropertiesChanged", on_container_changed, NULL, &changed);
        if (r < 0)
                return NULL;
        for (;;) {
                _cleanup_(container_info_done) ContainerInfo c = {};

                changed = false;
                if (container_info_get(path, &c, NULL) < 0)
                        return NULL;
                if (!streq(c.state, "running"))
                        return c.mounts ? TAKE_PTR(c.mounts) : g_new0(char *, 1);
                while (!changed) {
                        uint64_t now = monotonic_usec();

                        if (now >= deadline)
                                return NULL;
                        r = sd_bus_process(bus, NULL);
                        if (r < 0)
                                return NULL;
                        if (r > 0)
                                continue;
                        /* At least once a second: a berthd restarted meanwhile records the end as it
                         * starts, with no signal. */
                        r = sd_bus_wait(bus, MIN(deadline - now, USEC_PER_SEC));
                        if (r < 0)
                                return NULL;
                        if (r == 0)
                                break;
                }
        }
}

/* run --rm, attached. Once the start succeeded, berthd is told to remove the container when it exits, its
 * anonymous volumes too (Docker's AutoRemove), and asked to answer when it has exited: berthd answers
 * such a Wait once the container is gone. Both calls go out together while the container starts and are
 * answered while it runs or as its monitor goes, so its end costs us no round trip, and the container
 * goes even if we are killed. Either answer may come first (an Update waiting for polkit is handled after
 * the Wait): the container is gone once both are in. Without them as expected (berthd restarted
 * meanwhile), run waits for the recorded end and removes the container itself, as before. */
typedef struct AutoRemove {
        sd_bus_slot *update_slot;
        sd_bus_slot *wait_slot;
        bool update_ok; /* berthd removes it once it exits (or did: NoSuchContainer) */
        bool failed;    /* an answer other than success or NoSuchContainer */
        bool exited;    /* the Wait's answer came, with exit_code */
        int exit_code;
} AutoRemove;

static void auto_remove_done(AutoRemove *a)
{
        a->update_slot = sd_bus_slot_unref(a->update_slot);
        a->wait_slot = sd_bus_slot_unref(a->wait_slot);
}

/* Removed already (an Update after the exit removes at once): as good as the answer. */
static bool auto_remove_answer_ok(AutoRemove *a, sd_bus_message *reply)
{
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e && !sd_bus_error_has_name(e, BERTH_ERROR_NO_SUCH_CONTAINER))
                a->failed = true;
        return !a->failed;
}

static int on_update_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        AutoRemove *a = userdata;

        a->update_slot = sd_bus_slot_unref(a->update_slot);
        a->update_ok = auto_remove_answer_ok(a, reply);
        return 0;
}

static int on_wait_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        AutoRemove *a = userdata;
        int32_t code;

        a->wait_slot = sd_bus_slot_unref(a->wait_slot);
        if (auto_remove_answer_ok(a, reply) && !sd_bus_message_is_method_error(reply, NULL) &&
            sd_bus_message_read(reply, "i", &code) > 0) {
                a->exited = true;
                a->exit_code = code;
        }
        return 0;
}

static int auto_remove_send(AutoRemove *a, const char *id)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *update = NULL, *wait = NULL;
        sd_bus *bus;
        int r;

        r = manager_new_call("UpdateContainer", &update);
        if (r >= 0)
                r = sd_bus_message_append(update, "sa(sv)a{sv}", id, 0, 1, "remove_on_exit", "b", 1);
        if (r >= 0)
                r = manager_new_call("WaitContainer", &wait);
        if (r >= 0)
                r = sd_bus_message_append(wait, "sa{sv}", id, 0);
        if (r < 0)
                return r;
        bus = sd_bus_message_get_bus(update);
        /* The Update first: a Wait that berthd handles before it answers at the exit without removing. */
        r = sd_bus_call_async(bus, &a->update_slot, update, on_update_reply, a, UINT64_MAX - 1);
        if (r >= 0)
                r = sd_bus_call_async(bus, &a->wait_slot, wait, on_wait_reply, a, UINT64_MAX - 1);
        if (r < 0)
                auto_remove_done(a);
        return r;
}

/* Dispatches the answers that came, and waits until deadline (0: not at all) for the Update's answer and,
 * with wait_too, the Wait's. True when those came, as expected. */
static bool auto_remove_poll(AutoRemove *a, uint64_t deadline, bool wait_too)
{
        sd_bus *bus;
        int r;

        if (bus_get(&bus) < 0)
                return false;
        while (!a->failed && (a->update_slot || (wait_too && a->wait_slot))) {
                uint64_t now = monotonic_usec();

                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return false;
                if (r > 0)
                        continue;
                if (now >= deadline || sd_bus_wait(bus, deadline - now) < 0)
                        return false;
        }
        return !a->failed;
}

/* While `run` or `start -a` waits: signals we get go to the container (docker's sig-proxy), and the
 * container's state is watched in case its final journal entry never comes. */
typedef struct Waiter {
        const char *id;
        const char *path;
        AutoRemove *auto_remove; /* run --rm: the Wait's answer tells the end */
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

/* run --rm: once the Wait was answered, the container has exited, and is gone (or about to be). Its final
 * journal entry is still on its way, or never comes (a killed monitor): a few looks more, then the Wait's
 * code. A container gone before the Wait came (the Update removed it at once) leaves no code but the
 * journal's: given longer. < 0 while there is no answer to go by. */
static int waiter_auto_removed(Waiter *w, int *ret_exit_code)
{
        const AutoRemove *a = w->auto_remove;

        if (a->failed || a->wait_slot)
                return -EAGAIN;
        if (++w->exited_checks < (a->exited ? 3u : 10u))
                return 0;
        if (!a->exited)
                fprintf(stderr, "Error: the container was removed before its exit code could be read.\n");
        *ret_exit_code = a->exited ? a->exit_code : EXIT_DAEMON;
        return 1;
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
                                fprintf(stderr,
                                        "berthctl: no longer waiting; the container keeps running "
                                        "('berthctl stop %.12s' stops it).\n",
                                        w->id);
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
        if (w->auto_remove) {
                (void) auto_remove_poll(w->auto_remove, 0, true); /* no deadline: what came only */
                r = waiter_auto_removed(w, ret_exit_code);
                if (r >= 0)
                        return r;
        }
        r = container_info_get(w->path, &c, &error);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                    sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD) ||
                    sd_bus_error_has_name(&error, BERTH_ERROR_NO_SUCH_CONTAINER)) {
                        /* Auto-removed meanwhile: the Wait's answer is on its way. */
                        if (w->auto_remove) {
                                (void) auto_remove_poll(w->auto_remove, monotonic_usec() + 10 * USEC_PER_SEC,
                                                        true);
                                r = waiter_auto_removed(w, ret_exit_code);
                                if (r >= 0)
                                        return r;
                        }
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
 * the new output will come. Returns the exit status for berthctl; ret_mounts (if not NULL) the container's
 * Mounts as read at its end, or NULL. With rm, *ret_removed says whether berthd removes the container (see
 * AutoRemove), or leaves that to us. */
static int container_start_and_follow(sd_journal *j, const char *id, const char *path, bool rm,
                                      char ***ret_mounts, bool *ret_removed)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(auto_remove_done) AutoRemove a = {};
        Waiter w = { .id = id, .path = path, .last_check = monotonic_usec() };
        int r, exit_code = EXIT_DAEMON;

        r = manager_call_quiet("StartContainer", 0, &error, NULL, "s", id);
        if (r < 0) {
                log_bus_error(&error, r);
                return sd_bus_error_has_name(&error, BERTH_ERROR_START_FAILED) ? start_failed_exit_code(path)
                                                                               : EXIT_DAEMON;
        }
        if (rm && auto_remove_send(&a, id) >= 0)
                w.auto_remove = &a;

        Follow f = { .j = j, .follow = true, .idle = waiter_idle, .userdata = &w };
        signal_proxy_install(true);
        r = follow_run(&f, &exit_code);
        signal_proxy_install(false);
        if (r < 0)
                return EXIT_DAEMON;
        if (w.interrupts >= 3) {
                /* No longer waiting: berthd removes it once it exits, once it has taken the Update. */
                if (rm)
                        *ret_removed = w.auto_remove &&
                                       auto_remove_poll(&a, monotonic_usec() + 10 * USEC_PER_SEC, false) &&
                                       a.update_ok;
                return exit_code;
        }
        if (w.auto_remove && auto_remove_poll(&a, monotonic_usec() + 10 * USEC_PER_SEC, true)) {
                *ret_removed = true;
                return exit_code;
        }
        /* The monitor writes its final entry before it exits and before berthd records the exit: wait for
         * that, so that what runs after us (rm, start, ps) sees the container exited. */
        char **mounts = container_wait_recorded(path);
        if (ret_mounts)
                *ret_mounts = mounts;
        else
                g_strfreev(mounts);
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

/* Follows the new container's entries, then starts it: there are none before it starts, so reading from the
 * head misses nothing. Our exit status. */
static int container_run_attached(const char *id, const char *path, bool rm, char ***ret_mounts,
                                  bool *ret_removed)
{
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        int r;

        r = container_journal_open(id, &j);
        if (r >= 0)
                r = sd_journal_seek_head(j);
        if (r < 0)
                return EXIT_DAEMON;
        return container_start_and_follow(j, id, path, rm, ret_mounts, ret_removed);
}

static int verb_run_or_create(int argc, char *argv[], bool is_run)
{
        _cleanup_(run_options_done) RunOptions o = {};
        _cleanup_free_ char *id = NULL, *path = NULL;
        g_auto(GStrv) mounts = NULL;
        int r, ret;

        r = run_options_parse(argc, argv, is_run, &o);
        if (r != 0)
                return r > 0 ? EXIT_OK : EXIT_DAEMON;

        if (o.rm && o.restart && !streq(o.restart, "no")) {
                fprintf(stderr, "berthctl %s: conflicting options: --restart and --rm.\n",
                        is_run ? "run" : "create");
                return EXIT_DAEMON;
        }
        /* Attached, berthctl removes the container itself once it has its exit code; only created, berthd
         * does when it exits; run -d hands it to berthd once the start succeeded (below), so a failed
         * start's exit code (126, 127) can still be read first. */
        o.remove_on_exit = o.rm && !is_run;
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
                                ret = sd_bus_error_has_name(&error, BERTH_ERROR_START_FAILED)
                                              ? start_failed_exit_code(path)
                                              : EXIT_DAEMON;
                                if (o.rm)
                                        (void) container_remove_quiet(id, NULL);
                                return ret;
                        }
                        if (o.rm && container_remove_when_exited(id) < 0)
                                return EXIT_DAEMON;
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
                if (o.rm && detached)
                        /* Nobody waits for it now: berthd removes it when it exits (at once if it has). */
                        ret = container_remove_when_exited(id) < 0 && ret == EXIT_OK ? EXIT_DAEMON : ret;
                else if (o.rm && container_remove_quiet(id, NULL) < 0 && ret == EXIT_OK)
                        ret = EXIT_DAEMON;
                return ret;
        }

        r = container_create(&o, &id, &path);
        if (r < 0)
                return EXIT_DAEMON;
        bool removed = false;
        ret = container_run_attached(id, path, o.rm, &mounts, &removed);
        if (o.rm && !removed && container_remove_quiet(id, mounts) < 0 && ret == EXIT_OK)
                ret = EXIT_DAEMON;
        return ret;
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
        int c, r, ret = EXIT_OK;

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
                ret = container_start_and_follow(j, info.id, info.path, false, NULL, NULL);
                sd_journal_close(j);
                return ret;
        }

        return manager_call_each("StartContainer", argv + optind, "", NULL);
}
