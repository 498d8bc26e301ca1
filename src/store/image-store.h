/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "oci/image-record.h"
#include "shared/macro.h"

/* Images in the store: <state>/images/<hex>/{image.json,config.json,manifest.json} and the tag table
 * <state>/repositories.json, all written atomically. Everything is also held in memory: lookups never
 * touch the disk. Names given to this module are canonical ("docker.io/library/debian:latest",
 * "…@sha256:…"); parsing user input is the caller's job. */

typedef struct ImageStore ImageStore;

int image_store_open(const char *state_dir, ImageStore **ret);
ImageStore *image_store_free(ImageStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageStore *, image_store_free);

/* Adds (or replaces) an image with its raw config and manifest. Files first, then the in-memory entry. */
int image_store_add(ImageStore *s, const ImageRecord *record, const char *config, size_t config_size,
                    const char *manifest, size_t manifest_size);

/* Points tag at image id (moving it from any other image). */
int image_store_tag(ImageStore *s, const char *tag, const char *id);
int image_store_untag(ImageStore *s, const char *tag);

/* Removes the image record and its files; its tags must be gone already (-EBUSY otherwise). */
int image_store_remove(ImageStore *s, const char *id);

/* Finds an image by canonical tag, canonical repo@digest, full id ("sha256:<hex>" or "<hex>") or a unique
 * hex prefix of the id (at least 4 characters). -ENOENT when none, -ENOTUNIQ when a prefix is ambiguous. */
int image_store_find(ImageStore *s, const char *key, const ImageRecord **ret);
const ImageRecord *image_store_get(ImageStore *s, const char *id);

/* The tags pointing at id, sorted (newly allocated strv). */
char **image_store_tags_of(ImageStore *s, const char *id);
/* What tag points to, or NULL. */
const char *image_store_tag_target(ImageStore *s, const char *tag);

/* All records, in no order (the array is owned by the caller, the records by the store). */
GPtrArray *image_store_list(ImageStore *s);

int image_store_read_config(ImageStore *s, const char *id, char **ret, size_t *ret_size);
int image_store_read_manifest(ImageStore *s, const char *id, char **ret, size_t *ret_size);

/* True when some image other than except_id uses the layer chain_id. */
bool image_store_layer_in_use(ImageStore *s, const char *chain_id, const char *except_id);
