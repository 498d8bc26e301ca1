/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/macro.h"

/* The small JSON documents of the registry protocol, turned into plain C. All parsers take a buffer of at
 * most REGISTRY_JSON_MAX bytes (-EFBIG beyond), return -EBADMSG for input that is not JSON or not the
 * expected shape, and never let GError escape. String lists are NULL-terminated and freed with
 * g_strfreev() (they are GStrv). */

#define REGISTRY_JSON_MAX ((size_t) 4U * 1024U * 1024U)

/* Token endpoint answer: {"token"|"access_token": "…", "expires_in": N, "issued_at": "RFC3339"}. */
typedef struct RegistryTokenResponse {
        char *token;
        uint64_t expires_in; /* seconds; 0 when absent */
        char *issued_at;     /* NULL when absent */
} RegistryTokenResponse;

void registry_token_response_done(RegistryTokenResponse *t);
int registry_json_parse_token(const void *data, size_t size, RegistryTokenResponse *ret);

/* Error document {"errors":[{"code":"…","message":"…"}]}: the first entry's code and message (either may
 * come back NULL). -ENOMSG when the body holds no errors entry. */
int registry_json_parse_error(const void *data, size_t size, char **ret_code, char **ret_message);

/* /v2/_catalog answer {"repositories":[…]}. */
int registry_json_parse_catalog(const void *data, size_t size, char ***ret_repositories);

/* Docker Hub's /v1/search answer {"results":[{"name","description","star_count","is_official"},…]}. */
typedef struct RegistrySearchResult {
        char *name;
        char *description; /* never NULL; "" when absent */
        uint64_t stars;
        bool official;
} RegistrySearchResult;

void registry_search_results_free(RegistrySearchResult *r, size_t n);
int registry_json_parse_search(const void *data, size_t size, RegistrySearchResult **ret, size_t *ret_n);

/* Docker's auth file (~/.docker/config.json, /etc/berth/auth.json):
 * {"auths":{"<server>":{"auth":"base64(user:password)"} or {"username":…,"password":…}}}. The server key is
 * returned as written; entries without usable credentials (credential helpers, identity tokens) are
 * skipped. */
typedef struct RegistryJsonAuth {
        char *server;
        char *username;
        char *password;
} RegistryJsonAuth;

void registry_json_auths_free(RegistryJsonAuth *a, size_t n);
int registry_json_parse_auths(const void *data, size_t size, RegistryJsonAuth **ret, size_t *ret_n);
/* The auth file data (size 0: none yet) with server's entry set to {"auth": base64(username:password)},
 * or removed when username is NULL; everything else kept. Returns 1 when server had an entry before, 0 if
 * not. The new document (NUL-terminated) goes to ret. */
int registry_json_auths_set(const void *data, size_t size, const char *server, const char *username,
                            const char *password, char **ret, size_t *ret_size);
