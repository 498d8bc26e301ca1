/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/error.h"
#include "shared/macro.h"

/* Image manifests (OCI and Docker schema 2) and the document-kind detection shared with indexes.
 *
 * Errors from the parsers in src/oci/: -EBADMSG for input that is not JSON or is nested absurdly deep,
 * -EFBIG past the size cap, -EMEDIUMTYPE for well-formed documents of a kind berth does not handle
 * (schema 1, artifacts that are not container images, unknown layer types), -EOPNOTSUPP for digests of an
 * unsupported algorithm, -EINVAL for any other bad content. Where a parser takes `BerthError *err`, it
 * records there (if non-NULL) the errno and a sentence for the user on failure, and leaves it alone on
 * success. */

#define OCI_MEDIA_TYPE_MANIFEST         "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_TYPE_INDEX            "application/vnd.oci.image.index.v1+json"
#define OCI_MEDIA_TYPE_CONFIG           "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_TYPE_LAYER            "application/vnd.oci.image.layer.v1.tar"
#define OCI_MEDIA_TYPE_LAYER_GZIP       "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MEDIA_TYPE_LAYER_ZSTD       "application/vnd.oci.image.layer.v1.tar+zstd"
#define DOCKER_MEDIA_TYPE_MANIFEST      "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MEDIA_TYPE_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MEDIA_TYPE_CONFIG        "application/vnd.docker.container.image.v1+json"
#define DOCKER_MEDIA_TYPE_LAYER_GZIP    "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* What to send as Accept for GET /v2/<name>/manifests/<ref>. Deliberately without "*" + "/" + "*", which
 * lets registries fall back to schema 1. */
#define OCI_MANIFEST_ACCEPT                                                                                 \
        OCI_MEDIA_TYPE_INDEX ", " DOCKER_MEDIA_TYPE_MANIFEST_LIST ", " OCI_MEDIA_TYPE_MANIFEST              \
                             ", " DOCKER_MEDIA_TYPE_MANIFEST

/* Manifests and indexes are small; anything bigger is hostile (the distribution spec suggests 4 MiB). */
#define OCI_MANIFEST_SIZE_MAX (4U * 1024U * 1024U)
/* More than overlayfs could ever stack, and far more than any real image has. */
#define OCI_MANIFEST_LAYERS_MAX 1000U

typedef enum OciDocumentKind {
        OCI_DOCUMENT_MANIFEST,             /* application/vnd.oci.image.manifest.v1+json */
        OCI_DOCUMENT_DOCKER_MANIFEST,      /* application/vnd.docker.distribution.manifest.v2+json */
        OCI_DOCUMENT_INDEX,                /* application/vnd.oci.image.index.v1+json */
        OCI_DOCUMENT_DOCKER_MANIFEST_LIST, /* application/vnd.docker.distribution.manifest.list.v2+json */
        _OCI_DOCUMENT_KIND_MAX,
        _OCI_DOCUMENT_KIND_INVALID = -EINVAL,
} OciDocumentKind;

/* The media type of a kind, and back (parameters like "; charset=utf-8" and case are ignored). */
const char *oci_document_kind_to_string(OciDocumentKind k);
OciDocumentKind oci_document_kind_from_string(const char *media_type);
bool oci_document_kind_is_index(OciDocumentKind k);

/* Tells what a manifest response is, from its Content-Type (may be NULL or generic, such as
 * application/json or application/octet-stream) and its body: the body's "mediaType" wins when present
 * and must agree with a specific Content-Type; without one, "manifests" means an index and
 * "config"/"layers" a manifest. Schema 1 → -EMEDIUMTYPE. */
int oci_document_kind_detect(const char *content_type, const void *data, size_t size, BerthError *err,
                             OciDocumentKind *ret);

typedef enum OciCompression {
        OCI_COMPRESSION_NONE,
        OCI_COMPRESSION_GZIP,
        OCI_COMPRESSION_ZSTD,
        _OCI_COMPRESSION_MAX,
        _OCI_COMPRESSION_INVALID = -EINVAL,
} OciCompression;

const char *oci_compression_to_string(OciCompression c);
OciCompression oci_compression_from_string(const char *s);

/* Recognises a layer media type (OCI and Docker spellings, including the non-distributable/foreign
 * ones). Returns -EMEDIUMTYPE for anything else. */
int oci_layer_media_type_parse(const char *media_type, OciCompression *ret_compression, bool *ret_foreign);

typedef struct OciDescriptor {
        char *media_type;
        char *digest; /* "sha256:<hex>", checked */
        uint64_t size;
        char **urls; /* NULL or NULL-terminated; only foreign layers normally have them */

        /* Layers only: */
        OciCompression compression;
        bool foreign; /* non-distributable: registries may not have it, urls say where it lives */
} OciDescriptor;

void oci_descriptor_done(OciDescriptor *d);

typedef struct OciManifest {
        OciDocumentKind kind; /* OCI_DOCUMENT_MANIFEST or OCI_DOCUMENT_DOCKER_MANIFEST */
        OciDescriptor config;
        OciDescriptor *layers;
        size_t n_layers;
} OciManifest;

/* Parses an OCI image manifest or a Docker schema 2 manifest (which one: the body's mediaType; a body
 * without one is OCI). Checks schemaVersion 2, the config media type (container images only), every
 * digest and size, and the layer media types. */
int oci_manifest_parse(const void *data, size_t size, BerthError *err, OciManifest **ret);
OciManifest *oci_manifest_free(OciManifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciManifest *, oci_manifest_free);

/* Builds an OCI image manifest (what commit writes) for a config and layer descriptors; a descriptor
 * without a media type gets the OCI config type, or tar+gzip for layers. The JSON is compact and
 * NUL-terminated; *ret_size excludes the NUL. */
int oci_manifest_build(const OciDescriptor *config, const OciDescriptor *layers, size_t n_layers,
                       char **ret_json, size_t *ret_size);
/* The same as kind OCI_DOCUMENT_MANIFEST or OCI_DOCUMENT_DOCKER_MANIFEST (schema 2: Docker's config and
 * tar.gzip types as defaults), what push sends. */
int oci_manifest_build_kind(OciDocumentKind kind, const OciDescriptor *config, const OciDescriptor *layers,
                            size_t n_layers, char **ret_json, size_t *ret_size);

/* ---- For src/oci/ only: json-glib never appears in headers others include, hence the struct tags. ---- */
struct _JsonNode;
struct _JsonObject;

/* What json-glib does not check itself: nesting depth, escapes, UTF-8. -EBADMSG if the text fails. */
int oci_json_check_text(const void *data, size_t size);
/* Parses a buffer of at most size_max bytes whose root must be an object. */
int oci_json_parse_object(const void *data, size_t size, size_t size_max, BerthError *err,
                          struct _JsonNode **ret_root);
int oci_json_get_schema_version(struct _JsonObject *o, BerthError *err);
/* A descriptor's mediaType (required), digest, size and urls; layer types are checked by the caller. */
int oci_descriptor_from_json(struct _JsonObject *o, const char *what, BerthError *err, OciDescriptor *ret);
void oci_strv_free(char **l);
