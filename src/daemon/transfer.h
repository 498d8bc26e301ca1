/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "daemon/manager.h"
#include "shared/error.h"

/* A pull: manifest (through an index if need be) → config → layers streamed in parallel, each hashed,
 * decompressed and extracted by its own child as the bytes arrive → layers committed bottom up → image
 * recorded and tagged. Progress and the outcome go to the TransferEvents the bus layer installs. */

typedef struct Transfer Transfer;

typedef struct TransferEvents {
        void (*message)(Transfer *t, const char *text);
        void (*layer_progress)(Transfer *t, const char *layer, const char *status, uint64_t done, uint64_t total);
        /* error_name is an org.berth1.Error.* name (NULL on success). */
        void (*finished)(Transfer *t, const char *error_name, const char *error_message);
} TransferEvents;

int transfer_new(Manager *m, const char *reference, BerthError *e, Transfer **ret);
Transfer *transfer_free(Transfer *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Transfer *, transfer_free);

int transfer_start(Transfer *t, const TransferEvents *events);
void transfer_cancel(Transfer *t);

uint32_t transfer_get_id(Transfer *t);
const char *transfer_get_path(Transfer *t);
const char *transfer_get_reference(Transfer *t); /* as the user gave it, normalised */
const char *transfer_get_status(Transfer *t);    /* "resolving", "pulling", "done", "failed", "cancelled" */
const char *transfer_get_manifest_digest(Transfer *t);
const char *transfer_get_image_id(Transfer *t);
double transfer_get_progress(Transfer *t);

/* True while a running pull needs the layer: layer GC must leave it (the pull may have found it "Already
 * exists" and will record an image on it). */
bool manager_layer_held_by_pull(Manager *m, const char *chain_id);
