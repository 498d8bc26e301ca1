/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "oci/manifest.h"
#include "oci/platform.h"

/* OCI image indexes and Docker manifest lists: one manifest per platform. */

#define OCI_INDEX_ENTRIES_MAX 1000U

typedef struct OciIndexEntry {
        OciDescriptor descriptor;
        bool has_platform;
        OciPlatform platform; /* as written in the document (not normalised) */
} OciIndexEntry;

typedef struct OciIndex {
        OciDocumentKind kind; /* OCI_DOCUMENT_INDEX or OCI_DOCUMENT_DOCKER_MANIFEST_LIST */
        OciIndexEntry *entries;
        size_t n_entries;
} OciIndex;

/* Parses an index or manifest list (which one: the body's mediaType; none means OCI). Checks
 * schemaVersion 2, every descriptor, and that platforms have os and architecture strings. */
int oci_index_parse(const void *data, size_t size, BerthError *err, OciIndex **ret);
OciIndex *oci_index_free(OciIndex *idx);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciIndex *, oci_index_free);

/* Chooses the image manifest for a platform (NULL: the host's), with containerd's preferences: the exact
 * platform first, then compatible ones (arm/v6 and v5 on arm/v7; arm/v8…v5 on arm64; lower amd64 levels),
 * earlier entries winning ties. Entries without a platform, of other media types (nested indexes,
 * attestations at unknown/unknown) never match. Returns -ENOENT if none matches; *ret points into idx. */
int oci_index_pick_platform(const OciIndex *idx, const OciPlatform *want, const OciDescriptor **ret);

/* "linux/amd64, linux/arm/v7, linux/arm64/v8" — the image manifests' platforms, for the error message when
 * nothing matches; "(none)" if there are none. */
int oci_index_platforms_to_string(const OciIndex *idx, char **ret);
