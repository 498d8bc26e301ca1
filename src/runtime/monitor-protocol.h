/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
#include <stdint.h>

/* How berthd starts a container through berth-monitor.
 *
 *   berthd forks and execs  BERTH_LIBEXECDIR/berth-monitor --spec=<run-spec>
 *   with fd 3 = its end of a SOCK_SEQPACKET socketpair (the "sync socket"), fd 0 on /dev/null and fds 1-2
 *   inherited from berthd (so the monitor's own log lines land in berthd's journal stream); or, when it
 *   runs, asks berth-monitor --serve for a clone of itself that goes on as that would (MonitorSpawnRequest
 *   below, monitor/monitor-server.h).
 *
 *   1. The monitor calls setsid(), loads the spec, opens what it needs and then blocks reading the sync
 *      socket. berthd meanwhile moves the monitor's PID into berth-<name>.scope with StartTransientUnit and
 *      waits for the job to finish.
 *   2. berthd sends MONITOR_MSG_GO. (EOF instead: berthd gave up; the monitor exits 1 and starts nothing.)
 *   3. The monitor clones the container child into new namespaces (so every container process is in the
 *      scope from its first instruction). The child builds the root and execs argv.
 *   4. The monitor answers with exactly one message:
 *        "S<pid>"      the exec succeeded; state.json already says running with this pid;
 *        "E<code> <message>"  the start failed (code 125 setup, 126 not executable, 127 not found);
 *                      state.json already says exited with that code and message; the monitor then exits.
 *   5. The monitor then serves the container until it ends (container output goes to journald with
 *      CONTAINER_NAME, CONTAINER_ID, CONTAINER_ID_FULL, IMAGE_NAME, SYSLOG_IDENTIFIER; PRIORITY 6 for stdout
 *      and the terminal, 3 for stderr), records the exit in state.json, then sends the journal entry
 *      MESSAGE_ID=BERTH_MESSAGE_CONTAINER_EXITED with the same fields plus EXIT_CODE= and EXIT_SIGNAL=
 *      (after the last output line, through the same journal connection, so a reader that follows the
 *      container's entries knows the output is complete when it sees it), and exits with status 0. berthd
 * watches it with a pidfd (which also works after a berthd restart, when the monitor is no longer its child)
 * and rereads state.json when it is gone.
 *
 * The monitor never dies from SIGTERM/SIGINT/SIGHUP (systemctl stop sends those to the whole scope; the
 * container's init decides for itself); SIGKILL of the scope kills it too, and then berthd records the
 * container as exited by SIGKILL. */

#define MONITOR_SYNC_FD 3

/* berth-monitor --serve (monitor/monitor-server.h): berthd's request for one monitor, with one fd, the
 * monitor's end of its sync socket. */
#define MONITOR_SPAWN_MAGIC     UINT32_C(0x4e4f4d42) /* "BMON" */
#define MONITOR_SPAWN_NEW_NETNS UINT32_C(1)          /* in a network namespace of its own */
typedef struct MonitorSpawnRequest {
        uint32_t magic;
        uint32_t flags;
        char spec_path[PATH_MAX]; /* NUL-terminated */
} MonitorSpawnRequest;
#define MONITOR_MSG_GO  "G"
#define MONITOR_MSG_MAX 4096
