/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "oci/digest.h"
#include "oci/manifest.h"
#include "shared/json-build.h"
#include "shared/json-read.h"
#include "shared/log.h"

/* Deeper than any real manifest or config (they nest 4–5 levels); json-glib's parser recurses, so a hostile
 * "[[[[…" must be refused before it reaches it. */
#define OCI_JSON_DEPTH_MAX 64

static const char *const document_kinds[_OCI_DOCUMENT_KIND_MAX] = {
        [OCI_DOCUMENT_MANIFEST] = OCI_MEDIA_TYPE_MANIFEST,
        [OCI_DOCUMENT_DOCKER_MANIFEST] = DOCKER_MEDIA_TYPE_MANIFEST,
        [OCI_DOCUMENT_INDEX] = OCI_MEDIA_TYPE_INDEX,
        [OCI_DOCUMENT_DOCKER_MANIFEST_LIST] = DOCKER_MEDIA_TYPE_MANIFEST_LIST,
};

static const char *const schema1_media_types[] = {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
};

static const char *const compressions[_OCI_COMPRESSION_MAX] = {
        [OCI_COMPRESSION_NONE] = "none",
        [OCI_COMPRESSION_GZIP] = "gzip",
        [OCI_COMPRESSION_ZSTD] = "zstd",
};

static const struct {
        const char *media_type;
        OciCompression compression;
        bool foreign;
} layer_media_types[] = {
        { OCI_MEDIA_TYPE_LAYER, OCI_COMPRESSION_NONE, false },
        { OCI_MEDIA_TYPE_LAYER_GZIP, OCI_COMPRESSION_GZIP, false },
        { OCI_MEDIA_TYPE_LAYER_ZSTD, OCI_COMPRESSION_ZSTD, false },
        { "application/vnd.oci.image.layer.nondistributable.v1.tar", OCI_COMPRESSION_NONE, true },
        { "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", OCI_COMPRESSION_GZIP, true },
        { "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", OCI_COMPRESSION_ZSTD, true },
        { DOCKER_MEDIA_TYPE_LAYER_GZIP, OCI_COMPRESSION_GZIP, false },
        { "application/vnd.docker.image.rootfs.diff.tar", OCI_COMPRESSION_NONE, false },
        { "application/vnd.docker.image.rootfs.diff.tar.zstd", OCI_COMPRESSION_ZSTD, false },
        { "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", OCI_COMPRESSION_GZIP, true },
        { "application/vnd.docker.image.rootfs.foreign.diff.tar", OCI_COMPRESSION_NONE, true },
};

/* Compares a media type, ignoring case, surrounding blanks and parameters ("; charset=utf-8"). */
static bool media_type_equal(const char *s, const char *media_type)
{
        size_t l = strlen(media_type);

        s += strspn(s, " \t");
        if (strncasecmp(s, media_type, l) != 0)
                return false;
        s += l;
        s += strspn(s, " \t");
        return *s == 0 || *s == ';';
}

const char *oci_document_kind_to_string(OciDocumentKind k)
{
        if (k < 0 || k >= _OCI_DOCUMENT_KIND_MAX)
                return NULL;
        return document_kinds[k];
}

OciDocumentKind oci_document_kind_from_string(const char *media_type)
{
        if (!media_type)
                return _OCI_DOCUMENT_KIND_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(document_kinds); i++)
                if (media_type_equal(media_type, document_kinds[i]))
                        return (OciDocumentKind) i;
        return _OCI_DOCUMENT_KIND_INVALID;
}

bool oci_document_kind_is_index(OciDocumentKind k)
{
        return k == OCI_DOCUMENT_INDEX || k == OCI_DOCUMENT_DOCKER_MANIFEST_LIST;
}

const char *oci_compression_to_string(OciCompression c)
{
        if (c < 0 || c >= _OCI_COMPRESSION_MAX)
                return NULL;
        return compressions[c];
}

OciCompression oci_compression_from_string(const char *s)
{
        if (!s)
                return _OCI_COMPRESSION_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(compressions); i++)
                if (streq(s, compressions[i]))
                        return (OciCompression) i;
        return _OCI_COMPRESSION_INVALID;
}

int oci_layer_media_type_parse(const char *media_type, OciCompression *ret_compression, bool *ret_foreign)
{
        if (!media_type)
                return -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(layer_media_types); i++)
                if (media_type_equal(media_type, layer_media_types[i].media_type)) {
                        if (ret_compression)
                                *ret_compression = layer_media_types[i].compression;
                        if (ret_foreign)
                                *ret_foreign = layer_media_types[i].foreign;
                        return 0;
                }

        return -EMEDIUMTYPE;
}

void oci_strv_free(char **l)
{
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

static int json_check_depth(const char *p, size_t size, BerthError *err)
{
        bool in_string = false;
        unsigned depth = 0;

        for (size_t i = 0; i < size; i++) {
                char c = p[i];

                if (in_string) {
                        if (c == '\\') {
                                /* json-glib takes "\\" + any byte, e.g. the first byte of a UTF-8
                                 * sequence, as an escape and keeps the rest: invalid UTF-8 that its
                                 * generator writes out and its parser then refuses (found by
                                 * tests/fuzz/fuzz-config.c). */
                                if (i + 1 >= size || !p[i + 1] || !strchr("\"\\/bfnrtu", p[i + 1]))
                                        return berth_error_set(
                                                err, -EBADMSG,
                                                "The JSON document has an invalid escape sequence.");
                                i++;
                        } else if (c == '"')
                                in_string = false;
                } else if (c == '"')
                        in_string = true;
                else if (c == '{' || c == '[') {
                        if (++depth > OCI_JSON_DEPTH_MAX)
                                return berth_error_set(
                                        err, -EBADMSG,
                                        "The JSON document is nested more than %u levels deep.",
                                        OCI_JSON_DEPTH_MAX);
                } else if ((c == '}' || c == ']') && depth > 0)
                        depth--;
        }
        return 0;
}

int oci_json_check_text(const void *data, size_t size)
{
        if (json_check_depth(data, size, NULL) < 0 || !g_utf8_validate(data, (gssize) size, NULL))
                return -EBADMSG;
        return 0;
}

int oci_json_parse_object(const void *data, size_t size, size_t size_max, BerthError *err,
                          JsonNode **ret_root)
{
        g_autoptr(JsonParser) parser = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) root = NULL;
        int r;

        if (!data && size > 0)
                return -EINVAL;
        if (size > size_max)
                return berth_error_set(err, -EFBIG,
                                       "The JSON document is %zu bytes, more than the limit of %zu.", size,
                                       size_max);
        if (size == 0)
                return berth_error_set(err, -EBADMSG, "The JSON document is empty.");

        r = json_check_depth(data, size, err);
        if (r < 0)
                return r;
        /* JSON is UTF-8 (RFC 8259); json-glib does not check every byte of it. */
        if (!g_utf8_validate(data, (gssize) size, NULL))
                return berth_error_set(err, -EBADMSG, "The document is not valid JSON: it is not UTF-8.");

        parser = json_parser_new_immutable();
        if (!json_parser_load_from_data(parser, data, (gssize) size, &error))
                return berth_error_set(err, -EBADMSG, "The document is not valid JSON: %s", error->message);

        root = json_parser_steal_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return berth_error_set(err, -EBADMSG, "The JSON document is not an object.");

        *ret_root = TAKE_PTR(root);
        return 0;
}

int oci_json_get_schema_version(JsonObject *o, BerthError *err)
{
        int64_t v = 0;
        bool present;

        if (json_read_int64(o, "schemaVersion", &present, &v) < 0)
                return berth_error_set(err, -EINVAL, "The schemaVersion field is not an integer.");
        if (!present)
                return berth_error_set(err, -EINVAL, "The schemaVersion field is missing.");
        if (v == 1)
                return berth_error_set(
                        err, -EMEDIUMTYPE,
                        "Docker schema 1 manifests are not supported (deprecated since 2017); the image "
                        "must be pushed again with a current tool.");
        if (v != 2)
                return berth_error_set(err, -EINVAL, "The schemaVersion is %" PRIi64 ", not 2.", v);
        return 0;
}

void oci_descriptor_done(OciDescriptor *d)
{
        if (!d)
                return;
        free(d->media_type);
        free(d->digest);
        oci_strv_free(d->urls);
        *d = (OciDescriptor){};
}

int oci_descriptor_from_json(JsonObject *o, const char *what, BerthError *err, OciDescriptor *ret)
{
        _cleanup_(oci_descriptor_done) OciDescriptor d = {};
        const char *media_type, *digest;
        int64_t size = 0;
        bool present;
        int r;

        if (json_read_string(o, "mediaType", &media_type) < 0 || isempty(media_type))
                return berth_error_set(err, -EINVAL, "The %s has no media type.", what);

        if (json_read_string(o, "digest", &digest) < 0 || !digest)
                return berth_error_set(err, -EINVAL, "The %s has no digest.", what);
        r = digest_parse(digest, NULL, NULL);
        if (r == -EOPNOTSUPP || (r >= 0 && !digest_is_valid(digest)))
                return berth_error_set(
                        err, -EOPNOTSUPP,
                        "The digest '%s' of the %s uses an unsupported algorithm; only sha256 is supported.",
                        digest, what);
        if (r < 0)
                return berth_error_set(err, -EINVAL, "The digest '%s' of the %s is invalid.", digest, what);

        if (json_read_int64(o, "size", &present, &size) < 0 || !present)
                return berth_error_set(err, -EINVAL, "The size of the %s is missing or not an integer.",
                                       what);
        if (size < 0)
                return berth_error_set(err, -EINVAL, "The %s has a negative size.", what);

        r = json_read_strv(o, "urls", &d.urls);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return berth_error_set(err, -EINVAL, "The urls of the %s are not a list of strings.", what);
        STRV_FOREACH (u, d.urls)
                if (!startswith(*u, "https://") && !startswith(*u, "http://"))
                        return berth_error_set(err, -EINVAL, "The %s has a URL that is not http(s): '%s'.",
                                               what, *u);

        d.media_type = strdup(media_type);
        d.digest = strdup(digest);
        if (!d.media_type || !d.digest)
                return -ENOMEM;
        d.size = (uint64_t) size;

        *ret = d;
        d = (OciDescriptor){};
        return 0;
}

int oci_document_kind_detect(const char *content_type, const void *data, size_t size, BerthError *err,
                             OciDocumentKind *ret)
{
        OciDocumentKind header_kind = _OCI_DOCUMENT_KIND_INVALID, kind;
        g_autoptr(JsonNode) root = NULL;
        const char *media_type;
        bool has_manifests, has_layers;
        int64_t version = 0;
        JsonObject *o;
        int r;

        if (content_type) {
                for (size_t i = 0; i < ELEMENTSOF(schema1_media_types); i++)
                        if (media_type_equal(content_type, schema1_media_types[i]))
                                return berth_error_set(
                                        err, -EMEDIUMTYPE,
                                        "The registry sent a Docker schema 1 manifest, which is not "
                                        "supported.");
                header_kind = oci_document_kind_from_string(content_type);
        }

        r = oci_json_parse_object(data, size, OCI_MANIFEST_SIZE_MAX, err, &root);
        if (r < 0)
                return r;
        o = json_node_get_object(root);

        if (json_read_int64(o, "schemaVersion", NULL, &version) >= 0 && version == 1)
                return berth_error_set(err, -EMEDIUMTYPE, "Docker schema 1 manifests are not supported.");

        if (json_read_string(o, "mediaType", &media_type) < 0)
                return berth_error_set(err, -EINVAL, "The manifest's mediaType is not a string.");
        if (media_type) {
                kind = oci_document_kind_from_string(media_type);
                if (kind < 0)
                        return berth_error_set(err, -EMEDIUMTYPE, "Unsupported manifest media type '%s'.",
                                               media_type);
                if (header_kind >= 0 && header_kind != kind)
                        return berth_error_set(
                                err, -EINVAL,
                                "The Content-Type '%s' does not match the manifest's mediaType '%s'.",
                                content_type, media_type);
                *ret = kind;
                return 0;
        }

        has_manifests = json_object_has_member(o, "manifests");
        has_layers = json_object_has_member(o, "layers") || json_object_has_member(o, "config");
        if (has_manifests == has_layers)
                return berth_error_set(
                        err, -EINVAL, "The document is neither clearly a manifest nor an index (it has %s).",
                        has_manifests ? "both \"manifests\" and \"layers\""
                                      : "no \"manifests\" or \"layers\"");

        if (header_kind >= 0) {
                if (oci_document_kind_is_index(header_kind) != has_manifests)
                        return berth_error_set(
                                err, -EINVAL, "The Content-Type '%s' does not match the document's content.",
                                content_type);
                kind = header_kind;
        } else
                kind = has_manifests ? OCI_DOCUMENT_INDEX : OCI_DOCUMENT_MANIFEST;

        *ret = kind;
        return 0;
}

OciManifest *oci_manifest_free(OciManifest *m)
{
        if (!m)
                return NULL;

        oci_descriptor_done(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                oci_descriptor_done(m->layers + i);
        free(m->layers);
        return mfree(m);
}

int oci_manifest_parse(const void *data, size_t size, BerthError *err, OciManifest **ret)
{
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
        g_autoptr(JsonNode) root = NULL;
        JsonObject *o, *config;
        const char *media_type;
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

        m = calloc(1, sizeof(OciManifest));
        if (!m)
                return -ENOMEM;

        if (json_read_string(o, "mediaType", &media_type) < 0)
                return berth_error_set(err, -EINVAL, "The manifest's mediaType is not a string.");
        m->kind = media_type ? oci_document_kind_from_string(media_type) : OCI_DOCUMENT_MANIFEST;
        if (oci_document_kind_is_index(m->kind))
                return berth_error_set(err, -EINVAL, "The document is an image index, not a manifest.");
        if (m->kind < 0)
                return berth_error_set(err, -EMEDIUMTYPE, "Unsupported manifest media type '%s'.",
                                       media_type);

        if (json_read_object(o, "config", &config) < 0 || !config)
                return berth_error_set(err, -EINVAL, "The manifest has no config descriptor.");
        r = oci_descriptor_from_json(config, "manifest's config", err, &m->config);
        if (r < 0)
                return r;
        if (!media_type_equal(m->config.media_type, OCI_MEDIA_TYPE_CONFIG) &&
            !media_type_equal(m->config.media_type, DOCKER_MEDIA_TYPE_CONFIG))
                return berth_error_set(err, -EMEDIUMTYPE,
                                       "This is not a container image: its config has media type '%s'.",
                                       m->config.media_type);

        if (json_read_array(o, "layers", &a) < 0 || !a)
                return berth_error_set(err, -EINVAL, "The manifest has no list of layers.");
        n = json_array_get_length(a);
        if (n > OCI_MANIFEST_LAYERS_MAX)
                return berth_error_set(err, -EINVAL,
                                       "The manifest has %u layers, more than the limit of %u.", n,
                                       OCI_MANIFEST_LAYERS_MAX);

        m->layers = calloc(MAX(n, 1U), sizeof(OciDescriptor));
        if (!m->layers)
                return -ENOMEM;

        for (guint i = 0; i < n; i++) {
                JsonNode *e = json_array_get_element(a, i);
                OciDescriptor *d = m->layers + i;
                char what[48];

                snprintf(what, sizeof(what), "manifest's layer %u", i + 1);
                if (!JSON_NODE_HOLDS_OBJECT(e))
                        return berth_error_set(err, -EINVAL, "The %s is not an object.", what);
                r = oci_descriptor_from_json(json_node_get_object(e), what, err, d);
                if (r < 0)
                        return r;
                m->n_layers++;

                r = oci_layer_media_type_parse(d->media_type, &d->compression, &d->foreign);
                if (r < 0)
                        return berth_error_set(err, -EMEDIUMTYPE,
                                               "The %s has an unsupported media type '%s'; only tar, "
                                               "tar+gzip and tar+zstd layers are supported.",
                                               what, d->media_type);
        }

        *ret = TAKE_PTR(m);
        return 0;
}

static int build_descriptor(JsonBuilder *b, const OciDescriptor *d, const char *default_media_type)
{
        if (!digest_is_valid(d->digest) || d->size > INT64_MAX)
                return -EINVAL;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "mediaType");
        json_builder_add_string_value(b, d->media_type ?: default_media_type);
        json_builder_set_member_name(b, "digest");
        json_builder_add_string_value(b, d->digest);
        json_build_int(b, "size", (gint64) d->size);
        if (d->urls && d->urls[0]) {
                json_builder_set_member_name(b, "urls");
                json_builder_begin_array(b);
                STRV_FOREACH (u, d->urls)
                        json_builder_add_string_value(b, *u);
                json_builder_end_array(b);
        }
        json_builder_end_object(b);
        return 0;
}

int oci_manifest_build(const OciDescriptor *config, const OciDescriptor *layers, size_t n_layers,
                       char **ret_json, size_t *ret_size)
{
        return oci_manifest_build_kind(OCI_DOCUMENT_MANIFEST, config, layers, n_layers, ret_json, ret_size);
}

int oci_manifest_build_kind(OciDocumentKind kind, const OciDescriptor *config, const OciDescriptor *layers,
                            size_t n_layers, char **ret_json, size_t *ret_size)
{
        bool docker = kind == OCI_DOCUMENT_DOCKER_MANIFEST;
        g_autoptr(JsonBuilder) b = json_builder_new_immutable();
        g_autoptr(JsonGenerator) g = json_generator_new();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *text = NULL;
        gsize length = 0;
        char *copy;
        int r;

        if (!config || (!layers && n_layers > 0) || n_layers > OCI_MANIFEST_LAYERS_MAX ||
            (kind != OCI_DOCUMENT_MANIFEST && kind != OCI_DOCUMENT_DOCKER_MANIFEST))
                return -EINVAL;

        json_builder_begin_object(b);
        json_build_int(b, "schemaVersion", 2);
        json_builder_set_member_name(b, "mediaType");
        json_builder_add_string_value(b, docker ? DOCKER_MEDIA_TYPE_MANIFEST : OCI_MEDIA_TYPE_MANIFEST);
        json_builder_set_member_name(b, "config");
        r = build_descriptor(b, config, docker ? DOCKER_MEDIA_TYPE_CONFIG : OCI_MEDIA_TYPE_CONFIG);
        if (r < 0)
                return r;
        json_builder_set_member_name(b, "layers");
        json_builder_begin_array(b);
        for (size_t i = 0; i < n_layers; i++) {
                r = build_descriptor(b, layers + i,
                                     docker ? DOCKER_MEDIA_TYPE_LAYER_GZIP : OCI_MEDIA_TYPE_LAYER_GZIP);
                if (r < 0)
                        return r;
        }
        json_builder_end_array(b);
        json_builder_end_object(b);

        root = json_builder_get_root(b);
        json_generator_set_root(g, root);
        text = json_generator_to_data(g, &length);
        if (!text)
                return -ENOMEM;

        copy = strndup(text, length);
        if (!copy)
                return -ENOMEM;

        *ret_json = copy;
        if (ret_size)
                *ret_size = length;
        return 0;
}
