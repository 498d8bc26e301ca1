/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "daemon/manager.h"
#include "shared/error.h"

/* A build from a Dockerfile, Docker's classic builder's way (docs/architecture.md, "Builds"):
 *
 *   1. The context tar (the caller's fd) is unpacked by a child chrooted into a private directory,
 *      <state>/build/.tmp-<n>/context, confined as layer extraction is (store/extract-confine.h).
 *   2. The Dockerfile is read from it and parsed (build/dockerfile.h); the stages the target needs are
 *      built in file order, one step per instruction:
 *        FROM     the base image's config (an image of the store, a previous stage, or scratch); its
 *                 ONBUILD triggers run first
 *        RUN      a berth container of the current image (build-run.c), default confinement and network,
 *                 output to the client (Output signals) and the journal; its writable layer is committed
 *                 (container-commit.c) as the step's image
 *        COPY/ADD a created container whose root receives a tar of the sources (store/build-copy.h, made by
 *                 a child chrooted into the context or a mounted image) through Container.PutArchive's
 *                 machinery, then committed
 *        others   a new image with the changed config and an empty_layer history entry
 *      Every step's result is an untagged image in the store. The last stage's last image is tagged.
 *   3. The cache: an index <state>/build-cache.json from sha256(parent image id, the step's history text,
 *      for COPY/ADD the sources' content digest) to the image id. A hit whose image still exists is the
 *      step's result ("Using cache"); image prune may remove cached images, and the index forgets them.
 * Progress goes to the bus file's hooks (build-dbus.h). */

typedef struct BuildOptions {
        char **tags;       /* canonical references */
        char *dockerfile;  /* in the context; "Dockerfile" */
        char **build_args; /* "K=V" */
        char *target;
        bool no_cache, pull, quiet;
        char *network;
        char **labels; /* key, value, … */
} BuildOptions;

void build_options_done(BuildOptions *o);

typedef struct Build Build;

/* Takes over *o and context_fd. */
int build_new(Manager *m, BuildOptions *o, int context_fd, Build **ret);
Build *build_free(Build *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Build *, build_free);

/* Starts unpacking the context; everything else follows from the event loop. */
int build_start(Build *b);
/* Ends the build as cancelled (killing what runs); b is freed later, after its Finished signal. */
void build_cancel(Build *b);

Manager *build_get_manager(Build *b);
uint32_t build_get_id(Build *b);
const char *build_get_path(Build *b);
const char *build_get_status(Build *b);
/* The bus file's watch on the caller, dropped with the build. */
#define build_client_slot(b) (*build_client_slot_ptr(b))
sd_bus_slot **build_client_slot_ptr(Build *b);

/* The cache index: loaded at startup, forgotten with the Manager. */
int manager_load_build_cache(Manager *m);
/* system df's Build Cache: untagged images the cache points at, and the bytes of their own layers that no
 * tagged image uses. */
void manager_build_cache_usage(Manager *m, unsigned *ret_count, uint64_t *ret_bytes);
/* The name prefix of a build step's container; at start, those left by a berthd that stopped during a build
 * are removed (killed first when they still run). */
#define BUILD_CONTAINER_PREFIX "buildstep_"
void manager_sweep_build_containers(Manager *m);
/* Removes <state>/build/.tmp-* left by a crash. */
void manager_sweep_builds(Manager *m);
