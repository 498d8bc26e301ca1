/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "daemon/container-restart.h"
#include "daemon/container.h"
#include "daemon/restart-policy.h"
#include "shared/berth-messages.h"
#include "shared/berth-unit.h"
#include "shared/fs-util.h"
#include "shared/log.h"

#define STOPPED_BY_USER_FILE "stopped-by-user"
/* RestartCount, kept across berthd restarts (Docker keeps it in the container's state): berthd's own file,
 * since the monitor owns state.json while the container runs and the count changes only between runs. */
#define RESTART_COUNT_FILE "restart-count"

static void save_restart_count(Container *c)
{
        char dir[PATH_MAX], path[PATH_MAX], text[16];
        int n = snprintf(text, sizeof(text), "%u\n", c->restart_count), r = 0;

        snprintf(path, sizeof(path), "%s/" RESTART_COUNT_FILE, container_dir(c, dir, sizeof(dir)));
        if (c->restart_count > 0)
                r = write_file_atomic_at(AT_FDCWD, path, text, (size_t) n, 0644);
        else if (unlink(path) < 0 && errno != ENOENT)
                r = -errno;
        if (r < 0)
                log_warning_errno(r, "Cannot record the restart count of %s, ignoring: %m", c->name);
}

static void load_restart_count(Container *c)
{
        char dir[PATH_MAX], path[PATH_MAX];
        _cleanup_free_ char *text = NULL;
        size_t size;
        unsigned v;

        snprintf(path, sizeof(path), "%s/" RESTART_COUNT_FILE, container_dir(c, dir, sizeof(dir)));
        if (read_file_at(AT_FDCWD, path, 64, &text, &size) >= 0 && sscanf(text, "%u", &v) == 1)
                c->restart_count = v;
}

static int on_restart_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Container *c = userdata;
        int r;

        c->restart_timer = sd_event_source_disable_unref(c->restart_timer);
        if (c->monitor_source || c->starting)
                return 0;
        c->restart_count++;
        save_restart_count(c);
        r = container_start(c, NULL);
        if (r < 0)
                log_warning_errno(r, "Restart of container %s failed, not trying again: %m", c->name);
        return 0;
}

static void container_policy_schedule(Container *c, RestartPolicy policy, const char *reason)
{
        _cleanup_free_ char *unit = berth_scope_name(c->name);
        uint64_t uptime = c->state.finished_usec > c->state.started_usec
                                  ? c->state.finished_usec - c->state.started_usec
                                  : 0;
        int r;

        if (c->restart_timer)
                return;
        c->restart_delay_usec = restart_policy_next_delay(c->restart_delay_usec, uptime);
        r = sd_event_add_time_relative(c->manager->event, &c->restart_timer, CLOCK_MONOTONIC,
                                       c->restart_delay_usec, 1000, on_restart_timer, c);
        if (r < 0) {
                log_warning_errno(r, "Cannot schedule the restart of container %s: %m", c->name);
                return;
        }
        sd_journal_send("MESSAGE=Restarting container %s in %" PRIu64 " ms: %s with code %i, restart policy "
                        "%s (restart %u).",
                        c->name, c->restart_delay_usec / 1000, reason, c->state.exit_code,
                        restart_policy_to_string(policy), c->restart_count + 1,
                        "MESSAGE_ID=" BERTH_MESSAGE_CONTAINER_RESTART, "PRIORITY=%i", LOG_NOTICE,
                        "CONTAINER_NAME=%s", c->name, "CONTAINER_ID=%.12s", c->id, "CONTAINER_ID_FULL=%s",
                        c->id, "IMAGE_NAME=%s", c->image_name, "OBJECT_SYSTEMD_UNIT=%s", strna(unit),
                        "EXIT_CODE=%i", c->state.exit_code, "BERTH_RESTART_POLICY=%s",
                        strempty(c->config.restart), "BERTH_RESTART_REASON=%s", reason,
                        "BERTH_RESTART_COUNT=%u", c->restart_count + 1, "BERTH_RESTART_DELAY_USEC=%" PRIu64,
                        c->restart_delay_usec, NULL);
}

static bool policy_of(Container *c, RestartPolicy *ret_policy, unsigned *ret_max)
{
        /* Checked at create; a record edited by hand is read as "no". */
        if (restart_policy_parse(c->config.restart, ret_policy, ret_max) < 0)
                return false;
        return *ret_policy != RESTART_NO;
}

void container_policy_on_exit(Container *c)
{
        RestartPolicy policy;
        unsigned max;

        /* Restarted already (Restart), or stopped by the user during this run. */
        if (c->monitor_source || c->starting || c->stopped_by_user || !policy_of(c, &policy, &max))
                return;
        if (!restart_policy_wants(policy, max, c->restart_count, c->state.exit_code, false))
                return;
        container_policy_schedule(c, policy, "exited");
}

void container_policy_at_load(Container *c)
{
        char dir[PATH_MAX], path[PATH_MAX];
        RestartPolicy policy;
        unsigned max;

        snprintf(path, sizeof(path), "%s/" STOPPED_BY_USER_FILE, container_dir(c, dir, sizeof(dir)));
        c->stopped_by_user = access(path, F_OK) == 0;
        load_restart_count(c);
        /* A running one is adopted, or found gone and handled as any exit. */
        if (c->state.status == CONTAINER_RUNNING || c->state.started_usec == 0 ||
            !policy_of(c, &policy, &max))
                return;
        /* Docker's rule at daemon start: always even after a stop by the user; unless-stopped not then. */
        if (!restart_policy_wants(policy, max, c->restart_count, c->state.exit_code, c->stopped_by_user))
                return;
        container_policy_schedule(c, policy,
                                  "exited while berthd was not running, or before a reboot; exited");
}

void container_policy_user_stopped(Container *c, bool stopped)
{
        char dir[PATH_MAX], path[PATH_MAX];

        c->restart_timer = sd_event_source_disable_unref(c->restart_timer);
        if (!stopped) {
                if (c->restart_count > 0) {
                        c->restart_count = 0;
                        save_restart_count(c);
                }
                c->restart_delay_usec = 0;
        }
        if (c->stopped_by_user == stopped)
                return;
        c->stopped_by_user = stopped;
        snprintf(path, sizeof(path), "%s/" STOPPED_BY_USER_FILE, container_dir(c, dir, sizeof(dir)));
        if (stopped) {
                int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 || fsync(fd) < 0)
                        log_warning_errno(-errno, "Cannot record the stop of %s, ignoring: %m", c->name);
                safe_close(fd);
        } else if (unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Cannot clear the recorded stop of %s, ignoring: %m", c->name);
}
