/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "daemon/container.h"
#include "shared/error.h"

/* exec: a new process in a running container, started by its berth-monitor (runtime/attach-protocol.h,
 * "EXEC"), so it is in the container's scope and namespaces and outlives berthd like the container does.
 * berthd only connects the caller to the monitor, as for attach, and tracks the process as an
 * org.berth1.ExecSession object (exec-session-dbus.h) while it runs: through a pidfd, because the process is
 * the monitor's child, not ours. Its exit status reaches the caller at the end of the stream. */
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
        int pidfd;
        sd_event_source *source;
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

/* Bus hooks (exec-session-dbus.c). */
void exec_session_send_new(ExecSession *s);
void exec_session_send_finished(ExecSession *s);
