/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/container-network.h"
#include "daemon/network.h"
#include "daemon/container-dbus.h"
#include "daemon/container-monitor.h"
#include "daemon/container-restart.h"
#include "daemon/container-verbs.h"
#include "daemon/container.h"
#include "daemon/machine.h"
#include "network/bridge.h"
#include "daemon/scope.h"
#include "runtime/monitor-protocol.h"
#include "runtime/run-spec.h"
#include "shared/berth-unit.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/signal-util.h"
#include "shared/spawn.h"
#include "shared/spawn-server.h"

/* berth-monitor, the process that holds a container in its scope (runtime/monitor-protocol.h): spawning
 * it, watching it until it is gone, and adopting it again after a restart of berthd. */

/* The pid in state.json is a number that outlives the process: once the init has exited and the monitor has
 * reaped it, the number may belong to anyone. So berthd signals the init only through a pidfd, opened when
 * it learns the pid (start, adoption) and checked to be the monitor's child while the monitor lives: the
 * monitor has no other child, and while it lives its child cannot have been reaped and replaced. */
int container_open_init_pidfd(Container *c)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *path = NULL, *status = NULL;
        const char *ppid;
        size_t size;
        int r;

        if (c->init_pidfd >= 0)
                return 0;
        if (c->state.pid <= 0 || c->state.monitor_pid <= 0 || c->monitor_pidfd < 0)
                return -ESRCH;
        fd = pidfd_open(c->state.pid, 0);
        if (fd < 0)
                return -errno;
        path = g_strdup_printf("/proc/%i/status", c->state.pid);
        r = read_file_at(AT_FDCWD, path, 64 * 1024, &status, &size);
        if (r < 0)
                return r;
        ppid = strstr(status, "\nPPid:\t");
        if (!ppid || atoi(ppid + strlen("\nPPid:\t")) != c->state.monitor_pid)
                return -ESRCH;
        /* Both still alive after the read: the status was theirs, not a successor's of either number. */
        if (pidfd_send_signal(fd, 0, NULL, 0) < 0 || pidfd_send_signal(c->monitor_pidfd, 0, NULL, 0) < 0)
                return -ESRCH;
        c->init_pidfd = TAKE_FD(fd);
        return 0;
}

int container_scope_cgroup(Container *c, char **ret)
{
        _cleanup_free_ char *path = NULL, *cgroups = NULL, *unit = NULL;
        const char *line, *last;
        char *nl;
        int r;

        r = container_open_init_pidfd(c);
        if (r < 0)
                return r;
        path = g_strdup_printf("/proc/%i/cgroup", c->state.pid);
        r = read_file_at(AT_FDCWD, path, 64 * 1024, &cgroups, NULL);
        if (r < 0)
                return r;
        /* Still alive after the read: the file was the init's, not a successor's of its number. */
        if (pidfd_send_signal(c->init_pidfd, 0, NULL, 0) < 0)
                return -ESRCH;
        line = strstr(cgroups, "0::/");
        if (!line || (line != cgroups && line[-1] != '\n'))
                return -ENOENT;
        line += strlen("0::");
        nl = strchr(line, '\n');
        if (nl)
                *nl = 0;
        last = strrchr(line, '/');
        unit = container_scope_unit(c);
        if (!unit)
                return -ENOMEM;
        if (!streq(last + 1, unit))
                return -ENOENT;
        *ret = strdup(line);
        return *ret ? 0 : -ENOMEM;
}

void container_reload_state(Container *c)
{
        char dir[PATH_MAX], path[PATH_MAX];
        ContainerState s = CONTAINER_STATE_INIT;
        int r;

        snprintf(path, sizeof(path), "%s/state.json", container_dir(c, dir, sizeof(dir)));
        r = container_state_load(path, &s);
        if (r < 0) {
                log_warning_errno(r, "Failed to read the state of container %s: %m", c->name);
                return;
        }
        container_state_done(&c->state);
        c->state = s;
}

static void container_log_exit(Container *c)
{
        log_info("Container %s exited with code %i.", c->name, c->state.exit_code);
}

/* A container removed on exit (run --rm, a forced Remove): those waiting for its exit are answered once it
 * is gone, as Docker's wait for "removed" after an AutoRemove, so whoever they tell (run --rm's user, a
 * script after rm -f) finds no trace of it. */
static void container_remove_then_reply(Container *c)
{
        g_autoptr(GPtrArray) waiters = container_take_waiters(c, false);
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autofree char *name = g_strdup(c->name);
        int exit_code = c->state.exit_code, r;

        if (c->exit_hook)
                c->exit_hook(c, c->exit_hook_userdata);
        r = container_remove_on_exit(c); /* c is freed, unless the removal failed */
        if (r < 0)
                berth_error_set(&e, r, "container %s exited with code %i, but could not be removed: %s",
                                name, exit_code, strerror(-r));
        for (guint i = 0; i < waiters->len; i++)
                container_send_exit_reply(waiters->pdata[i], exit_code, r < 0 ? &e : NULL);
}

/* The monitor is gone: whatever it recorded stands; if it recorded nothing (it was killed), say so. */
static void container_monitor_gone(Container *c, int status_code, int status)
{
        bool was_starting = c->starting;

        container_reload_state(c);
        if (c->state.status != CONTAINER_EXITED) {
                bool killed = status_code == CLD_KILLED;

                c->state.status = CONTAINER_EXITED;
                c->state.unrecorded_end = true;
                c->state.exit_code = killed ? 128 + status : 255;
                c->state.exit_signal = killed ? status : 0;
                c->state.pid = 0;
                c->state.finished_usec = g_get_real_time();
                free(c->state.error);
                if (c->start_error) {
                        /* Failed before the monitor could record it (systemd refused the scope…). */
                        c->state.exit_code = 125;
                        c->state.exit_signal = 0;
                        c->state.error = TAKE_PTR(c->start_error);
                } else
                        c->state.error =
                                g_strdup(killed ? "the container's monitor was killed"
                                                : "the container's monitor ended without recording an exit");
                (void) container_save_state(c);
        }
        c->start_error = mfree(c->start_error);
        c->state.monitor_pid = 0;
        /* Its network namespace, and the veth pair with it, went with its last process. */
        container_leave_networks(c);
        container_unregister_machine(c);
        container_release_runtime(c);
        c->run_name = mfree(c->run_name); /* its scope is gone: the next start uses its name */
        c->starting = false;
        c->paused = false;
        if (was_starting) {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;

                berth_error_set(&e, -ENOEXEC, "%s",
                                c->state.error ?: "the container's monitor ended during start");
                container_reply_all(c, true, &e);
        }
        container_log_exit(c);
        container_emit_changed(c);
        if (c->remove_on_exit && (c->removing || c->restart_waiters->len == 0)) {
                container_remove_then_reply(c);
                return;
        }
        container_reply_all(c, false, NULL);
        if (c->exit_hook)
                c->exit_hook(c, c->exit_hook_userdata);
        container_restart_pending(c);
        container_policy_on_exit(c);
}

static int on_monitor_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Container *c = userdata;
        siginfo_t si = {};

        /* Our child while we started it; after a daemon restart it is not, and ECHILD is expected. */
        if (waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG) < 0 && errno != ECHILD)
                log_debug_errno(errno, "waitid on monitor of %s failed: %m", c->name);
        container_monitor_gone(c, si.si_code, si.si_status);
        return 0;
}

static int on_killed_monitor_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        return 0; /* reaped by sd-event; the floating source goes with it */
}

void container_monitor_kill_and_reap(Container *c)
{
        if (c->monitor_pidfd < 0)
                return;
        (void) pidfd_send_signal(c->monitor_pidfd, SIGKILL, NULL, 0);
        /* Reaped from the loop, not waited for here: the monitor may have mounted the container's overlay
         * already (container_prep_make()), and its end then unmounts it, which can sync the whole upper file
         * system. Waited for only if the loop cannot watch it. */
        if (c->start_monitor_pid > 0 && sd_event_add_child(c->manager->event, NULL, c->start_monitor_pid,
                                                           WEXITED, on_killed_monitor_exit, NULL) >= 0)
                return;
        while (waitid(P_PIDFD, (id_t) c->monitor_pidfd, &(siginfo_t){}, WEXITED) < 0 && errno == EINTR)
                ;
}

int container_watch_monitor(Container *c, int pidfd)
{
        c->monitor_pidfd = pidfd;
        return sd_event_add_io(c->manager->event, &c->monitor_source, pidfd, EPOLLIN, on_monitor_exit, c);
}

static SpawnServer monitor_server = SPAWN_SERVER_INIT("monitor server");

static const char *monitor_path(void)
{
        return getenv("BERTH_MONITOR") ?: BERTH_LIBEXECDIR "/berth-monitor";
}

int container_monitor_server_start(void)
{
        return spawn_server_start(&monitor_server, monitor_path(),
                                  (char *[]){ (char *) "berth-monitor", (char *) "--serve", NULL });
}

/* A clone of berth-monitor --serve (monitor/monitor-server.h), or without one an exec of berth-monitor. */
static pid_t monitor_spawn(const char *spec_path, int sync_fd, bool own_netns)
{
        _cleanup_free_ char *spec_arg = NULL;
        MonitorSpawnRequest req = {
                .magic = MONITOR_SPAWN_MAGIC,
                .flags = own_netns ? MONITOR_SPAWN_NEW_NETNS : 0,
        };
        pid_t pid;

        if (strlen(spec_path) < sizeof(req.spec_path)) {
                strcpy(req.spec_path, spec_path);
                if (spawn_server_request(&monitor_server, &req, sizeof(req), &sync_fd, 1, &pid) >= 0)
                        return pid;
        }
        /* Not fork(): berthd would copy its page tables for a child that only execs (spawn.h). */
        spec_arg = g_strdup_printf("--spec=%s", spec_path);
        return spawn_exec(monitor_path(), (char *[]){ (char *) "berth-monitor", spec_arg, NULL }, &sync_fd,
                          1, own_netns ? CLONE_NEWNET : 0);
}

/* With own_netns, the monitor starts in a network namespace of its own: the container's, which berthd then
 * joins to a network before "G" (the child stays in it). */
int container_spawn_monitor(Container *c, const char *spec_path, bool own_netns, pid_t *ret_pid,
                            int *ret_sync_fd)
{
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        pid_t pid;

        _Static_assert(MONITOR_SYNC_FD == 3, "the sync socket is the first fd passed");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        pid = monitor_spawn(spec_path, pair[1], own_netns);
        if (pid < 0)
                return pid;
        *ret_pid = pid;
        *ret_sync_fd = TAKE_FD(pair[0]);
        return 0;
}

static bool monitor_in_scope(pid_t pid, const char *name)
{
        _cleanup_free_ char *cgroup = NULL, *path = NULL, *unit = NULL, *needle = NULL;
        size_t size;

        unit = berth_scope_name(name);
        if (!unit)
                return false;
        path = g_strdup_printf("/proc/%i/cgroup", pid);
        if (read_file_at(AT_FDCWD, path, 64 * 1024, &cgroup, &size) < 0)
                return false;
        /* The monitor moves itself into the scope's "supervisor" cgroup (runtime/container-spawn.c). */
        needle = g_strdup_printf("/%s/supervisor\n", unit);
        if (strstr(cgroup, needle))
                return true;
        free(needle);
        needle = g_strdup_printf("/%s\n", unit);
        return strstr(cgroup, needle) != NULL;
}

/* A scope frozen by Pause stays frozen while berthd is away; systemd keeps its FreezerState. */
typedef struct AdoptFreezer {
        Manager *manager;
        char *id;
        pid_t monitor_pid;
} AdoptFreezer;

static void on_adopted_freezer_state(void *userdata, const BerthError *e, const char *state)
{
        AdoptFreezer *a = userdata;
        Container *c;

        if (e)
                log_warning("Cannot tell whether adopted container %s is paused, taking it as running: %s",
                            a->id, e->message);
        else if (manager_find_container(a->manager, a->id, NULL, &c) >= 0 && c->monitor_source &&
                 c->state.monitor_pid == a->monitor_pid && !c->paused &&
                 (streq(state, "frozen") || streq(state, "freezing"))) {
                c->paused = true;
                log_info("Container %s is paused (its scope is %s).", c->name, state);
                container_emit_changed(c);
        }
        free(a->id);
        free(a);
}

static void container_adopt_freezer_state(Container *c)
{
        _cleanup_free_ char *unit = container_scope_unit(c);
        AdoptFreezer *a = calloc(1, sizeof(*a));
        int r = -ENOMEM;

        if (a && unit) {
                *a = (AdoptFreezer){ .manager = c->manager,
                                     .id = strdup(c->id),
                                     .monitor_pid = c->state.monitor_pid };
                r = a->id ? scope_get_freezer_state(c->manager->bus, unit, on_adopted_freezer_state, a)
                          : -ENOMEM;
        }
        if (r < 0) {
                log_warning_errno(r, "Cannot ask whether adopted container %s is paused: %m", c->name);
                if (a)
                        free(a->id);
                free(a);
        }
}

void manager_adopt_freezer_states(Manager *m)
{
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, &value))
                if (((Container *) value)->monitor_source)
                        container_adopt_freezer_state(value);
}

/* A container renamed while it ran keeps its scope's name until it stops; the spec it runs with says which.
 */
static void container_load_run_name(Container *c)
{
        _cleanup_(run_spec_freep) RunSpec *spec = NULL;
        g_autofree char *path = g_strdup_printf("%s/containers/%s/run-spec", c->manager->runtime_dir, c->id);

        if (run_spec_load(path, &spec) >= 0 && spec->name && !streq(spec->name, c->name))
                c->run_name = g_strdup(spec->name);
}

int container_adopt(Container *c)
{
        int pidfd, r;

        if (c->state.status != CONTAINER_RUNNING)
                return 0;
        container_load_run_name(c);
        /* The pidfd is opened before the cgroup check, so a recycled PID cannot slip in between. */
        pidfd = c->state.monitor_pid > 0 ? pidfd_open(c->state.monitor_pid, 0) : -1;
        if (pidfd >= 0 && monitor_in_scope(c->state.monitor_pid, container_run_name(c))) {
                log_info("Container %s is running (monitor PID %i), adopting it.", c->name,
                         c->state.monitor_pid);
                r = container_watch_monitor(c, pidfd);
                if (r < 0)
                        return r;
                r = container_open_init_pidfd(c);
                if (r < 0)
                        log_warning_errno(r, "Cannot pin the init of %s (PID %i), no signal reaches it: %m",
                                          c->name, c->state.pid);
                return 0;
        }
        safe_close(pidfd);
        container_monitor_gone(c, 0, 0);
        return 0;
}
