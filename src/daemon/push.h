/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "daemon/manager.h"
#include "shared/error.h"
#include "store/layer-compress.h"

/* A push (PushImage): the image a local tag names goes to the registry and repository that tag names.
 * Per layer, bottom up and a few at once: a blob the target repository has already is skipped ("Layer
 * already exists": HEAD of every digest the layer is known under, blob-sources.h), one in another
 * repository of the same registry is mounted ("Mounted from …"), anything else is compressed from the
 * store as it uploads (layer-compress.h; "Pushing", "Pushed"). Then the config, then the manifest: a pulled
 * image whose every layer went up under its original digest keeps its original manifest bytes (so its
 * digest stays); any other gets a new one, Docker schema 2 for gzip, OCI for zstd. Progress and the end
 * go through the Transfer it runs as (transfer.h). Failure kinds as a pull's: EACCES unauthorised, ENOENT
 * no such image, EPROTO the registry's, ECANCELED cancelled, EINVAL a layer the store cannot reproduce. */

typedef struct Push Push;
typedef struct Transfer Transfer;

int push_new(Manager *m, const char *reference, LayerCompression compression, BerthError *e, Push **ret);
Push *push_free(Push *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Push *, push_free);

void push_set_transfer(Push *p, Transfer *t);
const char *push_get_reference(Push *p); /* canonical: "127.0.0.1:5000/team/app:1.0" */
int push_start(Push *p);
void push_cancel(Push *p);
const char *push_get_status(Push *p); /* "pushing", "done", "failed", "cancelled" */
const char *push_get_manifest_digest(Push *p);
const char *push_get_image_id(Push *p);
double push_get_progress(Push *p);
bool push_uses_layer(Push *p, const char *chain_id);
