/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/macro.h"

/* berthd's own record of an image in the store (images/<hex>/image.json), and the table of tags
 * (repositories.json). The image's identity is its config digest, as in Docker: the same config pulled
 * under two names is one image. */

typedef struct ImageRecord {
        char *id;              /* "sha256:<hex>" of the config blob */
        char *manifest_digest; /* of the platform manifest it was pulled with, if pulled */
        char **repo_digests;   /* "docker.io/library/debian@sha256:…" */
        char **diff_ids;       /* bottom layer first */
        char **chain_ids;      /* bottom layer first; the layer store's names */
        uint64_t *layer_sizes; /* uncompressed bytes of each layer, as many as diff_ids */
        uint64_t size;         /* bytes of all layers, uncompressed */
        uint64_t created_usec; /* from the config, 0 if unknown */
        uint64_t added_usec;   /* when it entered this store */
} ImageRecord;

ImageRecord *image_record_free(ImageRecord *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageRecord *, image_record_free);

int image_record_to_json(const ImageRecord *r, char **ret, size_t *ret_size);
int image_record_from_json(const char *data, size_t size, ImageRecord **ret);

/* repositories.json: {"tags": {"docker.io/library/debian:latest": "sha256:…", …}} */
int tag_table_to_json(GHashTable *tags, char **ret, size_t *ret_size);
int tag_table_from_json(const char *data, size_t size, GHashTable **ret);
