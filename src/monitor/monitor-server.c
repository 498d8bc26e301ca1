/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "monitor/monitor-server.h"
#include "runtime/monitor-protocol.h"
#include "shared/macro.h"
#include "shared/spawn-server.h"

static MonitorSpawnRequest request;

static pid_t serve(const void *req, const int *fds, size_t n_fds, pid_t daemon)
{
        const MonitorSpawnRequest *r = req;

        if (r->magic != MONITOR_SPAWN_MAGIC || n_fds != 1 || (r->flags & ~MONITOR_SPAWN_NEW_NETNS) ||
            !memchr(r->spec_path, 0, sizeof(r->spec_path)) || r->spec_path[0] != '/')
                return -EBADMSG;
        pid_t pid = spawn_server_clone_sibling(r->flags & MONITOR_SPAWN_NEW_NETNS ? CLONE_NEWNET : 0);

        return pid < 0 ? negative_errno() : pid; /* 0 in the clone: monitor_serve() goes on there */
}

int monitor_serve(const char **ret_spec_path)
{
        int fds[SPAWN_SERVER_MAX_FDS], r;
        size_t n_fds;

        r = spawn_server_main(&request, sizeof(request), serve, fds, &n_fds);
        if (r <= 0)
                return r;
        /* The clone: the sync socket where an exec'd monitor has it. */
        if (fds[0] != MONITOR_SYNC_FD) {
                if (dup2(fds[0], MONITOR_SYNC_FD) < 0)
                        return negative_errno();
                (void) close(fds[0]);
        }
        *ret_spec_path = request.spec_path;
        return 1;
}
