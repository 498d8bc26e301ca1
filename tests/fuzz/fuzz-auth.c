/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a registry answers around authentication, i.e. what any server a user pulls from controls: the
 * WWW-Authenticate header (first byte even), or (first byte odd) a JSON body: token response, error body,
 * catalog, search results, and Docker's auth file format, which share src/oci/registry-json.c. */
#include "fuzz.h"
#include "oci/registry-json.h"
#include "registry/auth.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        return 0;
}

static void fuzz_challenge(const uint8_t *data, size_t size)
{
        _cleanup_(auth_challenge_freep) AuthChallenge *c = NULL;
        _cleanup_free_ char *header = fuzz_strndup(data, size), *url = NULL, *url_http = NULL;

        if (auth_challenge_parse(header, &c) < 0) {
                fuzz_check(!c);
                return;
        }
        fuzz_check(c->scheme == AUTH_SCHEME_BASIC || c->scheme == AUTH_SCHEME_BEARER);
        if (c->scheme == AUTH_SCHEME_BEARER)
                fuzz_check(c->realm);
        /* The realm decides where berthd sends credentials next: only absolute http(s) URLs may pass. */
        if (auth_token_url(c, "repository:library/debian:pull", false, &url) == 0)
                fuzz_check(strncmp(url, "https://", 8) == 0);
        if (auth_token_url(c, NULL, true, &url_http) == 0)
                fuzz_check(strncmp(url_http, "https://", 8) == 0 || strncmp(url_http, "http://", 7) == 0);
}

static void fuzz_json(const uint8_t *data, size_t size)
{
        RegistryTokenResponse t = {};
        RegistrySearchResult *results = NULL;
        RegistryJsonAuth *auths = NULL;
        char *code = NULL, *message = NULL, **repositories = NULL;
        size_t n;

        if (registry_json_parse_token(data, size, &t) == 0) {
                fuzz_check(t.token);
                registry_token_response_done(&t);
        }
        if (registry_json_parse_error(data, size, &code, &message) == 0) {
                free(code);
                free(message);
        }
        if (registry_json_parse_catalog(data, size, &repositories) == 0) {
                STRV_FOREACH (r, repositories)
                        free(*r);
                free(repositories);
        }
        if (registry_json_parse_search(data, size, &results, &n) == 0) {
                for (size_t i = 0; i < n; i++)
                        fuzz_check(results[i].name && results[i].description);
                registry_search_results_free(results, n);
        }
        if (registry_json_parse_auths(data, size, &auths, &n) == 0)
                registry_json_auths_free(auths, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        if (data[0] % 2 == 0)
                fuzz_challenge(data + 1, size - 1);
        else
                fuzz_json(data + 1, size - 1);
        return 0;
}
