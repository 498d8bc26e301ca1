/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A spawn server: a small program that a daemon starts as its child, and that clones children for it on
 * request. Why: fork() copies the page tables of the forking process, and every page the parent then writes
 * faults once (copy-on-write); an exec then pays for loading the program and its libraries again. A server
 * that is already loaded, and small, does both once. berth has two: berth-fork-server, for the store's
 * children (store/fork-server.h), and berth-monitor --serve, for the monitors (monitor/monitor-server.h).
 *
 * The children are made with clone3(CLONE_PARENT): their parent is the daemon, which reaps them (waitpid(),
 * sd-event child sources) exactly as after its own fork. A request is one message of a fixed size that
 * starts with its server's magic (a uint32_t), with at most SPAWN_SERVER_MAX_FDS fds; the answer is the new
 * child's PID or a negative errno. A server that does not answer well is killed and not trusted again, and
 * only the process that started it uses it: in any other process, or without a server, the caller makes its
 * child itself. */

#define SPAWN_SERVER_FD      3 /* the server's end of the socket, in the server */
#define SPAWN_SERVER_MAX_FDS 4

typedef struct SpawnServer {
        const char *what; /* for the log */
        int fd;
        pid_t pid;
        pid_t owner; /* the process that started it: the only one whose children it may make */
} SpawnServer;

#define SPAWN_SERVER_INIT(w)                                                                                \
        {                                                                                                   \
                .what = (w), .fd = -1                                                                       \
        }

/* The daemon's side. Start early, while the process is single-threaded: argv[0] is the server's name. */
int spawn_server_start(SpawnServer *s, const char *path, char *const argv[]);
bool spawn_server_running(const SpawnServer *s);
/* Stops the server (closes its socket and reaps it); the daemon makes its children itself from then on. */
void spawn_server_stop(SpawnServer *s);
/* Sends the request and waits for the answer (10 s at most): the child's PID in *ret_pid, the server's
 * negative errno (its clone failed, or it refused the request), or -ECHILD when no server runs. */
int spawn_server_request(SpawnServer *s, const void *req, size_t size, const int *fds, size_t n_fds,
                         pid_t *ret_pid);

/* The server's side: serves requests of size bytes until the daemon closes its end. serve() gets each with
 * its fds (closed again after it returns) and returns the PID of the child it made, or a negative errno; in
 * that child it may return 0, and spawn_server_main() then returns 1 there, with the request in req, its fds
 * in fds[] (*ret_n_fds of them, still open) and the server's socket closed. Otherwise 0 at the daemon's EOF,
 * or a negative errno. */
typedef pid_t (*SpawnServeFn)(const void *req, const int *fds, size_t n_fds, pid_t daemon);
/* prepare(), if not NULL, runs before each wait for a request (after the answer to the last): work done
 * ahead for the next child. A negative errno from it ends the server. */
typedef int (*SpawnPrepareFn)(void);
int spawn_server_main(void *req, size_t size, SpawnServeFn serve, SpawnPrepareFn prepare,
                      int fds[static SPAWN_SERVER_MAX_FDS], size_t *ret_n_fds);
/* For serve(): clone3(CLONE_PARENT | extra_flags), as fork() returns. No CLONE_VM: the child runs on a copy
 * of our stack; the server is single-threaded, so no atfork state is missed. */
pid_t spawn_server_clone_sibling(uint64_t extra_flags);
