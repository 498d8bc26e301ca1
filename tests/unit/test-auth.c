/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "oci/registry-json.h"
#include "registry/auth.h"
#include "registry/registry-config.h"

/* A literal and its length. */
#define JSON(s) (s), strlen(s)

static void test_challenge_docker_hub(void)
{
        _cleanup_(auth_challenge_freep) AuthChallenge *c = NULL;

        /* Docker Hub's header, byte for byte. */
        g_assert_cmpint(
                auth_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
                                     "docker.io\",scope=\"repository:library/debian:pull\"",
                                     &c),
                ==, 0);
        g_assert_cmpint(c->scheme, ==, AUTH_SCHEME_BEARER);
        g_assert_cmpstr(c->realm, ==, "https://auth.docker.io/token");
        g_assert_cmpstr(c->service, ==, "registry.docker.io");
        g_assert_cmpstr(c->scope, ==, "repository:library/debian:pull");
        g_assert_null(c->error);
}

static void test_challenge_variants(void)
{
        AuthChallenge *c = NULL;

        /* Case-insensitive scheme and names, spaces around '=' and ',', escapes, unknown params. */
        g_assert_cmpint(auth_challenge_parse(
                                "  bEaReR   Realm = \"https://a.example/t?x=\\\"1\\\"\" ,  SERVICE=svc , "
                                "foo=bar, error=\"insufficient_scope\"",
                                &c),
                        ==, 0);
        g_assert_cmpint(c->scheme, ==, AUTH_SCHEME_BEARER);
        g_assert_cmpstr(c->realm, ==, "https://a.example/t?x=\"1\"");
        g_assert_cmpstr(c->service, ==, "svc");
        g_assert_null(c->scope);
        g_assert_cmpstr(c->error, ==, "insufficient_scope");
        c = auth_challenge_free(c);

        /* Basic, as docker-registry's htpasswd auth sends it. */
        g_assert_cmpint(auth_challenge_parse("Basic realm=\"basic-realm\"", &c), ==, 0);
        g_assert_cmpint(c->scheme, ==, AUTH_SCHEME_BASIC);
        g_assert_cmpstr(c->realm, ==, "basic-realm");
        c = auth_challenge_free(c);

        /* Several challenges (also what joined repeated headers look like): Bearer wins, wherever it is. */
        g_assert_cmpint(auth_challenge_parse("Basic realm=\"r\", Bearer realm=\"https://t.example/token\","
                                             "service=\"s\"",
                                             &c),
                        ==, 0);
        g_assert_cmpint(c->scheme, ==, AUTH_SCHEME_BEARER);
        g_assert_cmpstr(c->realm, ==, "https://t.example/token");
        g_assert_cmpstr(c->service, ==, "s");
        c = auth_challenge_free(c);

        /* Unknown schemes (with token68 credentials) are skipped. */
        g_assert_cmpint(auth_challenge_parse("Negotiate abc==, Basic realm=x", &c), ==, 0);
        g_assert_cmpint(c->scheme, ==, AUTH_SCHEME_BASIC);
        g_assert_cmpstr(c->realm, ==, "x");
        c = auth_challenge_free(c);

        g_assert_cmpint(auth_challenge_parse("Basic", &c), ==, 0);
        g_assert_cmpint(c->scheme, ==, AUTH_SCHEME_BASIC);
        g_assert_null(c->realm);
        c = auth_challenge_free(c);
}

static void test_challenge_garbage(void)
{
        AuthChallenge *c = NULL;

        g_assert_cmpint(auth_challenge_parse("", &c), ==, -EOPNOTSUPP);
        g_assert_cmpint(auth_challenge_parse("   ,  ", &c), ==, -EOPNOTSUPP);
        g_assert_cmpint(auth_challenge_parse("Negotiate", &c), ==, -EOPNOTSUPP);
        g_assert_cmpint(auth_challenge_parse("Bearer realm=\"unterminated", &c), ==, -EBADMSG);
        g_assert_cmpint(auth_challenge_parse("Bearer realm=\"x\" junk", &c), ==, -EBADMSG);
        g_assert_cmpint(auth_challenge_parse("Bearer realm=https://unquoted/url", &c), ==, -EBADMSG);
        g_assert_cmpint(auth_challenge_parse("\"Bearer\"", &c), ==, -EBADMSG);
        g_assert_cmpint(auth_challenge_parse("Bearer realm=\"trailing\\", &c), ==, -EBADMSG);
        g_assert_cmpint(auth_challenge_parse("Bearer service=\"no-realm\"", &c), ==, -EINVAL);
        g_assert_null(c);
}

static void test_token_url(void)
{
        _cleanup_(auth_challenge_freep) AuthChallenge *c = NULL;
        _cleanup_free_ char *url = NULL, *scope = NULL;

        g_assert_cmpint(
                auth_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
                                     "docker.io\",scope=\"repository:library/debian:pull\"",
                                     &c),
                ==, 0);
        g_assert_cmpint(auth_token_url(c, NULL, false, &url), ==, 0);
        g_assert_cmpstr(url, ==,
                        "https://auth.docker.io/"
                        "token?service=registry.docker.io&scope=repository%3alibrary%2fdebian%3apull");
        url = mfree(url);

        /* No scope in the challenge: ours; several scopes: one parameter each; escaping of odd bytes. */
        free(c->scope);
        c->scope = NULL;
        g_assert_cmpint(auth_pull_scope("library/busybox", &scope), ==, 0);
        g_assert_cmpstr(scope, ==, "repository:library/busybox:pull");
        g_assert_cmpint(auth_token_url(c, scope, false, &url), ==, 0);
        g_assert_cmpstr(url, ==,
                        "https://auth.docker.io/"
                        "token?service=registry.docker.io&scope=repository%3alibrary%2fbusybox%3apull");
        url = mfree(url);

        c->scope = strdup("repository:a:pull repository:b&c:pull");
        g_assert_cmpint(auth_token_url(c, scope, false, &url), ==, 0);
        g_assert_cmpstr(
                url, ==,
                "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3aa%3apull&"
                "scope=repository%3ab%26c%3apull");
        url = mfree(url);

        /* A realm with its own query keeps it. */
        free(c->realm);
        c->realm = strdup("https://ghcr.io/token?x=1");
        free(c->scope);
        c->scope = NULL;
        g_assert_cmpint(auth_token_url(c, NULL, false, &url), ==, 0);
        g_assert_cmpstr(url, ==, "https://ghcr.io/token?x=1&service=registry.docker.io");
        url = mfree(url);

        /* Plain http only when allowed; other schemes never. */
        free(c->realm);
        c->realm = strdup("http://127.0.0.1:9/token");
        g_assert_cmpint(auth_token_url(c, NULL, false, &url), ==, -EINVAL);
        g_assert_cmpint(auth_token_url(c, NULL, true, &url), ==, 0);
        url = mfree(url);
        free(c->realm);
        c->realm = strdup("file:///etc/shadow");
        g_assert_cmpint(auth_token_url(c, NULL, true, &url), ==, -EINVAL);
        free(c->realm);
        c->realm = strdup("not a url");
        g_assert_cmpint(auth_token_url(c, NULL, true, &url), ==, -EINVAL);
}

static void test_basic_header(void)
{
        _cleanup_free_ char *h = NULL;

        g_assert_cmpint(auth_basic_header("Aladdin", "open sesame", &h), ==, 0);
        g_assert_cmpstr(h, ==, "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        h = mfree(h);
        g_assert_cmpint(auth_basic_header("a:b", "c", &h), ==, -EINVAL);
        g_assert_cmpint(auth_basic_header("u", "", &h), ==, 0);
        g_assert_cmpstr(h, ==, "Authorization: Basic dTo=");
}

static void test_token_cache(void)
{
        _cleanup_(auth_token_cache_freep) AuthTokenCache *c = NULL;
        const uint64_t t0 = 1000 * USEC_PER_SEC;

        /* Absent or short expires_in means 60 s; a margin is taken off. */
        g_assert_cmpuint(auth_token_lifetime_usec(0), ==, 45 * USEC_PER_SEC);
        g_assert_cmpuint(auth_token_lifetime_usec(10), ==, 45 * USEC_PER_SEC);
        g_assert_cmpuint(auth_token_lifetime_usec(300), ==, 270 * USEC_PER_SEC);

        g_assert_cmpint(auth_token_cache_new(&c), ==, 0);
        g_assert_null(auth_token_cache_get(c, "https://r", "repository:a:pull", t0));

        g_assert_cmpint(auth_token_cache_put(c, "https://r", "repository:a:pull", "tok-a", 300, t0), ==, 0);
        g_assert_cmpint(auth_token_cache_put(c, "https://r", "repository:b:pull", "tok-b", 0, t0), ==, 0);
        g_assert_cmpint(auth_token_cache_put(c, "https://other", "repository:a:pull", "tok-o", 300, t0), ==,
                        0);

        g_assert_cmpstr(auth_token_cache_get(c, "https://r", "repository:a:pull", t0), ==, "tok-a");
        g_assert_cmpstr(auth_token_cache_get(c, "https://other", "repository:a:pull", t0), ==, "tok-o");
        g_assert_cmpstr(auth_token_cache_get(c, "https://r", "repository:b:pull", t0 + 44 * USEC_PER_SEC),
                        ==, "tok-b");
        g_assert_null(auth_token_cache_get(c, "https://r", "repository:b:pull", t0 + 45 * USEC_PER_SEC));
        /* Expired entries are gone for good. */
        g_assert_null(auth_token_cache_get(c, "https://r", "repository:b:pull", t0));

        g_assert_cmpstr(auth_token_cache_get(c, "https://r", "repository:a:pull", t0 + 269 * USEC_PER_SEC),
                        ==, "tok-a");
        g_assert_null(auth_token_cache_get(c, "https://r", "repository:a:pull", t0 + 270 * USEC_PER_SEC));

        /* Replacing and forgetting. */
        g_assert_cmpint(auth_token_cache_put(c, "https://r", "repository:a:pull", "tok-a2", 300, t0), ==, 0);
        g_assert_cmpstr(auth_token_cache_get(c, "https://r", "repository:a:pull", t0), ==, "tok-a2");
        auth_token_cache_forget(c, "https://r", "repository:a:pull");
        g_assert_null(auth_token_cache_get(c, "https://r", "repository:a:pull", t0));
}

static void test_json_token(void)
{
        RegistryTokenResponse t = {};
        const char *hub = "{\"token\":\"abc\",\"access_token\":\"abc\",\"expires_in\":300,"
                          "\"issued_at\":\"2026-11-27T02:36:20.123Z\"}";

        g_assert_cmpint(registry_json_parse_token(hub, strlen(hub), &t), ==, 0);
        g_assert_cmpstr(t.token, ==, "abc");
        g_assert_cmpuint(t.expires_in, ==, 300);
        g_assert_cmpstr(t.issued_at, ==, "2026-11-27T02:36:20.123Z");
        registry_token_response_done(&t);

        g_assert_cmpint(registry_json_parse_token(JSON("{\"access_token\":\"x\"}"), &t), ==, 0);
        g_assert_cmpstr(t.token, ==, "x");
        g_assert_cmpuint(t.expires_in, ==, 0);
        g_assert_null(t.issued_at);
        registry_token_response_done(&t);

        g_assert_cmpint(registry_json_parse_token(JSON("{}"), &t), ==, -EBADMSG);
        g_assert_cmpint(registry_json_parse_token(JSON("{\"token\":1}"), &t), ==, -EBADMSG);
        g_assert_cmpint(registry_json_parse_token(JSON("{\"token\":\"a\",\"expires_in\":\"5\"}"), &t), ==,
                        -EBADMSG);
        g_assert_cmpint(registry_json_parse_token(JSON("["), &t), ==, -EBADMSG);
        g_assert_cmpint(registry_json_parse_token(JSON(""), &t), ==, -EBADMSG);
}

static void test_json_error_catalog_search(void)
{
        const char *err = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
                          "\"detail\":{\"Tag\":\"nope\"}},{\"code\":\"X\"}]}";
        const char *search =
                "{\"num_pages\":1,\"results\":[{\"name\":\"debian\",\"description\":\"Debian is a "
                "Linux distribution\",\"star_count\":5000,\"is_official\":true},{\"name\":\"x/y\","
                "\"description\":null},{\"description\":\"nameless\"}]}";
        _cleanup_free_ char *code = NULL, *message = NULL;
        g_auto(GStrv) repos = NULL;
        RegistrySearchResult *r = NULL;
        size_t n = 0;

        g_assert_cmpint(registry_json_parse_error(err, strlen(err), &code, &message), ==, 0);
        g_assert_cmpstr(code, ==, "MANIFEST_UNKNOWN");
        g_assert_cmpstr(message, ==, "manifest unknown");
        g_assert_cmpint(registry_json_parse_error(JSON("{\"errors\":[]}"), NULL, NULL), ==, -ENOMSG);
        g_assert_cmpint(registry_json_parse_error(JSON("not json"), NULL, NULL), ==, -EBADMSG);

        g_assert_cmpint(registry_json_parse_catalog(JSON("{\"repositories\":[\"a\",\"b/c\"]}"), &repos), ==,
                        0);
        g_assert_cmpuint(g_strv_length(repos), ==, 2);
        g_assert_cmpstr(repos[1], ==, "b/c");
        g_strfreev(g_steal_pointer(&repos));
        g_assert_cmpint(registry_json_parse_catalog(JSON("{\"repositories\":null}"), &repos), ==, 0);
        g_assert_cmpuint(g_strv_length(repos), ==, 0);
        g_strfreev(g_steal_pointer(&repos));
        g_assert_cmpint(registry_json_parse_catalog(JSON("{\"repositories\":[1]}"), &repos), ==, -EBADMSG);

        g_assert_cmpint(registry_json_parse_search(search, strlen(search), &r, &n), ==, 0);
        g_assert_cmpuint(n, ==, 2);
        g_assert_cmpstr(r[0].name, ==, "debian");
        g_assert_cmpstr(r[0].description, ==, "Debian is a Linux distribution");
        g_assert_cmpuint(r[0].stars, ==, 5000);
        g_assert_true(r[0].official);
        g_assert_cmpstr(r[1].name, ==, "x/y");
        g_assert_cmpstr(r[1].description, ==, "");
        g_assert_false(r[1].official);
        registry_search_results_free(r, n);
}

static char *write_temp(const char *dir, const char *name, const char *content, mode_t mode)
{
        char *p = g_build_filename(dir, name, NULL);

        g_assert_true(g_file_set_contents(p, content, -1, NULL));
        g_assert_cmpint(chmod(p, mode), ==, 0);
        return p;
}

static void test_config(void)
{
        g_autofree char *dir = g_dir_make_tmp("berth-test-auth-XXXXXX", NULL);
        g_autofree char *conf = NULL, *missing = NULL, *bad = NULL;
        _cleanup_(registry_config_freep) RegistryConfig *c = NULL;
        g_auto(GStrv) e = NULL;

        g_assert_nonnull(dir);

        /* A missing file means defaults. */
        missing = g_build_filename(dir, "missing.conf", NULL);
        g_assert_cmpint(registry_config_load(missing, &c), ==, 0);
        g_assert_cmpstr(registry_config_get_default_domain(c), ==, "docker.io");
        g_assert_cmpuint(registry_config_get_max_concurrent_downloads(c), ==, 3);
        g_assert_cmpuint(registry_config_get_max_attempts(c), ==, 4);
        g_assert_cmpint(registry_config_get_endpoints(c, "docker.io", &e), ==, 0);
        g_assert_cmpuint(g_strv_length(e), ==, 1);
        g_assert_cmpstr(e[0], ==, "https://registry-1.docker.io");
        g_strfreev(g_steal_pointer(&e));
        g_assert_cmpint(registry_config_get_endpoints(c, "quay.io", &e), ==, 0);
        g_assert_cmpuint(g_strv_length(e), ==, 1);
        g_assert_cmpstr(e[0], ==, "https://quay.io");
        g_strfreev(g_steal_pointer(&e));
        /* Loopback is insecure by default, like Docker's 127.0.0.0/8. */
        g_assert_true(registry_config_is_insecure(c, "127.0.0.1:5000"));
        g_assert_true(registry_config_is_insecure(c, "localhost"));
        g_assert_false(registry_config_is_insecure(c, "quay.io"));
        /* By parsed address, not by a name's prefix. */
        g_assert_true(registry_config_is_insecure(c, "127.255.0.9:80"));
        g_assert_true(registry_config_is_insecure(c, "[::1]:5000"));
        g_assert_true(registry_config_is_insecure(c, "[::ffff:127.0.0.1]:5000"));
        g_assert_false(registry_config_is_insecure(c, "127.example.com"));
        g_assert_false(registry_config_is_insecure(c, "127.example.com:5000"));
        g_assert_false(registry_config_is_insecure(c, "127.0.0.1.nip.io:5000"));
        g_assert_false(registry_config_is_insecure(c, "127.1:5000"));
        g_assert_false(registry_config_is_insecure(c, "[::2]:5000"));
        g_assert_false(registry_config_is_insecure(c, "localhost.example.com"));
        g_assert_cmpint(registry_config_get_endpoints(c, "127.example.com:5000", &e), ==, 0);
        g_assert_cmpuint(g_strv_length(e), ==, 1);
        g_assert_cmpstr(e[0], ==, "https://127.example.com:5000");
        g_strfreev(g_steal_pointer(&e));
        g_assert_cmpint(registry_config_get_endpoints(c, "localhost:5000", &e), ==, 0);
        g_assert_cmpuint(g_strv_length(e), ==, 2);
        g_assert_cmpstr(e[0], ==, "https://localhost:5000");
        g_assert_cmpstr(e[1], ==, "http://localhost:5000");
        g_strfreev(g_steal_pointer(&e));
        g_assert_cmpstr(registry_config_get_search_url(c, "docker.io"), ==,
                        "https://index.docker.io/v1/search");
        g_assert_null(registry_config_get_search_url(c, "quay.io"));
        c = registry_config_free(c);

        conf = write_temp(dir, "berth.conf",
                          "# comment\n"
                          "[Registries]\n"
                          "Default=quay.io\n"
                          "Insecure=myreg.lan:5000; plain.lan ;\n"
                          "MaxConcurrentDownloads=5\n"
                          "MaxAttempts=2\n"
                          "RetryDelayMSec=10\n"
                          "\n"
                          "[Registry docker.io]\n"
                          "Mirrors=https://mirror.example.org/;http://10.0.0.1:5000\n"
                          "CAFile=/etc/berth/ca.pem\n"
                          "\n"
                          "[Registry 127.0.0.1:5000]\n"
                          "Insecure=false\n"
                          "\n"
                          "[Registry Search.Example]\n"
                          "SearchURL=http://127.0.0.1:1/v1/search\n",
                          0644);
        g_assert_cmpint(registry_config_load(conf, &c), ==, 0);
        g_assert_cmpstr(registry_config_get_default_domain(c), ==, "quay.io");
        g_assert_cmpuint(registry_config_get_max_concurrent_downloads(c), ==, 5);
        g_assert_cmpuint(registry_config_get_max_attempts(c), ==, 2);
        g_assert_cmpuint(registry_config_get_retry_delay_usec(c), ==, 10 * USEC_PER_MSEC);
        g_assert_cmpint(registry_config_get_endpoints(c, "index.docker.io", &e), ==, 0);
        g_assert_cmpuint(g_strv_length(e), ==, 3);
        g_assert_cmpstr(e[0], ==, "https://mirror.example.org");
        g_assert_cmpstr(e[1], ==, "http://10.0.0.1:5000");
        g_assert_cmpstr(e[2], ==, "https://registry-1.docker.io");
        g_strfreev(g_steal_pointer(&e));
        g_assert_cmpstr(registry_config_get_ca_file(c, "docker.io"), ==, "/etc/berth/ca.pem");
        g_assert_null(registry_config_get_ca_file(c, "quay.io"));
        g_assert_true(registry_config_is_insecure(c, "myreg.lan:5000"));
        g_assert_false(registry_config_is_insecure(c, "myreg.lan:5001"));
        g_assert_true(registry_config_is_insecure(c, "plain.lan:1234"));
        g_assert_true(registry_config_is_insecure(c, "PLAIN.lan"));
        g_assert_false(registry_config_is_insecure(c, "127.0.0.1:5000")); /* explicit override */
        g_assert_true(registry_config_is_insecure(c, "127.0.0.1:5001"));
        g_assert_cmpstr(registry_config_get_search_url(c, "search.example"), ==,
                        "http://127.0.0.1:1/v1/search");
        c = registry_config_free(c);

        bad = write_temp(dir, "bad.conf", "[Registries]\nMaxConcurrentDownloads=lots\n", 0644);
        g_assert_cmpint(registry_config_load(bad, &c), ==, -EINVAL);
        g_assert_null(c);
        g_free(bad);
        bad = write_temp(dir, "bad2.conf", "this is not a key file\n", 0644);
        g_assert_cmpint(registry_config_load(bad, &c), ==, -EBADMSG);
        g_free(bad);
        bad = write_temp(dir, "bad3.conf", "[Registry docker.io]\nMirrors=ftp://x\n", 0644);
        g_assert_cmpint(registry_config_load(bad, &c), ==, -EINVAL);
        g_free(bad);
        bad = write_temp(dir, "bad4.conf", "[Registry x]\nInsecure=maybe\n", 0644);
        g_assert_cmpint(registry_config_load(bad, &c), ==, -EINVAL);

        (void) g_remove(conf);
        (void) g_remove(bad);
        g_free(bad);
        bad = g_build_filename(dir, "bad.conf", NULL);
        (void) g_remove(bad);
        g_free(bad);
        bad = g_build_filename(dir, "bad2.conf", NULL);
        (void) g_remove(bad);
        g_free(bad);
        bad = g_build_filename(dir, "bad3.conf", NULL);
        (void) g_remove(bad);
        (void) g_rmdir(dir);
}

static void test_auth_file(void)
{
        g_autofree char *dir = g_dir_make_tmp("berth-test-auth-XXXXXX", NULL);
        g_autofree char *path = NULL, *open_path = NULL, *bad = NULL, *missing = NULL;
        _cleanup_(registry_config_freep) RegistryConfig *c = NULL;
        const char *user = NULL, *password = NULL;
        g_autofree char *b64 = g_base64_encode((const guchar *) "alice:s3cret:with:colons", 24);
        g_autofree char *json =
                g_strdup_printf("{\"auths\":{"
                                "\"https://index.docker.io/v1/\":{\"auth\":\"%s\"},"
                                "\"127.0.0.1:5000\":{\"username\":\"bob\",\"password\":\"pw\"},"
                                "\"ghcr.io\":{\"identitytoken\":\"xyz\"},"
                                "\"broken.example\":{\"auth\":\"!!!notbase64\"}"
                                "},\"credsStore\":\"desktop\"}",
                                b64);

        g_assert_cmpint(registry_config_new(&c), ==, 0);

        missing = g_build_filename(dir, "missing.json", NULL);
        g_assert_cmpint(registry_config_load_auth(c, missing), ==, 0);
        g_assert_cmpint(registry_config_get_credentials(c, "docker.io", &user, &password), ==, -ENOENT);

        path = write_temp(dir, "auth.json", json, 0600);
        g_assert_cmpint(registry_config_load_auth(c, path), ==, 2);
        g_assert_cmpint(registry_config_get_credentials(c, "docker.io", &user, &password), ==, 0);
        g_assert_cmpstr(user, ==, "alice");
        g_assert_cmpstr(password, ==, "s3cret:with:colons");
        g_assert_cmpint(registry_config_get_credentials(c, "registry-1.docker.io", &user, &password), ==, 0);
        g_assert_cmpstr(user, ==, "alice");
        g_assert_cmpint(registry_config_get_credentials(c, "127.0.0.1:5000", &user, &password), ==, 0);
        g_assert_cmpstr(user, ==, "bob");
        g_assert_cmpstr(password, ==, "pw");
        g_assert_cmpint(registry_config_get_credentials(c, "127.0.0.1:5001", NULL, NULL), ==, -ENOENT);
        g_assert_cmpint(registry_config_get_credentials(c, "ghcr.io", NULL, NULL), ==, -ENOENT);

        /* Readable by group or others: refused, and what was loaded before is dropped. */
        open_path = write_temp(dir, "open.json", json, 0644);
        g_assert_cmpint(registry_config_load_auth(c, open_path), ==, -EPERM);
        g_assert_cmpint(registry_config_get_credentials(c, "docker.io", NULL, NULL), ==, -ENOENT);
        g_assert_cmpint(chmod(open_path, 0640), ==, 0);
        g_assert_cmpint(registry_config_load_auth(c, open_path), ==, -EPERM);
        g_assert_cmpint(chmod(open_path, 0600), ==, 0);
        g_assert_cmpint(registry_config_load_auth(c, open_path), ==, 2);

        bad = write_temp(dir, "bad.json", "{\"auths\":", 0600);
        g_assert_cmpint(registry_config_load_auth(c, bad), ==, -EBADMSG);

        (void) g_remove(path);
        (void) g_remove(open_path);
        (void) g_remove(bad);
        (void) g_rmdir(dir);
}

static void test_normalize(void)
{
        static const struct {
                const char *in, *out;
        } t[] = {
                { "docker.io", "docker.io" },
                { "index.docker.io", "docker.io" },
                { "https://index.docker.io/v1/", "docker.io" },
                { "registry-1.docker.io", "docker.io" },
                { "HTTPS://Reg.Example:5000/x/y", "reg.example:5000" },
                { "http://127.0.0.1:5000", "127.0.0.1:5000" },
        };
        char *s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                g_assert_cmpint(registry_normalize_domain(t[i].in, &s), ==, 0);
                g_assert_cmpstr(s, ==, t[i].out);
                s = mfree(s);
        }
        g_assert_cmpint(registry_normalize_domain("", &s), ==, -EINVAL);
        g_assert_cmpint(registry_normalize_domain("https://", &s), ==, -EINVAL);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/auth/challenge/docker-hub", test_challenge_docker_hub);
        g_test_add_func("/auth/challenge/variants", test_challenge_variants);
        g_test_add_func("/auth/challenge/garbage", test_challenge_garbage);
        g_test_add_func("/auth/token-url", test_token_url);
        g_test_add_func("/auth/basic-header", test_basic_header);
        g_test_add_func("/auth/token-cache", test_token_cache);
        g_test_add_func("/auth/json/token", test_json_token);
        g_test_add_func("/auth/json/error-catalog-search", test_json_error_catalog_search);
        g_test_add_func("/auth/config", test_config);
        g_test_add_func("/auth/auth-file", test_auth_file);
        g_test_add_func("/auth/normalize", test_normalize);

        return g_test_run();
}
