/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* The store's fork server: a small program (berth-fork-server, in libexecdir) that forks the store's
 * children (layer extraction, the syncfs of a batch of layers, the deletion of the trash) on the daemon's
 * behalf: a spawn server (shared/spawn-server.h has the protocol, shared with berthd's monitor server).
 *
 * Why: fork() copies the page tables of the forking process, and every page the parent then writes faults
 * once (copy-on-write). berthd grows to ~20 MiB; a pull of many small layers forked it twice per layer, and
 * that was the largest single part of berthd's own CPU in such a pull (bench/README.md). The server is
 * a program of its own, linking only what extraction needs (a fifth of berthd's libraries), so what it forks
 * is small; it sets up once what each child would otherwise set up again (OpenSSL, the seccomp filter).
 *
 * The children are made with clone3(CLONE_PARENT): their parent is the daemon, not the server. The daemon
 * reaps them (waitpid(), sd-event child sources) and PR_SET_PDEATHSIG ties them to it, exactly as after its
 * own fork(); callers do not know the difference.
 *
 * Only the process that started the server uses it: in any other process (a child of the daemon, a tool,
 * a unit test that did not start one), or once the server has died, the calling process forks itself. */

/* Starts the server program at path as our child. Call early, while the process is single-threaded. If it
 * cannot run, the first request finds out, and we fork ourselves. */
int fork_server_start(const char *path);

/* The server program's main loop: serves requests until the daemon closes its end. */
int fork_server_main(void);

/* Whether this process hands its forks to a running server. */
bool fork_server_running(void);

/* Its PID, 0 when none runs (for tests and logs). */
pid_t fork_server_pid(void);

/* Stops the server (closes its socket and reaps it); the process forks itself from then on. */
void fork_server_stop(void);

/* The extraction child of layer-extract.c for these fds (see layer_extract_spawn_recorded()), with this
 * process's extraction limits. The fds stay the caller's. -ECHILD when no server runs (fork yourself). */
int fork_server_extract(int input_fd, int dest_dir_fd, int result_fd, int record_fd, bool sync,
                        pid_t *ret_pid);

/* A child that runs syncfs() on fd's filesystem and exits 0 on success. -ECHILD when no server runs. */
int fork_server_syncfs(int fd, pid_t *ret_pid);

/* A child that deletes, at nice 10, every entry of each of the n (at most 4) directories whose name starts
 * with its prefix ("" for every entry; shorter than FORK_SERVER_PREFIX_MAX) with all it holds, as
 * remove_entries_at() does; exits 0 when all went. The fds stay the caller's. The server's child, or, when
 * none runs, a fork of the caller (the daemon's trash, which must be emptied either way). */
#define FORK_SERVER_PREFIX_MAX 32
int fork_server_remove_entries(const int *dir_fds, const char *const *prefixes, size_t n, pid_t *ret_pid);
