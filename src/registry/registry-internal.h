/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What registry-client.c (the public face: the client, manifests, blobs), registry-request.c (one request:
 * endpoints, attempts, retries, authentication, delivery), registry-stream.c (blob streams) and
 * registry-catalog.c (catalog and search) share. Only for src/registry/. */

#include <glib.h>

#include "registry/auth.h"
#include "registry/http.h"
#include "registry/registry-client.h"

#define MANIFEST_MAX ((size_t) 4U * 1024U * 1024U)

typedef enum RequestKind {
        REQUEST_MANIFEST,
        REQUEST_BLOB,
        REQUEST_STREAM,
        REQUEST_CATALOG,
        REQUEST_SEARCH,
        REQUEST_SEND, /* push and login (registry-upload.c): any method, answered with status and headers */
} RequestKind;

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

        RegistryError saved; /* first HTTP-level error of an earlier endpoint */

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

        /* REQUEST_SEND */
        const char *method; /* static string; NULL = GET */
        char *full_url;     /* an upload session's Location, used instead of endpoint + url_path */
        void *send_data;
        size_t send_size;
        const char *content_type; /* static string */
        RegistryReadBody read_body;
        bool accept_404; /* HEAD of a blob: absence is an answer */
        bool anonymous;  /* an upload URL on another host (a storage backend): none of our credentials */
        char *username;  /* login: these credentials instead of the stored ones, and no cached token */
        char *password;
        RegistryResponseCallback send_cb;

        RegistryManifestCallback manifest_cb;
        RegistryBlobCallback blob_cb;
        RegistryCatalogCallback catalog_cb;
        RegistrySearchCallback search_cb;
        void *userdata;
};

static inline uint64_t now_usec(RegistryClient *c)
{
        uint64_t t = 0;

        if (sd_event_now(c->event, CLOCK_MONOTONIC, &t) < 0)
                t = 0;
        return t;
}

/* registry-request.c */
RegistryRequest *request_free(RegistryRequest *req);
void request_deliver(RegistryRequest *req, const RegistryError *error, const void *body, size_t size,
                     const char *content_type, const char *digest);
void request_fail(RegistryRequest *req, RegistryErrorKind kind, int error, const char *format, ...)
        _printf_(4, 5);
const char *request_endpoint(RegistryRequest *req);
void request_start_or_fail(RegistryRequest *req);
int request_new(RegistryClient *c, RequestKind kind, const char *domain, RegistryRequest **ret);
int request_launch(RegistryRequest *req, RegistryRequest **ret);
int request_new_v2(RegistryClient *c, RequestKind kind, const char *domain, const char *path,
                   const char *what, const char *reference, RegistryRequest **ret);

/* registry-stream.c */
bool stream_prepare_retry(RegistryRequest *req);
size_t on_stream_data(HttpRequest *http, const void *p, size_t n, void *userdata);
void stream_succeeded(RegistryRequest *req, HttpRequest *http);

/* registry-upload.c */
void send_succeeded(RegistryRequest *req, HttpRequest *http);
size_t on_send_read(HttpRequest *http, void *p, size_t n, void *userdata);

/* registry-catalog.c */
void catalog_succeeded(RegistryRequest *req, HttpRequest *http);
