/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The part of a container's record that changes while it runs: <state>/containers/<id>/state.json.
 * berthd writes it while no monitor runs (created; and exited when a monitor died without saying so);
 * berth-monitor writes it while it runs (running, then exited), so the outcome is recorded even while berthd
 * is down. Writes are atomic (temp + fsync + rename). */

typedef enum ContainerStatus {
        CONTAINER_CREATED,
        CONTAINER_RUNNING,
        CONTAINER_EXITED,
        _CONTAINER_STATUS_MAX,
        _CONTAINER_STATUS_INVALID = -EINVAL,
} ContainerStatus;

typedef struct ContainerState {
        ContainerStatus status;
        pid_t monitor_pid;      /* 0 when none */
        pid_t pid;              /* the container's init in the host pid namespace; 0 when not running */
        uint64_t started_usec;  /* CLOCK_REALTIME µs, 0 if never started */
        uint64_t finished_usec; /* 0 unless exited */
        int exit_code;          /* Docker's: the status, or 128+N after signal N; 125-127 for start errors */
        int exit_signal;        /* the signal that killed it, or 0 */
        char *error;            /* why the last start failed ("exec: "foo": not found"), or NULL */
        /* The monitor ended without recording the exit, which berthd then filled in: processes of that run
         * (an init whose monitor alone was killed) may outlive it, on its writable layer. Only berthd sets
         * it; the next run's monitor clears it by writing its own state. */
        bool unrecorded_end;
} ContainerState;

#define CONTAINER_STATE_INIT                                                                                \
        {                                                                                                   \
                .status = CONTAINER_CREATED                                                                 \
        }

void container_state_done(ContainerState *s);

const char *container_status_to_string(ContainerStatus s);
ContainerStatus container_status_from_string(const char *s);

/* -ENOENT when absent, -EBADMSG when unreadable as a state. */
int container_state_load(const char *path, ContainerState *ret);
int container_state_save(const char *path, const ContainerState *s);
/* flags: WriteFileFlags (shared/fs-util.h); WRITE_FILE_NO_SYNC for a state no power loss needs to keep (a
 * container loaded without a readable state is "created"; one recorded running after a reboot is found
 * dead by berthd). */
int container_state_save_flags(const char *path, const ContainerState *s, int flags);
