/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdio.h>

#include "registry/registry-internal.h"
#include "shared/log.h"

/* Push and login requests (REQUEST_SEND): the protocol is in registry-client.h; attempts, endpoints and
 * authentication are registry-request.c's, as for every request. */

#define SEND_BODY_MAX ((size_t) 64U * 1024U)

static void curl_url_cleanupp(CURLU **u)
{
        curl_url_cleanup(*u);
}

/* Location may be relative ("/v2/…/uploads/<uuid>?_state=…"), as the spec allows: resolve it against the
 * URL that answered. */
static char *absolute_location(HttpRequest *http, const char *location)
{
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
        const char *base = http_request_get_effective_url(http) ?: http_request_get_url(http);
        char *s = NULL, *ret;

        if (!u || !location || curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
            curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
                return NULL;
        ret = strdup(s);
        curl_free(s);
        return ret;
}

void send_succeeded(RegistryRequest *req, HttpRequest *http)
{
        _cleanup_free_ char *location = NULL;
        curl_off_t length = -1;
        RegistryResponse response = {
                .status = http_request_get_status(http),
                .digest = http_request_get_header(http, "Docker-Content-Digest"),
        };

        location = absolute_location(http, http_request_get_header(http, "Location"));
        response.location = location;
        (void) curl_easy_getinfo(http_request_get_easy(http), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        response.content_length = length > 0 ? (uint64_t) length : 0;

        req->busy++;
        req->send_cb(req, NULL, &response, req->userdata);
        req->busy--;
        request_free(req);
}

size_t on_send_read(HttpRequest *http, void *p, size_t n, void *userdata)
{
        RegistryRequest *req = userdata;
        ssize_t k;

        if (req->cancelled)
                return CURL_READFUNC_ABORT;
        req->busy++;
        k = req->read_body(req, p, n, req->userdata);
        req->busy--;
        if (req->cancelled)
                return CURL_READFUNC_ABORT;
        if (k == -EAGAIN)
                return CURL_READFUNC_PAUSE;
        if (k < 0) {
                req->consumer_error = (int) k;
                return CURL_READFUNC_ABORT;
        }
        return (size_t) k;
}

int registry_request_resume_send(RegistryRequest *req)
{
        if (!req || !req->http)
                return -EINVAL;
        return http_request_unpause_send(req->http);
}

static bool valid_path(const char *path)
{
        if (isempty(path) || strstr(path, ".."))
                return false;
        for (const char *p = path; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr("._-/", *p))
                        return false;
        return true;
}

static bool valid_digest(const char *d)
{
        if (isempty(d) || strlen(d) > 200)
                return false;
        for (const char *p = d; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr(":+._-", *p))
                        return false;
        return true;
}

static int send_new(RegistryClient *c, const char *domain, const char *path, const char *mount_from,
                    const char *method, RegistryResponseCallback callback, void *userdata,
                    RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (!c || !domain || !callback || (path && !valid_path(path)) ||
            (mount_from && !valid_path(mount_from)))
                return -EINVAL;

        r = request_new(c, REQUEST_SEND, domain, &req);
        if (r < 0)
                return r;
        req->method = method;
        req->body_max = SEND_BODY_MAX;
        req->send_cb = callback;
        req->userdata = userdata;
        if (path) {
                r = auth_push_scope(path, mount_from, &req->scope);
                if (r < 0) {
                        request_free(req);
                        return r;
                }
        }
        *ret = req;
        return 0;
}

/* Requests to an upload session's URL: stay on the endpoint that made the session; a URL elsewhere (a
 * storage backend) gets no credentials of ours. */
static int send_set_location(RegistryRequest *req, const char *location)
{
        bool found = false;

        if (isempty(location) ||
            (!g_str_has_prefix(location, "http://") && !g_str_has_prefix(location, "https://")))
                return -EINVAL;
        for (size_t i = 0; i < req->n_endpoints; i++)
                if (g_str_has_prefix(location, req->endpoints[i]) &&
                    strchr("/?", location[strlen(req->endpoints[i])])) {
                        req->endpoint_idx = i;
                        found = true;
                        break;
                }
        req->n_endpoints = req->endpoint_idx + 1;
        req->anonymous = !found;
        req->full_url = strdup(location);
        return req->full_url ? 0 : -ENOMEM;
}

int registry_head_blob(RegistryClient *c, const char *domain, const char *path, const char *digest,
                       RegistryResponseCallback callback, void *userdata, RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (!valid_digest(digest))
                return -EINVAL;
        r = send_new(c, domain, path, NULL, "HEAD", callback, userdata, &req);
        if (r < 0)
                return r;
        req->accept_404 = true;
        if (asprintf(&req->url_path, "/v2/%s/blobs/%s", path, digest) < 0) {
                req->url_path = NULL;
                request_free(req);
                return -ENOMEM;
        }
        return request_launch(req, ret);
}

int registry_start_upload(RegistryClient *c, const char *domain, const char *path, const char *mount_digest,
                          const char *from_path, RegistryResponseCallback callback, void *userdata,
                          RegistryRequest **ret)
{
        RegistryRequest *req;
        int k, r;

        if (mount_digest && (!valid_digest(mount_digest) || !from_path))
                return -EINVAL;
        r = send_new(c, domain, path, mount_digest ? from_path : NULL, "POST", callback, userdata, &req);
        if (r < 0)
                return r;
        if (mount_digest)
                k = asprintf(&req->url_path, "/v2/%s/blobs/uploads/?mount=%s&from=%s", path, mount_digest,
                             from_path);
        else
                k = asprintf(&req->url_path, "/v2/%s/blobs/uploads/", path);
        if (k < 0) {
                req->url_path = NULL;
                request_free(req);
                return -ENOMEM;
        }
        return request_launch(req, ret);
}

int registry_upload_patch(RegistryClient *c, const char *domain, const char *path, const char *location,
                          RegistryReadBody read_body, RegistryResponseCallback callback, void *userdata,
                          RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (!read_body)
                return -EINVAL;
        r = send_new(c, domain, path, NULL, "PATCH", callback, userdata, &req);
        if (r < 0)
                return r;
        req->read_body = read_body;
        req->content_type = "application/octet-stream";
        req->max_attempts = 1; /* the body is gone once sent */
        r = send_set_location(req, location);
        if (r < 0) {
                request_free(req);
                return r;
        }
        return request_launch(req, ret);
}

int registry_upload_finish(RegistryClient *c, const char *domain, const char *path, const char *location,
                           const char *digest, const void *data, size_t size,
                           RegistryResponseCallback callback, void *userdata, RegistryRequest **ret)
{
        _cleanup_free_ char *url = NULL;
        RegistryRequest *req;
        int r;

        if (!valid_digest(digest) || !location)
                return -EINVAL;
        if (asprintf(&url, "%s%sdigest=%s", location, strchr(location, '?') ? "&" : "?", digest) < 0)
                return -ENOMEM;
        r = send_new(c, domain, path, NULL, "PUT", callback, userdata, &req);
        if (r < 0)
                return r;
        req->content_type = "application/octet-stream";
        if (size > 0) {
                req->send_data = g_memdup2(data, size);
                req->send_size = size;
        }
        r = send_set_location(req, url);
        if (r < 0) {
                request_free(req);
                return r;
        }
        return request_launch(req, ret);
}

int registry_put_manifest(RegistryClient *c, const char *domain, const char *path, const char *reference,
                          const char *media_type, const void *data, size_t size,
                          RegistryResponseCallback callback, void *userdata, RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (!valid_digest(reference) || !media_type || !data || size == 0 || size > MANIFEST_MAX)
                return -EINVAL;
        r = send_new(c, domain, path, NULL, "PUT", callback, userdata, &req);
        if (r < 0)
                return r;
        req->send_data = g_memdup2(data, size);
        req->send_size = size;
        req->content_type = media_type; /* static: one of the oci/ media type strings */
        if (asprintf(&req->url_path, "/v2/%s/manifests/%s", path, reference) < 0) {
                req->url_path = NULL;
                request_free(req);
                return -ENOMEM;
        }
        return request_launch(req, ret);
}

int registry_check_credentials(RegistryClient *c, const char *domain, const char *username,
                               const char *password, RegistryResponseCallback callback, void *userdata,
                               RegistryRequest **ret)
{
        RegistryRequest *req;
        int r;

        if (isempty(username) || strchr(username, ':') || !password)
                return -EINVAL;
        r = send_new(c, domain, NULL, NULL, NULL, callback, userdata, &req);
        if (r < 0)
                return r;
        req->username = strdup(username);
        req->password = strdup(password);
        req->url_path = strdup("/v2/");
        if (!req->username || !req->password || !req->url_path) {
                request_free(req);
                return -ENOMEM;
        }
        return request_launch(req, ret);
}
