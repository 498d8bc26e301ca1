/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "berth-messages.h"
#include "bus-errors.h"
#include "bus-polkit.h"
#include "manager.h"
#include "shared/fs-util.h"
#include "shared/log.h"

int manager_new(Manager **ret)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        m->state_dir = strdup(getenv("BERTH_STATE_DIR") ?: BERTH_STATE_DIR);
        m->runtime_dir = strdup(getenv("BERTH_RUNTIME_DIR") ?: BERTH_RUNTIME_DIR);
        m->config_file = strdup(getenv("BERTH_CONFIG_FILE") ?: BERTH_CONFIG_FILE);
        if (!m->state_dir || !m->runtime_dir || !m->config_file)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;

        bus_polkit_registry_free(&m->polkit_registry);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->state_dir);
        free(m->runtime_dir);
        free(m->config_file);
        return mfree(m);
}

void manager_set_status(Manager *m, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        (void) sd_notifyf(false, "STATUS=%s", s);
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                log_error("Failed to acquire bus name org.berth1: %s", e->message ?: e->name);
                return sd_event_exit(m->event, -EEXIST);
        }

        m->ready_sent = true;
        (void) sd_notify(false, "READY=1\nSTATUS=Serving org.berth1.");
        sd_journal_send("MESSAGE=berthd " BERTH_VERSION " started, serving org.berth1.",
                        "MESSAGE_ID=" BERTH_MESSAGE_DAEMON_STARTED, "PRIORITY=%i", LOG_INFO,
                        "BERTH_VERSION=" BERTH_VERSION, "BERTH_STATE_DIR=%s", m->state_dir, NULL);
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        return sd_event_exit(m->event, 0);
}

int manager_startup(Manager *m)
{
        sigset_t mask;
        int r;

        r = bus_errors_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register D-Bus error map: %m");

        r = mkdir_p_at(AT_FDCWD, m->state_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create state directory '%s': %m", m->state_dir);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGTERM: %m");
        r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGINT: %m");

        /* Pings the watchdog when WatchdogSec= is set; a no-op otherwise. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable watchdog: %m");

        r = sd_bus_default_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        r = bus_manager_register(m);
        if (r < 0)
                return r;

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");

        r = sd_bus_request_name_async(m->bus, NULL, "org.berth1", 0, on_name_acquired, m);
        if (r < 0)
                return log_error_errno(r, "Failed to request bus name: %m");

        return 0;
}

int manager_run(Manager *m)
{
        int r;

        r = sd_event_loop(m->event);
        sd_journal_send("MESSAGE=berthd stopped.", "MESSAGE_ID=" BERTH_MESSAGE_DAEMON_STOPPED,
                        "PRIORITY=%i", LOG_INFO, "BERTH_EXIT_STATUS=%i", r, NULL);
        return r;
}
