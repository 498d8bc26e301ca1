/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/platform.h"

#define H(c)                                                                                                \
        c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
                c c c c c c c c c c c c c c
#define DA "sha256:" H("a")
#define DB "sha256:" H("b")
#define DC "sha256:" H("c")
#define DD "sha256:" H("d")
#define DE "sha256:" H("e")
#define DF "sha256:" H("f")
#define D0 "sha256:" H("0")
#define D1 "sha256:" H("1")
#define D2 "sha256:" H("2")

static const char oci_manifest[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DA
        "\",\"size\":1470},"
        "\"layers\":["
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" DB "\",\"size\":10240},"
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DC
        "\",\"size\":29124856,"
        "\"annotations\":{\"org.opencontainers.image.title\":\"x\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" DD "\",\"size\":0},"
        "{\"mediaType\":\"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip\",\"digest\":\"" DE
        "\","
        "\"size\":7,\"urls\":[\"https://mcr.example.com/blob\"]}],"
        "\"annotations\":{\"a\":\"b\"}}";

static const char docker_manifest[] =
        "{\n   \"schemaVersion\": 2,\n   \"mediaType\": "
        "\"application/vnd.docker.distribution.manifest.v2+json\",\n"
        "   \"config\": {\"mediaType\": \"application/vnd.docker.container.image.v1+json\", \"size\": 581, "
        "\"digest\": \"" DA "\"},\n"
        "   \"layers\": [\n"
        "      {\"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\", \"size\": 29150856, "
        "\"digest\": \"" DB "\"},\n"
        "      {\"mediaType\": \"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\", \"size\": 1, "
        "\"digest\": \"" DC "\", \"urls\": [\"https://a.example/1\", \"http://b.example/2\"]},\n"
        "      {\"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar\", \"size\": 2, \"digest\": "
        "\"" DD "\"},\n"
        "      {\"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.zstd\", \"size\": 3, "
        "\"digest\": \"" DE "\"}\n"
        "   ]\n}\n";

static const char oci_index[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DA "\",\"size\":1,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DB "\",\"size\":2,"
        "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v5\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DC "\",\"size\":3,"
        "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DD "\",\"size\":4,"
        "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DE "\",\"size\":5,"
        "\"platform\":{\"architecture\":\"386\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DF "\",\"size\":6,"
        "\"platform\":{\"architecture\":\"ppc64le\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D0 "\",\"size\":7,"
        "\"annotations\":{\"vnd.docker.reference.digest\":\"" DA "\","
        "\"vnd.docker.reference.type\":\"attestation-manifest\"},"
        "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\",\"size\":8,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.1\"}}"
        "]}";

static const char docker_list[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
        "\"manifests\":["
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" DA
        "\",\"size\":1,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":\"v3\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" DB
        "\",\"size\":2,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":\"v2\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" DC
        "\",\"size\":3,"
        "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" DD
        "\",\"size\":4,"
        "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"" DE "\",\"size\":5,"
        "\"platform\":{\"architecture\":\"s390x\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" DF
        "\",\"size\":6}"
        "]}";

static void test_manifest_oci(void)
{
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

        g_assert_cmpint(oci_manifest_parse(oci_manifest, strlen(oci_manifest), &reason, &m), ==, 0);
        g_assert_cmpint(reason.error, ==, 0);
        g_assert_cmpint(m->kind, ==, OCI_DOCUMENT_MANIFEST);
        g_assert_cmpstr(m->config.media_type, ==, OCI_MEDIA_TYPE_CONFIG);
        g_assert_cmpstr(m->config.digest, ==, DA);
        g_assert_cmpuint(m->config.size, ==, 1470);
        g_assert_cmpuint(m->n_layers, ==, 4);
        g_assert_cmpint(m->layers[0].compression, ==, OCI_COMPRESSION_NONE);
        g_assert_cmpint(m->layers[1].compression, ==, OCI_COMPRESSION_GZIP);
        g_assert_cmpuint(m->layers[1].size, ==, 29124856);
        g_assert_cmpint(m->layers[2].compression, ==, OCI_COMPRESSION_ZSTD);
        g_assert_cmpuint(m->layers[2].size, ==, 0);
        g_assert_false(m->layers[2].foreign);
        g_assert_null(m->layers[2].urls);
        g_assert_cmpint(m->layers[3].compression, ==, OCI_COMPRESSION_GZIP);
        g_assert_true(m->layers[3].foreign);
        g_assert_cmpstr(m->layers[3].urls[0], ==, "https://mcr.example.com/blob");
        g_assert_null(m->layers[3].urls[1]);
}

static void test_manifest_docker(void)
{
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;

        g_assert_cmpint(oci_manifest_parse(docker_manifest, strlen(docker_manifest), NULL, &m), ==, 0);
        g_assert_cmpint(m->kind, ==, OCI_DOCUMENT_DOCKER_MANIFEST);
        g_assert_cmpstr(m->config.media_type, ==, DOCKER_MEDIA_TYPE_CONFIG);
        g_assert_cmpuint(m->n_layers, ==, 4);
        g_assert_cmpstr(m->layers[0].media_type, ==, DOCKER_MEDIA_TYPE_LAYER_GZIP);
        g_assert_cmpint(m->layers[0].compression, ==, OCI_COMPRESSION_GZIP);
        g_assert_false(m->layers[0].foreign);
        g_assert_true(m->layers[1].foreign);
        g_assert_cmpuint(g_strv_length(m->layers[1].urls), ==, 2);
        g_assert_cmpint(m->layers[2].compression, ==, OCI_COMPRESSION_NONE);
        g_assert_cmpint(m->layers[3].compression, ==, OCI_COMPRESSION_ZSTD);
}

static void test_manifest_no_media_type(void)
{
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
        const char *doc = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
                          "vnd.oci.image.config.v1+json\","
                          "\"digest\":\"" DA "\",\"size\":1},\"layers\":[]}";

        /* OCI allows the mediaType to be left out; an image with no layers (FROM scratch) is fine. */
        g_assert_cmpint(oci_manifest_parse(doc, strlen(doc), NULL, &m), ==, 0);
        g_assert_cmpint(m->kind, ==, OCI_DOCUMENT_MANIFEST);
        g_assert_cmpuint(m->n_layers, ==, 0);
}

#define CONFIG_OK                                                                                           \
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DA           \
        "\",\"size\":1}"
#define LAYER(mt, d, sz) "{\"mediaType\":\"" mt "\",\"digest\":\"" d "\",\"size\":" sz "}"
#define LAYER_OK         LAYER("application/vnd.oci.image.layer.v1.tar+gzip", DB, "2")

static void test_manifest_bad(void)
{
        static const struct {
                const char *json;
                int error;
        } bad[] = {
                { "", -EBADMSG },
                { "not json", -EBADMSG },
                { "[1,2]", -EBADMSG },
                { "{\"schemaVersion\":2,", -EBADMSG },
                { "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", -EMEDIUMTYPE },
                { "{\"schemaVersion\":3," CONFIG_OK ",\"layers\":[]}", -EINVAL },
                { "{\"schemaVersion\":\"2\"," CONFIG_OK ",\"layers\":[]}", -EINVAL },
                { "{\"schemaVersion\":2.0," CONFIG_OK ",\"layers\":[]}", -EINVAL },
                { "{" CONFIG_OK ",\"layers\":[]}", -EINVAL },
                { "{\"schemaVersion\":2,\"layers\":[" LAYER_OK "]}", -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK "}", -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK ",\"layers\":{}}", -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[1]}", -EINVAL },
                { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\"," CONFIG_OK
                  ",\"layers\":[]}",
                  -EINVAL },
                { "{\"schemaVersion\":2,\"mediaType\":\"application/x-foo\"," CONFIG_OK ",\"layers\":[]}",
                  -EMEDIUMTYPE },
                { "{\"schemaVersion\":2,\"mediaType\":7," CONFIG_OK ",\"layers\":[]}", -EINVAL },
                /* A Helm chart, not a container image. */
                { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
                  "vnd.cncf.helm.config.v1+json\","
                  "\"digest\":\"" DA "\",\"size\":1},\"layers\":[]}",
                  -EMEDIUMTYPE },
                { "{\"schemaVersion\":2," CONFIG_OK
                  ",\"layers\":[" LAYER("application/vnd.oci.image.layer.v1.tar+bzip2", DB, "2") "]}",
                  -EMEDIUMTYPE },
                { "{\"schemaVersion\":2," CONFIG_OK
                  ",\"layers\":[" LAYER("application/vnd.docker.plugin.v1+json", DB, "2") "]}",
                  -EMEDIUMTYPE },
                { "{\"schemaVersion\":2," CONFIG_OK
                  ",\"layers\":[" LAYER("application/vnd.oci.image.layer.v1.tar", "sha256:abc", "2") "]}",
                  -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[" LAYER(
                          "application/vnd.oci.image.layer.v1.tar", "sha512:" H("a") H("a"), "2") "]}",
                  -EOPNOTSUPP },
                { "{\"schemaVersion\":2," CONFIG_OK
                  ",\"layers\":[" LAYER("application/vnd.oci.image.layer.v1.tar", DB, "-1") "]}",
                  -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK
                  ",\"layers\":[" LAYER("application/vnd.oci.image.layer.v1.tar", DB, "1.5") "]}",
                  -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK
                  ",\"layers\":[" LAYER("application/vnd.oci.image.layer.v1.tar", DB, "\"7\"") "]}",
                  -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[{\"digest\":\"" DB "\",\"size\":1}]}",
                  -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK
                  ",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                  "\"size\":1}]}",
                  -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK
                  ",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                  "\"digest\":\"" DB "\",\"size\":1,\"urls\":[\"file:///etc/shadow\"]}]}",
                  -EINVAL },
                { "{\"schemaVersion\":2," CONFIG_OK
                  ",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                  "\"digest\":\"" DB "\",\"size\":1,\"urls\":\"https://x\"}]}",
                  -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
                _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

                g_test_message("bad manifest %s", bad[i].json);
                g_assert_cmpint(oci_manifest_parse(bad[i].json, strlen(bad[i].json), &reason, &m), ==,
                                bad[i].error);
                g_assert_null(m);
                g_assert_nonnull(reason.message);
                g_test_message("  -> %s", reason.message);
        }

        /* An index is not a manifest, and the other way round. */
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
        _cleanup_(oci_index_freep) OciIndex *idx = NULL;
        g_assert_cmpint(oci_manifest_parse(oci_index, strlen(oci_index), NULL, &m), ==, -EINVAL);
        g_assert_cmpint(oci_index_parse(oci_manifest, strlen(oci_manifest), NULL, &idx), ==, -EINVAL);
}

static void test_manifest_limits(void)
{
        g_autoptr(GString) s = g_string_new("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[");
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        g_autofree char *big = NULL;

        for (unsigned i = 0; i < OCI_MANIFEST_LAYERS_MAX; i++)
                g_string_append(s, i == 0 ? LAYER_OK : "," LAYER_OK);
        g_string_append(s, "]}");
        g_assert_cmpint(oci_manifest_parse(s->str, s->len, NULL, &m), ==, 0);
        g_assert_cmpuint(m->n_layers, ==, OCI_MANIFEST_LAYERS_MAX);
        m = oci_manifest_free(m);

        g_string_truncate(s, s->len - 2);
        g_string_append(s, "," LAYER_OK "]}");
        g_assert_cmpint(oci_manifest_parse(s->str, s->len, &reason, &m), ==, -EINVAL);
        g_assert_nonnull(strstr(reason.message, "limit"));

        big = g_malloc(OCI_MANIFEST_SIZE_MAX + 1);
        memset(big, ' ', OCI_MANIFEST_SIZE_MAX + 1);
        g_assert_cmpint(oci_manifest_parse(big, OCI_MANIFEST_SIZE_MAX + 1, NULL, &m), ==, -EFBIG);
        g_assert_cmpint(oci_document_kind_detect(NULL, big, OCI_MANIFEST_SIZE_MAX + 1, NULL,
                                                 &(OciDocumentKind){ 0 }),
                        ==, -EFBIG);

        /* Brackets inside strings do not count towards the depth limit. */
        g_autoptr(GString) deep = g_string_new("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[],\"x\":\"");
        for (int i = 0; i < 1000; i++)
                g_string_append(deep, "[{\\\"");
        g_string_append(deep, "\"}");
        g_assert_cmpint(oci_manifest_parse(deep->str, deep->len, NULL, &m), ==, 0);
        m = oci_manifest_free(m);

        g_string_assign(deep, "{\"schemaVersion\":2,\"x\":");
        for (int i = 0; i < 65; i++)
                g_string_append_c(deep, '[');
        for (int i = 0; i < 65; i++)
                g_string_append_c(deep, ']');
        g_string_append(deep, "}");
        g_assert_cmpint(oci_manifest_parse(deep->str, deep->len, NULL, &m), ==, -EBADMSG);
}

static void test_layer_media_types(void)
{
        static const struct {
                const char *media_type;
                OciCompression compression;
                bool foreign;
        } good[] = {
                { "application/vnd.oci.image.layer.v1.tar", OCI_COMPRESSION_NONE, false },
                { "application/vnd.oci.image.layer.v1.tar+gzip", OCI_COMPRESSION_GZIP, false },
                { "application/vnd.oci.image.layer.v1.tar+zstd", OCI_COMPRESSION_ZSTD, false },
                { "application/vnd.oci.image.layer.nondistributable.v1.tar", OCI_COMPRESSION_NONE, true },
                { "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", OCI_COMPRESSION_GZIP,
                  true },
                { "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", OCI_COMPRESSION_ZSTD,
                  true },
                { "application/vnd.docker.image.rootfs.diff.tar.gzip", OCI_COMPRESSION_GZIP, false },
                { "application/vnd.docker.image.rootfs.diff.tar", OCI_COMPRESSION_NONE, false },
                { "application/vnd.docker.image.rootfs.diff.tar.zstd", OCI_COMPRESSION_ZSTD, false },
                { "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", OCI_COMPRESSION_GZIP, true },
                { "application/vnd.docker.image.rootfs.foreign.diff.tar", OCI_COMPRESSION_NONE, true },
                { "Application/VND.OCI.image.layer.v1.tar+gzip ; foo=bar", OCI_COMPRESSION_GZIP, false },
        };
        OciCompression c;
        bool foreign;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                g_test_message("layer type %s", good[i].media_type);
                g_assert_cmpint(oci_layer_media_type_parse(good[i].media_type, &c, &foreign), ==, 0);
                g_assert_cmpint(c, ==, good[i].compression);
                g_assert_cmpint(foreign, ==, good[i].foreign);
        }
        g_assert_cmpint(oci_layer_media_type_parse("application/vnd.oci.image.layer.v1.tar+gzipx", &c, NULL),
                        ==, -EMEDIUMTYPE);
        g_assert_cmpint(oci_layer_media_type_parse("application/octet-stream", &c, NULL), ==, -EMEDIUMTYPE);
        g_assert_cmpint(oci_layer_media_type_parse("", &c, NULL), ==, -EMEDIUMTYPE);

        g_assert_cmpstr(oci_compression_to_string(OCI_COMPRESSION_ZSTD), ==, "zstd");
        g_assert_cmpint(oci_compression_from_string("gzip"), ==, OCI_COMPRESSION_GZIP);
        g_assert_cmpint(oci_compression_from_string("xz"), ==, -EINVAL);
}

static void test_document_kind(void)
{
        const char *no_mt_manifest = "{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[]}";
        const char *no_mt_index = "{\"schemaVersion\":2,\"manifests\":[]}";
        const char *neither = "{\"schemaVersion\":2}";
        const char *both = "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}";
        const char *schema1 = "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"y\",\"fsLayers\":[]}";
        const struct {
                const char *content_type;
                const char *body;
                int result; /* a kind, or a negative errno */
        } cases[] = {
                { OCI_MEDIA_TYPE_MANIFEST, oci_manifest, OCI_DOCUMENT_MANIFEST },
                { NULL, oci_manifest, OCI_DOCUMENT_MANIFEST },
                { "application/json", oci_manifest, OCI_DOCUMENT_MANIFEST },
                { DOCKER_MEDIA_TYPE_MANIFEST, docker_manifest, OCI_DOCUMENT_DOCKER_MANIFEST },
                { "application/octet-stream", docker_manifest, OCI_DOCUMENT_DOCKER_MANIFEST },
                { OCI_MEDIA_TYPE_INDEX, oci_index, OCI_DOCUMENT_INDEX },
                { "APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON; charset=utf-8", oci_index, OCI_DOCUMENT_INDEX },
                { DOCKER_MEDIA_TYPE_MANIFEST_LIST, docker_list, OCI_DOCUMENT_DOCKER_MANIFEST_LIST },
                { NULL, docker_list, OCI_DOCUMENT_DOCKER_MANIFEST_LIST },
                /* Without a mediaType in the body: the header decides, or the shape. */
                { NULL, no_mt_manifest, OCI_DOCUMENT_MANIFEST },
                { "text/plain", no_mt_index, OCI_DOCUMENT_INDEX },
                { DOCKER_MEDIA_TYPE_MANIFEST, no_mt_manifest, OCI_DOCUMENT_DOCKER_MANIFEST },
                { DOCKER_MEDIA_TYPE_MANIFEST_LIST, no_mt_index, OCI_DOCUMENT_DOCKER_MANIFEST_LIST },
                { OCI_MEDIA_TYPE_INDEX, no_mt_manifest, -EINVAL },
                { NULL, neither, -EINVAL },
                { NULL, both, -EINVAL },
                /* Header and body disagree. */
                { OCI_MEDIA_TYPE_MANIFEST, docker_manifest, -EINVAL },
                { OCI_MEDIA_TYPE_INDEX, oci_manifest, -EINVAL },
                /* Schema 1, by header or by body. */
                { "application/vnd.docker.distribution.manifest.v1+prettyjws", schema1, -EMEDIUMTYPE },
                { "application/vnd.docker.distribution.manifest.v1+json", no_mt_manifest, -EMEDIUMTYPE },
                { "application/json", schema1, -EMEDIUMTYPE },
                { NULL, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.foo+json\"}", -EMEDIUMTYPE },
                { NULL, "<html>", -EBADMSG },
                { NULL, "", -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
                OciDocumentKind k = _OCI_DOCUMENT_KIND_INVALID;
                int r;

                g_test_message("kind of case %zu, Content-Type %s", i, strna(cases[i].content_type));
                r = oci_document_kind_detect(cases[i].content_type, cases[i].body, strlen(cases[i].body),
                                             &reason, &k);
                if (cases[i].result >= 0) {
                        g_assert_cmpint(r, ==, 0);
                        g_assert_cmpint(k, ==, cases[i].result);
                        g_assert_cmpint(reason.error, ==, 0);
                } else {
                        g_assert_cmpint(r, ==, cases[i].result);
                        g_assert_nonnull(reason.message);
                        g_test_message("  -> %s", reason.message);
                }
        }

        g_assert_cmpstr(oci_document_kind_to_string(OCI_DOCUMENT_DOCKER_MANIFEST_LIST), ==,
                        DOCKER_MEDIA_TYPE_MANIFEST_LIST);
        g_assert_null(oci_document_kind_to_string(_OCI_DOCUMENT_KIND_MAX));
        g_assert_true(oci_document_kind_is_index(OCI_DOCUMENT_INDEX));
        g_assert_false(oci_document_kind_is_index(OCI_DOCUMENT_DOCKER_MANIFEST));
        g_assert_nonnull(strstr(OCI_MANIFEST_ACCEPT, DOCKER_MEDIA_TYPE_MANIFEST_LIST));
}

static void test_index_parse(void)
{
        _cleanup_(oci_index_freep) OciIndex *idx = NULL, *list = NULL;
        _cleanup_free_ char *platforms = NULL;

        g_assert_cmpint(oci_index_parse(oci_index, strlen(oci_index), NULL, &idx), ==, 0);
        g_assert_cmpint(idx->kind, ==, OCI_DOCUMENT_INDEX);
        g_assert_cmpuint(idx->n_entries, ==, 8);
        g_assert_cmpstr(idx->entries[2].descriptor.digest, ==, DC);
        g_assert_true(idx->entries[2].has_platform);
        g_assert_cmpstr(idx->entries[2].platform.architecture, ==, "arm");
        g_assert_cmpstr(idx->entries[2].platform.variant, ==, "v7");
        g_assert_cmpstr(idx->entries[7].platform.os, ==, "windows");
        g_assert_cmpstr(idx->entries[7].platform.os_version, ==, "10.0.17763.1");

        g_assert_cmpint(oci_index_platforms_to_string(idx, &platforms), ==, 0);
        g_assert_cmpstr(platforms, ==,
                        "linux/amd64, linux/arm/v5, linux/arm/v7, linux/arm64/v8, linux/386, linux/ppc64le, "
                        "windows/amd64");

        g_assert_cmpint(oci_index_parse(docker_list, strlen(docker_list), NULL, &list), ==, 0);
        g_assert_cmpint(list->kind, ==, OCI_DOCUMENT_DOCKER_MANIFEST_LIST);
        g_assert_cmpuint(list->n_entries, ==, 6);
        g_assert_false(list->entries[5].has_platform);
        g_assert_null(list->entries[3].platform.variant);

        const char *empty = "{\"schemaVersion\":2,\"manifests\":[]}";
        _cleanup_(oci_index_freep) OciIndex *e = NULL;
        _cleanup_free_ char *none = NULL;
        const OciDescriptor *d = NULL;
        g_assert_cmpint(oci_index_parse(empty, strlen(empty), NULL, &e), ==, 0);
        g_assert_cmpint(e->kind, ==, OCI_DOCUMENT_INDEX);
        g_assert_cmpint(oci_index_platforms_to_string(e, &none), ==, 0);
        g_assert_cmpstr(none, ==, "(none)");
        g_assert_cmpint(oci_index_pick_platform(e, NULL, &d), ==, -ENOENT);
}

static void test_index_bad(void)
{
#define ENTRY(extra)                                                                                        \
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DA                    \
        "\",\"size\":1" extra "}"
        static const struct {
                const char *json;
                int error;
        } bad[] = {
                { "{\"manifests\":[]}", -EINVAL },
                { "{\"schemaVersion\":1,\"manifests\":[]}", -EMEDIUMTYPE },
                { "{\"schemaVersion\":2}", -EINVAL },
                { "{\"schemaVersion\":2,\"manifests\":{}}", -EINVAL },
                { "{\"schemaVersion\":2,\"manifests\":[7]}", -EINVAL },
                { "{\"schemaVersion\":2,\"mediaType\":\"application/x\",\"manifests\":[]}", -EMEDIUMTYPE },
                { "{\"schemaVersion\":2,\"manifests\":[" ENTRY(",\"platform\":[]") "]}", -EINVAL },
                { "{\"schemaVersion\":2,\"manifests\":[" ENTRY(",\"platform\":{\"os\":\"linux\"}") "]}",
                  -EINVAL },
                { "{\"schemaVersion\":2,\"manifests\":[" ENTRY(
                          ",\"platform\":{\"os\":\"linux\",\"architecture\":1}") "]}",
                  -EINVAL },
                { "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:1\","
                  "\"size\":1}]}",
                  -EINVAL },
                { "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" DA
                  "\",\"size\":-3}]}",
                  -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(oci_index_freep) OciIndex *idx = NULL;
                _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

                g_test_message("bad index %s", bad[i].json);
                g_assert_cmpint(oci_index_parse(bad[i].json, strlen(bad[i].json), &reason, &idx), ==,
                                bad[i].error);
                g_assert_null(idx);
                g_assert_nonnull(reason.message);
                g_test_message("  -> %s", reason.message);
        }

        g_autoptr(GString) s = g_string_new("{\"schemaVersion\":2,\"manifests\":[");
        _cleanup_(oci_index_freep) OciIndex *idx = NULL;
        for (unsigned i = 0; i <= OCI_INDEX_ENTRIES_MAX; i++)
                g_string_append(s, i == 0 ? ENTRY("") : "," ENTRY(""));
        g_string_append(s, "]}");
        g_assert_cmpint(oci_index_parse(s->str, s->len, NULL, &idx), ==, -EINVAL);
#undef ENTRY
}

static void check_pick(const OciIndex *idx, const char *want, const char *expected_digest)
{
        _cleanup_(oci_platform_done) OciPlatform p = {};
        const OciDescriptor *d = NULL;

        g_test_message("pick %s", want);
        g_assert_cmpint(oci_platform_parse(want, &p), ==, 0);
        if (!expected_digest) {
                g_assert_cmpint(oci_index_pick_platform(idx, &p, &d), ==, -ENOENT);
                g_assert_null(d);
                return;
        }
        g_assert_cmpint(oci_index_pick_platform(idx, &p, &d), ==, 0);
        g_assert_cmpstr(d->digest, ==, expected_digest);
}

static void test_index_pick(void)
{
        _cleanup_(oci_index_freep) OciIndex *idx = NULL, *list = NULL;
        _cleanup_free_ char *platforms = NULL;

        g_assert_cmpint(oci_index_parse(oci_index, strlen(oci_index), NULL, &idx), ==, 0);

        check_pick(idx, "linux/amd64", DA);
        check_pick(idx, "amd64", DA);
        check_pick(idx, "linux/x86_64", DA);
        check_pick(idx, "linux/amd64/v3", DA); /* baseline runs on v3 */
        check_pick(idx, "linux/arm64", DD);
        check_pick(idx, "linux/aarch64", DD);
        check_pick(idx, "linux/arm64/v8", DD);
        check_pick(idx, "linux/arm/v7", DC);
        check_pick(idx, "linux/arm", DC); /* arm means v7 */
        check_pick(idx, "linux/armhf", DC);
        check_pick(idx, "linux/arm/v8", DC); /* 32-bit v8 runs v7 before v5 */
        check_pick(idx, "linux/arm/v6", DB); /* v7 does not run on v6; v5 does */
        check_pick(idx, "linux/armel", DB);
        check_pick(idx, "linux/arm/v5", DB);
        check_pick(idx, "linux/386", DE);
        check_pick(idx, "linux/i686", DE);
        check_pick(idx, "linux/ppc64le", DF);
        check_pick(idx, "linux/s390x", NULL);
        check_pick(idx, "linux/riscv64", NULL);
        check_pick(idx, "windows/amd64", D1);
        check_pick(idx, "darwin/arm64", NULL);
        check_pick(idx, "unknown/unknown", NULL); /* attestations are never picked */

        g_assert_cmpint(oci_index_parse(docker_list, strlen(docker_list), NULL, &list), ==, 0);
        /* amd64 without a level: a baseline build is absent, so the lowest level wins. */
        check_pick(list, "linux/amd64", DB);
        check_pick(list, "linux/amd64/v2", DB);
        check_pick(list, "linux/amd64/v3", DA);
        check_pick(list, "linux/amd64/v4", DA);
        /* "arm64" without a variant in the list is v8. */
        check_pick(list, "linux/arm64/v8", DD);
        check_pick(list, "linux/arm64", DD);
        check_pick(list, "linux/arm/v7", DC);
        check_pick(list, "linux/arm/v5", NULL);
        /* s390x is only present as a nested index, which is not followed; the platform-less entry never
         * matches. */
        check_pick(list, "linux/s390x", NULL);

        g_assert_cmpint(oci_index_platforms_to_string(list, &platforms), ==, 0);
        g_assert_cmpstr(platforms, ==, "linux/amd64/v3, linux/amd64/v2, linux/arm/v6, linux/arm64");
}

static void test_index_pick_arm64_fallback(void)
{
        const char *doc =
                "{\"schemaVersion\":2,\"manifests\":["
                "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DA "\","
                "\"size\":1,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"
                "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DB "\","
                "\"size\":1,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
                "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DC "\","
                "\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";
        _cleanup_(oci_index_freep) OciIndex *idx = NULL;

        g_assert_cmpint(oci_index_parse(doc, strlen(doc), NULL, &idx), ==, 0);
        /* No arm64 build: an arm64 host takes the best 32-bit arm one, as containerd does. */
        check_pick(idx, "linux/arm64", DB);
        check_pick(idx, "linux/arm/v7", DB);
        check_pick(idx, "linux/arm/v6", DA);
        check_pick(idx, "linux/386", NULL);
}

static void test_platform_from_machine(void)
{
        static const struct {
                const char *machine, *expected;
        } cases[] = {
                { "x86_64", "linux/amd64" },      { "aarch64", "linux/arm64/v8" },
                { "arm64", "linux/arm64/v8" },    { "armv7l", "linux/arm/v7" },
                { "armv6l", "linux/arm/v6" },     { "armv5tel", "linux/arm/v5" },
                { "armv8l", "linux/arm/v8" },     { "i686", "linux/386" },
                { "i386", "linux/386" },          { "ppc64le", "linux/ppc64le" },
                { "s390x", "linux/s390x" },       { "riscv64", "linux/riscv64" },
                { "mips64el", "linux/mips64le" }, { "loongarch64", "linux/loongarch64" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(oci_platform_done) OciPlatform p = {};
                _cleanup_free_ char *s = NULL;

                g_assert_cmpint(oci_platform_from_machine(cases[i].machine, &p), ==, 0);
                g_assert_cmpint(oci_platform_to_string(&p, &s), ==, 0);
                g_assert_cmpstr(s, ==, cases[i].expected);
        }

        OciPlatform untouched = {};
        g_assert_cmpint(oci_platform_from_machine("", &untouched), ==, -EINVAL);
        g_assert_cmpint(oci_platform_from_machine(NULL, &untouched), ==, -EINVAL);
}

static void test_platform_parse(void)
{
        static const struct {
                const char *in, *expected;
        } good[] = {
                { "linux/amd64", "linux/amd64" },       { "linux/amd64/v1", "linux/amd64" },
                { "linux/amd64/v3", "linux/amd64/v3" }, { "LINUX/X86_64", "linux/amd64" },
                { "linux/arm64/8", "linux/arm64/v8" },  { "linux/arm/7", "linux/arm/v7" },
                { "arm64", "linux/arm64/v8" },          { "windows/amd64", "windows/amd64" },
        };
        static const char *const bad[] = { "",          "/",       "linux/",       "/amd64",
                                           "linux//v7", "a/b/c/d", "linux/arm/v7/" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(oci_platform_done) OciPlatform p = {};
                _cleanup_free_ char *s = NULL;

                g_assert_cmpint(oci_platform_parse(good[i].in, &p), ==, 0);
                g_assert_cmpint(oci_platform_to_string(&p, &s), ==, 0);
                g_assert_cmpstr(s, ==, good[i].expected);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                OciPlatform p = {};

                g_test_message("bad platform '%s'", bad[i]);
                g_assert_cmpint(oci_platform_parse(bad[i], &p), ==, -EINVAL);
                g_assert_null(p.os);
        }
}

static void test_platform_host(void)
{
        _cleanup_(oci_platform_done) OciPlatform p = {}, q = {}, copy = {};
        _cleanup_free_ char *s = NULL;
        _cleanup_(oci_index_freep) OciIndex *idx = NULL;
        const OciDescriptor *d = NULL;

        g_setenv("BERTH_PLATFORM", "linux/arm/v6", true);
        g_assert_cmpint(oci_platform_host(&p), ==, 0);
        g_assert_cmpint(oci_platform_to_string(&p, &s), ==, 0);
        g_assert_cmpstr(s, ==, "linux/arm/v6");
        g_assert_cmpint(oci_platform_copy(&p, &copy), ==, 0);
        g_assert_cmpstr(copy.variant, ==, "v6");

        /* The index picks for the host when no platform is given. */
        g_assert_cmpint(oci_index_parse(oci_index, strlen(oci_index), NULL, &idx), ==, 0);
        g_assert_cmpint(oci_index_pick_platform(idx, NULL, &d), ==, 0);
        g_assert_cmpstr(d->digest, ==, DB);

        /* A bad override falls back to uname. */
        g_setenv("BERTH_PLATFORM", "//", true);
        g_assert_cmpint(oci_platform_host(&q), ==, 0);
        g_assert_cmpstr(q.os, ==, "linux");
        g_assert_nonnull(q.architecture);
        g_unsetenv("BERTH_PLATFORM");
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/manifest/oci", test_manifest_oci);
        g_test_add_func("/manifest/docker", test_manifest_docker);
        g_test_add_func("/manifest/no-media-type", test_manifest_no_media_type);
        g_test_add_func("/manifest/bad", test_manifest_bad);
        g_test_add_func("/manifest/limits", test_manifest_limits);
        g_test_add_func("/manifest/layer-media-types", test_layer_media_types);
        g_test_add_func("/manifest/document-kind", test_document_kind);
        g_test_add_func("/index/parse", test_index_parse);
        g_test_add_func("/index/bad", test_index_bad);
        g_test_add_func("/index/pick", test_index_pick);
        g_test_add_func("/index/pick-arm64-fallback", test_index_pick_arm64_fallback);
        g_test_add_func("/platform/from-machine", test_platform_from_machine);
        g_test_add_func("/platform/parse", test_platform_parse);
        g_test_add_func("/platform/host", test_platform_host);

        return g_test_run();
}
