/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "oci/digest.h"
#include "registry/reference.h"
#include "shared/log.h"

#define IMAGE_ID_PREFIX_LENGTH_MIN 12

static bool char_is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool char_is_alnum(char c)
{
        return char_is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool char_is_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool char_is_word(char c)
{
        return char_is_alnum(c) || c == '_';
}

/* path-component := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )* */
static bool path_component_is_valid(const char *s, size_t n)
{
        size_t i = 0;

        for (;;) {
                size_t start = i;

                while (i < n && char_is_lower_alnum(s[i]))
                        i++;
                if (i == start)
                        return false;
                if (i == n)
                        return true;

                if (s[i] == '.')
                        i++;
                else if (s[i] == '_')
                        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
                else if (s[i] == '-')
                        while (i < n && s[i] == '-')
                                i++;
                else
                        return false;
        }
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool domain_component_is_valid(const char *s, size_t n)
{
        if (n == 0 || !char_is_alnum(s[0]) || !char_is_alnum(s[n - 1]))
                return false;
        for (size_t i = 1; i + 1 < n; i++)
                if (!char_is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* domain := host [ ":" port ], host := domain-name | IPv4address | "[" IPv6address "]",
 * domain-name := domain-component ( "." domain-component )*. IPv4 addresses pass as domain names. */
static bool domain_is_valid(const char *s, size_t n)
{
        size_t host_end, i;

        if (n == 0)
                return false;

        if (s[0] == '[') {
                const char *close = memchr(s, ']', n);

                if (!close || close == s + 1)
                        return false;
                for (const char *p = s + 1; p < close; p++)
                        if (!char_is_hex(*p) && *p != ':')
                                return false;
                host_end = (size_t) (close - s) + 1;
        } else {
                const char *colon = memchr(s, ':', n);
                size_t start = 0;

                host_end = colon ? (size_t) (colon - s) : n;
                for (i = 0; i <= host_end; i++)
                        if (i == host_end || s[i] == '.') {
                                if (!domain_component_is_valid(s + start, i - start))
                                        return false;
                                start = i + 1;
                        }
        }

        if (host_end == n)
                return true;
        if (s[host_end] != ':' || host_end + 1 == n)
                return false;
        for (i = host_end + 1; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

bool reference_domain_is_valid(const char *s)
{
        return s && domain_is_valid(s, strlen(s));
}

/* tag := [\w][\w.-]{0,127} */
static bool tag_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > REFERENCE_TAG_LENGTH_MAX || !char_is_word(s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!char_is_word(s[i]) && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

static bool first_component_is_domain(const char *s, size_t n)
{
        return memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && strneq(s, "localhost", 9));
}

static int invalid(BerthError *err, const char *reason)
{
        log_debug("Invalid image reference: %s", reason);
        berth_error_set(err, -EINVAL, "%s", reason);
        return -EINVAL;
}

static int check_path(const char *path, BerthError *err)
{
        const char *p = path;

        if (isempty(path))
                return invalid(err, "The repository name is empty.");

        for (const char *c = path; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        return invalid(err, "The repository name must be lowercase.");

        for (;;) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);

                if (n == 0)
                        return invalid(err, "The repository name has an empty path component (a leading, "
                                            "trailing or doubled '/').");
                if (!path_component_is_valid(p, n))
                        return invalid(err,
                                       "The repository name is invalid: each '/'-separated component must "
                                       "be lowercase letters and digits, optionally separated by '.', '_', "
                                       "'__' or dashes, and may not start or end with a separator.");
                if (!slash)
                        return 0;
                p = slash + 1;
        }
}

int reference_parse_with_default_domain(const char *s, const char *default_domain, BerthError *err,
                                        Reference **ret)
{
        _cleanup_(reference_freep) Reference *ref = NULL;
        _cleanup_free_ char *name = NULL;
        const char *at, *path, *slash, *domain;
        size_t domain_length;
        char *colon, *last_slash;
        int r;

        if (!default_domain)
                default_domain = REFERENCE_DEFAULT_DOMAIN;
        if (!domain_is_valid(default_domain, strlen(default_domain)))
                return invalid(err, "The default registry is not a valid host name.");

        if (isempty(s))
                return invalid(err, "The image reference is empty.");
        /* "sha256:<64 hex>" would otherwise be repository "sha256" with that tag: a name that GetImage and
         * friends read as an image id, so a tag could pose as another image (found by the D-Bus barrage,
         * tests/integration/test-barrage.sh). Docker reads it as an id too. */
        if (hex_is_lower(s, DIGEST_SHA256_HEX_LENGTH) || image_id_is_full(s, NULL))
                return invalid(err,
                               "A 64-character hexadecimal string is an image ID, not a repository name.");

        ref = calloc(1, sizeof(Reference));
        if (!ref)
                return -ENOMEM;

        at = strchr(s, '@');
        if (at) {
                DigestAlgorithm a;

                if (strchr(at + 1, '@'))
                        return invalid(err, "The image reference contains more than one '@'.");

                r = digest_parse(at + 1, &a, NULL);
                if (r == -EOPNOTSUPP || (r >= 0 && !digest_algorithm_is_supported(a)))
                        return invalid(err, "The digest algorithm is not supported; only sha256 is.");
                if (r < 0)
                        return invalid(err,
                                       "The digest is invalid; expected 'sha256:' followed by 64 lowercase "
                                       "hexadecimal digits.");

                ref->digest = strdup(at + 1);
                if (!ref->digest)
                        return -ENOMEM;

                name = strndup(s, (size_t) (at - s));
        } else
                name = strdup(s);
        if (!name)
                return -ENOMEM;

        /* A ':' after the last '/' starts the tag; one before it belongs to the registry's port. */
        last_slash = strrchr(name, '/');
        colon = strrchr(last_slash ?: name, ':');
        if (colon) {
                *colon = 0;
                if (isempty(colon + 1))
                        return invalid(err, "The tag is empty.");
                if (!tag_is_valid(colon + 1))
                        return invalid(err,
                                       "The tag is invalid: it must start with a letter, digit or '_', and "
                                       "have at most 128 letters, digits, '_', '.' or '-'.");
                ref->tag = strdup(colon + 1);
                if (!ref->tag)
                        return -ENOMEM;
        }

        if (isempty(name))
                return invalid(err, "The repository name is empty.");

        slash = strchr(name, '/');
        if (slash && first_component_is_domain(name, (size_t) (slash - name))) {
                domain = name;
                domain_length = (size_t) (slash - name);
                path = slash + 1;

                if (!domain_is_valid(domain, domain_length))
                        return invalid(err, "The registry host name is invalid.");
        } else {
                domain = default_domain;
                domain_length = strlen(default_domain);
                path = name;
        }

        if (domain_length == strlen(REFERENCE_LEGACY_DEFAULT_DOMAIN) &&
            strneq(domain, REFERENCE_LEGACY_DEFAULT_DOMAIN, domain_length))
                ref->domain = strdup(REFERENCE_DEFAULT_DOMAIN);
        else
                ref->domain = strndup(domain, domain_length);
        if (!ref->domain)
                return -ENOMEM;

        r = check_path(path, err);
        if (r < 0)
                return r;

        if (streq(ref->domain, REFERENCE_DEFAULT_DOMAIN) && !strchr(path, '/')) {
                if (asprintf(&ref->path, REFERENCE_OFFICIAL_PREFIX "%s", path) < 0) {
                        ref->path = NULL;
                        return -ENOMEM;
                }
        } else {
                ref->path = strdup(path);
                if (!ref->path)
                        return -ENOMEM;
        }

        if (strlen(ref->domain) + 1 + strlen(ref->path) > REFERENCE_NAME_LENGTH_MAX)
                return invalid(err, "The repository name is longer than 255 characters.");

        /* "library/sha256:<64 hex>" and "docker.io/library/sha256:<64 hex>" would shorten to the familiar
         * "sha256:<64 hex>", an image id (see above; found by tests/fuzz/fuzz-reference.c). */
        if (streq(ref->domain, REFERENCE_DEFAULT_DOMAIN) &&
            streq(ref->path, REFERENCE_OFFICIAL_PREFIX "sha256") && ref->tag && !ref->digest &&
            hex_is_lower(ref->tag, DIGEST_SHA256_HEX_LENGTH))
                return invalid(err,
                               "A 64-character hexadecimal string is an image ID, not a repository name.");

        if (!ref->tag && !ref->digest) {
                ref->tag = strdup(REFERENCE_DEFAULT_TAG);
                if (!ref->tag)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(ref);
        return 0;
}

int reference_parse(const char *s, BerthError *err, Reference **ret)
{
        return reference_parse_with_default_domain(s, NULL, err, ret);
}

Reference *reference_free(Reference *r)
{
        if (!r)
                return NULL;

        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        return mfree(r);
}

static int strdup_optional(const char *s, char **ret)
{
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int reference_dup(const Reference *r, Reference **ret)
{
        _cleanup_(reference_freep) Reference *c = NULL;

        if (!r)
                return -EINVAL;

        c = calloc(1, sizeof(Reference));
        if (!c)
                return -ENOMEM;

        if (strdup_optional(r->domain, &c->domain) < 0 || strdup_optional(r->path, &c->path) < 0 ||
            strdup_optional(r->tag, &c->tag) < 0 || strdup_optional(r->digest, &c->digest) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(c);
        return 0;
}

bool reference_is_docker_hub(const Reference *r)
{
        return r && r->domain && streq(r->domain, REFERENCE_DEFAULT_DOMAIN);
}

static int format_name(const Reference *r, bool familiar, bool with_tag_and_digest, char **ret)
{
        const char *domain = NULL, *path;
        char *s;

        if (!r || !r->domain || !r->path)
                return -EINVAL;

        path = r->path;
        /* "docker.io/quay.io/x" must not shorten to "quay.io/x", which names another registry (found by
         * tests/fuzz/fuzz-reference.c; Docker's FamiliarName has the same flaw). */
        if (familiar && reference_is_docker_hub(r) &&
            !first_component_is_domain(r->path, strcspn(r->path, "/"))) {
                const char *p = startswith(path, REFERENCE_OFFICIAL_PREFIX);

                /* "library/foo" → "foo", but "library/foo/bar" stays: Docker strips one level only. */
                if (p && !strchr(p, '/'))
                        path = p;
        } else
                domain = r->domain;

        if (!with_tag_and_digest) {
                if (asprintf(&s, "%s%s%s", strempty(domain), domain ? "/" : "", path) < 0)
                        return -ENOMEM;
        } else if (asprintf(&s, "%s%s%s%s%s%s%s", strempty(domain), domain ? "/" : "", path,
                            r->tag ? ":" : "", strempty(r->tag), r->digest ? "@" : "",
                            strempty(r->digest)) < 0)
                return -ENOMEM;

        *ret = s;
        return 0;
}

int reference_to_string(const Reference *r, char **ret)
{
        return format_name(r, false, true, ret);
}

int reference_familiar_name(const Reference *r, char **ret)
{
        return format_name(r, true, false, ret);
}

int reference_familiar_string(const Reference *r, char **ret)
{
        return format_name(r, true, true, ret);
}

int reference_repository(const Reference *r, char **ret)
{
        return format_name(r, false, false, ret);
}

const char *reference_tag_or_digest(const Reference *r)
{
        if (!r)
                return NULL;
        return r->digest ?: r->tag;
}

static bool image_id_check(const char *s, size_t min, const char **ret_hex)
{
        const char *hex;
        size_t n;

        if (!s)
                return false;

        hex = startswith(s, "sha256:") ?: s;
        n = strlen(hex);
        if (n < min || n > DIGEST_SHA256_HEX_LENGTH || !hex_is_lower(hex, n))
                return false;

        if (ret_hex)
                *ret_hex = hex;
        return true;
}

bool image_id_is_full(const char *s, const char **ret_hex)
{
        return image_id_check(s, DIGEST_SHA256_HEX_LENGTH, ret_hex);
}

bool image_id_is_prefix(const char *s, const char **ret_hex)
{
        return image_id_check(s, IMAGE_ID_PREFIX_LENGTH_MIN, ret_hex);
}
