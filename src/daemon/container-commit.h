/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "daemon/container.h"
#include "oci/config.h"

/* Commit: a container's writable layer becomes a new image layer on top of its image's.
 *
 *   1. A running container's scope is frozen (systemd FreezeUnit, the cgroup v2 freezer) unless the caller
 *      said pause=false; where freezing is refused (no cgroup.freeze), the copy goes on unfrozen, logged.
 *   2. A child process walks the upper dir into a tar (layer_diff_write) and pipes it straight into a
 *      layer_extract child that builds the new layer in a layer store temp dir and hashes its diff_id.
 *      The daemon only watches the child (sd-event child source).
 *   3. The scope is thawed as soon as the child is gone, whatever happened; then the layer is committed on
 *      top of the image's top chain id, the config written (parent config + the caller's changes, one more
 *      diff_id and history entry), the image recorded and tagged, ImageNew sent, and the call answered.
 * An empty writable layer still makes a layer (Docker's 1024-byte empty tar), as `docker commit` does. */

typedef struct CommitRequest {
        OciImageConfig *config; /* the parent's config with the changes applied; taken over */
        char *tag;              /* canonical "docker.io/library/x:tag", or NULL for an untagged image */
        char *author;
        char *comment;
        char *created_by; /* the history entry's; NULL: the container's command */
        bool pause;
} CommitRequest;

void commit_request_done(CommitRequest *r);

/* Starts the commit; reply_to gets (s image_id) or an error when it is over. */
int container_commit(Container *c, CommitRequest *req, sd_bus_message *reply_to);

/* The same for the builder: done (instead of a reply) gets the image id, or e, when it is over. */
typedef void (*CommitDoneFn)(void *userdata, const char *image_id, const BerthError *e);
int container_commit_full(Container *c, CommitRequest *req, sd_bus_message *reply_to, CommitDoneFn done,
                          void *userdata);
