/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
#include <glib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <strings.h>

#include "registry/auth.h"
#include "shared/log.h"

static const char *const auth_scheme_table[_AUTH_SCHEME_MAX] = {
        [AUTH_SCHEME_BASIC] = "Basic",
        [AUTH_SCHEME_BEARER] = "Bearer",
};

const char *auth_scheme_to_string(AuthScheme s)
{
        return s >= 0 && s < _AUTH_SCHEME_MAX ? auth_scheme_table[s] : NULL;
}

AuthScheme auth_scheme_from_string(const char *s)
{
        if (!s)
                return _AUTH_SCHEME_INVALID;
        for (size_t i = 0; i < _AUTH_SCHEME_MAX; i++)
                if (strcasecmp(s, auth_scheme_table[i]) == 0)
                        return (AuthScheme) i;
        return _AUTH_SCHEME_INVALID;
}

AuthChallenge *auth_challenge_free(AuthChallenge *c)
{
        if (!c)
                return NULL;
        free(c->realm);
        free(c->service);
        free(c->scope);
        free(c->error);
        return mfree(c);
}

/* RFC 7230 tchar. */
static bool is_tchar(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static int parse_token(const char **p, char **ret)
{
        const char *s = *p, *e = s;

        while (is_tchar(*e))
                e++;
        if (e == s)
                return -EBADMSG;
        *ret = strndup(s, e - s);
        if (!*ret)
                return -ENOMEM;
        *p = e;
        return 0;
}

static int parse_quoted(const char **p, char **ret)
{
        const char *s = *p;
        _cleanup_free_ char *v = NULL;
        size_t n = 0;

        if (*s != '"')
                return -EBADMSG;
        s++;

        v = malloc(strlen(s) + 1);
        if (!v)
                return -ENOMEM;

        for (;; s++) {
                if (*s == 0)
                        return -EBADMSG; /* unterminated */
                if (*s == '"')
                        break;
                if (*s == '\\') {
                        s++;
                        if (*s == 0)
                                return -EBADMSG;
                }
                v[n++] = *s;
        }
        v[n] = 0;
        *p = s + 1;
        *ret = TAKE_PTR(v);
        return 0;
}

static int challenge_set_param(AuthChallenge *c, const char *name, char *value)
{
        char **field = NULL;

        if (strcasecmp(name, "realm") == 0)
                field = &c->realm;
        else if (strcasecmp(name, "service") == 0)
                field = &c->service;
        else if (strcasecmp(name, "scope") == 0)
                field = &c->scope;
        else if (strcasecmp(name, "error") == 0)
                field = &c->error;

        if (!field) {
                free(value);
                return 0;
        }
        free(*field);
        *field = value;
        return 0;
}

/* Parses one challenge starting at *p (scheme and its parameters) and leaves *p at the start of the next
 * scheme or at the end. Returns the scheme (or _AUTH_SCHEME_INVALID for one we don't know) in ret. */
static int parse_one_challenge(const char **p, AuthChallenge **ret)
{
        _cleanup_(auth_challenge_freep) AuthChallenge *c = NULL;
        _cleanup_free_ char *scheme = NULL;
        const char *s = *p;
        int r;

        r = parse_token(&s, &scheme);
        if (r < 0)
                return r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->scheme = auth_scheme_from_string(scheme);

        for (;;) {
                _cleanup_free_ char *name = NULL, *value = NULL;
                const char *before;

                /* Separators: whitespace after the scheme, commas (and whitespace) between params. */
                while (*s == ' ' || *s == '\t' || *s == ',')
                        s++;
                if (*s == 0)
                        break;

                before = s;
                r = parse_token(&s, &name);
                if (r < 0)
                        return r;
                s = skip_ws(s);
                if (*s != '=') {
                        /* A bare token: the next challenge's scheme. */
                        s = before;
                        break;
                }
                s = skip_ws(s + 1);

                if (*s == '"')
                        r = parse_quoted(&s, &value);
                else if (is_tchar(*s))
                        r = parse_token(&s, &value);
                else {
                        /* Empty value, or the '=' padding of an unknown scheme's token68: nothing we
                         * need. */
                        while (*s == '=')
                                s++;
                        continue;
                }
                if (r < 0)
                        return r;

                s = skip_ws(s);
                if (*s != 0 && *s != ',')
                        return -EBADMSG;

                r = challenge_set_param(c, name, TAKE_PTR(value));
                if (r < 0)
                        return r;
        }

        *p = s;
        *ret = TAKE_PTR(c);
        return 0;
}

int auth_challenge_parse(const char *header, AuthChallenge **ret)
{
        _cleanup_(auth_challenge_freep) AuthChallenge *best = NULL;
        const char *p;
        int r;

        if (!header || !ret)
                return -EINVAL;

        p = header;
        for (;;) {
                _cleanup_(auth_challenge_freep) AuthChallenge *c = NULL;

                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (*p == 0)
                        break;

                r = parse_one_challenge(&p, &c);
                if (r < 0)
                        return r;

                if (c->scheme < 0)
                        continue;
                if (!best || (c->scheme == AUTH_SCHEME_BEARER && best->scheme != AUTH_SCHEME_BEARER)) {
                        auth_challenge_free(best);
                        best = TAKE_PTR(c);
                }
        }

        if (!best)
                return -EOPNOTSUPP;
        if (best->scheme == AUTH_SCHEME_BEARER && isempty(best->realm))
                return -EINVAL;

        *ret = TAKE_PTR(best);
        return 0;
}

static void curl_url_cleanupp(CURLU **u)
{
        if (*u)
                curl_url_cleanup(*u);
}

static int url_append_query(CURLU *u, const char *name, const char *value)
{
        _cleanup_free_ char *q = NULL;

        if (asprintf(&q, "%s=%s", name, value) < 0)
                return -ENOMEM;
        /* URLENCODE with APPENDQUERY escapes everything after the first '='. */
        if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
                return -EINVAL;
        return 0;
}

int auth_token_url(const AuthChallenge *c, const char *fallback_scope, bool allow_http, char **ret)
{
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        _cleanup_free_ char *scheme = NULL;
        const char *scopes;
        char *s = NULL;
        int r;

        if (!c || !ret || c->scheme != AUTH_SCHEME_BEARER || isempty(c->realm))
                return -EINVAL;

        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, c->realm, 0) != CURLUE_OK)
                return -EINVAL;
        if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK)
                return -EINVAL;
        scheme = strdup(s);
        curl_free(s);
        if (!scheme)
                return -ENOMEM;
        if (strcasecmp(scheme, "https") != 0 && !(allow_http && strcasecmp(scheme, "http") == 0))
                return -EINVAL;

        if (!isempty(c->service)) {
                r = url_append_query(u, "service", c->service);
                if (r < 0)
                        return r;
        }

        scopes = !isempty(c->scope) ? c->scope : fallback_scope;
        if (!isempty(scopes)) {
                g_auto(GStrv) l = g_strsplit(scopes, " ", -1);

                for (char **i = l; *i; i++) {
                        if (isempty(*i))
                                continue;
                        r = url_append_query(u, "scope", *i);
                        if (r < 0)
                                return r;
                }
        }
        /* A push's cross-repository mount needs pull on the source repository too, which the challenge of
         * the target's upload does not name: when ours lists several scopes (auth_push_scope() with a
         * source), ask for each the challenge lacks. */
        if (!isempty(c->scope) && fallback_scope && strchr(fallback_scope, ' ')) {
                g_auto(GStrv) have = g_strsplit(c->scope, " ", -1);
                g_auto(GStrv) want = g_strsplit(fallback_scope, " ", -1);

                for (char **i = want; *i; i++) {
                        if (isempty(*i) || g_strv_contains((const char *const *) have, *i))
                                continue;
                        r = url_append_query(u, "scope", *i);
                        if (r < 0)
                                return r;
                }
        }

        if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
                return -EINVAL;
        *ret = strdup(s);
        curl_free(s);
        return *ret ? 0 : -ENOMEM;
}

int auth_pull_scope(const char *path, char **ret)
{
        if (isempty(path) || !ret)
                return -EINVAL;
        if (asprintf(ret, "repository:%s:pull", path) < 0)
                return -ENOMEM;
        return 0;
}

int auth_push_scope(const char *path, const char *mount_from, char **ret)
{
        if (isempty(path) || !ret)
                return -EINVAL;
        if (mount_from && !streq(mount_from, path)
                    ? asprintf(ret, "repository:%s:pull,push repository:%s:pull", path, mount_from) < 0
                    : asprintf(ret, "repository:%s:pull,push", path) < 0)
                return -ENOMEM;
        return 0;
}

int auth_basic_header(const char *username, const char *password, char **ret)
{
        _cleanup_free_ char *plain = NULL, *encoded = NULL;
        size_t n;

        if (!username || !password || !ret || strchr(username, ':'))
                return -EINVAL;

        if (asprintf(&plain, "%s:%s", username, password) < 0)
                return -ENOMEM;
        n = strlen(plain);

        encoded = malloc(4 * ((n + 2) / 3) + 1);
        if (!encoded)
                return -ENOMEM;
        (void) EVP_EncodeBlock((unsigned char *) encoded, (const unsigned char *) plain, (int) n);

        explicit_bzero(plain, n);
        if (asprintf(ret, "Authorization: Basic %s", encoded) < 0)
                return -ENOMEM;
        return 0;
}

#define TOKEN_DEFAULT_EXPIRES_SEC 60U
#define TOKEN_MARGIN_MAX_SEC      30U

uint64_t auth_token_lifetime_usec(uint64_t expires_in)
{
        uint64_t margin;

        if (expires_in < TOKEN_DEFAULT_EXPIRES_SEC)
                expires_in = TOKEN_DEFAULT_EXPIRES_SEC;
        /* Refresh a quarter of the lifetime early, at most 30 s: a request started just before expiry must
         * not reach the registry with a dead token. */
        margin = MIN(expires_in / 4, (uint64_t) TOKEN_MARGIN_MAX_SEC);
        return (expires_in - margin) * USEC_PER_SEC;
}

typedef struct CachedToken {
        char *token;
        uint64_t valid_until;
} CachedToken;

struct AuthTokenCache {
        GHashTable *entries; /* "registry\nscope" → CachedToken */
};

static void cached_token_free(void *p)
{
        CachedToken *t = p;

        if (!t)
                return;
        if (t->token) {
                explicit_bzero(t->token, strlen(t->token));
                free(t->token);
        }
        free(t);
}

static char *cache_key(const char *registry, const char *scope)
{
        char *k;

        if (asprintf(&k, "%s\n%s", strempty(registry), strempty(scope)) < 0)
                return NULL;
        return k;
}

int auth_token_cache_new(AuthTokenCache **ret)
{
        AuthTokenCache *c;

        if (!ret)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->entries = g_hash_table_new_full(g_str_hash, g_str_equal, free, cached_token_free);
        *ret = c;
        return 0;
}

AuthTokenCache *auth_token_cache_free(AuthTokenCache *c)
{
        if (!c)
                return NULL;
        if (c->entries)
                g_hash_table_unref(c->entries);
        return mfree(c);
}

int auth_token_cache_put(AuthTokenCache *c, const char *registry, const char *scope, const char *token,
                         uint64_t expires_in, uint64_t now)
{
        CachedToken *t;
        char *k;

        if (!c || !registry || !token)
                return -EINVAL;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->token = strdup(token);
        if (!t->token) {
                free(t);
                return -ENOMEM;
        }
        t->valid_until = now + auth_token_lifetime_usec(expires_in);

        k = cache_key(registry, scope);
        if (!k) {
                cached_token_free(t);
                return -ENOMEM;
        }
        g_hash_table_replace(c->entries, k, t);
        return 0;
}

const char *auth_token_cache_get(AuthTokenCache *c, const char *registry, const char *scope, uint64_t now)
{
        _cleanup_free_ char *k = NULL;
        CachedToken *t;

        if (!c || !registry)
                return NULL;

        k = cache_key(registry, scope);
        if (!k)
                return NULL;
        t = g_hash_table_lookup(c->entries, k);
        if (!t)
                return NULL;
        if (now >= t->valid_until) {
                g_hash_table_remove(c->entries, k);
                return NULL;
        }
        return t->token;
}

void auth_token_cache_forget(AuthTokenCache *c, const char *registry, const char *scope)
{
        _cleanup_free_ char *k = NULL;

        if (!c || !registry)
                return;
        k = cache_key(registry, scope);
        if (k)
                g_hash_table_remove(c->entries, k);
}
