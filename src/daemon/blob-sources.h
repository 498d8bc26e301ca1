/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "shared/macro.h"

/* What push needs to know about a layer it did not compress itself, Docker's "v2 metadata": per diff id,
 * the compressed blobs seen for it (digest, media type, size) and the repository each came from. berth keeps
 * no compressed blobs (a pulled layer is stored extracted only, so an image costs its size once); with this
 * record a push asks the target repository for the blob (HEAD: "Layer already exists") or mounts it from its
 * source repository on the same registry, and compresses the layer itself only when neither works.
 *
 * <state>/blob-sources.json: {"<diff id>": [{"digest":…, "mediaType":…, "size":N, "registry":"host[:port]",
 * "repository":"library/debian"}, …]}, newest first, at most BLOB_SOURCES_MAX per diff id; written
 * atomically after a change. Pull records the layers it verified, all at once when the image is recorded;
 * push each blob it found, mounted or uploaded. Entries outlive their layer harmlessly (a stale one costs
 * one HEAD). */

#define BLOB_SOURCES_MAX 8

typedef struct BlobSource {
        char *digest;
        char *media_type;
        uint64_t size;
        char *registry;   /* normalised domain: "docker.io", "127.0.0.1:5000" */
        char *repository; /* path in that registry: "library/debian" */
} BlobSource;

typedef struct BlobSources BlobSources;

/* A missing or unreadable file gives an empty record (logged at debug level). */
int blob_sources_open(const char *state_dir, BlobSources **ret);
BlobSources *blob_sources_free(BlobSources *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(BlobSources *, blob_sources_free);

/* Records (or moves to the front) a source of diff_id, in memory only: 1 if the record changed, 0 if that
 * source was already the newest. blob_sources_save() writes it out. */
int blob_sources_note(BlobSources *s, const char *diff_id, const char *digest, const char *media_type,
                      uint64_t size, const char *registry, const char *repository);
/* Writes the whole record to its file, atomically. */
int blob_sources_save(BlobSources *s);
/* blob_sources_note(), then blob_sources_save() if the record changed. */
int blob_sources_add(BlobSources *s, const char *diff_id, const char *digest, const char *media_type,
                     uint64_t size, const char *registry, const char *repository);
/* The sources of diff_id (BlobSource *), newest first; NULL when there are none. Owned by s. */
GPtrArray *blob_sources_get(BlobSources *s, const char *diff_id);

/* JSON in and out, for the file and the unit test. */
int blob_sources_from_json(const char *data, size_t size, GHashTable **ret);
int blob_sources_to_json(GHashTable *table, char **ret, size_t *ret_size);
