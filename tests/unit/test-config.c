/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "oci/config.h"
#include "oci/manifest.h"

#define DIFF0 "sha256:4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e"
#define DIFF1 "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2"
#define DIFF2 "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06"
/* Computed outside berth: printf '%s %s' "$DIFF0" "$DIFF1" | sha256sum, then the same with that and DIFF2.
 */
#define CHAIN1 "sha256:ef232af0eb422cdfd7917631657cd8ed2bfd5b9461b37c427aa0d3e0a19adf79"
#define CHAIN2 "sha256:7ad3896338947cc04ee0b35b50d400ff32538d63f42f85ec87feac78bf71a54d"

/* Shaped like `docker image inspect`'s source for debian:bookworm-slim plus a few extra fields. */
static const char docker_config[] =
        "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\","
        "\"created\":\"2024-01-11T00:52:03.123456789Z\",\"author\":\"Berth Tests <t@example.com>\","
        "\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"1000:1000\",\"AttachStdin\":false,"
        "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},"
        "\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"LANG=C.UTF-8\"],"
        "\"Cmd\":[\"bash\"],\"Entrypoint\":null,\"Image\":\"\",\"Volumes\":{\"/data\":{}},"
        "\"WorkingDir\":\"/srv\",\"OnBuild\":null,"
        "\"Labels\":{\"org.opencontainers.image.title\":\"demo\",\"maintainer\":\"x\"},"
        "\"StopSignal\":\"SIGQUIT\"},"
        "\"container_config\":{\"Cmd\":[\"/bin/sh\"]},\"docker_version\":\"20.10.23\","
        "\"history\":[{\"created\":\"2024-01-11T00:52:02.5Z\",\"created_by\":\"/bin/sh -c #(nop) ADD "
        "file:abc in / \"},"
        "{\"created\":\"2024-01-11T02:52:03+02:00\",\"created_by\":\"/bin/sh -c #(nop)  CMD "
        "[\\\"bash\\\"]\","
        "\"empty_layer\":true,\"comment\":\"buildkit.dockerfile.v0\",\"author\":\"me\"},"
        "{\"created\":\"0001-01-01T00:00:00Z\",\"created_by\":\"RUN x\"}],"
        "\"os.version\":\"\","
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIFF0 "\",\"" DIFF1 "\",\"" DIFF2 "\"]}}";

static void check_docker_config(const OciImageConfig *c, bool reparsed)
{
        g_assert_cmpstr(c->architecture, ==, "arm64");
        g_assert_cmpstr(c->variant, ==, "v8");
        g_assert_cmpstr(c->os, ==, "linux");
        /* 2024-01-11T00:52:03Z is 1704934323; fractions past µs are dropped. */
        g_assert_cmpuint(c->created_usec, ==, UINT64_C(1704934323123456));
        g_assert_cmpstr(c->author, ==, "Berth Tests <t@example.com>");
        g_assert_cmpstr(c->user, ==, "1000:1000");
        g_assert_cmpuint(g_strv_length(c->env), ==, 2);
        g_assert_cmpstr(c->env[1], ==, "LANG=C.UTF-8");
        g_assert_null(c->entrypoint);
        g_assert_cmpuint(g_strv_length(c->cmd), ==, 1);
        g_assert_cmpstr(c->cmd[0], ==, "bash");
        g_assert_cmpstr(c->working_dir, ==, "/srv");
        g_assert_cmpstr(oci_image_config_get_label(c, "maintainer"), ==, "x");
        g_assert_cmpstr(oci_image_config_get_label(c, "org.opencontainers.image.title"), ==, "demo");
        g_assert_null(oci_image_config_get_label(c, "nope"));
        g_assert_cmpstr(c->stop_signal, ==, "SIGQUIT");
        g_assert_cmpuint(g_strv_length(c->exposed_ports), ==, 2);
        g_assert_true(g_strv_contains((const char *const *) c->exposed_ports, "80/tcp"));
        g_assert_true(g_strv_contains((const char *const *) c->exposed_ports, "53/udp"));
        g_assert_cmpuint(g_strv_length(c->volumes), ==, 1);
        g_assert_cmpstr(c->volumes[0], ==, "/data");
        g_assert_cmpuint(oci_image_config_n_diff_ids(c), ==, 3);
        g_assert_cmpstr(c->diff_ids[2], ==, DIFF2);

        g_assert_cmpuint(c->n_history, ==, 3);
        g_assert_cmpuint(c->history[0].created_usec, ==, UINT64_C(1704934322500000));
        g_assert_false(c->history[0].empty_layer);
        g_assert_cmpuint(c->history[1].created_usec, ==, UINT64_C(1704934323000000));
        g_assert_cmpstr(c->history[1].created_by, ==, "/bin/sh -c #(nop)  CMD [\"bash\"]");
        g_assert_cmpstr(c->history[1].comment, ==, "buildkit.dockerfile.v0");
        g_assert_cmpstr(c->history[1].author, ==, "me");
        g_assert_true(c->history[1].empty_layer);
        g_assert_cmpuint(c->history[2].created_usec, ==, 0); /* Go's zero time */
        g_assert_null(c->history[2].comment);
        (void) reparsed;
}

static void test_config_parse(void)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

        g_assert_cmpint(oci_image_config_parse(docker_config, strlen(docker_config), &reason, &c), ==, 0);
        g_assert_cmpint(reason.error, ==, 0);
        check_docker_config(c, false);
}

static void test_config_round_trip(void)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL, *again = NULL;
        _cleanup_free_ char *json = NULL, *json2 = NULL;
        size_t size = 0, size2 = 0;

        g_assert_cmpint(oci_image_config_parse(docker_config, strlen(docker_config), NULL, &c), ==, 0);
        g_assert_cmpint(oci_image_config_to_json(c, &json, &size), ==, 0);
        g_assert_cmpuint(size, ==, strlen(json));
        g_test_message("%s", json);
        g_assert_nonnull(strstr(json, "\"created\":\"2024-01-11T00:52:03.123456Z\""));
        g_assert_nonnull(strstr(json, "\"type\":\"layers\""));
        g_assert_null(strstr(json, "Entrypoint"));

        g_assert_cmpint(oci_image_config_parse(json, size, NULL, &again), ==, 0);
        check_docker_config(again, true);

        /* Serialising is deterministic: the image id is the hash of these bytes. */
        g_assert_cmpint(oci_image_config_to_json(again, &json2, &size2), ==, 0);
        g_assert_cmpstr(json, ==, json2);
}

static void test_config_empty_vs_absent(void)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL, *again = NULL;
        _cleanup_free_ char *json = NULL;
        const char *doc = "{\"config\":{\"Entrypoint\":[],\"Cmd\":null},"
                          "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";

        g_assert_cmpint(oci_image_config_parse(doc, strlen(doc), NULL, &c), ==, 0);
        g_assert_nonnull(c->entrypoint);
        g_assert_null(c->entrypoint[0]);
        g_assert_null(c->cmd);
        g_assert_null(c->architecture);
        g_assert_cmpuint(c->created_usec, ==, 0);
        g_assert_cmpuint(oci_image_config_n_diff_ids(c), ==, 0);
        g_assert_cmpuint(c->n_history, ==, 0);

        g_assert_cmpint(oci_image_config_to_json(c, &json, NULL), ==, 0);
        g_assert_nonnull(strstr(json, "\"Entrypoint\":[]"));
        g_assert_null(strstr(json, "Cmd"));
        g_assert_null(strstr(json, "created"));
        g_assert_cmpint(oci_image_config_parse(json, strlen(json), NULL, &again), ==, 0);
        g_assert_nonnull(again->entrypoint);
        g_assert_null(again->cmd);
}

static void test_config_bad(void)
{
        static const struct {
                const char *json;
                int error;
        } bad[] = {
                { "", -EBADMSG },
                { "[]", -EBADMSG },
                { "{", -EBADMSG },
                { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}", -EBADMSG },
                { "{}", -EINVAL },
                { "{\"rootfs\":null}", -EINVAL },
                { "{\"rootfs\":{\"type\":\"tar\",\"diff_ids\":[]}}", -EINVAL },
                { "{\"rootfs\":{\"type\":\"layers\"}}", -EINVAL },
                { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:abc\"]}}", -EINVAL },
                { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[1]}}", -EINVAL },
                { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha512:"
                  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e\"]}}",
                  -EOPNOTSUPP },
                { "{\"architecture\":5,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", -EINVAL },
                { "{\"config\":[],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", -EINVAL },
                { "{\"config\":{\"Env\":\"A=b\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  -EINVAL },
                { "{\"config\":{\"Cmd\":[\"a\",1]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  -EINVAL },
                { "{\"config\":{\"Labels\":{\"a\":1}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  -EINVAL },
                { "{\"config\":{\"ExposedPorts\":[\"80\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}"
                  "}",
                  -EINVAL },
                { "{\"history\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", -EINVAL },
                { "{\"history\":[1],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", -EINVAL },
                { "{\"history\":[{\"empty_layer\":\"yes\"}],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}"
                  "}",
                  -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL;
                _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

                g_test_message("bad config %s", bad[i].json);
                g_assert_cmpint(oci_image_config_parse(bad[i].json, strlen(bad[i].json), &reason, &c), ==,
                                bad[i].error);
                g_assert_null(c);
                g_assert_nonnull(reason.message);
                g_test_message("  -> %s", reason.message);
        }
}

static void test_config_deep_and_big(void)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        g_autoptr(GString) deep = g_string_new("{\"x\":");
        g_autofree char *big = NULL;

        for (int i = 0; i < 100000; i++)
                g_string_append_c(deep, '[');
        g_assert_cmpint(oci_image_config_parse(deep->str, deep->len, &reason, &c), ==, -EBADMSG);
        g_assert_nonnull(strstr(reason.message, "nested"));

        big = g_malloc0(OCI_CONFIG_SIZE_MAX + 1);
        memset(big, ' ', OCI_CONFIG_SIZE_MAX + 1);
        g_assert_cmpint(oci_image_config_parse(big, OCI_CONFIG_SIZE_MAX + 1, NULL, &c), ==, -EFBIG);
}

static void test_chain_ids(void)
{
        char *const diff_ids[] = { (char *) DIFF0, (char *) DIFF1, (char *) DIFF2, NULL };
        char *const bad[] = { (char *) DIFF0, (char *) "sha256:nope", NULL };
        _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL;
        char **chain = NULL;

        g_assert_cmpint(oci_chain_ids(diff_ids, &chain), ==, 0);
        g_assert_cmpuint(g_strv_length(chain), ==, 3);
        g_assert_cmpstr(chain[0], ==, DIFF0);
        g_assert_cmpstr(chain[1], ==, CHAIN1);
        g_assert_cmpstr(chain[2], ==, CHAIN2);
        oci_strv_free(chain);

        g_assert_cmpint(oci_chain_ids(diff_ids + 2, &chain), ==, 0);
        g_assert_cmpuint(g_strv_length(chain), ==, 1);
        g_assert_cmpstr(chain[0], ==, DIFF2);
        oci_strv_free(chain);

        g_assert_cmpint(oci_chain_ids(NULL, &chain), ==, 0);
        g_assert_null(chain[0]);
        oci_strv_free(chain);

        g_assert_cmpint(oci_chain_ids(bad, &chain), ==, -EINVAL);

        /* Straight from a parsed config. */
        g_assert_cmpint(oci_image_config_parse(docker_config, strlen(docker_config), NULL, &c), ==, 0);
        g_assert_cmpint(oci_chain_ids(c->diff_ids, &chain), ==, 0);
        g_assert_cmpstr(chain[2], ==, CHAIN2);
        oci_strv_free(chain);
}

static void test_timestamps(void)
{
        _cleanup_free_ char *s = NULL, *z = NULL;
        uint64_t t = 1;

        g_assert_cmpint(oci_timestamp_parse("1970-01-01T00:00:01Z", &t), ==, 0);
        g_assert_cmpuint(t, ==, USEC_PER_SEC);
        g_assert_cmpint(oci_timestamp_parse("2024-01-11T01:52:03.5+01:00", &t), ==, 0);
        g_assert_cmpuint(t, ==, UINT64_C(1704934323500000));
        g_assert_cmpint(oci_timestamp_parse("1969-12-31T23:59:59Z", &t), ==, 0);
        g_assert_cmpuint(t, ==, 0);
        g_assert_cmpint(oci_timestamp_parse("yesterday", &t), ==, -EINVAL);
        g_assert_cmpint(oci_timestamp_parse("", &t), ==, -EINVAL);

        g_assert_cmpint(oci_timestamp_format(UINT64_C(1704934323000007), &s), ==, 0);
        g_assert_cmpstr(s, ==, "2024-01-11T00:52:03.000007Z");
        g_assert_cmpint(oci_timestamp_format(0, &z), ==, 0);
        g_assert_cmpstr(z, ==, "1970-01-01T00:00:00Z");
}

static void test_manifest_build(void)
{
        OciDescriptor config = { .digest = (char *) DIFF0, .size = 1234 };
        char *urls[] = { (char *) "https://example.com/blob", NULL };
        OciDescriptor layers[] = {
                { .digest = (char *) DIFF1, .size = 10 },
                { .media_type = (char *) OCI_MEDIA_TYPE_LAYER_ZSTD,
                  .digest = (char *) DIFF2,
                  .size = 0,
                  .urls = urls },
        };
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
        _cleanup_free_ char *json = NULL, *bad = NULL;
        size_t size;

        g_assert_cmpint(oci_manifest_build(&config, layers, ELEMENTSOF(layers), &json, &size), ==, 0);
        g_test_message("%s", json);
        g_assert_cmpint(oci_manifest_parse(json, size, NULL, &m), ==, 0);
        g_assert_cmpint(m->kind, ==, OCI_DOCUMENT_MANIFEST);
        g_assert_cmpstr(m->config.media_type, ==, OCI_MEDIA_TYPE_CONFIG);
        g_assert_cmpstr(m->config.digest, ==, DIFF0);
        g_assert_cmpuint(m->config.size, ==, 1234);
        g_assert_cmpuint(m->n_layers, ==, 2);
        g_assert_cmpstr(m->layers[0].media_type, ==, OCI_MEDIA_TYPE_LAYER_GZIP);
        g_assert_cmpint(m->layers[0].compression, ==, OCI_COMPRESSION_GZIP);
        g_assert_cmpint(m->layers[1].compression, ==, OCI_COMPRESSION_ZSTD);
        g_assert_cmpstr(m->layers[1].urls[0], ==, "https://example.com/blob");

        layers[0].digest = (char *) "sha256:123";
        g_assert_cmpint(oci_manifest_build(&config, layers, ELEMENTSOF(layers), &bad, NULL), ==, -EINVAL);
        g_assert_null(bad);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/config/parse", test_config_parse);
        g_test_add_func("/config/round-trip", test_config_round_trip);
        g_test_add_func("/config/empty-vs-absent", test_config_empty_vs_absent);
        g_test_add_func("/config/bad", test_config_bad);
        g_test_add_func("/config/deep-and-big", test_config_deep_and_big);
        g_test_add_func("/config/chain-ids", test_chain_ids);
        g_test_add_func("/config/timestamps", test_timestamps);
        g_test_add_func("/config/manifest-build", test_manifest_build);

        return g_test_run();
}
