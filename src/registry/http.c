/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include <glib.h>

#include "registry/http.h"
#include "shared/log.h"

#define HTTP_BODY_MAX_DEFAULT ((size_t) 4U * 1024U * 1024U)

struct HttpRequest {
        CurlGlue *glue;
        CURL *easy;
        char *url;
        struct curl_slist *headers;

        HttpFinished on_finished;
        HttpData on_data;
        HttpReadBody on_read_body;
        char *send_data;
        size_t send_size, send_offset;
        void *userdata;

        GHashTable *response_headers; /* lowercase name → value, of the latest response only */

        char *body;
        size_t body_size, body_max;
        bool body_too_large;
        bool running;

        char error[CURL_ERROR_SIZE];
};

static bool status_is_success(long status)
{
        return status >= 200 && status < 300;
}

static size_t header_callback(char *buffer, size_t size, size_t nitems, void *userdata)
{
        HttpRequest *req = userdata;
        size_t n = size * nitems;
        const char *colon, *end;
        char *name, *value, *joined;
        const char *old;

        /* A status line starts a new response (after a redirect, a 100 Continue or a proxy CONNECT):
         * forget the headers of the one before. */
        if (n >= 5 && strneq(buffer, "HTTP/", 5)) {
                g_hash_table_remove_all(req->response_headers);
                return n;
        }

        colon = memchr(buffer, ':', n);
        if (!colon || colon == buffer)
                return n; /* the empty line, or junk */

        end = buffer + n;
        while (end > colon + 1 && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        const char *v = colon + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;

        name = g_ascii_strdown(buffer, colon - buffer);
        value = g_strndup(v, end - v);

        old = g_hash_table_lookup(req->response_headers, name);
        if (old) {
                joined = g_strconcat(old, ", ", value, NULL);
                g_free(value);
                value = joined;
        }
        g_hash_table_replace(req->response_headers, name, value);
        return n;
}

static size_t buffer_append(HttpRequest *req, const void *p, size_t n, size_t max)
{
        char *nb;

        if (n > max || req->body_size > max - n) {
                req->body_too_large = true;
                return 0;
        }

        nb = realloc(req->body, req->body_size + n + 1);
        if (!nb)
                return 0;
        memcpy(nb + req->body_size, p, n);
        req->body = nb;
        req->body_size += n;
        req->body[req->body_size] = 0;
        return n;
}

static size_t write_callback(char *p, size_t size, size_t nmemb, void *userdata)
{
        HttpRequest *req = userdata;
        size_t n = size * nmemb;
        long status = http_request_get_status(req);

        if (!status_is_success(status)) {
                /* Keep the start of an error document; the rest is of no use. */
                size_t room =
                        req->body_size < HTTP_ERROR_BODY_MAX ? HTTP_ERROR_BODY_MAX - req->body_size : 0;
                if (room > 0)
                        (void) buffer_append(req, p, MIN(n, room), HTTP_ERROR_BODY_MAX);
                return n;
        }

        if (req->on_data)
                return req->on_data(req, p, n, req->userdata);

        return buffer_append(req, p, n, req->body_max);
}

static size_t read_callback(char *p, size_t size, size_t nmemb, void *userdata)
{
        HttpRequest *req = userdata;
        size_t n = size * nmemb, k;

        if (req->on_read_body)
                return req->on_read_body(req, p, n, req->userdata);

        k = MIN(n, req->send_size - req->send_offset);
        memcpy(p, req->send_data + req->send_offset, k);
        req->send_offset += k;
        return k;
}

/* curl rewinds a body it must send again (a redirect, a reused connection that closed). */
static int seek_callback(void *userdata, curl_off_t offset, int origin)
{
        HttpRequest *req = userdata;

        if (req->on_read_body || origin != SEEK_SET || offset < 0 || (size_t) offset > req->send_size)
                return CURL_SEEKFUNC_CANTSEEK;
        req->send_offset = (size_t) offset;
        return CURL_SEEKFUNC_OK;
}

static void on_curl_finished(CURL *easy, CURLcode result, void *userdata)
{
        HttpRequest *req = userdata;

        req->running = false;
        if (req->on_finished)
                req->on_finished(req, result, req->userdata);
}

int http_request_new(CurlGlue *g, const char *url, HttpRequest **ret)
{
        _cleanup_(http_request_freep) HttpRequest *req = NULL;
        int r;

        if (!g || !url || !ret)
                return -EINVAL;

        req = calloc(1, sizeof(*req));
        if (!req)
                return -ENOMEM;
        req->glue = g;
        req->body_max = HTTP_BODY_MAX_DEFAULT;
        req->url = strdup(url);
        if (!req->url)
                return -ENOMEM;
        req->response_headers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

        r = curl_glue_make(g, url, on_curl_finished, req, &req->easy);
        if (r < 0)
                return r;

        if (curl_easy_setopt(req->easy, CURLOPT_HEADERFUNCTION, header_callback) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_HEADERDATA, req) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, write_callback) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_WRITEDATA, req) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_ERRORBUFFER, req->error) != CURLE_OK)
                return -EIO;

        *ret = TAKE_PTR(req);
        return 0;
}

HttpRequest *http_request_free(HttpRequest *req)
{
        if (!req)
                return NULL;

        curl_glue_easy_free(req->easy);
        curl_slist_free_all(req->headers);
        if (req->response_headers)
                g_hash_table_unref(req->response_headers);
        free(req->body);
        free(req->send_data);
        free(req->url);
        return mfree(req);
}

int http_request_add_header(HttpRequest *req, const char *header)
{
        struct curl_slist *l;

        if (!req || !header || req->running)
                return -EINVAL;

        l = curl_slist_append(req->headers, header);
        if (!l)
                return -ENOMEM;
        req->headers = l;
        return 0;
}

int http_request_add_headerf(HttpRequest *req, const char *format, ...)
{
        _cleanup_free_ char *h = NULL;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&h, format, ap);
        va_end(ap);
        if (k < 0) {
                h = NULL;
                return -ENOMEM;
        }
        return http_request_add_header(req, h);
}

void http_request_set_body_max(HttpRequest *req, size_t max)
{
        if (req)
                req->body_max = max;
}

void http_request_set_stream(HttpRequest *req, HttpData data)
{
        if (req)
                req->on_data = data;
}

int http_request_set_tls(HttpRequest *req, const char *ca_file, bool verify)
{
        if (!req)
                return -EINVAL;

        if (ca_file && curl_easy_setopt(req->easy, CURLOPT_CAINFO, ca_file) != CURLE_OK)
                return -EIO;
        if (curl_easy_setopt(req->easy, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L) != CURLE_OK)
                return -EIO;
        return 0;
}

int http_request_set_method(HttpRequest *req, const char *method)
{
        CURLcode c;

        if (!req || !method || req->running)
                return -EINVAL;
        if (streq(method, "HEAD"))
                c = curl_easy_setopt(req->easy, CURLOPT_NOBODY, 1L);
        else if (streq(method, "PUT") || streq(method, "PATCH")) {
                c = curl_easy_setopt(req->easy, CURLOPT_UPLOAD, 1L);
                if (c == CURLE_OK && streq(method, "PATCH"))
                        c = curl_easy_setopt(req->easy, CURLOPT_CUSTOMREQUEST, "PATCH");
                if (c == CURLE_OK)
                        c = curl_easy_setopt(req->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t) 0);
        } else if (streq(method, "POST")) {
                c = curl_easy_setopt(req->easy, CURLOPT_POST, 1L);
                if (c == CURLE_OK)
                        c = curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
                /* POST bodies go through the read callback too. */
        } else if (streq(method, "DELETE"))
                c = curl_easy_setopt(req->easy, CURLOPT_CUSTOMREQUEST, "DELETE");
        else
                return -EINVAL;
        if (c != CURLE_OK)
                return -EIO;
        if (curl_easy_setopt(req->easy, CURLOPT_READFUNCTION, read_callback) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_READDATA, req) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_SEEKFUNCTION, seek_callback) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_SEEKDATA, req) != CURLE_OK)
                return -EIO;
        return 0;
}

static int set_content_type(HttpRequest *req, const char *content_type)
{
        /* curl adds "Expect: 100-continue" to larger uploads; registries answer at once anyway. */
        int r = http_request_add_header(req, "Expect:");
        if (r < 0 || !content_type)
                return r;
        return http_request_add_headerf(req, "Content-Type: %s", content_type);
}

int http_request_set_body(HttpRequest *req, const void *data, size_t size, const char *content_type)
{
        char *copy;

        if (!req || req->running)
                return -EINVAL;
        copy = malloc(size + 1);
        if (!copy)
                return -ENOMEM;
        if (size > 0)
                memcpy(copy, data, size);
        free(req->send_data);
        req->send_data = copy;
        req->send_size = size;
        req->send_offset = 0;
        if (curl_easy_setopt(req->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t) size) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) size) != CURLE_OK)
                return -EIO;
        return set_content_type(req, content_type);
}

int http_request_set_body_stream(HttpRequest *req, HttpReadBody read_body, const char *content_type)
{
        if (!req || !read_body || req->running)
                return -EINVAL;
        req->on_read_body = read_body;
        /* Unknown length: chunked transfer encoding. */
        if (curl_easy_setopt(req->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t) -1) != CURLE_OK)
                return -EIO;
        return set_content_type(req, content_type);
}

int http_request_start(HttpRequest *req, HttpFinished on_finished, void *userdata)
{
        int r;

        if (!req || req->running)
                return -EINVAL;

        if (req->headers && curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers) != CURLE_OK)
                return -EIO;

        req->on_finished = on_finished;
        req->userdata = userdata;

        r = curl_glue_add(req->glue, req->easy);
        if (r < 0)
                return r;
        req->running = true;
        return 0;
}

int http_request_pause(HttpRequest *req)
{
        if (!req)
                return -EINVAL;
        return curl_easy_pause(req->easy, CURLPAUSE_RECV) == CURLE_OK ? 0 : -EIO;
}

int http_request_unpause(HttpRequest *req)
{
        if (!req)
                return -EINVAL;
        return curl_easy_pause(req->easy, CURLPAUSE_CONT) == CURLE_OK ? 0 : -EIO;
}

int http_request_unpause_send(HttpRequest *req)
{
        if (!req)
                return -EINVAL;
        return curl_easy_pause(req->easy, CURLPAUSE_CONT) == CURLE_OK ? 0 : -EIO;
}

CURL *http_request_get_easy(HttpRequest *req)
{
        return req ? req->easy : NULL;
}

const char *http_request_get_url(HttpRequest *req)
{
        return req ? req->url : NULL;
}

const char *http_request_get_effective_url(HttpRequest *req)
{
        char *u = NULL;

        if (!req || curl_easy_getinfo(req->easy, CURLINFO_EFFECTIVE_URL, &u) != CURLE_OK)
                return NULL;
        return u;
}

long http_request_get_status(HttpRequest *req)
{
        long status = 0;

        if (!req || curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
                return 0;
        return status;
}

const char *http_request_get_header(HttpRequest *req, const char *name)
{
        g_autofree char *lower = NULL;

        if (!req || !name)
                return NULL;
        lower = g_ascii_strdown(name, -1);
        return g_hash_table_lookup(req->response_headers, lower);
}

const void *http_request_get_body(HttpRequest *req, size_t *ret_size)
{
        if (ret_size)
                *ret_size = req ? req->body_size : 0;
        return req ? req->body : NULL;
}

void *http_request_steal_body(HttpRequest *req, size_t *ret_size)
{
        char *b;

        if (!req) {
                if (ret_size)
                        *ret_size = 0;
                return NULL;
        }
        b = req->body;
        if (!b)
                b = calloc(1, 1);
        if (ret_size)
                *ret_size = req->body_size;
        req->body = NULL;
        req->body_size = 0;
        return b;
}

const char *http_request_get_error(HttpRequest *req)
{
        return req && req->error[0] ? req->error : NULL;
}

bool http_request_body_too_large(HttpRequest *req)
{
        return req && req->body_too_large;
}
