/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <sys/epoll.h>

#include "registry/curl-glue.h"
#include "shared/log.h"

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        unsigned n_handles;
};

/* What CURLOPT_PRIVATE points to for handles made here. */
typedef struct CurlGlueHandle {
        CurlGlue *glue;
        CurlGlueFinished on_finished;
        void *userdata;
} CurlGlueHandle;

static CurlGlueHandle *handle_of(CURL *easy)
{
        CurlGlueHandle *h = NULL;

        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &h) != CURLE_OK)
                return NULL;
        return h;
}

static void curl_glue_dispatch_done(CurlGlue *g)
{
        CURLMsg *msg;
        int left;

        /* Drain the whole queue: one event can finish several transfers. Copy what we need out of the
         * message first, since removing the handle invalidates it. */
        while ((msg = curl_multi_info_read(g->multi, &left))) {
                CURL *easy;
                CURLcode result;
                CurlGlueHandle *h;

                if (msg->msg != CURLMSG_DONE)
                        continue;

                easy = msg->easy_handle;
                result = msg->data.result;
                (void) curl_multi_remove_handle(g->multi, easy);

                h = handle_of(easy);
                if (h && h->on_finished)
                        h->on_finished(easy, result, h->userdata);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        CurlGlue *g = userdata;
        int action = 0, running;

        if (revents & (EPOLLIN | EPOLLPRI | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;

        if (curl_multi_socket_action(g->multi, fd, action, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on fd %d.", fd);

        curl_glue_dispatch_done(g);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        CurlGlue *g = userdata;
        int running;

        if (curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on timeout.");

        curl_glue_dispatch_done(g);
        return 0;
}

static int socket_callback(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp)
{
        CurlGlue *g = userdata;
        sd_event_source *s = socketp;
        uint32_t events = 0;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (s) {
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                        sd_event_source_unref(s);
                        (void) curl_multi_assign(g->multi, fd, NULL);
                }
                return 0;
        }

        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;

        if (s) {
                r = sd_event_source_set_io_events(s, events);
                if (r < 0)
                        return -1;
                r = sd_event_source_set_enabled(s, SD_EVENT_ON);
                if (r < 0)
                        return -1;
                return 0;
        }

        r = sd_event_add_io(g->event, &s, fd, events, on_io, g);
        if (r < 0) {
                log_debug_errno(r, "Failed to watch curl socket %d: %m", fd);
                return -1;
        }
        (void) sd_event_source_set_description(s, "curl-io");

        if (curl_multi_assign(g->multi, fd, s) != CURLM_OK) {
                sd_event_source_disable_unref(s);
                return -1;
        }
        return 0;
}

static int timer_callback(CURLM *multi, long timeout_ms, void *userdata)
{
        CurlGlue *g = userdata;
        int r;

        if (timeout_ms < 0) {
                if (g->timer)
                        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
                return 0;
        }

        /* curl forbids calling socket_action from here, so even a 0 timeout goes through the loop. */
        if (g->timer) {
                r = sd_event_source_set_time_relative(g->timer, (uint64_t) timeout_ms * USEC_PER_MSEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT);
        } else {
                /* Accuracy 0 would mean sd-event's default of 250 ms, which stalls every transfer that
                 * curl wakes through a timer (unpausing, for one). */
                r = sd_event_add_time_relative(g->event, &g->timer, CLOCK_MONOTONIC,
                                               (uint64_t) timeout_ms * USEC_PER_MSEC, 1, on_timer, g);
                if (r >= 0)
                        (void) sd_event_source_set_description(g->timer, "curl-timer");
        }
        if (r < 0) {
                log_debug_errno(r, "Failed to arm curl timer: %m");
                return -1;
        }
        return 0;
}

int curl_glue_new(sd_event *event, CurlGlue **ret)
{
        _cleanup_(curl_glue_freep) CurlGlue *g = NULL;
        static bool initialized = false;

        if (!event || !ret)
                return -EINVAL;

        if (!initialized) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                initialized = true;
        }

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(event);

        g->multi = curl_multi_init();
        if (!g->multi)
                return -ENOMEM;

        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, socket_callback) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, timer_callback) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK)
                return -EIO;

        *ret = TAKE_PTR(g);
        return 0;
}

CurlGlue *curl_glue_free(CurlGlue *g)
{
        if (!g)
                return NULL;

        if (g->n_handles > 0)
                log_debug("curl glue freed with %u easy handles still alive.", g->n_handles);

        /* Cleaning up the multi calls the socket function with CURL_POLL_REMOVE for what is left. */
        if (g->multi)
                curl_multi_cleanup(g->multi);
        sd_event_source_disable_unref(g->timer);
        sd_event_unref(g->event);
        return mfree(g);
}

sd_event *curl_glue_get_event(CurlGlue *g)
{
        return g ? g->event : NULL;
}

int curl_glue_make(CurlGlue *g, const char *url, CurlGlueFinished on_finished, void *userdata, CURL **ret)
{
        CurlGlueHandle *h;
        CURL *easy;

        if (!g || !url || !ret)
                return -EINVAL;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        *h = (CurlGlueHandle){ .glue = g, .on_finished = on_finished, .userdata = userdata };

        easy = curl_easy_init();
        if (!easy) {
                free(h);
                return -ENOMEM;
        }

        if (curl_easy_setopt(easy, CURLOPT_PRIVATE, h) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 30L) != CURLE_OK ||
            /* An idle connection (below 100 bytes/s for a minute) is a dead one. Paused transfers are
             * exempt from this check in curl. */
            curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 100L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, 60L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_USERAGENT, "berth/" BERTH_VERSION) != CURLE_OK) {
                curl_easy_cleanup(easy);
                free(h);
                return -EIO;
        }

        g->n_handles++;
        *ret = easy;
        return 0;
}

int curl_glue_add(CurlGlue *g, CURL *easy)
{
        CURLMcode mc;

        if (!g || !easy)
                return -EINVAL;

        mc = curl_multi_add_handle(g->multi, easy);
        if (mc == CURLM_ADDED_ALREADY)
                return -EBUSY;
        if (mc != CURLM_OK) {
                log_debug("curl_multi_add_handle() failed: %s", curl_multi_strerror(mc));
                return -EIO;
        }
        return 0;
}

void curl_glue_remove(CurlGlue *g, CURL *easy)
{
        if (g && easy)
                (void) curl_multi_remove_handle(g->multi, easy);
}

CURL *curl_glue_easy_free(CURL *easy)
{
        CurlGlueHandle *h;

        if (!easy)
                return NULL;

        h = handle_of(easy);
        if (h) {
                curl_glue_remove(h->glue, easy);
                if (h->glue->n_handles > 0)
                        h->glue->n_handles--;
                free(h);
        }
        curl_easy_cleanup(easy);
        return NULL;
}
