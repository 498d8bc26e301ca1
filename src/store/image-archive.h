/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "shared/error.h"
#include "shared/macro.h"
#include "store/layer-store.h"

/* Image archives, as `docker save`/`podman save` write them and `load` reads them. Both sides run in a child
 * process of berthd (daemon/image-archive.c), never on its event loop.
 *
 * Written (save):
 *   docker-archive   manifest.json [{"Config": "<id hex>.json", "RepoTags": […], "Layers": ["<diff id
 *                    hex>/layer.tar", …]}], repositories, <id hex>.json, <diff id hex>/layer.tar: the
 *                    classic layout every Docker and podman loads;
 *   oci-archive      oci-layout, index.json (one entry per tag, annotated with
 *                    org.opencontainers.image.ref.name and io.containerd.image.name = the full name),
 *                    blobs/sha256/<hex> for manifests, configs and uncompressed layers.
 * Each layer is the exact tar it was extracted from (layer-tar.h), hashed on the way out: a layer whose
 * rebuilt tar does not match its diff id fails the save. A layer without a record fails with -ENODATA.
 *
 * Read (load): either layout, also both at once (Docker 25+), plain or compressed with gzip, zstd or xz.
 * Every layer is extracted as it streams by (the same confined extraction as a pull, with its record) into
 * a temp dir of the layer store; JSON documents are kept in memory. At the end, manifest.json (preferred)
 * or index.json says what the images are, and everything is checked before anything is committed: config
 * digest (the image id; also the file name's digest in OCI), manifest and layer blob digests (OCI), every
 * layer's diff id against the config's rootfs.diff_ids. Any failure removes all temp dirs: nothing is left
 * half made. Then the layers are committed (already present ones are skipped) and the images are described
 * to the caller, which records and tags them. */

typedef enum ImageArchiveFormat {
        IMAGE_ARCHIVE_DOCKER,
        IMAGE_ARCHIVE_OCI,
        _IMAGE_ARCHIVE_FORMAT_MAX,
        _IMAGE_ARCHIVE_FORMAT_INVALID = -EINVAL,
} ImageArchiveFormat;

ImageArchiveFormat image_archive_format_from_string(const char *s); /* "docker-archive", "oci-archive" */

/* Progress: bytes written or read so far, and the total when known (0 otherwise). */
typedef void (*ImageArchiveProgress)(uint64_t done, uint64_t total, void *userdata);

/* One image to save. */
typedef struct ImageArchiveImage {
        char *id;     /* "sha256:<hex>" of config */
        char *config; /* the raw config */
        size_t config_size;
        char **names;     /* full names to tag it with in the archive ("docker.io/library/debian:12") */
        char **familiar;  /* the same, as Docker writes RepoTags ("debian:12") */
        char **diff_ids;  /* bottom first */
        char **chain_ids; /* the layer store's names, bottom first */
} ImageArchiveImage;

void image_archive_image_done(ImageArchiveImage *i);

int image_archive_write(LayerStore *s, const ImageArchiveImage *images, size_t n_images,
                        ImageArchiveFormat format, int out_fd, ImageArchiveProgress progress, void *userdata,
                        BerthError *e);

/* One image found in a loaded archive, its layers committed to the store. */
typedef struct ImageArchiveLoaded {
        char *id;
        char *config;
        size_t config_size;
        char **names; /* as written in the archive (RepoTags, ref.name), not yet normalised */
        char **diff_ids;
        char **chain_ids;
        uint64_t *layer_sizes; /* uncompressed */
} ImageArchiveLoaded;

void image_archive_loaded_done(ImageArchiveLoaded *l);

int image_archive_read(LayerStore *s, int in_fd, ImageArchiveProgress progress, void *userdata,
                       ImageArchiveLoaded **ret, size_t *ret_n, BerthError *e);

/* The result of image_archive_read() as JSON, for the child to hand it to the daemon, and back. */
int image_archive_loaded_to_json(const ImageArchiveLoaded *l, size_t n, char **ret, size_t *ret_size);
int image_archive_loaded_from_json(const char *data, size_t size, ImageArchiveLoaded **ret, size_t *ret_n);
