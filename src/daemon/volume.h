/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "daemon/manager.h"
#include "shared/error.h"

/* Named volumes, Docker's layout: <state_dir>/volumes/NAME/_data holds the data, NAME/volume.json the
 * record (created, anonymous, labels). `volume create` makes one; a container's start makes the ones it
 * names when missing. A volume is in use while a container record (in any state) names it. */
typedef struct VolumeInfo {
        char *name;
        char *mountpoint; /* …/volumes/NAME/_data */
        char **labels;    /* "K=V" */
        uint64_t created_usec;
        bool anonymous; /* made for a container's `-v /path` or its image's VOLUME */
} VolumeInfo;

void volume_info_done(VolumeInfo *v);

/* Makes the volume unless it exists (then its labels are left alone, as Docker does). ret_created (may be
 * NULL) tells which; -EINVAL with the reason for a bad name or label. */
int volume_create(Manager *m, const char *name, char **labels, bool anonymous, BerthError *e,
                  bool *ret_created);

/* The record; -ENOENT when there is no such volume. */
int volume_get(Manager *m, const char *name, VolumeInfo *ret);

/* The names of all volumes, sorted. */
char **volume_list(Manager *m);

/* The names of the containers that name the volume. */
char **volume_used_by(Manager *m, const char *name);

/* -EBUSY (with the containers in e) when in use and !force; -ENOENT when missing. */
int volume_remove(Manager *m, const char *name, bool force, BerthError *e);

/* Removes the unused volumes (only anonymous ones unless all, Docker's rule since 23.0): their names and
 * the bytes freed. */
int volume_prune(Manager *m, bool all, char ***ret_removed, uint64_t *ret_reclaimed);

/* Removes the anonymous volumes among a container's mounts (canonical --mount strings) that no container
 * names any longer: run --rm's cleanup, Docker's AutoRemove. */
void volume_remove_anonymous(Manager *m, char **mounts);

/* Bytes the volume's data uses (du), for system df. */
uint64_t volume_size(Manager *m, const char *name);

/* Adds key with Docker's "Mounts" array of container inspect for a container's mounts (canonical --mount
 * strings, runtime/mount-entry.h): Type, Name, Source (a volume's directory), Destination, Driver, Mode,
 * RW, Propagation, with Docker's values. */
void volume_build_mount_points(Manager *m, JsonBuilder *b, const char *key, char **mounts);
