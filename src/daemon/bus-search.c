/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/polkit.h"
#include "daemon/bus-search.h"
#include "daemon/manager.h"
#include "registry/reference.h"
#include "registry/registry-client.h"
#include "registry/registry-config.h"
#include "shared/log.h"

#define SEARCH_LIMIT_MAX 100U

/* A search makes berthd talk to a registry on the caller's behalf, with root's network position and stored
 * credentials: it is authorised as a pull (org.berth1.pull-image), and bounded. At most SEARCHES_MAX wait
 * at once, each for at most SEARCH_TIMEOUT_USEC; the registry client caps what one may read (see
 * registry_search()). */
#define SEARCHES_MAX        4U
#define SEARCH_TIMEOUT_USEC (30 * USEC_PER_SEC)

/* One SearchImages() call waiting for its registry. The method message is kept until the answer comes;
 * should berthd exit first, the exit source cancels the request and drops the call (the caller sees the
 * name vanish). */
typedef struct Search {
        Manager *manager;
        sd_bus_message *message;
        RegistryRequest *request;
        sd_event_source *exit_source;
        sd_event_source *timeout_source;
        char *domain;
        unsigned limit;
} Search;

static Search *search_free(Search *s)
{
        if (!s)
                return NULL;
        if (s->manager)
                s->manager->n_searches--;
        sd_event_source_disable_unref(s->exit_source);
        sd_event_source_disable_unref(s->timeout_source);
        sd_bus_message_unref(s->message);
        free(s->domain);
        return mfree(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Search *, search_free);

static int on_exit_event(sd_event_source *source, void *userdata)
{
        Search *s = userdata;

        registry_request_cancel(s->request);
        search_free(s);
        return 0;
}

static int on_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
        Search *s = userdata;
        int r;

        registry_request_cancel(s->request);
        s->request = NULL;
        log_info("Search of %s took too long, cancelled.", s->domain);
        r = sd_bus_reply_method_errorf(s->message, BERTH_ERROR_REGISTRY_ERROR, "%s: no answer within %u s.",
                                       s->domain, (unsigned) (SEARCH_TIMEOUT_USEC / USEC_PER_SEC));
        if (r < 0)
                log_warning_errno(r, "Failed to send search error: %m");
        search_free(s);
        return 0;
}

static int reply_results(Search *s, const RegistrySearchResult *results, size_t n)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(s->message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        /* The catalog fallback filters but does not count: the limit applies here to both kinds. */
        for (size_t i = 0; i < n && i < s->limit; i++) {
                r = sd_bus_message_append(reply, "(ss)", results[i].name, results[i].description);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void on_search_done(RegistryRequest *req, const RegistryError *error, const RegistrySearchResult *results,
                           size_t n_results, void *userdata)
{
        _cleanup_(search_freep) Search *s = userdata;
        const char *name;
        int r;

        /* The request frees itself after this callback. */
        s->request = NULL;

        if (!error) {
                r = reply_results(s, results, n_results);
                if (r < 0) {
                        log_warning_errno(r, "Failed to send search results: %m");
                        (void) sd_bus_reply_method_errnof(s->message, r, "Failed to send search results: %m");
                }
                return;
        }

        name = error->kind == REGISTRY_ERROR_UNAUTHORIZED ? BERTH_ERROR_UNAUTHORIZED : BERTH_ERROR_REGISTRY_ERROR;
        log_info("Search of %s failed: %s", s->domain, error->message);
        if (error->http_status > 0)
                r = sd_bus_reply_method_errorf(s->message, name, "%s: %s (HTTP %ld)", s->domain, error->message,
                                               error->http_status);
        else
                r = sd_bus_reply_method_errorf(s->message, name, "%s: %s", s->domain, error->message);
        if (r < 0)
                log_warning_errno(r, "Failed to send search error: %m");
}

typedef struct SearchOptions {
        uint32_t limit;
        const char *registry;
} SearchOptions;

static int read_search_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        SearchOptions *o = userdata;
        int r;

        if (streq(key, "registry"))
                return bus_option_read_basic(m, key, 's', &o->registry, error);
        if (!streq(key, "limit"))
                return bus_option_unknown(key, error);
        r = bus_option_read_basic(m, key, 'u', &o->limit, error);
        if (r < 0)
                return r;
        if (o->limit == 0 || o->limit > SEARCH_LIMIT_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'limit' must be between 1 and %u.",
                                         SEARCH_LIMIT_MAX);
        return 0;
}

int method_search_images(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(search_freep) Search *s = NULL;
        _cleanup_free_ char *domain = NULL;
        Manager *m = userdata;
        SearchOptions o = { .limit = 25 };
        const char *term;
        int r;

        r = sd_bus_message_read(message, "s", &term);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_search_option, &o, error);
        if (r < 0)
                return r;
        if (isempty(term) || strlen(term) > 256 || !g_utf8_validate(term, -1, NULL))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The search term must be 1 to 256 characters of UTF-8.");

        /* The registry is a domain in the reference grammar (host[:port]), nothing more: a URL parser finds
         * another host in "127.0.0.1@10.1.2.3:8080". */
        if (!isempty(o.registry) && !reference_domain_is_valid(o.registry))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid registry '%s': expected host[:port].", o.registry);
        r = registry_normalize_domain(isempty(o.registry) ? m->default_domain : o.registry, &domain);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid registry '%s'.",
                                         o.registry);

        const char *details[] = { "registry", domain, "verb", "search", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_PULL_IMAGE, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        if (m->n_searches >= SEARCHES_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "%u searches are waiting for registries already; try again later.",
                                         m->n_searches);

        s = calloc(1, sizeof(Search));
        if (!s)
                return -ENOMEM;
        s->manager = m;
        m->n_searches++;
        s->limit = o.limit;
        s->domain = TAKE_PTR(domain);

        r = sd_event_add_exit(m->event, &s->exit_source, on_exit_event, s);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &s->timeout_source, CLOCK_MONOTONIC, SEARCH_TIMEOUT_USEC, 0,
                                       on_timeout, s);
        if (r < 0)
                return r;
        r = registry_search(m->registry, s->domain, term, o.limit, on_search_done, s, &s->request);
        if (r < 0)
                return r;
        s->message = sd_bus_message_ref(message);
        TAKE_PTR(s);
        return 1;
}
