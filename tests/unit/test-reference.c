/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "registry/reference.h"

#define D64 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

typedef struct GoodCase {
        const char *input;
        const char *domain, *path, *tag, *digest;
        const char *canonical, *familiar, *repository;
} GoodCase;

static const GoodCase good[] = {
        { "debian", "docker.io", "library/debian", "latest", NULL, "docker.io/library/debian:latest",
          "debian", "docker.io/library/debian" },
        { "debian:bookworm-slim", "docker.io", "library/debian", "bookworm-slim", NULL,
          "docker.io/library/debian:bookworm-slim", "debian", "docker.io/library/debian" },
        { "library/debian", "docker.io", "library/debian", "latest", NULL, "docker.io/library/debian:latest",
          "debian", "docker.io/library/debian" },
        { "docker.io/library/debian:latest", "docker.io", "library/debian", "latest", NULL,
          "docker.io/library/debian:latest", "debian", "docker.io/library/debian" },
        { "docker.io/debian", "docker.io", "library/debian", "latest", NULL,
          "docker.io/library/debian:latest", "debian", "docker.io/library/debian" },
        { "index.docker.io/library/debian", "docker.io", "library/debian", "latest", NULL,
          "docker.io/library/debian:latest", "debian", "docker.io/library/debian" },
        { "index.docker.io/debian:12", "docker.io", "library/debian", "12", NULL,
          "docker.io/library/debian:12", "debian", "docker.io/library/debian" },
        { "team/app", "docker.io", "team/app", "latest", NULL, "docker.io/team/app:latest", "team/app",
          "docker.io/team/app" },
        { "library/foo/bar", "docker.io", "library/foo/bar", "latest", NULL,
          "docker.io/library/foo/bar:latest", "library/foo/bar", "docker.io/library/foo/bar" },
        { "127.0.0.1:5000/team/app:1.2", "127.0.0.1:5000", "team/app", "1.2", NULL,
          "127.0.0.1:5000/team/app:1.2", "127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app" },
        { "127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", NULL, "127.0.0.1:5000/app:latest",
          "127.0.0.1:5000/app", "127.0.0.1:5000/app" },
        { "localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest", "localhost/app",
          "localhost/app" },
        { "localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", NULL, "localhost:5000/a/b/c:v1",
          "localhost:5000/a/b/c", "localhost:5000/a/b/c" },
        /* "localhost:5000" alone is a name with a tag, as in Docker. */
        { "localhost:5000", "docker.io", "library/localhost", "5000", NULL,
          "docker.io/library/localhost:5000", "localhost", "docker.io/library/localhost" },
        { "ghcr.io/a_b/c__d/e-f/g--h/i.j:TAG_1.0-x", "ghcr.io", "a_b/c__d/e-f/g--h/i.j", "TAG_1.0-x", NULL,
          "ghcr.io/a_b/c__d/e-f/g--h/i.j:TAG_1.0-x", "ghcr.io/a_b/c__d/e-f/g--h/i.j",
          "ghcr.io/a_b/c__d/e-f/g--h/i.j" },
        { "Registry.Example.COM/app", "Registry.Example.COM", "app", "latest", NULL,
          "Registry.Example.COM/app:latest", "Registry.Example.COM/app", "Registry.Example.COM/app" },
        { "[::1]:5000/app", "[::1]:5000", "app", "latest", NULL, "[::1]:5000/app:latest", "[::1]:5000/app",
          "[::1]:5000/app" },
        { "[fe80::1]/app", "[fe80::1]", "app", "latest", NULL, "[fe80::1]/app:latest", "[fe80::1]/app",
          "[fe80::1]/app" },
        { "my-registry.local:443/x", "my-registry.local:443", "x", "latest", NULL,
          "my-registry.local:443/x:latest", "my-registry.local:443/x", "my-registry.local:443/x" },
        { "debian@" D64, "docker.io", "library/debian", NULL, D64, "docker.io/library/debian@" D64, "debian",
          "docker.io/library/debian" },
        { "debian:12@" D64, "docker.io", "library/debian", "12", D64, "docker.io/library/debian:12@" D64,
          "debian", "docker.io/library/debian" },
        { "127.0.0.1:5000/team/app@" D64, "127.0.0.1:5000", "team/app", NULL, D64,
          "127.0.0.1:5000/team/app@" D64, "127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app" },
        { "a:_", "docker.io", "library/a", "_", NULL, "docker.io/library/a:_", "a", "docker.io/library/a" },
        /* A short hex string is a valid name too (the store tries it as an id first). */
        { "3f2a9c0b1d2e", "docker.io", "library/3f2a9c0b1d2e", "latest", NULL,
          "docker.io/library/3f2a9c0b1d2e:latest", "3f2a9c0b1d2e", "docker.io/library/3f2a9c0b1d2e" },
};

static void test_reference_good(void)
{
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                const GoodCase *c = good + i;
                _cleanup_(reference_freep) Reference *r = NULL, *again = NULL, *copy = NULL;
                _cleanup_free_ char *canonical = NULL, *familiar = NULL, *repository = NULL, *fs = NULL;
                _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

                if (!c->domain)
                        continue;

                g_test_message("good reference '%s'", c->input);
                g_assert_cmpint(reference_parse(c->input, &reason, &r), ==, 0);
                g_assert_cmpint(reason.error, ==, 0);
                g_assert_cmpstr(r->domain, ==, c->domain);
                g_assert_cmpstr(r->path, ==, c->path);
                g_assert_cmpstr(r->tag, ==, c->tag);
                g_assert_cmpstr(r->digest, ==, c->digest);
                g_assert_cmpstr(reference_tag_or_digest(r), ==, c->digest ?: c->tag);

                g_assert_cmpint(reference_to_string(r, &canonical), ==, 0);
                g_assert_cmpstr(canonical, ==, c->canonical);
                g_assert_cmpint(reference_familiar_name(r, &familiar), ==, 0);
                g_assert_cmpstr(familiar, ==, c->familiar);
                g_assert_cmpint(reference_repository(r, &repository), ==, 0);
                g_assert_cmpstr(repository, ==, c->repository);
                g_assert_cmpint(reference_familiar_string(r, &fs), ==, 0);
                g_assert_true(g_str_has_prefix(fs, c->familiar));

                /* The canonical form parses to the same thing. */
                g_assert_cmpint(reference_parse(canonical, NULL, &again), ==, 0);
                g_assert_cmpstr(again->domain, ==, r->domain);
                g_assert_cmpstr(again->path, ==, r->path);
                g_assert_cmpstr(again->tag, ==, r->tag);
                g_assert_cmpstr(again->digest, ==, r->digest);

                g_assert_cmpint(reference_dup(r, &copy), ==, 0);
                g_assert_cmpstr(copy->path, ==, r->path);
                g_assert_cmpstr(copy->digest, ==, r->digest);
        }
}

static void test_reference_familiar_string(void)
{
        _cleanup_(reference_freep) Reference *a = NULL, *b = NULL;
        _cleanup_free_ char *sa = NULL, *sb = NULL;

        g_assert_cmpint(reference_parse("debian:12", NULL, &a), ==, 0);
        g_assert_cmpint(reference_familiar_string(a, &sa), ==, 0);
        g_assert_cmpstr(sa, ==, "debian:12");
        g_assert_true(reference_is_docker_hub(a));

        g_assert_cmpint(reference_parse("quay.io/x/y:1@" D64, NULL, &b), ==, 0);
        g_assert_cmpint(reference_familiar_string(b, &sb), ==, 0);
        g_assert_cmpstr(sb, ==, "quay.io/x/y:1@" D64);
        g_assert_false(reference_is_docker_hub(b));
        g_assert_cmpstr(reference_tag_or_digest(b), ==, D64);
}

static void test_reference_bad(void)
{
        _cleanup_free_ char *long_name = NULL, *long_tag = NULL, *tag128 = NULL, *name255 = NULL;
        g_autofree char *t128 = g_strnfill(128, 't'), *t129 = g_strnfill(129, 't');
        _cleanup_(reference_freep) Reference *r = NULL;

        /* docker.io/ + library/ + 237 = 255: fits; one more does not. */
        name255 = g_strnfill(237, 'a');
        g_assert_cmpint(reference_parse(name255, NULL, &r), ==, 0);
        g_assert_cmpuint(strlen(r->domain) + 1 + strlen(r->path), ==, 255);
        long_name = g_strnfill(238, 'a');
        tag128 = g_strconcat("a:", t128, NULL);
        reference_free(r);
        r = NULL;
        g_assert_cmpint(reference_parse(tag128, NULL, &r), ==, 0);
        long_tag = g_strconcat("a:", t129, NULL);

        const char *const bad[] = {
                "",
                "Debian",
                "library/Debian",
                "docker.io/Library/debian",
                "quay.io/Org-x/app",
                "MyUser/app",
                "a:b:c",
                "-leading",
                "leading-/x",
                "a..b",
                "a._b",
                "a___b",
                "a/",
                "/a",
                "a//b",
                "debian:",
                "debian:-tag",
                "debian:.tag",
                "debian:t@g",
                "debian@",
                "debian@sha256:",
                "debian@sha256:abc",
                "debian@sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                "debian@sha512:abc",
                "debian@md5:d41d8cd98f00b204e9800998ecf8427e",
                "debian@" D64 "@" D64,
                "debian:12:13",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "-registry.io/app",
                "registry-.io/app",
                "reg_istry.io/app",
                "registry.io:/app",
                "registry.io:50a0/app",
                "[]/app",
                "[::g]/app",
                "registry.io/",
                "localhost/",
                "deb ian",
                "debian\n",
                "débian",
                ":tag",
                "@" D64,
                long_name,
                long_tag,
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(reference_freep) Reference *x = NULL;
                _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

                g_test_message("bad reference '%s'", bad[i]);
                g_assert_cmpint(reference_parse(bad[i], &reason, &x), ==, -EINVAL);
                g_assert_null(x);
                g_assert_cmpint(reason.error, ==, -EINVAL);
                g_assert_nonnull(reason.message);
                g_test_message("  → %s", reason.message);
                g_assert_true(g_str_has_suffix(reason.message, "."));
        }

        g_assert_cmpint(reference_parse(NULL, NULL, &r), ==, -EINVAL);
}

/* Why s is refused (a BerthError keeps its first failure, so each parse gets a fresh one). */
static char *reason_of(const char *s)
{
        _cleanup_(reference_freep) Reference *r = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

        g_assert_cmpint(reference_parse(s, &reason, &r), ==, -EINVAL);
        g_assert_null(r);
        g_assert_cmpint(reason.error, ==, -EINVAL);
        return TAKE_PTR(reason.message);
}

static void test_reference_reasons(void)
{
        _cleanup_free_ char *lowercase = reason_of("Debian"), *tag = reason_of("debian:"),
                            *empty = reason_of(""), *algorithm = reason_of("debian@sha512:abc"),
                            *sha512 = reason_of(
                                    "debian@sha512:"
                                    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                                    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
                            *id = reason_of(
                                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

        g_assert_cmpstr(lowercase, ==, "The repository name must be lowercase.");
        g_assert_cmpstr(tag, ==, "The tag is empty.");
        g_assert_cmpstr(empty, ==, "The image reference is empty.");
        g_assert_true(strstr(algorithm, "digest"));
        g_assert_cmpstr(sha512, ==, "The digest algorithm is not supported; only sha256 is.");
        g_assert_true(strstr(id, "image ID"));
}

static void test_reference_default_domain(void)
{
        _cleanup_(reference_freep) Reference *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
        _cleanup_free_ char *s = NULL, *f = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

        g_assert_cmpint(reference_parse_with_default_domain("debian", "registry.example.com:5000", NULL, &a),
                        ==, 0);
        g_assert_cmpstr(a->domain, ==, "registry.example.com:5000");
        g_assert_cmpstr(a->path, ==, "debian"); /* "library/" is Docker Hub's only */
        g_assert_cmpint(reference_to_string(a, &s), ==, 0);
        g_assert_cmpstr(s, ==, "registry.example.com:5000/debian:latest");
        g_assert_cmpint(reference_familiar_name(a, &f), ==, 0);
        g_assert_cmpstr(f, ==, "registry.example.com:5000/debian");

        /* Explicit domains win over the default. */
        g_assert_cmpint(
                reference_parse_with_default_domain("docker.io/debian", "registry.example.com", NULL, &b),
                ==, 0);
        g_assert_cmpstr(b->domain, ==, "docker.io");
        g_assert_cmpstr(b->path, ==, "library/debian");
        g_assert_cmpint(reference_parse_with_default_domain("localhost/x", "registry.example.com", NULL, &c),
                        ==, 0);
        g_assert_cmpstr(c->domain, ==, "localhost");

        /* NULL is docker.io; setting docker.io explicitly is the same. */
        g_assert_cmpint(reference_parse_with_default_domain("debian", NULL, NULL, &d), ==, 0);
        g_assert_cmpstr(d->path, ==, "library/debian");
        g_assert_cmpint(reference_parse_with_default_domain("debian", "docker.io", NULL, &e), ==, 0);
        g_assert_cmpstr(e->path, ==, "library/debian");

        g_assert_cmpint(reference_parse_with_default_domain("debian", "bad host!", &reason, &e), ==,
                        -EINVAL);
        g_assert_nonnull(reason.message);
}

/* What SearchImages' "registry" option must be: a domain, nothing a URL parser could read another host from.
 */
static void test_domain(void)
{
        g_assert_true(reference_domain_is_valid("docker.io"));
        g_assert_true(reference_domain_is_valid("localhost"));
        g_assert_true(reference_domain_is_valid("127.0.0.1:5000"));
        g_assert_true(reference_domain_is_valid("[::1]:5000"));
        g_assert_true(reference_domain_is_valid("reg-1.example.org"));
        g_assert_false(reference_domain_is_valid(NULL));
        g_assert_false(reference_domain_is_valid(""));
        g_assert_false(reference_domain_is_valid("127.0.0.1@10.1.2.3:8080"));
        g_assert_false(reference_domain_is_valid("user:pw@reg.example"));
        g_assert_false(reference_domain_is_valid("https://reg.example"));
        g_assert_false(reference_domain_is_valid("reg.example/path"));
        g_assert_false(reference_domain_is_valid("reg.example:"));
        g_assert_false(reference_domain_is_valid("reg.example:80x"));
        g_assert_false(reference_domain_is_valid("reg example"));
        g_assert_false(reference_domain_is_valid("-reg.example"));
        g_assert_false(reference_domain_is_valid("reg.example#x"));
        g_assert_false(reference_domain_is_valid("reg.example?x"));
}

static void test_image_id(void)
{
        const char *hex = NULL;

        g_assert_true(image_id_is_prefix("3f2a9c0b1d2e", &hex));
        g_assert_cmpstr(hex, ==, "3f2a9c0b1d2e");
        g_assert_true(image_id_is_prefix("sha256:3f2a9c0b1d2e", &hex));
        g_assert_cmpstr(hex, ==, "3f2a9c0b1d2e");
        g_assert_true(image_id_is_prefix(D64, &hex));
        g_assert_cmpstr(hex, ==, D64 + 7);
        g_assert_true(image_id_is_prefix(D64 + 7, NULL));
        g_assert_false(image_id_is_prefix("3f2a9c0b1d2", NULL)); /* 11 */
        g_assert_false(image_id_is_prefix("3F2A9C0B1D2E", NULL));
        g_assert_false(image_id_is_prefix("sha256:", NULL));
        g_assert_false(image_id_is_prefix("debian", NULL));
        g_assert_false(image_id_is_prefix(D64 "0", NULL));
        g_assert_false(image_id_is_prefix("sha512:3f2a9c0b1d2e", NULL));
        g_assert_false(image_id_is_prefix(NULL, NULL));

        g_assert_true(image_id_is_full(D64, &hex));
        g_assert_cmpstr(hex, ==, D64 + 7);
        g_assert_true(image_id_is_full(D64 + 7, NULL));
        g_assert_false(image_id_is_full("3f2a9c0b1d2e", NULL));
        g_assert_false(image_id_is_full("sha256:3f2a9c0b1d2e", NULL));
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/reference/good", test_reference_good);
        g_test_add_func("/reference/familiar-string", test_reference_familiar_string);
        g_test_add_func("/reference/bad", test_reference_bad);
        g_test_add_func("/reference/reasons", test_reference_reasons);
        g_test_add_func("/reference/default-domain", test_reference_default_domain);
        g_test_add_func("/reference/domain", test_domain);
        g_test_add_func("/reference/image-id", test_image_id);

        return g_test_run();
}
