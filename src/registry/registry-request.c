/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "oci/registry-json.h"
#include "registry/registry-internal.h"
#include "shared/log.h"

#define TOKEN_BODY_MAX       ((size_t) 1024U * 1024U)
#define BACKOFF_MAX_USEC     (30 * USEC_PER_SEC)
#define RETRY_AFTER_MAX_USEC (300 * USEC_PER_SEC)
#define BAD_ENDPOINT_USEC    (60 * USEC_PER_SEC)

#define ACCEPT_MANIFESTS                                                                                    \
        "Accept: application/vnd.oci.image.index.v1+json, "                                                 \
        "application/vnd.docker.distribution.manifest.list.v2+json, "                                       \
        "application/vnd.oci.image.manifest.v1+json, "                                                      \
        "application/vnd.docker.distribution.manifest.v2+json"

static void request_handle_failure(RegistryRequest *req, RegistryError *e, bool transient,
                                   uint64_t retry_after);

RegistryRequest *request_free(RegistryRequest *req)
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
        registry_error_done(&req->saved);
        if (req->repositories)
                g_ptr_array_unref(req->repositories);
        free(req->term);
        free(req->full_url);
        free(req->send_data);
        if (req->password)
                explicit_bzero(req->password, strlen(req->password));
        free(req->username);
        free(req->password);
        return mfree(req);
}

/* ---- delivering results ---------------------------------------------------------------------------- */

void request_deliver(RegistryRequest *req, const RegistryError *error, const void *body, size_t size,
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
        case REQUEST_SEND:
                /* Successes go through send_succeeded(); only errors come here. */
                req->send_cb(req, error, NULL, req->userdata);
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

/* Delivers e, which stays the caller's: first made whole, with a negative errno and a message. */
static void request_fail_info(RegistryRequest *req, RegistryError *e)
{
        if (e->base.error >= 0)
                e->base.error = -EIO;
        if (!e->base.message)
                e->base.message = strdup("Unknown error");

        log_debug("Registry request for %s%s failed: %s", strna(req->domain), strempty(req->url_path),
                  berth_error_message(&e->base));
        request_deliver(req, e, NULL, 0, NULL, NULL);
}

void request_fail(RegistryRequest *req, RegistryErrorKind kind, int error, const char *format, ...)
{
        _cleanup_(registry_error_done) RegistryError e = { .base.error = error, .kind = kind };
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&e.base.message, format, ap) < 0)
                e.base.message = NULL;
        va_end(ap);

        request_fail_info(req, &e);
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

const char *request_endpoint(RegistryRequest *req)
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
        _cleanup_free_ char *host = NULL;

        if (req->anonymous)
                return -ENOENT;
        if (req->username) {
                *ret_user = req->username;
                *ret_password = req->password;
                return 0;
        }
        host = endpoint_host(request_endpoint(req));
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
        if (req->username || req->anonymous) { /* a login's check: only what these credentials get */
                *ret = NULL;
                return 0;
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

static void on_http_finished(HttpRequest *http, CURLcode result, void *userdata);

static int request_start_attempt(RegistryRequest *req)
{
        _cleanup_(http_request_freep) HttpRequest *http = NULL;
        _cleanup_free_ char *url = NULL, *authorization = NULL;
        int r;

        url = req->full_url ? strdup(req->full_url)
                            : g_strconcat(request_endpoint(req), req->url_path, NULL);
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
        if (req->method) {
                r = http_request_set_method(http, req->method);
                if (r >= 0 && req->read_body)
                        r = http_request_set_body_stream(http, on_send_read, req->content_type);
                else if (r >= 0 && (req->send_data || req->content_type))
                        r = http_request_set_body(http, req->send_data, req->send_size, req->content_type);
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

        log_debug("%s %s (attempt %u)", req->method ?: "GET", url, req->attempt);
        /* Only now: the caller may still be reading the previous answer if we fail. */
        http_request_free(req->http);
        req->http = TAKE_PTR(http);
        return 0;
}

void request_start_or_fail(RegistryRequest *req)
{
        int r = request_start_attempt(req);
        if (r < 0)
                request_fail(req, REGISTRY_ERROR_REGISTRY, r, "Failed to start request: %s", strerror(-r));
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

        g_hash_table_replace(c->bad_endpoints, g_strdup(request_endpoint(req)),
                             GUINT_TO_POINTER((guint) until));
}

static void request_handle_failure(RegistryRequest *req, RegistryError *e, bool transient,
                                   uint64_t retry_after)
{
        RegistryClient *c = req->client;

        if (e->kind == REGISTRY_ERROR_NETWORK)
                request_mark_bad(req);

        /* Another endpoint (the registry after a mirror, http after https) is worth a try right away. */
        if (req->endpoint_idx + 1 < req->n_endpoints) {
                log_debug("%s failed (%s), trying the next endpoint.", request_endpoint(req),
                          e->base.message);
                if (e->kind != REGISTRY_ERROR_NETWORK && req->saved.base.error == 0) {
                        req->saved = *e;
                        *e = (RegistryError){};
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

                log_debug("%s: %s; retrying in %" PRIu64 " ms.", request_endpoint(req), e->base.message,
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
        if (e->kind == REGISTRY_ERROR_NETWORK && req->saved.base.error != 0)
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
static void error_from_http(RegistryRequest *req, HttpRequest *http, RegistryError *e)
{
        _cleanup_free_ char *code = NULL, *message = NULL;
        const void *body;
        size_t size;
        long status = http_request_get_status(http);

        body = http_request_get_body(http, &size);
        if (size > 0)
                (void) registry_json_parse_error(body, size, &code, &message);

        *e = (RegistryError){ .http_status = status };

        if (status == 401 || status == 403) {
                e->kind = REGISTRY_ERROR_UNAUTHORIZED;
                e->base.error = -EACCES;
        } else if ((req->kind == REQUEST_MANIFEST && (status == 404 || streq_ptr(code, "MANIFEST_UNKNOWN") ||
                                                      streq_ptr(code, "NAME_UNKNOWN"))) ||
                   (req->kind != REQUEST_BLOB && req->kind != REQUEST_STREAM &&
                    (streq_ptr(code, "MANIFEST_UNKNOWN") || streq_ptr(code, "NAME_UNKNOWN")))) {
                e->kind = REGISTRY_ERROR_MANIFEST_UNKNOWN;
                e->base.error = -ENOENT;
        } else if ((req->kind == REQUEST_BLOB || req->kind == REQUEST_STREAM) &&
                   (status == 404 || streq_ptr(code, "BLOB_UNKNOWN"))) {
                e->kind = REGISTRY_ERROR_BLOB_UNKNOWN;
                e->base.error = -ENOENT;
        } else {
                e->kind = REGISTRY_ERROR_REGISTRY;
                e->base.error = status == 429 ? -EBUSY : -EREMOTEIO;
        }

        if (message)
                e->base.message = TAKE_PTR(message);
        else if (asprintf(&e->base.message, "HTTP %ld from %s", status, request_endpoint(req)) < 0)
                e->base.message = NULL;
        e->code = TAKE_PTR(code);
}

/* ---- authentication ------------------------------------------------------------------------------- */

static void on_token_finished(HttpRequest *http, CURLcode result, void *userdata)
{
        RegistryRequest *req = userdata;
        RegistryClient *c = req->client;
        RegistryTokenResponse t = {};
        RegistryError e = {};
        const void *body;
        size_t size;
        long status;
        int r;

        if (result != CURLE_OK) {
                e = (RegistryError){ .kind = REGISTRY_ERROR_NETWORK,
                                     .base.error = curl_result_to_errno(result) };
                if (asprintf(&e.base.message, "Token request failed: %s",
                             http_request_get_error(http) ?: curl_easy_strerror(result)) < 0)
                        e.base.message = NULL;
                req->token_http = http_request_free(req->token_http);
                request_handle_failure(req, &e, curl_result_transient(result), 0);
                registry_error_done(&e);
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
                e = (RegistryError){ .kind = REGISTRY_ERROR_REGISTRY,
                                     .base.error = -EREMOTEIO,
                                     .http_status = status };
                if (asprintf(&e.base.message, "Token server answered HTTP %ld", status) < 0)
                        e.base.message = NULL;
                request_handle_failure(req, &e, status_transient(status), 0);
                registry_error_done(&e);
                return;
        }

        body = http_request_get_body(http, &size);
        r = registry_json_parse_token(body, size, &t);
        req->token_http = http_request_free(req->token_http);
        if (r < 0) {
                request_fail(req, REGISTRY_ERROR_REGISTRY, r, "Token server sent no usable token");
                return;
        }

        /* A login's check keeps its token to itself. */
        r = req->username ? 0
                          : auth_token_cache_put(c->tokens, request_endpoint(req), req->scope, t.token,
                                                 t.expires_in, now_usec(c));
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
                if (!req->username)
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

/* ---- completion ----------------------------------------------------------------------------------- */

static void request_succeeded(RegistryRequest *req, HttpRequest *http)
{
        const void *body;
        size_t size;

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
                stream_succeeded(req, http);
                return;

        case REQUEST_CATALOG:
        case REQUEST_SEARCH:
                catalog_succeeded(req, http);
                return;

        case REQUEST_SEND:
                send_succeeded(req, http);
                return;
        }
}

static void on_http_finished(HttpRequest *http, CURLcode result, void *userdata)
{
        RegistryRequest *req = userdata;
        RegistryError e = {};
        long status;

        if (req->cancelled) {
                request_free(req);
                return;
        }

        if (req->consumer_error < 0) {
                request_fail(req, REGISTRY_ERROR_CANCELLED, req->consumer_error,
                             "Aborted by the consumer: %s", strerror(-req->consumer_error));
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

                e = (RegistryError){ .kind = REGISTRY_ERROR_NETWORK,
                                     .base.error = curl_result_to_errno(result) };
                if (asprintf(&e.base.message, "%s: %s", request_endpoint(req),
                             http_request_get_error(http) ?: curl_easy_strerror(result)) < 0)
                        e.base.message = NULL;
                request_handle_failure(req, &e, curl_result_transient(result), 0);
                registry_error_done(&e);
                return;
        }

        status = http_request_get_status(http);
        if ((status >= 200 && status < 300) || (status == 404 && req->accept_404)) {
                request_succeeded(req, http);
                return;
        }

        if (status == 401 && request_answer_challenge(req, http))
                return;

        if (status == 416 && req->kind == REQUEST_STREAM && req->done > 0) {
                /* Our Range was refused: start over without one. */
                req->range_ok = false;
                e = (RegistryError){ .kind = REGISTRY_ERROR_REGISTRY,
                                     .base.error = -EREMOTEIO,
                                     .http_status = status,
                                     .base.message = strdup("Range not satisfiable") };
                request_handle_failure(req, &e, true, 0);
                registry_error_done(&e);
                return;
        }

        error_from_http(req, http, &e);
        if (status == 401)
                auth_token_cache_forget(req->client->tokens, request_endpoint(req), req->scope);
        request_handle_failure(req, &e, status_transient(status),
                               parse_retry_after(http_request_get_header(http, "Retry-After")));
        registry_error_done(&e);
}

/* ---- constructors --------------------------------------------------------------------------------- */

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

int request_new(RegistryClient *c, RequestKind kind, const char *domain, RegistryRequest **ret)
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
                       GPOINTER_TO_UINT(g_hash_table_lookup(c->bad_endpoints, request_endpoint(req))) >
                               now_sec)
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

int request_launch(RegistryRequest *req, RegistryRequest **ret)
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

int request_new_v2(RegistryClient *c, RequestKind kind, const char *domain, const char *path,
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
