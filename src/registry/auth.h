/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "shared/macro.h"

/* Registry authentication (distribution's token spec, RFC 6750 and RFC 7617):
 *
 *   1. A request without credentials gets 401 and "WWW-Authenticate: Bearer realm=…,service=…,scope=…"
 *      (or "Basic realm=…").
 *   2. Bearer: GET <realm>?service=<service>&scope=<scope> (Basic credentials on that request if we have
 *      any) answers {"token"|"access_token", "expires_in", "issued_at"}; the request is retried with
 *      "Authorization: Bearer <token>". Basic: the request is retried with the credentials.
 *   3. Tokens are cached per (registry, scope) until shortly before they expire, so the many blob requests
 *      of a pull cost one token round trip. */

typedef enum AuthScheme {
        AUTH_SCHEME_BASIC,
        AUTH_SCHEME_BEARER,
        _AUTH_SCHEME_MAX,
        _AUTH_SCHEME_INVALID = -EINVAL,
} AuthScheme;

const char *auth_scheme_to_string(AuthScheme s);
AuthScheme auth_scheme_from_string(const char *s); /* case-insensitive */

typedef struct AuthChallenge {
        AuthScheme scheme;
        char *realm;
        char *service; /* Bearer only; NULL if absent */
        char *scope;   /* Bearer only; may list several scopes separated by spaces; NULL if absent */
        char *error;   /* Bearer error="…" (invalid_token, insufficient_scope), NULL if absent */
} AuthChallenge;

AuthChallenge *auth_challenge_free(AuthChallenge *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuthChallenge *, auth_challenge_free);

/* Parses a WWW-Authenticate value. It may hold several challenges ("Bearer realm=…, Basic realm=…", which
 * is also what repeated headers joined by ", " look like); Bearer wins over Basic, other schemes are
 * skipped. Scheme and parameter names are case-insensitive; values are tokens or quoted strings with
 * backslash escapes. -EBADMSG on malformed input, -EOPNOTSUPP when no Basic or Bearer challenge is there,
 * -EINVAL for a Bearer challenge without a realm. */
int auth_challenge_parse(const char *header, AuthChallenge **ret);

/* The token request URL: realm?service=…&scope=… with each part URL-escaped and one scope= per scope of
 * the challenge; fallback_scope (e.g. "repository:library/debian:pull") is used when the challenge names
 * none, and when it lists several (space-separated: a push's mount) each one the challenge lacks is added.
 * The realm must be an absolute http(s) URL (-EINVAL otherwise); plain http needs allow_http. */
int auth_token_url(const AuthChallenge *c, const char *fallback_scope, bool allow_http, char **ret);

/* "repository:<path>:pull". */
int auth_pull_scope(const char *path, char **ret);

/* "repository:<path>:pull,push", with " repository:<mount_from>:pull" when a blob is mounted from there. */
int auth_push_scope(const char *path, const char *mount_from, char **ret);

/* "Authorization: Basic base64(username:password)". The username must not contain ':'. */
int auth_basic_header(const char *username, const char *password, char **ret);

/* How long to trust a token: expires_in (seconds; 0 = absent → 60 s; the spec makes 60 s the minimum)
 * minus a safety margin for clock skew and request latency. In µs. */
uint64_t auth_token_lifetime_usec(uint64_t expires_in);

typedef struct AuthTokenCache AuthTokenCache;

int auth_token_cache_new(AuthTokenCache **ret);
AuthTokenCache *auth_token_cache_free(AuthTokenCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuthTokenCache *, auth_token_cache_free);

/* now is CLOCK_MONOTONIC in µs. The token stays valid until now + auth_token_lifetime_usec(expires_in). */
int auth_token_cache_put(AuthTokenCache *c, const char *registry, const char *scope, const char *token,
                         uint64_t expires_in, uint64_t now);
/* The cached token, or NULL if there is none or it expired (expired entries are dropped). The pointer is
 * valid until the next put/forget on the same cache. */
const char *auth_token_cache_get(AuthTokenCache *c, const char *registry, const char *scope, uint64_t now);
void auth_token_cache_forget(AuthTokenCache *c, const char *registry, const char *scope);
