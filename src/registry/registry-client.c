/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "oci/registry-json.h"
#include "registry/auth.h"
#include "registry/http.h"
#include "registry/registry-client.h"
#include "shared/log.h"

#define MANIFEST_MAX ((size_t) 4U * 1024U * 1024U)
#define BLOB_MAX_DEFAULT ((size_t) 16U * 1024U * 1024U)
#define TOKEN_BODY_MAX ((size_t) 1024U * 1024U)
#define CATALOG_PAGE_SIZE 100U
#define CATALOG_PAGES_DEFAULT 10U
#define SEARCH_LIMIT_DEFAULT 25U
/* A search reads at most this much per answer, and at most SEARCH_CATALOG_PAGES catalog pages: what any
 * local user allowed to search can make berthd hold. */
#define SEARCH_BODY_MAX        ((size_t) 1024U * 1024U)
#define SEARCH_CATALOG_PAGES   5U
#define PROGRESS_INTERVAL_USEC (250 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (30 * USEC_PER_SEC)
#define RETRY_AFTER_MAX_USEC (300 * USEC_PER_SEC)
#define BAD_ENDPOINT_USEC (60 * USEC_PER_SEC)

#define ACCEPT_MANIFESTS                                                                          \
        "Accept: application/vnd.oci.image.index.v1+json, "                                      \
        "application/vnd.docker.distribution.manifest.list.v2+json, "                             \
        "application/vnd.oci.image.manifest.v1+json, "                                           \
        "application/vnd.docker.distribution.manifest.v2+json"

static const char *const registry_error_kind_table[_REGISTRY_ERROR_KIND_MAX] = {
        [REGISTRY_ERROR_UNAUTHORIZED] = "unauthorized",
        [REGISTRY_ERROR_MANIFEST_UNKNOWN] = "manifest-unknown",
        [REGISTRY_ERROR_BLOB_UNKNOWN] = "blob-unknown",
        [REGISTRY_ERROR_REGISTRY] = "registry-error",
        [REGISTRY_ERROR_NETWORK] = "network",
        [REGISTRY_ERROR_CANCELLED] = "cancelled",
};

const char *registry_error_kind_to_string(RegistryErrorKind k)
{
        return k >= 0 && k < _REGISTRY_ERROR_KIND_MAX ? registry_error_kind_table[k] : NULL;
}

RegistryErrorKind registry_error_kind_from_string(const char *s)
{
        if (!s)
                return _REGISTRY_ERROR_KIND_INVALID;
        for (size_t i = 0; i < _REGISTRY_ERROR_KIND_MAX; i++)
                if (streq(s, registry_error_kind_table[i]))
                        return (RegistryErrorKind) i;
        return _REGISTRY_ERROR_KIND_INVALID;
}

typedef enum RequestKind {
        REQUEST_MANIFEST,
        REQUEST_BLOB,
        REQUEST_STREAM,
        REQUEST_CATALOG,
        REQUEST_SEARCH,
} RequestKind;

/* An error we own, turned into a RegistryError when delivered. */
typedef struct ErrorInfo {
        bool set;
        RegistryErrorKind kind;
        int error;
        long status;
        char *code;
        char *message;
} ErrorInfo;

struct RegistryClient {
        sd_event *event;
        CurlGlue *glue;
        RegistryConfig *config;
        AuthTokenCache *tokens;
        GHashTable *basic_endpoints; /* endpoints that asked for Basic: send it right away next time */
        GHashTable *bad_endpoints;   /* endpoint → monotonic second until which new requests skip it */
        RegistryRequest *requests;
};

struct RegistryRequest {
        RegistryClient *client;
        RegistryRequest *prev, *next;
        RequestKind kind;

        char *domain;
        char **endpoints;
        size_t n_endpoints, endpoint_idx;
        char *url_path; /* appended to the endpoint */
        char *scope;    /* token scope we need, or NULL */
        size_t body_max;

        HttpRequest *http;
        HttpRequest *token_http;
        sd_event_source *retry_timer;
        unsigned attempt, max_attempts;
        bool auth_tried;     /* answered this endpoint's challenge already */
        char *authorization; /* "Authorization: …" to send, or NULL */

        ErrorInfo saved; /* first HTTP-level error of an earlier endpoint */

        unsigned busy; /* nesting of consumer callbacks */
        bool cancelled;

        /* REQUEST_STREAM */
        RegistryStreamOps ops;
        uint64_t expected_size, done, total, last_progress;
        bool range_ok, body_started, paused;
        size_t skip;
        int consumer_error, stream_error;

        /* REQUEST_CATALOG and catalog-based REQUEST_SEARCH */
        GPtrArray *repositories;
        unsigned pages, max_pages;
        char *term;

        RegistryManifestCallback manifest_cb;
        RegistryBlobCallback blob_cb;
        RegistryCatalogCallback catalog_cb;
        RegistrySearchCallback search_cb;
        void *userdata;
};

static int request_start_attempt(RegistryRequest *req);
static void request_handle_failure(RegistryRequest *req, ErrorInfo *e, bool transient, uint64_t retry_after);

static void error_info_done(ErrorInfo *e)
{
        free(e->code);
        free(e->message);
        *e = (ErrorInfo){};
}

static uint64_t now_usec(RegistryClient *c)
{
        uint64_t t = 0;

        if (sd_event_now(c->event, CLOCK_MONOTONIC, &t) < 0)
                t = 0;
        return t;
}

static RegistryRequest *request_free(RegistryRequest *req)
{
        if (!req)
                return NULL;

        if (req->client) {
                if (req->prev)
                        req->prev->next = req->next;
                else
                        req->client->requests = req->next;
                if (req->next)
                        req->next->prev = req->prev;
        }

        http_request_free(req->http);
        http_request_free(req->token_http);
        sd_event_source_disable_unref(req->retry_timer);
        free(req->domain);
        g_strfreev(req->endpoints);
        free(req->url_path);
        free(req->scope);
        free(req->authorization);
        error_info_done(&req->saved);
        if (req->repositories)
                g_ptr_array_unref(req->repositories);
        free(req->term);
        return mfree(req);
}

void registry_request_cancel(RegistryRequest *req)
{
        if (!req)
                return;
        if (req->busy > 0) {
                /* Inside one of its callbacks: the code that called it frees the request on return. */
                req->cancelled = true;
                return;
        }
        request_free(req);
}

unsigned registry_request_get_attempt(RegistryRequest *req)
{
        return req ? req->attempt : 0;
}

/* ---- delivering results ---------------------------------------------------------------------------- */

static void request_deliver(RegistryRequest *req, const RegistryError *error, const void *body, size_t size,
                            const char *content_type, const char *digest)
{
        req->busy++;
        switch (req->kind) {
        case REQUEST_MANIFEST:
                req->manifest_cb(req, error, error ? NULL : body, error ? 0 : size,
                                 error ? NULL : content_type, error ? NULL : digest, req->userdata);
                break;
        case REQUEST_BLOB:
                req->blob_cb(req, error, error ? NULL : body, error ? 0 : size, req->userdata);
                break;
        case REQUEST_STREAM:
                if (!error && req->ops.progress && !req->cancelled)
                        req->ops.progress(req, req->done, req->total, req->userdata);
                if (!req->cancelled)
                        req->ops.finished(req, error, req->userdata);
                break;
        case REQUEST_CATALOG:
        case REQUEST_SEARCH:
                /* Handled by their own deliver functions; only errors come here. */
                if (req->catalog_cb)
                        req->catalog_cb(req, error, NULL, req->userdata);
                else
                        req->search_cb(req, error, NULL, 0, req->userdata);
                break;
        }
        req->busy--;
        request_free(req);
}

static void request_fail_info(RegistryRequest *req, const ErrorInfo *e)
{
        RegistryError error = {
                .kind = e->kind,
                .error = e->error < 0 ? e->error : -EIO,
                .http_status = e->status,
                .code = e->code,
                .message = e->message ?: "Unknown error",
        };

        log_debug("Registry request for %s%s failed: %s", strna(req->domain), strempty(req->url_path),
                  error.message);
        request_deliver(req, &error, NULL, 0, NULL, NULL);
}

static void request_fail(RegistryRequest *req, RegistryErrorKind kind, int error, const char *format, ...)
        _printf_(4, 5);
static void request_fail(RegistryRequest *req, RegistryErrorKind kind, int error, const char *format, ...)
{
        ErrorInfo e = { .set = true, .kind = kind, .error = error };
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&e.message, format, ap) < 0)
                e.message = NULL;
        va_end(ap);

        request_fail_info(req, &e);
        error_info_done(&e);
}

/* ---- starting attempts ---------------------------------------------------------------------------- */

/* "https://host:port/x" → "host:port". */
static char *endpoint_host(const char *endpoint)
{
        const char *p = strstr(endpoint, "://"), *e;

        p = p ? p + 3 : endpoint;
        e = strchr(p, '/');
        return e ? strndup(p, e - p) : strdup(p);
}

static bool endpoint_is_http(const char *endpoint)
{
        return g_ascii_strncasecmp(endpoint, "http://", 7) == 0;
}

static const char *request_endpoint(RegistryRequest *req)
{
        return req->endpoints[req->endpoint_idx];
}

static int request_apply_tls(RegistryRequest *req, HttpRequest *http)
{
        RegistryConfig *cfg = req->client->config;
        bool insecure = req->domain && registry_config_is_insecure(cfg, req->domain);

        return http_request_set_tls(http, req->domain ? registry_config_get_ca_file(cfg, req->domain) : NULL,
                                    !insecure);
}

static int request_credentials(RegistryRequest *req, const char **ret_user, const char **ret_password)
{
        _cleanup_free_ char *host = endpoint_host(request_endpoint(req));

        if (!host)
                return -ENOMEM;
        return registry_config_get_credentials(req->client->config, host, ret_user, ret_password);
}

static int request_pick_authorization(RegistryRequest *req, char **ret)
{
        RegistryClient *c = req->client;
        const char *endpoint = request_endpoint(req), *token, *user, *password;

        if (req->authorization) {
                *ret = strdup(req->authorization);
                return *ret ? 1 : -ENOMEM;
        }

        token = auth_token_cache_get(c->tokens, endpoint, req->scope, now_usec(c));
        if (token) {
                if (asprintf(ret, "Authorization: Bearer %s", token) < 0)
                        return -ENOMEM;
                return 1;
        }

        if (g_hash_table_contains(c->basic_endpoints, endpoint) &&
            request_credentials(req, &user, &password) >= 0)
                return auth_basic_header(user, password, ret) < 0 ? -ENOMEM : 1;

        *ret = NULL;
        return 0;
}

static size_t on_stream_data(HttpRequest *http, const void *p, size_t n, void *userdata);
static void on_http_finished(HttpRequest *http, CURLcode result, void *userdata);

static int request_start_attempt(RegistryRequest *req)
{
        _cleanup_(http_request_freep) HttpRequest *http = NULL;
        _cleanup_free_ char *url = NULL, *authorization = NULL;
        int r;

        url = g_strconcat(request_endpoint(req), req->url_path, NULL);
        if (!url)
                return -ENOMEM;

        r = http_request_new(req->client->glue, url, &http);
        if (r < 0)
                return r;
        r = request_apply_tls(req, http);
        if (r < 0)
                return r;

        if (req->kind == REQUEST_MANIFEST) {
                r = http_request_add_header(http, ACCEPT_MANIFESTS);
                if (r < 0)
                        return r;
        }

        r = request_pick_authorization(req, &authorization);
        if (r < 0)
                return r;
        if (r > 0) {
                r = http_request_add_header(http, authorization);
                explicit_bzero(authorization, strlen(authorization));
                if (r < 0)
                        return r;
        }

        if (req->kind == REQUEST_STREAM) {
                req->body_started = false;
                req->paused = false;
                req->skip = 0;
                if (req->done > 0) {
                        r = http_request_add_headerf(http, "Range: bytes=%" PRIu64 "-", req->done);
                        if (r < 0)
                                return r;
                }
                http_request_set_stream(http, on_stream_data);
        } else
                http_request_set_body_max(http, req->body_max);

        r = http_request_start(http, on_http_finished, req);
        if (r < 0)
                return r;

        log_debug("GET %s (attempt %u)", url, req->attempt);
        /* Only now: the caller may still be reading the previous answer if we fail. */
        http_request_free(req->http);
        req->http = TAKE_PTR(http);
        return 0;
}

static void request_start_or_fail(RegistryRequest *req)
{
        int r = request_start_attempt(req);
        if (r < 0)
                request_fail(req, REGISTRY_ERROR_REGISTRY, r, "Failed to start request: %s", strerror(-r));
}

/* Before a new attempt of a stream that already passed data on: resume with Range if the server said it
 * can, else tell the consumer to start over. Returns false if the consumer cancelled meanwhile. */
static bool stream_prepare_retry(RegistryRequest *req)
{
        if (req->kind != REQUEST_STREAM || req->done == 0 || req->range_ok)
                return true;

        req->done = 0;
        if (req->ops.restart) {
                req->busy++;
                req->ops.restart(req, req->userdata);
                req->busy--;
                if (req->cancelled) {
                        request_free(req);
                        return false;
                }
        }
        return true;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        RegistryRequest *req = userdata;

        req->retry_timer = sd_event_source_disable_unref(req->retry_timer);
        if (!stream_prepare_retry(req))
                return 0;
        request_start_or_fail(req);
        return 0;
}

static void request_mark_bad(RegistryRequest *req)
{
        RegistryClient *c = req->client;
        uint64_t until = (now_usec(c) + BAD_ENDPOINT_USEC) / USEC_PER_SEC;

        g_hash_table_replace(c->bad_endpoints, g_strdup(request_endpoint(req)), GUINT_TO_POINTER((guint) until));
}

static void request_handle_failure(RegistryRequest *req, ErrorInfo *e, bool transient, uint64_t retry_after)
{
        RegistryClient *c = req->client;

        if (e->kind == REGISTRY_ERROR_NETWORK)
                request_mark_bad(req);

        /* Another endpoint (the registry after a mirror, http after https) is worth a try right away. */
        if (req->endpoint_idx + 1 < req->n_endpoints) {
                log_debug("%s failed (%s), trying the next endpoint.", request_endpoint(req), e->message);
                if (e->kind != REGISTRY_ERROR_NETWORK && !req->saved.set) {
                        req->saved = *e;
                        *e = (ErrorInfo){};
                }
                req->endpoint_idx++;
                req->attempt++;
                req->auth_tried = false;
                req->authorization = mfree(req->authorization);
                if (!stream_prepare_retry(req))
                        return;
                request_start_or_fail(req);
                return;
        }

        if (transient && req->attempt < req->max_attempts) {
                uint64_t delay = registry_config_get_retry_delay_usec(c->config);
                int r;

                for (unsigned i = 1; i < req->attempt && delay < BACKOFF_MAX_USEC; i++)
                        delay *= 2;
                delay = MIN(delay, BACKOFF_MAX_USEC);
                delay = MAX(delay, MIN(retry_after, RETRY_AFTER_MAX_USEC));

                log_debug("%s: %s; retrying in %" PRIu64 " ms.", request_endpoint(req), e->message,
                          delay / USEC_PER_MSEC);
                req->attempt++;
                req->auth_tried = false;
                req->http = http_request_free(req->http);

                r = sd_event_add_time_relative(c->event, &req->retry_timer, CLOCK_MONOTONIC, delay, 1,
                                               on_retry_timer, req);
                if (r >= 0)
                        return;
                log_debug_errno(r, "Failed to arm retry timer: %m");
        }

        /* A mere connection failure of the last endpoint says less than what an earlier one answered. */
        if (e->kind == REGISTRY_ERROR_NETWORK && req->saved.set)
                request_fail_info(req, &req->saved);
        else
                request_fail_info(req, e);
}

/* ---- classifying answers -------------------------------------------------------------------------- */

static bool curl_result_transient(CURLcode r)
{
        switch (r) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

static int curl_result_to_errno(CURLcode r)
{
        switch (r) {
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
                return -ECONNRESET;
        case CURLE_TOO_MANY_REDIRECTS:
                return -ELOOP;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
                return -EPROTO;
        default:
                return -EIO;
        }
}

static bool status_transient(long status)
{
        return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
               status == 504;
}

/* Retry-After: delta-seconds or an HTTP date. */
static uint64_t parse_retry_after(const char *v)
{
        char *end;
        unsigned long long s;
        time_t t, now;

        if (isempty(v))
                return 0;
        errno = 0;
        s = strtoull(v, &end, 10);
        if (errno == 0 && end != v && *end == 0)
                return MIN(s, (unsigned long long) (RETRY_AFTER_MAX_USEC / USEC_PER_SEC)) * USEC_PER_SEC;

        t = curl_getdate(v, NULL);
        now = time(NULL);
        if (t < 0 || t <= now)
                return 0;
        return MIN((uint64_t) (t - now), RETRY_AFTER_MAX_USEC / USEC_PER_SEC) * USEC_PER_SEC;
}

/* Fills e from a non-2xx answer, with the registry's own code and message when it sent them. */
static void error_from_http(RegistryRequest *req, HttpRequest *http, ErrorInfo *e)
{
        _cleanup_free_ char *code = NULL, *message = NULL;
        const void *body;
        size_t size;
        long status = http_request_get_status(http);

        body = http_request_get_body(http, &size);
        if (size > 0)
                (void) registry_json_parse_error(body, size, &code, &message);

        *e = (ErrorInfo){ .set = true, .status = status };

        if (status == 401 || status == 403) {
                e->kind = REGISTRY_ERROR_UNAUTHORIZED;
                e->error = -EACCES;
        } else if ((req->kind == REQUEST_MANIFEST &&
                    (status == 404 || streq_ptr(code, "MANIFEST_UNKNOWN") || streq_ptr(code, "NAME_UNKNOWN"))) ||
                   (req->kind != REQUEST_BLOB && req->kind != REQUEST_STREAM &&
                    (streq_ptr(code, "MANIFEST_UNKNOWN") || streq_ptr(code, "NAME_UNKNOWN")))) {
                e->kind = REGISTRY_ERROR_MANIFEST_UNKNOWN;
                e->error = -ENOENT;
        } else if ((req->kind == REQUEST_BLOB || req->kind == REQUEST_STREAM) &&
                   (status == 404 || streq_ptr(code, "BLOB_UNKNOWN"))) {
                e->kind = REGISTRY_ERROR_BLOB_UNKNOWN;
                e->error = -ENOENT;
        } else {
                e->kind = REGISTRY_ERROR_REGISTRY;
                e->error = status == 429 ? -EBUSY : -EREMOTEIO;
        }

        if (message)
                e->message = TAKE_PTR(message);
        else if (asprintf(&e->message, "HTTP %ld from %s", status, request_endpoint(req)) < 0)
                e->message = NULL;
        e->code = TAKE_PTR(code);
}

/* ---- authentication ------------------------------------------------------------------------------- */

static void on_token_finished(HttpRequest *http, CURLcode result, void *userdata)
{
        RegistryRequest *req = userdata;
        RegistryClient *c = req->client;
        RegistryTokenResponse t = {};
        ErrorInfo e = {};
        const void *body;
        size_t size;
        long status;
        int r;

        if (result != CURLE_OK) {
                e = (ErrorInfo){ .set = true, .kind = REGISTRY_ERROR_NETWORK, .error = curl_result_to_errno(result) };
                if (asprintf(&e.message, "Token request failed: %s",
                             http_request_get_error(http) ?: curl_easy_strerror(result)) < 0)
                        e.message = NULL;
                req->token_http = http_request_free(req->token_http);
                request_handle_failure(req, &e, curl_result_transient(result), 0);
                error_info_done(&e);
                return;
        }

        status = http_request_get_status(http);
        if (status == 401 || status == 403) {
                req->token_http = http_request_free(req->token_http);
                request_fail(req, REGISTRY_ERROR_UNAUTHORIZED, -EACCES,
                             "Token server rejected the credentials for %s (HTTP %ld)", req->domain, status);
                return;
        }
        if (status < 200 || status >= 300) {
                req->token_http = http_request_free(req->token_http);
                e = (ErrorInfo){ .set = true, .kind = REGISTRY_ERROR_REGISTRY, .error = -EREMOTEIO, .status = status };
                if (asprintf(&e.message, "Token server answered HTTP %ld", status) < 0)
                        e.message = NULL;
                request_handle_failure(req, &e, status_transient(status), 0);
                error_info_done(&e);
                return;
        }

        body = http_request_get_body(http, &size);
        r = registry_json_parse_token(body, size, &t);
        req->token_http = http_request_free(req->token_http);
        if (r < 0) {
                request_fail(req, REGISTRY_ERROR_REGISTRY, r, "Token server sent no usable token");
                return;
        }

        r = auth_token_cache_put(c->tokens, request_endpoint(req), req->scope, t.token, t.expires_in, now_usec(c));
        if (r >= 0) {
                free(req->authorization);
                if (asprintf(&req->authorization, "Authorization: Bearer %s", t.token) < 0) {
                        req->authorization = NULL;
                        r = -ENOMEM;
                }
        }
        registry_token_response_done(&t);
        if (r < 0) {
                request_fail(req, REGISTRY_ERROR_REGISTRY, r, "Failed to store token: %s", strerror(-r));
                return;
        }

        req->auth_tried = true;
        request_start_or_fail(req);
}

static void curl_url_cleanupp(CURLU **u)
{
        curl_url_cleanup(*u);
}

/* "https://Auth.Example:8443/token" → "auth.example:8443"; "http://[::1]/x" → "[::1]". NULL if unparsable.
 */
static char *url_authority(const char *url)
{
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
        char *host = NULL, *port = NULL, *s;

        if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                return NULL;
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
                port = NULL;
        s = g_ascii_strdown(host, -1);
        if (port) {
                char *t = g_strconcat(s, ":", port, NULL);
                g_free(s);
                s = t;
        }
        curl_free(host);
        curl_free(port);
        return s;
}

static int request_fetch_token(RegistryRequest *req, const AuthChallenge *ch)
{
        _cleanup_(http_request_freep) HttpRequest *http = NULL;
        _cleanup_free_ char *url = NULL, *basic = NULL, *endpoint = NULL;
        g_autofree char *realm = NULL;
        RegistryConfig *cfg = req->client->config;
        const char *user, *password;
        bool allow_http, same_host;
        int r;

        /* A realm on the endpoint's own host:port is the registry and gets its settings. A realm elsewhere
         * is another server: it gets the settings berth.conf has for *that* host (its own [Registry
         * host:port] Insecure= and CAFile=, the Insecure= list, the loopback rule), never the registry's, or
         * an insecure or privately trusted registry would lend plain HTTP and unchecked (or its CA's)
         * certificates to any realm it names. */
        realm = url_authority(ch->realm);
        endpoint = endpoint_host(request_endpoint(req));
        if (!realm || !endpoint)
                return -EINVAL;
        same_host = g_ascii_strcasecmp(realm, endpoint) == 0;
        if (same_host)
                allow_http = endpoint_is_http(request_endpoint(req)) ||
                             (req->domain && registry_config_is_insecure(cfg, req->domain));
        else
                allow_http = registry_config_is_insecure(cfg, realm);
        r = auth_token_url(ch, req->scope, allow_http, &url);
        if (r < 0)
                return r;

        r = http_request_new(req->client->glue, url, &http);
        if (r < 0)
                return r;
        if (same_host)
                r = request_apply_tls(req, http);
        else
                r = http_request_set_tls(http, registry_config_get_ca_file(cfg, realm),
                                         !registry_config_is_insecure(cfg, realm));
        if (r < 0)
                return r;
        http_request_set_body_max(http, TOKEN_BODY_MAX);

        if (request_credentials(req, &user, &password) >= 0) {
                r = auth_basic_header(user, password, &basic);
                if (r < 0)
                        return r;
                r = http_request_add_header(http, basic);
                explicit_bzero(basic, strlen(basic));
                if (r < 0)
                        return r;
        }

        r = http_request_start(http, on_token_finished, req);
        if (r < 0)
                return r;
        log_debug("Fetching token from %s", url);
        req->token_http = TAKE_PTR(http);
        return 0;
}

/* A 401: answer the challenge once per endpoint. Returns true if a new attempt is under way. */
static bool request_answer_challenge(RegistryRequest *req, HttpRequest *http)
{
        _cleanup_(auth_challenge_freep) AuthChallenge *ch = NULL;
        const char *header, *user, *password;
        int r;

        if (req->auth_tried)
                return false;

        header = http_request_get_header(http, "WWW-Authenticate");
        if (!header)
                return false;
        r = auth_challenge_parse(header, &ch);
        if (r < 0) {
                log_debug_errno(r, "Unusable challenge '%s': %m", header);
                return false;
        }

        /* Whatever we sent did not do; drop it. */
        req->authorization = mfree(req->authorization);
        auth_token_cache_forget(req->client->tokens, request_endpoint(req), req->scope);

        if (ch->scheme == AUTH_SCHEME_BASIC) {
                if (request_credentials(req, &user, &password) < 0)
                        return false;
                r = auth_basic_header(user, password, &req->authorization);
                if (r < 0)
                        return false;
                g_hash_table_add(req->client->basic_endpoints, g_strdup(request_endpoint(req)));
                req->auth_tried = true;
                r = request_start_attempt(req);
                return r >= 0;
        }

        r = request_fetch_token(req, ch);
        if (r < 0) {
                log_debug_errno(r, "Failed to request a token: %m");
                return false;
        }
        req->http = http_request_free(req->http);
        return true;
}

/* ---- streams -------------------------------------------------------------------------------------- */

/* "bytes <start>-<end>/<total|*>" */
static int parse_content_range(const char *v, uint64_t *ret_start, uint64_t *ret_total)
{
        unsigned long long start, end, total = 0;
        const char *slash;

        if (!v || sscanf(v, "bytes %llu-%llu", &start, &end) != 2 || end < start)
                return -EBADMSG;
        slash = strchr(v, '/');
        if (slash && slash[1] != '*')
                total = strtoull(slash + 1, NULL, 10);
        *ret_start = start;
        *ret_total = total;
        return 0;
}

static void stream_progress(RegistryRequest *req, bool force)
{
        uint64_t t;

        if (!req->ops.progress)
                return;
        t = now_usec(req->client);
        if (!force && req->last_progress != 0 && t < req->last_progress + PROGRESS_INTERVAL_USEC)
                return;
        req->last_progress = t;
        req->busy++;
        req->ops.progress(req, req->done, req->total, req->userdata);
        req->busy--;
}

/* First bytes of a 2xx answer: did the server resume where we asked? */
static int stream_begin(RegistryRequest *req, HttpRequest *http)
{
        long status = http_request_get_status(http);
        const char *ar = http_request_get_header(http, "Accept-Ranges");
        curl_off_t length = -1;

        req->body_started = true;
        req->range_ok = status == 206 || (ar && strcasestr(ar, "bytes"));
        (void) curl_easy_getinfo(http_request_get_easy(http), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);

        if (status == 206) {
                uint64_t start, total;

                if (parse_content_range(http_request_get_header(http, "Content-Range"), &start, &total) < 0 ||
                    start != req->done)
                        return -EPROTO;
                req->total = req->expected_size ?: total;
                return 0;
        }

        if (req->done > 0) {
                /* We asked for a range and got the whole blob. */
                req->done = 0;
                if (req->ops.restart) {
                        req->busy++;
                        req->ops.restart(req, req->userdata);
                        req->busy--;
                }
        }
        req->total = req->expected_size ?: (length > 0 ? (uint64_t) length : 0);
        return 0;
}

static size_t on_stream_data(HttpRequest *http, const void *p, size_t n, void *userdata)
{
        RegistryRequest *req = userdata;
        const uint8_t *q = p;
        size_t skipped = 0;
        ssize_t k;
        int r;

        if (req->cancelled)
                return 0;

        if (!req->body_started) {
                r = stream_begin(req, http);
                if (r < 0) {
                        req->stream_error = r;
                        return 0;
                }
                if (req->cancelled)
                        return 0;
        }

        /* After a pause curl hands out the held-back chunk again from its start; skip what the consumer
         * already took of it. */
        if (req->skip > 0) {
                skipped = MIN(req->skip, n);
                req->skip -= skipped;
                if (skipped == n)
                        return n;
        }

        if (req->expected_size > 0 && req->done + (n - skipped) > req->expected_size) {
                req->stream_error = -EFBIG;
                return 0;
        }

        if (!req->ops.data)
                k = (ssize_t) (n - skipped);
        else {
                req->busy++;
                k = req->ops.data(req, q + skipped, n - skipped, req->userdata);
                req->busy--;
        }
        if (req->cancelled)
                return 0;
        if (k < 0) {
                req->consumer_error = (int) k;
                return 0;
        }
        if ((size_t) k > n - skipped)
                k = (ssize_t) (n - skipped);

        req->done += k;
        stream_progress(req, false);
        if (req->cancelled)
                return 0;

        if ((size_t) k < n - skipped) {
                req->skip = skipped + (size_t) k;
                req->paused = true;
                return CURL_WRITEFUNC_PAUSE;
        }
        return n;
}

int registry_blob_resume(RegistryRequest *req)
{
        if (!req || req->kind != REQUEST_STREAM)
                return -EINVAL;
        if (!req->paused || !req->http)
                return 0;

        req->paused = false;
        return http_request_unpause(req->http);
}

/* ---- completion ----------------------------------------------------------------------------------- */

static int link_next(const char *link, char **ret)
{
        const char *lt, *gt;

        /* </v2/_catalog?last=foo&n=100>; rel="next" */
        if (!link || !strstr(link, "rel=\"next\"") || !(lt = strchr(link, '<')) || !(gt = strchr(lt, '>')))
                return 0;
        if (lt[1] != '/')
                return 0; /* only same-origin paths; an absolute URL could lead anywhere */
        *ret = strndup(lt + 1, gt - lt - 1);
        return *ret ? 1 : -ENOMEM;
}

static void catalog_deliver(RegistryRequest *req)
{
        g_autoptr(GPtrArray) matches = NULL;
        RegistrySearchResult *results = NULL;
        size_t n = 0;

        g_ptr_array_add(req->repositories, NULL);
        req->busy++;
        if (req->kind == REQUEST_CATALOG)
                req->catalog_cb(req, NULL, (char **) req->repositories->pdata, req->userdata);
        else {
                results = calloc(req->repositories->len + 1, sizeof(*results));
                if (results)
                        for (guint i = 0; i + 1 < req->repositories->len; i++) {
                                const char *repo = req->repositories->pdata[i];

                                if (!strstr(repo, req->term))
                                        continue;
                                results[n].name = g_strconcat(req->domain, "/", repo, NULL);
                                results[n].description = strdup("");
                                n++;
                        }
                if (results)
                        req->search_cb(req, NULL, results, n, req->userdata);
                else {
                        RegistryError e = { .kind = REGISTRY_ERROR_REGISTRY, .error = -ENOMEM, .message = "Out of memory" };
                        req->search_cb(req, &e, NULL, 0, req->userdata);
                }
        }
        req->busy--;
        for (size_t i = 0; i < n; i++) {
                g_free(results[i].name);
                free(results[i].description);
        }
        free(results);
        request_free(req);
}

static void request_succeeded(RegistryRequest *req, HttpRequest *http)
{
        const void *body;
        size_t size;
        int r;

        body = http_request_get_body(http, &size);

        switch (req->kind) {
        case REQUEST_MANIFEST:
                request_deliver(req, NULL, body, size, http_request_get_header(http, "Content-Type"),
                                http_request_get_header(http, "Docker-Content-Digest"));
                return;

        case REQUEST_BLOB:
                request_deliver(req, NULL, body, size, NULL, NULL);
                return;

        case REQUEST_STREAM:
                if (!req->body_started) {
                        r = stream_begin(req, http);
                        if (r < 0) {
                                request_fail(req, REGISTRY_ERROR_REGISTRY, r, "Server resumed at the wrong offset");
                                return;
                        }
                }
                if (req->expected_size > 0 && req->done != req->expected_size) {
                        request_fail(req, REGISTRY_ERROR_REGISTRY, -EPROTO,
                                     "Blob has %" PRIu64 " bytes, expected %" PRIu64, req->done,
                                     req->expected_size);
                        return;
                }
                if (req->total == 0)
                        req->total = req->done;
                request_deliver(req, NULL, NULL, 0, NULL, NULL);
                return;

        case REQUEST_CATALOG:
        case REQUEST_SEARCH:
                if (req->term || req->kind == REQUEST_CATALOG) {
                        g_auto(GStrv) repos = NULL;
                        _cleanup_free_ char *next = NULL;

                        r = registry_json_parse_catalog(body, size, &repos);
                        if (r < 0) {
                                request_fail(req, REGISTRY_ERROR_REGISTRY, r, "Malformed catalog from %s",
                                             request_endpoint(req));
                                return;
                        }
                        for (char **i = repos; *i; i++)
                                g_ptr_array_add(req->repositories, g_strdup(*i));
                        req->pages++;

                        r = link_next(http_request_get_header(http, "Link"), &next);
                        if (r > 0 && req->pages < req->max_pages) {
                                free(req->url_path);
                                req->url_path = TAKE_PTR(next);
                                request_start_or_fail(req);
                                return;
                        }
                        catalog_deliver(req);
                        return;
                } else {
                        RegistrySearchResult *results = NULL;
                        size_t n = 0;

                        r = registry_json_parse_search(body, size, &results, &n);
                        if (r < 0) {
                                request_fail(req, REGISTRY_ERROR_REGISTRY, r, "Malformed search results");
                                return;
                        }
                        req->busy++;
                        req->search_cb(req, NULL, results, n, req->userdata);
                        req->busy--;
                        registry_search_results_free(results, n);
                        request_free(req);
                        return;
                }
        }
}

static void on_http_finished(HttpRequest *http, CURLcode result, void *userdata)
{
        RegistryRequest *req = userdata;
        ErrorInfo e = {};
        long status;

        if (req->cancelled) {
                request_free(req);
                return;
        }

        if (req->consumer_error < 0) {
                request_fail(req, REGISTRY_ERROR_CANCELLED, req->consumer_error, "Aborted by the consumer: %s",
                             strerror(-req->consumer_error));
                return;
        }
        if (req->stream_error < 0) {
                request_fail(req, REGISTRY_ERROR_REGISTRY, req->stream_error,
                             req->stream_error == -EFBIG ? "Blob is larger than its descriptor says"
                                                         : "Server resumed at the wrong offset");
                return;
        }

        if (result != CURLE_OK) {
                if (http_request_body_too_large(http)) {
                        request_fail(req, REGISTRY_ERROR_REGISTRY, -EFBIG, "Response from %s is too large",
                                     request_endpoint(req));
                        return;
                }

                e = (ErrorInfo){ .set = true, .kind = REGISTRY_ERROR_NETWORK, .error = curl_result_to_errno(result) };
                if (asprintf(&e.message, "%s: %s", request_endpoint(req),
                             http_request_get_error(http) ?: curl_easy_strerror(result)) < 0)
                        e.message = NULL;
                request_handle_failure(req, &e, curl_result_transient(result), 0);
                error_info_done(&e);
                return;
        }

        status = http_request_get_status(http);
        if (status >= 200 && status < 300) {
                request_succeeded(req, http);
                return;
        }

        if (status == 401 && request_answer_challenge(req, http))
                return;

        if (status == 416 && req->kind == REQUEST_STREAM && req->done > 0) {
                /* Our Range was refused: start over without one. */
                req->range_ok = false;
                e = (ErrorInfo){ .set = true, .kind = REGISTRY_ERROR_REGISTRY, .error = -EREMOTEIO, .status = status,
                                 .message = strdup("Range not satisfiable") };
                request_handle_failure(req, &e, true, 0);
                error_info_done(&e);
                return;
        }

        error_from_http(req, http, &e);
        if (status == 401)
                auth_token_cache_forget(req->client->tokens, request_endpoint(req), req->scope);
        request_handle_failure(req, &e, status_transient(status),
                               parse_retry_after(http_request_get_header(http, "Retry-After")));
        error_info_done(&e);
}

/* ---- constructors --------------------------------------------------------------------------------- */

void registry_client_set_config(RegistryClient *c, RegistryConfig *config)
{
        AuthTokenCache *tokens = NULL;

        c->config = config;
        if (auth_token_cache_new(&tokens) >= 0) {
                auth_token_cache_free(c->tokens);
                c->tokens = tokens;
        }
        g_hash_table_remove_all(c->basic_endpoints);
        g_hash_table_remove_all(c->bad_endpoints);
}

int registry_client_new(sd_event *event, CurlGlue *glue, RegistryConfig *config, RegistryClient **ret)
{
        RegistryClient *c;
        int r;

        if (!event || !glue || !config || !ret)
                return -EINVAL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->glue = glue;
        c->config = config;
        c->basic_endpoints = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        c->bad_endpoints = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        r = auth_token_cache_new(&c->tokens);
        if (r < 0) {
                registry_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

RegistryClient *registry_client_free(RegistryClient *c)
{
        if (!c)
                return NULL;
        while (c->requests)
                request_free(c->requests);
        auth_token_cache_free(c->tokens);
        if (c->basic_endpoints)
                g_hash_table_unref(c->basic_endpoints);
        if (c->bad_endpoints)
                g_hash_table_unref(c->bad_endpoints);
        sd_event_unref(c->event);
        return mfree(c);
}

/* Characters that may appear in a repository path or a tag/digest; the reference parser is stricter, this
 * only keeps what we put into URLs harmless. */
static bool valid_url_part(const char *s, const char *extra)
{
        if (isempty(s) || strstr(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr(extra, *p))
                        return false;
        return true;
}

static int request_new(RegistryClient *c, RequestKind kind, const char *domain, RegistryRequest **ret)
{
        RegistryRequest *req;
        uint64_t now_sec;
        int r;

        req = calloc(1, sizeof(*req));
        if (!req)
                return -ENOMEM;
        req->kind = kind;
        req->attempt = 1;
        req->max_attempts = registry_config_get_max_attempts(c->config);
        req->body_max = MANIFEST_MAX;

        if (domain) {
                r = registry_normalize_domain(domain, &req->domain);
                if (r < 0) {
                        request_free(req);
                        return r;
                }
                r = registry_config_get_endpoints(c->config, req->domain, &req->endpoints);
                if (r < 0) {
                        request_free(req);
                        return r;
                }
                req->n_endpoints = g_strv_length(req->endpoints);

                /* Skip endpoints that just failed to connect (typically https of an insecure http-only
                 * registry), unless nothing else is left. */
                now_sec = now_usec(c) / USEC_PER_SEC;
                while (req->endpoint_idx + 1 < req->n_endpoints &&
                       GPOINTER_TO_UINT(g_hash_table_lookup(c->bad_endpoints, request_endpoint(req))) > now_sec)
                        req->endpoint_idx++;
        }

        /* Link in last so request_free() can unlink. */
        req->client = c;
        req->next = c->requests;
        if (c->requests)
                c->requests->prev = req;
        c->requests = req;

        *ret = req;
        return 0;
}

static int request_launch(RegistryRequest *req, RegistryRequest **ret)
{
        int r;

        r = request_start_attempt(req);
        if (r < 0) {
                request_free(req);
                return r;
        }
        if (ret)
                *ret = req;
        return 0;
}

static int request_new_v2(RegistryClient *c, RequestKind kind, const char *domain, const char *path,
                          const char *what, const char *reference, RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (!valid_url_part(path, "._-/") || !valid_url_part(reference, "._-:+"))
                return -EINVAL;

        r = request_new(c, kind, domain, &req);
        if (r < 0)
                return r;

        if (asprintf(&req->url_path, "/v2/%s/%s/%s", path, what, reference) < 0) {
                req->url_path = NULL;
                request_free(req);
                return -ENOMEM;
        }
        r = auth_pull_scope(path, &req->scope);
        if (r < 0) {
                request_free(req);
                return r;
        }
        *ret = req;
        return 0;
}

int registry_get_manifest(RegistryClient *c, const char *domain, const char *path, const char *reference,
                          RegistryManifestCallback callback, void *userdata, RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (!c || !domain || !callback)
                return -EINVAL;

        r = request_new_v2(c, REQUEST_MANIFEST, domain, path, "manifests", reference, &req);
        if (r < 0)
                return r;
        req->body_max = MANIFEST_MAX;
        req->manifest_cb = callback;
        req->userdata = userdata;
        return request_launch(req, ret);
}

int registry_get_blob(RegistryClient *c, const char *domain, const char *path, const char *digest,
                      size_t max_size, RegistryBlobCallback callback, void *userdata, RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (!c || !domain || !callback)
                return -EINVAL;

        r = request_new_v2(c, REQUEST_BLOB, domain, path, "blobs", digest, &req);
        if (r < 0)
                return r;
        req->body_max = max_size > 0 ? max_size : BLOB_MAX_DEFAULT;
        req->blob_cb = callback;
        req->userdata = userdata;
        return request_launch(req, ret);
}

int registry_stream_blob(RegistryClient *c, const char *domain, const char *path, const char *digest,
                         uint64_t expected_size, const RegistryStreamOps *ops, void *userdata,
                         RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (!c || !domain || !ops || !ops->finished)
                return -EINVAL;

        r = request_new_v2(c, REQUEST_STREAM, domain, path, "blobs", digest, &req);
        if (r < 0)
                return r;
        req->ops = *ops;
        req->expected_size = expected_size;
        req->total = expected_size;
        req->userdata = userdata;
        return request_launch(req, ret);
}

static int catalog_request_new(RegistryClient *c, RequestKind kind, const char *domain, unsigned max_pages,
                               RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        r = request_new(c, kind, domain, &req);
        if (r < 0)
                return r;
        req->body_max = MANIFEST_MAX;
        req->max_pages = max_pages > 0 ? max_pages : CATALOG_PAGES_DEFAULT;
        req->repositories = g_ptr_array_new_with_free_func(g_free);
        req->scope = strdup("registry:catalog:*");
        if (asprintf(&req->url_path, "/v2/_catalog?n=%u", CATALOG_PAGE_SIZE) < 0)
                req->url_path = NULL;
        if (!req->scope || !req->url_path) {
                request_free(req);
                return -ENOMEM;
        }
        *ret = req;
        return 0;
}

int registry_get_catalog(RegistryClient *c, const char *domain, unsigned max_pages,
                         RegistryCatalogCallback callback, void *userdata, RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (!c || !domain || !callback)
                return -EINVAL;

        r = catalog_request_new(c, REQUEST_CATALOG, domain, max_pages, &req);
        if (r < 0)
                return r;
        req->catalog_cb = callback;
        req->userdata = userdata;
        return request_launch(req, ret);
}

int registry_search(RegistryClient *c, const char *domain, const char *term, unsigned limit,
                    RegistrySearchCallback callback, void *userdata, RegistryRequest **ret)
{
        _cleanup_free_ char *d = NULL;
        RegistryRequest *req;
        const char *search_url;
        char *escaped;
        int r;

        if (!c || !domain || !term || !callback)
                return -EINVAL;

        r = registry_normalize_domain(domain, &d);
        if (r < 0)
                return r;

        search_url = registry_config_get_search_url(c->config, d);
        if (!search_url) {
                r = catalog_request_new(c, REQUEST_SEARCH, d, SEARCH_CATALOG_PAGES, &req);
                if (r < 0)
                        return r;
                req->body_max = SEARCH_BODY_MAX;
                req->term = strdup(term);
                if (!req->term) {
                        request_free(req);
                        return -ENOMEM;
                }
                req->search_cb = callback;
                req->userdata = userdata;
                return request_launch(req, ret);
        }

        /* A search API lives outside the registry's endpoints: one endpoint, the search URL. The
         * registry's TLS settings still apply. */
        r = request_new(c, REQUEST_SEARCH, d, &req);
        if (r < 0)
                return r;
        g_strfreev(req->endpoints);
        req->endpoints = g_new0(char *, 2);
        req->endpoints[0] = g_strdup(search_url);
        req->n_endpoints = 1;
        req->endpoint_idx = 0;
        req->body_max = SEARCH_BODY_MAX;

        escaped = curl_easy_escape(NULL, term, 0);
        if (!escaped) {
                request_free(req);
                return -ENOMEM;
        }
        r = asprintf(&req->url_path, "?q=%s&n=%u", escaped, limit > 0 ? limit : SEARCH_LIMIT_DEFAULT);
        curl_free(escaped);
        if (r < 0) {
                req->url_path = NULL;
                request_free(req);
                return -ENOMEM;
        }
        req->search_cb = callback;
        req->userdata = userdata;
        return request_launch(req, ret);
}
