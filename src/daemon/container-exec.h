/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "daemon/container.h"
#include "shared/error.h"

/* exec: a new process in a running container, started by its berth-monitor (runtime/attach-protocol.h,
 * "EXEC"), so it is in the container's scope and namespaces and outlives berthd like the container does.
 * berthd only connects the caller to the monitor, as for attach, and tracks the process as an
 * org.berth1.ExecSession object (exec-session-dbus.h): its exit status reaches the caller at the end of the
 * stream, and berthd from the monitor (a "WAIT" connection; the process is the monitor's child, not ours).
 * An ended session's object stays for EXEC_SESSION_LINGER_USEC, as Docker keeps ended exec instances for
 * `docker exec inspect` (its exec GC removes them after 5 to 10 minutes). */
#define EXEC_SESSION_LINGER_USEC (5 * 60 * USEC_PER_SEC)
typedef struct ExecOptions {
        char **command;      /* borrowed */
        char **env;          /* "K=V", added to the container's environment; borrowed */
        const char *user;    /* NULL: the container's */
        const char *workdir; /* NULL: the container's */
        bool tty, interactive;
        unsigned rows, columns;
} ExecOptions;

typedef struct ExecSession {
        Manager *manager;
        uint32_t id;
        char *path; /* /org/berth1/exec/<id> */
        char *container_name;
        char *container_id;
        pid_t pid;
        bool tty;
        bool running;
        int exit_code; /* -1 while running, or when nobody could tell */
        int pidfd;
        sd_event_source *source; /* the pidfd, when the monitor cannot be asked */
        int wait_fd;             /* "WAIT <pid>" to the monitor (runtime/attach-protocol.h) */
        sd_event_source *wait_source;
        char wait_answer[64];
        size_t wait_len;
        sd_event_source *linger; /* an ended session's object stays a while, as Docker's exec inspect */
} ExecSession;

ExecSession *exec_session_free(ExecSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecSession *, exec_session_free);
void exec_session_destroy(void *s); /* a GDestroyNotify */

/* How an exec request ended: with the caller's end of the stream and the session (to be put in
 * m->exec_sessions), or with e (-ESRCH when the container is not running); c is NULL if it is gone. */
typedef void (*container_exec_callback_t)(Container *c, int fd, ExecSession *s, const BerthError *e,
                                          void *userdata);
/* Sends the request to the container's monitor and returns; callback runs once the monitor answered (or
 * did not within a few seconds). -ESRCH when the container is not running; other failures with e set (the
 * callback is not called then). */
int container_exec(Container *c, const ExecOptions *o, container_exec_callback_t callback, void *userdata,
                   BerthError *e);
/* Connects to the monitor and asks for a resize of the session's terminal; the caller reads the answer
 * line from the returned connection, as for container_resize_connect(). */
int exec_session_resize_connect(ExecSession *s, unsigned rows, unsigned columns, int *ret_fd);
/* Watches s (already in m->exec_sessions) until its process ends: asks the monitor for the exit status
 * ("WAIT"), or watches the pidfd when the monitor cannot be asked (ExitCode stays -1 then). At the end:
 * exec_session_send_finished(), and EXEC_SESSION_LINGER_USEC later exec_session_send_removed() and the
 * session is freed. */
void exec_session_watch(ExecSession *s);

/* Bus hooks (exec-session-dbus.c). */
void exec_session_send_new(ExecSession *s);
void exec_session_send_finished(ExecSession *s);
void exec_session_send_removed(ExecSession *s);
