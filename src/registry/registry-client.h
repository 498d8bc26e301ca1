/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "oci/registry-json.h"
#include "registry/curl-glue.h"
#include "registry/registry-config.h"
#include "shared/error.h"

/* Asynchronous registry operations (distribution API v2) on the sd-event loop. Each call starts a request
 * and returns at once; its callback runs later from the loop, exactly once, unless the request is
 * cancelled first. The request object belongs to the client: it is freed right after its completion
 * callback returns, or by registry_request_cancel(). Callbacks may cancel other requests and start new
 * ones.
 *
 * Every request tries the registry's endpoints in order (mirrors, then the registry; for an insecure one
 * https, then plain http), answers 401 challenges (Bearer token from the realm, anonymous or with the
 * auth file's credentials; or Basic), caches tokens per (endpoint, scope), and retries transient failures
 * (connection errors, timeouts, 408, 429 honouring Retry-After, 5xx) with exponential backoff up to
 * MaxAttempts= in all. */

typedef struct RegistryClient RegistryClient;
typedef struct RegistryRequest RegistryRequest;

typedef enum RegistryErrorKind {
        REGISTRY_ERROR_UNAUTHORIZED,     /* 401/403 after authenticating, or credentials rejected */
        REGISTRY_ERROR_MANIFEST_UNKNOWN, /* 404 on a manifest, or MANIFEST_UNKNOWN / NAME_UNKNOWN */
        REGISTRY_ERROR_BLOB_UNKNOWN,     /* 404 on a blob, or BLOB_UNKNOWN */
        REGISTRY_ERROR_REGISTRY,         /* any other HTTP failure or a malformed answer */
        REGISTRY_ERROR_NETWORK,          /* no HTTP answer: refused, reset, timeout, TLS, DNS */
        REGISTRY_ERROR_CANCELLED,        /* the stream consumer aborted (its errno is in .error) */
        _REGISTRY_ERROR_KIND_MAX,
        _REGISTRY_ERROR_KIND_INVALID = -EINVAL,
} RegistryErrorKind;

const char *registry_error_kind_to_string(RegistryErrorKind k);
RegistryErrorKind registry_error_kind_from_string(const char *s);

/* berth's failure object with what only a registry says. Valid during the callback only. */
typedef struct RegistryError {
        /* .error: the closest negative errno (-EACCES, -ENOENT, -EPROTO, -ECONNREFUSED, …); .message: the
         * registry's errors[0].message, curl's text, or ours. */
        BerthError base;
        RegistryErrorKind kind;
        long http_status; /* 0 when no HTTP answer */
        char *code;       /* the registry's errors[0].code, or NULL */
} RegistryError;

void registry_error_done(RegistryError *e);

/* config and glue are borrowed and must outlive the client. */
int registry_client_new(sd_event *event, CurlGlue *glue, RegistryConfig *config, RegistryClient **ret);
/* A new configuration (berthd's reload), borrowed like the first; the old one may be freed on return.
 * Requests started from now on use it; cached tokens, Basic hints and skipped endpoints are forgotten, as
 * they may stem from the old credentials and mirrors. A request under way keeps its Authorization. */
void registry_client_set_config(RegistryClient *c, RegistryConfig *config);
/* Cancels every outstanding request (no callbacks). Not from within a request's callback. */
RegistryClient *registry_client_free(RegistryClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(RegistryClient *, registry_client_free);

/* Stops the request; none of its callbacks run afterwards. Safe from within its own callbacks (the
 * request then ends once the callback returns). Accepts NULL. */
void registry_request_cancel(RegistryRequest *req);
/* 1 for the first try; grows with each retry or endpoint change. */
unsigned registry_request_get_attempt(RegistryRequest *req);

/* GET /v2/<path>/manifests/<reference> (tag or digest), accepting OCI index, Docker manifest list, OCI
 * manifest and Docker schema 2. body (≤ 4 MiB), content_type and digest (Docker-Content-Digest, may be
 * NULL) are valid during the callback only. On error they are NULL/0. */
typedef void (*RegistryManifestCallback)(RegistryRequest *req, const RegistryError *error, const void *body,
                                         size_t size, const char *content_type, const char *digest,
                                         void *userdata);
int registry_get_manifest(RegistryClient *c, const char *domain, const char *path, const char *reference,
                          RegistryManifestCallback callback, void *userdata, RegistryRequest **ret);

/* GET /v2/<path>/blobs/<digest> into memory (≤ max_size; 0 means 16 MiB), e.g. an image config. The
 * digest is not verified here. */
typedef void (*RegistryBlobCallback)(RegistryRequest *req, const RegistryError *error, const void *body,
                                     size_t size, void *userdata);
int registry_get_blob(RegistryClient *c, const char *domain, const char *path, const char *digest,
                      size_t max_size, RegistryBlobCallback callback, void *userdata, RegistryRequest **ret);

/* Streams GET /v2/<path>/blobs/<digest> (layers). All callbacks but finished are optional.
 *
 * data: called for every chunk as it arrives. Return the number of bytes consumed (0…n), or a negative
 *   errno to abort (finished then gets REGISTRY_ERROR_CANCELLED with that errno). Consuming fewer than n
 *   bytes pauses the transfer: call registry_blob_resume() when the consumer can take more (its pipe is
 *   writable again); the unconsumed rest is delivered again then, possibly from within
 *   registry_blob_resume() itself.
 * restart: the stream starts over from offset 0 (a retry the server could not resume with Range); the
 *   consumer must drop what it got so far (reset its hash and extraction).
 * progress: bytes done (from offset 0) and total (0 if unknown), at most every 250 ms and once at the end.
 * finished: error is NULL on success, after the last data call.
 *
 * expected_size is the descriptor's size (0 = unknown): it gives progress a total early, and a different
 * length fails the request. */
typedef struct RegistryStreamOps {
        ssize_t (*data)(RegistryRequest *req, const void *p, size_t n, void *userdata);
        void (*restart)(RegistryRequest *req, void *userdata);
        void (*progress)(RegistryRequest *req, uint64_t done, uint64_t total, void *userdata);
        void (*finished)(RegistryRequest *req, const RegistryError *error, void *userdata);
} RegistryStreamOps;

int registry_stream_blob(RegistryClient *c, const char *domain, const char *path, const char *digest,
                         uint64_t expected_size, const RegistryStreamOps *ops, void *userdata,
                         RegistryRequest **ret);
/* Continues a paused stream. Must not be called from the data callback. */
int registry_blob_resume(RegistryRequest *req);

/* GET /v2/_catalog, following "Link: <…>; rel=next" for at most max_pages pages (0: 10) of 100 names.
 * repositories (NULL-terminated) is valid during the callback only. */
typedef void (*RegistryCatalogCallback)(RegistryRequest *req, const RegistryError *error,
                                        char **repositories, void *userdata);
int registry_get_catalog(RegistryClient *c, const char *domain, unsigned max_pages,
                         RegistryCatalogCallback callback, void *userdata, RegistryRequest **ret);

/* Searches a registry: where a search API is configured (Docker Hub's /v1/search for docker.io, or
 * SearchURL=), asks it for at most limit (0: 25) results; otherwise reads the catalog (at most 5 pages) and
 * returns the repositories whose path contains term, named "<domain>/<path>", with empty descriptions. Each
 * answer may be at most 1 MiB. */
typedef void (*RegistrySearchCallback)(RegistryRequest *req, const RegistryError *error,
                                       const RegistrySearchResult *results, size_t n_results,
                                       void *userdata);
int registry_search(RegistryClient *c, const char *domain, const char *term, unsigned limit,
                    RegistrySearchCallback callback, void *userdata, RegistryRequest **ret);

/* ---- push and login (registry-upload.c): distribution's upload protocol ----
 *
 * A blob goes up as: HEAD /v2/<path>/blobs/<digest> (200: there already) → POST
 * /v2/<path>/blobs/uploads/?mount=<digest>&from=<repo> (201: mounted from another repository of the same
 * registry; 202: an upload session instead) or POST …/uploads/ (202) → PATCH <Location> with the bytes
 * (chunked: their length and digest are known only at the end) → PUT <Location>&digest=<digest> (201).
 * Requests authenticate with push scope ("repository:<path>:pull,push"); the POST meets the challenge and
 * caches the token or Basic hint, which the PATCH and PUT then send at once: a streamed body cannot be
 * sent twice, so the PATCH is never retried. */

typedef struct RegistryResponse {
        long status;
        const char *location;    /* absolute URL of the Location header, or NULL */
        const char *digest;      /* Docker-Content-Digest, or NULL */
        uint64_t content_length; /* of a HEAD's answer */
} RegistryResponse;

/* response is NULL on error; both are valid during the callback only. */
typedef void (*RegistryResponseCallback)(RegistryRequest *req, const RegistryError *error,
                                         const RegistryResponse *response, void *userdata);

/* The next bytes of a streamed body into p (at most n): their number, 0 at the end, -EAGAIN when none are
 * ready (call registry_request_resume_send() when they are), another negative errno to abort. */
typedef ssize_t (*RegistryReadBody)(RegistryRequest *req, void *p, size_t n, void *userdata);

/* HEAD /v2/<path>/blobs/<digest>: status 200 (content_length is its size) or 404, both answers. */
int registry_head_blob(RegistryClient *c, const char *domain, const char *path, const char *digest,
                       RegistryResponseCallback callback, void *userdata, RegistryRequest **ret);
/* POST /v2/<path>/blobs/uploads/, with ?mount=<mount_digest>&from=<from_path> when mount_digest is set:
 * 201 when the blob was mounted, 202 with the session's location otherwise. */
int registry_start_upload(RegistryClient *c, const char *domain, const char *path, const char *mount_digest,
                          const char *from_path, RegistryResponseCallback callback, void *userdata,
                          RegistryRequest **ret);
/* PATCH location (from registry_start_upload()) with a body read from read_body: 202 with the next
 * location. */
int registry_upload_patch(RegistryClient *c, const char *domain, const char *path, const char *location,
                          RegistryReadBody read_body, RegistryResponseCallback callback, void *userdata,
                          RegistryRequest **ret);
int registry_request_resume_send(RegistryRequest *req);
/* PUT location&digest=<digest>, with data as the last (or only: a monolithic upload) bytes: 201. */
int registry_upload_finish(RegistryClient *c, const char *domain, const char *path, const char *location,
                           const char *digest, const void *data, size_t size,
                           RegistryResponseCallback callback, void *userdata, RegistryRequest **ret);
/* PUT /v2/<path>/manifests/<reference> with the manifest's own media type: 201, digest the registry's. */
int registry_put_manifest(RegistryClient *c, const char *domain, const char *path, const char *reference,
                          const char *media_type, const void *data, size_t size,
                          RegistryResponseCallback callback, void *userdata, RegistryRequest **ret);
/* GET /v2/ authenticated with these credentials, not the stored ones and no cached token (login): success
 * when the registry (or its token server) accepts them, REGISTRY_ERROR_UNAUTHORIZED when it does not. */
int registry_check_credentials(RegistryClient *c, const char *domain, const char *username,
                               const char *password, RegistryResponseCallback callback, void *userdata,
                               RegistryRequest **ret);
