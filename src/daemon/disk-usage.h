/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/container.h"
#include "daemon/manager.h"
#include "oci/image-record.h"

/* Where the store's bytes go (Docker's `system df`) and its prunes. No D-Bus here.
 *
 * Image sizes come from the records' layer_sizes (the uncompressed size of each layer, written at pull or
 * commit time), so answering never walks a layer tree: a store of many gigabytes costs a loop over the
 * records. Only containers' writable layers are walked, and never on the event loop: a container can hold
 * millions of files, and anyone may ask for the sizes. The walk counts apparent sizes (Docker's SizeRw), not
 * allocated blocks. */

typedef struct ImageUsage {
        const ImageRecord *image; /* owned by the image store */
        uint64_t shared_size;     /* bytes of its layers also used by another image */
        uint64_t unique_size;     /* size - shared_size */
        uint32_t containers;      /* containers created from it */
} ImageUsage;

typedef struct DiskUsage {
        GArray *images;              /* ImageUsage, newest first */
        uint64_t layers_size;        /* every layer in the store counted once */
        uint64_t layers_reclaimable; /* … of those, the ones no container's image uses */
} DiskUsage;

void disk_usage_done(DiskUsage *u);
int manager_disk_usage(Manager *m, DiskUsage *ret);

/* Measures the bytes in every container's writable layer (regular files and symlinks, hardlinks once) in a
 * child process, then calls done with sizes: container id → uint64_t *, a container missing where its walk
 * failed. One walk runs at a time, for all callers: a request made while a walk runs is served by the next
 * walk, which starts when the running one ends and serves every request queued meanwhile. done is called
 * exactly once, also on failure and when the manager goes (then with sizes NULL). */
typedef void (*DiskWalkDone)(Manager *m, GHashTable *sizes, void *userdata);
typedef struct DiskWalk DiskWalk;
int manager_walk_containers(Manager *m, DiskWalkDone done, void *userdata);
void manager_stop_disk_walk(Manager *m);

/* Removes the images no container uses: only untagged ones ("dangling") unless all. Layers still used by a
 * kept image stay. ret_removed gets the removed ids (strv), ret_reclaimed the bytes of the layers that
 * went. Failures on one image are logged and skipped. */
int manager_prune_images(Manager *m, bool all, char ***ret_removed, uint64_t *ret_reclaimed);

/* Removes every container that is not running or starting (created and exited ones). ret_removed gets
 * their ids, ret_reclaimed the bytes of their writable layers as sizes (from manager_walk_containers) says.
 */
int manager_prune_containers(Manager *m, GHashTable *sizes, char ***ret_removed, uint64_t *ret_reclaimed);
