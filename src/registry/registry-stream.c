/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <strings.h>

#include "registry/registry-internal.h"
#include "shared/log.h"

#define PROGRESS_INTERVAL_USEC (250 * USEC_PER_MSEC)

/* Before a new attempt of a stream that already passed data on: resume with Range if the server said it
 * can, else tell the consumer to start over. Returns false if the consumer cancelled meanwhile. */
bool stream_prepare_retry(RegistryRequest *req)
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

                if (parse_content_range(http_request_get_header(http, "Content-Range"), &start, &total) <
                            0 ||
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

size_t on_stream_data(HttpRequest *http, const void *p, size_t n, void *userdata)
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

void stream_succeeded(RegistryRequest *req, HttpRequest *http)
{
        int r;

        if (!req->body_started) {
                r = stream_begin(req, http);
                if (r < 0) {
                        request_fail(req, REGISTRY_ERROR_REGISTRY, r, "Server resumed at the wrong offset");
                        return;
                }
        }
        if (req->expected_size > 0 && req->done != req->expected_size) {
                request_fail(req, REGISTRY_ERROR_REGISTRY, -EPROTO,
                             "Blob has %" PRIu64 " bytes, expected %" PRIu64, req->done, req->expected_size);
                return;
        }
        if (req->total == 0)
                req->total = req->done;
        request_deliver(req, NULL, NULL, 0, NULL, NULL);
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
