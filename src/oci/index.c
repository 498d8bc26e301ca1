/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>
#include <limits.h>
#include <stdio.h>

#include "oci/index.h"
#include "shared/json-read.h"
#include "shared/log.h"

OciIndex *oci_index_free(OciIndex *idx)
{
        if (!idx)
                return NULL;

        for (size_t i = 0; i < idx->n_entries; i++) {
                oci_descriptor_done(&idx->entries[i].descriptor);
                oci_platform_done(&idx->entries[i].platform);
        }
        free(idx->entries);
        return mfree(idx);
}

static int platform_from_json(JsonObject *o, const char *what, OciPlatform *ret, BerthError *err)
{
        _cleanup_(oci_platform_done) OciPlatform p = {};
        const char *os, *architecture, *variant, *os_version;

        if (json_read_string(o, "os", &os) < 0 || json_read_string(o, "architecture", &architecture) < 0 ||
            json_read_string(o, "variant", &variant) < 0 ||
            json_read_string(o, "os.version", &os_version) < 0)
                return berth_error_set(err, -EINVAL,
                                       "The platform of the %s has a field that is not a string.", what);
        if (isempty(os) || isempty(architecture))
                return berth_error_set(err, -EINVAL, "The platform of the %s lacks os or architecture.",
                                       what);

        p.os = strdup(os);
        p.architecture = strdup(architecture);
        if (!p.os || !p.architecture)
                return -ENOMEM;
        if (!isempty(variant)) {
                p.variant = strdup(variant);
                if (!p.variant)
                        return -ENOMEM;
        }
        if (!isempty(os_version)) {
                p.os_version = strdup(os_version);
                if (!p.os_version)
                        return -ENOMEM;
        }

        *ret = p;
        p = OCI_PLATFORM_NULL;
        return 0;
}

int oci_index_parse(const void *data, size_t size, BerthError *err, OciIndex **ret)
{
        _cleanup_(oci_index_freep) OciIndex *idx = NULL;
        g_autoptr(JsonNode) root = NULL;
        const char *media_type;
        JsonNode *manifests;
        JsonObject *o;
        JsonArray *a;
        guint n;
        int r;

        r = oci_json_parse_object(data, size, OCI_MANIFEST_SIZE_MAX, err, &root);
        if (r < 0)
                return r;
        o = json_node_get_object(root);

        r = oci_json_get_schema_version(o, err);
        if (r < 0)
                return r;

        idx = calloc(1, sizeof(OciIndex));
        if (!idx)
                return -ENOMEM;

        if (json_read_string(o, "mediaType", &media_type) < 0)
                return berth_error_set(err, -EINVAL, "The index's mediaType is not a string.");
        idx->kind = media_type ? oci_document_kind_from_string(media_type) : OCI_DOCUMENT_INDEX;
        if (idx->kind < 0)
                return berth_error_set(err, -EMEDIUMTYPE, "Unsupported index media type '%s'.", media_type);
        if (!oci_document_kind_is_index(idx->kind))
                return berth_error_set(err, -EINVAL, "The document is an image manifest, not an index.");

        manifests = json_object_get_member(o, "manifests");
        if (!manifests || !JSON_NODE_HOLDS_ARRAY(manifests))
                return berth_error_set(err, -EINVAL, "The index has no list of manifests.");
        a = json_node_get_array(manifests);
        n = json_array_get_length(a);
        if (n > OCI_INDEX_ENTRIES_MAX)
                return berth_error_set(err, -EINVAL, "The index has %u entries, more than the limit of %u.",
                                       n, OCI_INDEX_ENTRIES_MAX);

        idx->entries = calloc(MAX(n, 1U), sizeof(OciIndexEntry));
        if (!idx->entries)
                return -ENOMEM;

        for (guint i = 0; i < n; i++) {
                JsonNode *e = json_array_get_element(a, i);
                OciIndexEntry *entry = idx->entries + i;
                JsonObject *platform;
                char what[32];

                snprintf(what, sizeof(what), "index entry %u", i + 1);
                if (!JSON_NODE_HOLDS_OBJECT(e))
                        return berth_error_set(err, -EINVAL, "The %s is not an object.", what);
                /* Count it first: the free function then cleans up whatever was filled in. */
                idx->n_entries++;

                r = oci_descriptor_from_json(json_node_get_object(e), what, err, &entry->descriptor);
                if (r < 0)
                        return r;

                if (json_read_object(json_node_get_object(e), "platform", &platform) < 0)
                        return berth_error_set(err, -EINVAL, "The platform of the %s is not an object.",
                                               what);
                if (platform) {
                        r = platform_from_json(platform, what, &entry->platform, err);
                        if (r < 0)
                                return r;
                        entry->has_platform = true;
                }
        }

        *ret = TAKE_PTR(idx);
        return 0;
}

/* Image manifests with a platform, without the "unknown/unknown" attestation manifests BuildKit adds
 * (they hold provenance and SBOMs, not a filesystem). */
static bool entry_is_image_manifest(const OciIndexEntry *e)
{
        OciDocumentKind k = oci_document_kind_from_string(e->descriptor.media_type);

        if (!e->has_platform || (k != OCI_DOCUMENT_MANIFEST && k != OCI_DOCUMENT_DOCKER_MANIFEST))
                return false;
        return !(streq(e->platform.os, "unknown") && streq(e->platform.architecture, "unknown"));
}

int oci_index_pick_platform(const OciIndex *idx, const OciPlatform *want, const OciDescriptor **ret)
{
        _cleanup_(oci_platform_done) OciPlatform host = {}, w = {};
        const OciDescriptor *best = NULL;
        int best_score = INT_MAX, r;

        if (!idx)
                return -EINVAL;

        if (!want) {
                r = oci_platform_host(&host);
                if (r < 0)
                        return r;
                want = &host;
        }
        r = oci_platform_normalize(want, &w);
        if (r < 0)
                return r;

        for (size_t i = 0; i < idx->n_entries; i++) {
                const OciIndexEntry *e = idx->entries + i;
                _cleanup_(oci_platform_done) OciPlatform have = {};
                int score;

                if (!entry_is_image_manifest(e))
                        continue;
                r = oci_platform_normalize(&e->platform, &have);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;

                score = oci_platform_match(&w, &have);
                if (score >= 0 && score < best_score) {
                        best = &e->descriptor;
                        best_score = score;
                }
        }

        if (!best) {
                _cleanup_free_ char *w_str = NULL, *available = NULL;

                if (oci_platform_to_string(&w, &w_str) >= 0 &&
                    oci_index_platforms_to_string(idx, &available) >= 0)
                        log_debug("No manifest for platform %s in the index; it has: %s", w_str, available);
                return -ENOENT;
        }

        *ret = best;
        return 0;
}

int oci_index_platforms_to_string(const OciIndex *idx, char **ret)
{
        g_autoptr(GString) s = g_string_new(NULL);
        char *copy;

        if (!idx)
                return -EINVAL;

        for (size_t i = 0; i < idx->n_entries; i++) {
                const OciIndexEntry *e = idx->entries + i;
                _cleanup_free_ char *p = NULL;
                int r;

                if (!entry_is_image_manifest(e))
                        continue;
                r = oci_platform_to_string(&e->platform, &p);
                if (r < 0)
                        return r;
                if (s->len > 0)
                        g_string_append(s, ", ");
                g_string_append(s, p);
        }

        copy = strdup(s->len > 0 ? s->str : "(none)");
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}
