/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry/curl-glue.h"

/* One HTTP request = one easy handle (a GET unless http_request_set_method() says otherwise). It collects
 * the final response's status and headers (headers of redirects and interim responses are dropped) and
 * either buffers the body up to a limit or streams it to a callback. Bodies of non-2xx responses are always
 * buffered (up to HTTP_ERROR_BODY_MAX) and never streamed, so a consumer only ever sees the payload it asked
 * for and the caller can read the registry's error document. */

#define HTTP_ERROR_BODY_MAX ((size_t) 64U * 1024U)

typedef struct HttpRequest HttpRequest;

/* result is curl's (a body over its limit ends as CURLE_WRITE_ERROR with http_request_body_too_large()).
 * The callback may free the request. */
typedef void (*HttpFinished)(HttpRequest *req, CURLcode result, void *userdata);
/* Streamed 2xx body data. Return n to go on, CURL_WRITEFUNC_PAUSE to pause (curl delivers the same bytes
 * again after http_request_unpause()), or 0 to abort with CURLE_WRITE_ERROR. */
typedef size_t (*HttpData)(HttpRequest *req, const void *p, size_t n, void *userdata);

int http_request_new(CurlGlue *g, const char *url, HttpRequest **ret);
HttpRequest *http_request_free(HttpRequest *req);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpRequest *, http_request_free);

/* "Name: value". curl sends no Authorization header to another host after a redirect. */
int http_request_add_header(HttpRequest *req, const char *header);
int http_request_add_headerf(HttpRequest *req, const char *format, ...) _printf_(2, 3);
/* Buffer a 2xx body of at most max bytes (the default is 4 MiB). */
void http_request_set_body_max(HttpRequest *req, size_t max);
/* Stream a 2xx body to data instead of buffering it. */
void http_request_set_stream(HttpRequest *req, HttpData data);
/* Verify TLS against this CA file instead of the system store; or don't verify at all. */
int http_request_set_tls(HttpRequest *req, const char *ca_file, bool verify);

/* "HEAD" (no body read), "POST", "PUT", "PATCH" or "DELETE"; set before start. */
int http_request_set_method(HttpRequest *req, const char *method);
/* A request body from memory (copied), sent with Content-Length; content_type may be NULL. */
int http_request_set_body(HttpRequest *req, const void *data, size_t size, const char *content_type);
/* A request body read as it is sent, with chunked transfer encoding (length unknown). Return the bytes put
 * in p (0 at the end), CURL_READFUNC_PAUSE when nothing is there yet (then http_request_unpause() when
 * there is), or CURL_READFUNC_ABORT. */
typedef size_t (*HttpReadBody)(HttpRequest *req, void *p, size_t n, void *userdata);
int http_request_set_body_stream(HttpRequest *req, HttpReadBody read_body, const char *content_type);

int http_request_start(HttpRequest *req, HttpFinished on_finished, void *userdata);
int http_request_pause(HttpRequest *req);
/* May call the data callback before it returns (curl hands out what it held back). */
int http_request_unpause(HttpRequest *req);
/* Pauses/continues the sending of a streamed body only. */
int http_request_unpause_send(HttpRequest *req);

CURL *http_request_get_easy(HttpRequest *req);
const char *http_request_get_url(HttpRequest *req);
/* The final URL after redirects, or NULL. */
const char *http_request_get_effective_url(HttpRequest *req);
/* 0 when no response arrived. */
long http_request_get_status(HttpRequest *req);
/* Value of a response header, name matched case-insensitively; repeated headers are joined by ", ". */
const char *http_request_get_header(HttpRequest *req, const char *name);
const void *http_request_get_body(HttpRequest *req, size_t *ret_size);
/* Hands the buffered body over (NUL-terminated, terminator not counted). */
void *http_request_steal_body(HttpRequest *req, size_t *ret_size);
/* curl's message for the last failed transfer, or NULL. */
const char *http_request_get_error(HttpRequest *req);
/* True when the buffered body ran over its limit. */
bool http_request_body_too_large(HttpRequest *req);
