/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "registry/registry-internal.h"
#include "shared/log.h"

#define BLOB_MAX_DEFAULT ((size_t) 16U * 1024U * 1024U)

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

void registry_error_done(RegistryError *e)
{
        if (!e)
                return;
        berth_error_done(&e->base);
        free(e->code);
        *e = (RegistryError){};
}

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
