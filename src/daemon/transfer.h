/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "daemon/manager.h"
#include "shared/error.h"

/* A pull: manifest (through an index if need be) → config → layers streamed in parallel, each hashed,
 * decompressed and extracted by its own child as the bytes arrive → layers committed bottom up → image
 * recorded and tagged. Once started, progress and the outcome go to the bus file's hooks
 * (transfer_send_message(), transfer_send_layer_progress(), transfer_send_finished() in transfer-dbus.h).
 * A failure is a BerthError whose errno says what kind it is (bus-errors.c names it): ECANCELED cancelled,
 * ENOSPC disk full, EACCES unauthorised, ENOENT manifest unknown, EBADMSG digest mismatch, EINVAL invalid
 * image, ENOEXEC no matching platform, anything else (EPROTO) a registry error. */

typedef struct Transfer Transfer;

int transfer_new(Manager *m, const char *reference, BerthError *e, Transfer **ret);
Transfer *transfer_free(Transfer *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Transfer *, transfer_free);

int transfer_start(Transfer *t);
/* Called once at the end, before the Finished signal: image_id on success, else e. */
typedef void (*TransferDoneFn)(void *userdata, const char *image_id, const BerthError *e);
void transfer_set_done_hook(Transfer *t, TransferDoneFn hook, void *userdata);
void transfer_cancel(Transfer *t);

Manager *transfer_get_manager(Transfer *t);
uint32_t transfer_get_id(Transfer *t);
const char *transfer_get_path(Transfer *t);
const char *transfer_get_reference(Transfer *t); /* as the user gave it, normalised */
const char *transfer_get_status(Transfer *t);    /* "resolving", "pulling", "done", "failed", "cancelled" */
const char *transfer_get_manifest_digest(Transfer *t);
const char *transfer_get_image_id(Transfer *t);
double transfer_get_progress(Transfer *t);

/* A push (push.c) is a Transfer too: the same object, signals and Cancel; the Transfer only carries it
 * (the getters and start/cancel/free go to push.c). t takes p. */
typedef struct Push Push;
int transfer_new_push(Manager *m, Push *p, const char *reference, Transfer **ret);
Push *transfer_get_push(Transfer *t);
/* The hooks' gate: push.c reports only once its transfer started. */
bool transfer_is_started(Transfer *t);

/* True while a running pull needs the layer: layer GC must leave it (the pull may have found it "Already
 * exists" and will record an image on it). */
bool manager_layer_held_by_pull(Manager *m, const char *chain_id); /* or a push reads it */
