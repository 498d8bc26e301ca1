/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "build/dockerfile.h"
#include "daemon/build.h"
#include "oci/config.h"

/* What build.c (the steps, config and cache) and build-run.c (steps that make a layer) share. */

typedef enum BuildStatus {
        BUILD_PREPARING,
        BUILD_BUILDING,
        BUILD_DONE,
        BUILD_FAILED,
        BUILD_CANCELLED,
        _BUILD_STATUS_MAX,
} BuildStatus;

typedef struct BuildRun BuildRun;

struct Build {
        Manager *manager;
        uint32_t id;
        char *path;
        BuildStatus status;
        BuildOptions opt;

        int context_fd;    /* the caller's tar, until unpacked */
        char *dir;         /* <state>/build/.tmp-<id> */
        char *context_dir; /* dir/context */
        pid_t child;       /* the unpacking child */
        int child_report_fd;
        sd_event_source *child_source;

        Dockerfile *dockerfile;
        bool *needed;        /* per stage: the target needs it */
        char **stage_images; /* per stage: its result, once built */
        size_t target;
        unsigned step, n_steps;

        /* The stage being built. */
        size_t stage;
        size_t next;      /* its next instruction; (size_t) -1: the FROM */
        bool labels_done; /* the --label step of the target stage */
        bool cmd_set;     /* a CMD in this stage (ENTRYPOINT clears an inherited one only) */
        OciImageConfig *config;
        char *image_id; /* the current image ("sha256:…"), NULL before FROM */
        char **args;    /* ARGs in scope, "K=V" (declared without value: absent) */
        char **global_args;
        DockerfileInstruction **triggers; /* ONBUILD triggers of the stage's base */
        size_t n_triggers, next_trigger;

        BuildRun *run;         /* the step running in a container or child */
        struct Transfer *pull; /* FROM's pull of a missing base (or --pull) */
        bool pulled;           /* this stage's base was just pulled */
        sd_bus_slot
                *client_slot; /* the caller's NameOwnerChanged: its end cancels the build (build-dbus.c) */
        sd_event_source *defer;
        bool finished;
};

/* build.c, for build-run.c */
/* The step is done: image_id is the new current image (its config is read back from the store). */
void build_step_done(Build *b, const char *image_id, bool cached);
void build_step_failed(Build *b, int error, const char *fmt, ...) _printf_(3, 4);
/* The cache: the image of key, if any and still in the store; record key → id. */
const char *build_cache_lookup(Build *b, const char *key);
void build_cache_record(Build *b, const char *key, const char *image_id);
/* sha256(parent, created_by, extra) as "sha256:…". */
char *build_cache_key(Build *b, const char *created_by, const char *extra);
/* A deep copy, through JSON. */
OciImageConfig *build_config_copy(const OciImageConfig *c);
/* The ARGs with values and proxy build args, as "K=V", for RUN's environment. */
char **build_run_env(Build *b);
void build_output(Build *b, const char *line);

/* build-run.c */
/* RUN: argv as the container runs it, created_by as the history says it. */
int build_run_start(Build *b, char **argv, const char *created_by, char **env);
/* COPY/ADD: sources from the context (from_image NULL) or the image from_image. */
int build_copy_start(Build *b, const DockerfileInstruction *i, char **sources, const char *dest,
                     const char *from_image);
void build_run_cancel(Build *b);
BuildRun *build_run_free(BuildRun *r);
