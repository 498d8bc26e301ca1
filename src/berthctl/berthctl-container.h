/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

/* Shared by the container verbs (berthctl-container.c, berthctl-run.c) and the journal readers
 * (berthctl-logs.c). */

/* The org.berth1.Container properties, read with one GetAll. */
typedef struct ContainerInfo {
        char *path;
        char *id, *name, *image, *image_id, *state, *error, *unit, *config, *ip_address;
        char *ports; /* Docker's PORTS column: "0.0.0.0:8080->80/tcp, …" */
        char **command;
        char **mounts; /* as Config's "Mounts": "type=volume,source=NAME,target=…" and the like */
        uint32_t exit_code, pid, restart_count;
        uint64_t created_usec, started_usec, finished_usec;
        bool tty, interactive;
} ContainerInfo;

void container_info_done(ContainerInfo *c);

/* GetAll on a container object. Quiet: the caller decides what an error means (the container may have been
 * removed since it was listed). */
int container_info_get(const char *path, ContainerInfo *ret, sd_bus_error *error);

/* GetContainer, then its properties; prints "Error: No such container: …" and the like. */
int container_lookup(const char *name_or_id, ContainerInfo *ret);

/* A container's output in the journal, entries matched by CONTAINER_ID_FULL=id. */
int container_journal_open(const char *id, sd_journal **ret);
/* Positions the journal after its last entry, so that reading goes on with what comes next. */
int container_journal_seek_end(sd_journal *j);

typedef struct Follow {
        sd_journal *j;
        bool timestamps;
        uint64_t since_usec; /* skip output logged before */
        /* Keep waiting at the end of the journal, until the container's final entry (MESSAGE_ID=
         * BERTH_MESSAGE_CONTAINER_EXITED) logged at or after exit_after_usec, or until idle() says so. */
        bool follow;
        uint64_t exit_after_usec;
        /* Called whenever the journal had nothing new (from every millisecond up to every 250 ms): > 0 ends
         * the follow with *ret_exit_code set, < 0 fails it. Throttles its own bus calls. */
        int (*idle)(void *userdata, int *ret_exit_code);
        void *userdata;
} Follow;

/* Prints output entries from the current position on: stdout lines (PRIORITY 6) to stdout, stderr lines
 * (PRIORITY 3) to stderr. Returns 1 with the exit code once the container's end is seen, 0 at the journal's
 * end when not following. */
int follow_run(const Follow *f, int *ret_exit_code);

/* stop and restart: [-t SECONDS] CONTAINER..., each through method (StopContainer, RestartContainer), whose
 * answer may take the grace period, the kill and extra_usec more; prints each name done. */
int stop_each(const char *verb, const char *method, uint64_t extra_usec, int argc, char *argv[]);

int verb_logs(int argc, char *argv[]);

/* berthctl-run.c: run, create and start, which forward our signals to the container while they wait. */
int verb_run(int argc, char *argv[]);
int verb_create(int argc, char *argv[]);
int verb_start(int argc, char *argv[]);

uint64_t monotonic_usec(void);
