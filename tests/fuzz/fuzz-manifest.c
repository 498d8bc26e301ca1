/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manifest responses, as a registry (any registry a user pulls from) sends them: the first input byte picks
 * the Content-Type, the rest is the body. Detection and both parsers run on every input, as a body can claim
 * to be anything. A parsed manifest is rebuilt with oci_manifest_build() (what commit writes) and must parse
 * back to the same descriptors; a parsed index must answer platform picks. */
#include "fuzz.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/platform.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        return 0;
}

static void check_same_descriptor(const OciDescriptor *a, const OciDescriptor *b)
{
        fuzz_check(streq_ptr(a->media_type, b->media_type));
        fuzz_check(streq_ptr(a->digest, b->digest));
        fuzz_check(a->size == b->size);
}

static void fuzz_manifest(const uint8_t *data, size_t size)
{
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL, *again = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        _cleanup_free_ char *json = NULL;
        size_t json_size;

        if (oci_manifest_parse(data, size, &reason, &m) < 0) {
                fuzz_check(!m);
                return;
        }
        fuzz_check(reason.error == 0);
        fuzz_check(m->n_layers <= OCI_MANIFEST_LAYERS_MAX);

        fuzz_check(oci_manifest_build(&m->config, m->layers, m->n_layers, &json, &json_size) == 0);
        fuzz_check(strlen(json) == json_size);
        fuzz_check(oci_manifest_parse(json, json_size, &reason, &again) == 0);
        fuzz_check(again->n_layers == m->n_layers);
        check_same_descriptor(&m->config, &again->config);
        for (size_t i = 0; i < m->n_layers; i++)
                check_same_descriptor(&m->layers[i], &again->layers[i]);
}

static void fuzz_index(const uint8_t *data, size_t size)
{
        static const char *const platforms[] = { "linux/amd64", "linux/arm64", "linux/arm/v7",
                                                 "windows/amd64" };
        _cleanup_(oci_index_freep) OciIndex *idx = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        _cleanup_free_ char *list = NULL;
        const OciDescriptor *d;

        if (oci_index_parse(data, size, &reason, &idx) < 0) {
                fuzz_check(!idx);
                return;
        }
        fuzz_check(idx->n_entries <= OCI_INDEX_ENTRIES_MAX);
        fuzz_check(oci_index_platforms_to_string(idx, &list) == 0);

        if (oci_index_pick_platform(idx, NULL, &d) == 0)
                fuzz_check(d->digest);
        for (size_t i = 0; i < ELEMENTSOF(platforms); i++) {
                _cleanup_(oci_platform_done) OciPlatform p = {};

                fuzz_check(oci_platform_parse(platforms[i], &p) == 0);
                if (oci_index_pick_platform(idx, &p, &d) == 0)
                        fuzz_check(d->digest);
        }
        for (size_t i = 0; i < idx->n_entries; i++)
                if (idx->entries[i].has_platform) {
                        _cleanup_(oci_platform_done) OciPlatform n = {};
                        _cleanup_free_ char *s = NULL;

                        /* Whatever a document says, normalising and printing it must work. */
                        (void) oci_platform_normalize(&idx->entries[i].platform, &n);
                        (void) oci_platform_to_string(&idx->entries[i].platform, &s);
                }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const content_types[] = {
                NULL,
                "application/json",
                "application/octet-stream",
                OCI_MEDIA_TYPE_MANIFEST,
                OCI_MEDIA_TYPE_INDEX,
                DOCKER_MEDIA_TYPE_MANIFEST,
                DOCKER_MEDIA_TYPE_MANIFEST_LIST,
                "application/vnd.docker.distribution.manifest.v1+prettyjws",
                DOCKER_MEDIA_TYPE_MANIFEST "; charset=utf-8",
        };
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        OciDocumentKind kind;

        if (size < 1)
                return 0;
        if (oci_document_kind_detect(content_types[data[0] % ELEMENTSOF(content_types)], data + 1, size - 1,
                                     &reason, &kind) == 0)
                fuzz_check(kind >= 0 && kind < _OCI_DOCUMENT_KIND_MAX && oci_document_kind_to_string(kind));

        fuzz_manifest(data + 1, size - 1);
        fuzz_index(data + 1, size - 1);
        return 0;
}
