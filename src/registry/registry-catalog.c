/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "oci/registry-json.h"
#include "registry/registry-internal.h"
#include "shared/log.h"

#define CATALOG_PAGE_SIZE     100U
#define CATALOG_PAGES_DEFAULT 10U
#define SEARCH_LIMIT_DEFAULT  25U
/* A search reads at most this much per answer, and at most SEARCH_CATALOG_PAGES catalog pages: what any
 * local user allowed to search can make berthd hold. */
#define SEARCH_BODY_MAX      ((size_t) 1024U * 1024U)
#define SEARCH_CATALOG_PAGES 5U

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
                        _cleanup_(registry_error_done) RegistryError e = { .kind = REGISTRY_ERROR_REGISTRY };

                        berth_error_set(&e.base, -ENOMEM, "Out of memory");
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

/* A catalog page (of a catalog, or of a search that filters the catalog), or a search API's answer. */
void catalog_succeeded(RegistryRequest *req, HttpRequest *http)
{
        const void *body;
        size_t size;
        int r;

        body = http_request_get_body(http, &size);
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
        }
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
