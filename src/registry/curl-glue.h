/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "shared/macro.h"

/* One CURLM driven by an sd-event loop: curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION, one
 * sd-event io source each) and when to wake up (CURLMOPT_TIMERFUNCTION, one time source). Whenever either
 * fires we let curl act, then drain curl_multi_info_read() completely and call each finished handle's
 * completion callback.
 *
 * Easy handles made by curl_glue_make() carry their callback in CURLOPT_PRIVATE; do not override that
 * option. A finished handle has already been removed from the multi when its callback runs, so the
 * callback may free it (curl_glue_easy_free()) or reuse it (curl_glue_add() again). Nothing here blocks. */

typedef struct CurlGlue CurlGlue;

typedef void (*CurlGlueFinished)(CURL *easy, CURLcode result, void *userdata);

int curl_glue_new(sd_event *event, CurlGlue **ret);
/* Every easy handle must have been freed before. */
CurlGlue *curl_glue_free(CurlGlue *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(CurlGlue *, curl_glue_free);

sd_event *curl_glue_get_event(CurlGlue *g);

/* Makes an easy handle for url with the options every request shares: no signals, http(s) only, redirects
 * followed (at most 10), connect and low-speed timeouts, our User-Agent. on_finished is called with
 * userdata when the transfer ends, whatever the result. */
int curl_glue_make(CurlGlue *g, const char *url, CurlGlueFinished on_finished, void *userdata, CURL **ret);

/* Starts (or restarts) the transfer. Must not be called from within a curl callback of the same multi. */
int curl_glue_add(CurlGlue *g, CURL *easy);
/* Stops the transfer without a completion callback. Harmless if it is not running. */
void curl_glue_remove(CurlGlue *g, CURL *easy);
/* Removes and frees a handle made by curl_glue_make(). Accepts NULL; returns NULL. */
CURL *curl_glue_easy_free(CURL *easy);
DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_glue_easy_free);
