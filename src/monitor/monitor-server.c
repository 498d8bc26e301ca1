/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "monitor/monitor-server.h"
#include "runtime/monitor-protocol.h"
#include "shared/macro.h"
#include "shared/spawn-server.h"

static MonitorSpawnRequest request;

/* Making a network namespace is the dearest part of a clone (about 1 ms here: every subsystem sets up its
 * per-namespace state), and berthd waits for the clone before it asks systemd for the scope. So the server
 * makes the next one ahead, after it answered a request, while berthd and systemd work: the clone is made
 * in the spare, which is never used twice. The server itself stays in (and returns to) host_netns. */
static int host_netns = -EBADF;
static int spare_netns = -EBADF;
static int broken; /* could not return to host_netns: the server must end */

static int enter_host_netns(void)
{
        if (setns(host_netns, CLONE_NEWNET) < 0) {
                broken = negative_errno();
                return broken;
        }
        return 0;
}

static int prepare_spare_netns(void)
{
        int fd;

        if (broken < 0)
                return broken;
        if (spare_netns >= 0 || host_netns < 0)
                return 0;
        /* Without the right to (a confined server), every clone makes its own, as before. */
        if (unshare(CLONE_NEWNET) < 0)
                return 0;
        fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (enter_host_netns() < 0) {
                safe_close(fd);
                return broken;
        }
        /* Not opened: the namespace is gone with our leaving it, and the next clone makes its own. */
        spare_netns = fd < 0 ? -EBADF : fd;
        return 0;
}

/* A clone in the spare namespace: entered before the clone, so that the child is in it when berthd gets its
 * PID, and left at once. */
static pid_t clone_in_spare_netns(void)
{
        int spare = TAKE_FD(spare_netns);
        pid_t pid;

        if (setns(spare, CLONE_NEWNET) < 0) {
                safe_close(spare);
                pid = spawn_server_clone_sibling(CLONE_NEWNET);
                return pid < 0 ? negative_errno() : pid;
        }
        pid = spawn_server_clone_sibling(0);
        if (pid < 0)
                pid = negative_errno();
        safe_close(spare);
        if (pid == 0)
                return 0;
        /* Should it fail, the clone is still right; the server is not, and ends after this answer. */
        (void) enter_host_netns();
        return pid;
}

static pid_t serve(const void *req, const int *fds, size_t n_fds, pid_t daemon)
{
        const MonitorSpawnRequest *r = req;
        pid_t pid;

        if (r->magic != MONITOR_SPAWN_MAGIC || n_fds != 1 || (r->flags & ~MONITOR_SPAWN_NEW_NETNS) ||
            !memchr(r->spec_path, 0, sizeof(r->spec_path)) || r->spec_path[0] != '/')
                return -EBADMSG;
        if ((r->flags & MONITOR_SPAWN_NEW_NETNS) && spare_netns >= 0)
                return clone_in_spare_netns();
        pid = spawn_server_clone_sibling(r->flags & MONITOR_SPAWN_NEW_NETNS ? CLONE_NEWNET : 0);
        return pid < 0 ? negative_errno() : pid; /* 0 in the clone: monitor_serve() goes on there */
}

int monitor_serve(const char **ret_spec_path)
{
        int fds[SPAWN_SERVER_MAX_FDS], r;
        size_t n_fds;

        host_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        r = spawn_server_main(&request, sizeof(request), serve, prepare_spare_netns, fds, &n_fds);
        if (r <= 0)
                return r;
        /* The clone: none of the server's fds, and the sync socket where an exec'd monitor has it. */
        host_netns = safe_close(host_netns);
        spare_netns = safe_close(spare_netns);
        if (fds[0] != MONITOR_SYNC_FD) {
                if (dup2(fds[0], MONITOR_SYNC_FD) < 0)
                        return negative_errno();
                (void) close(fds[0]);
        }
        *ret_spec_path = request.spec_path;
        return 1;
}
