/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>

#include "shared/berth-messages.h"
#include "daemon/blob-sources.h"
#include "daemon/bus-errors.h"
#include "daemon/image-dbus.h"
#include "daemon/image.h"
#include "daemon/push.h"
#include "oci/config.h"
#include "oci/digest.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/platform.h"
#include "oci/sha256.h"
#include "registry/reference.h"
#include "registry/registry-client.h"
#include "shared/log.h"
#include "store/image-store.h"
#include "store/layer-extract.h"
#include "store/layer-store.h"
#include "store/layer-tar.h"
#include "daemon/transfer-dbus.h"
#include "daemon/transfer.h"

#define PROGRESS_INTERVAL_USEC (100 * USEC_PER_MSEC)
/* Extracted layers wait for one syncfs together while others of the pull are still downloading, up to this
 * many: a syncfs (a child, and an ext4 journal commit that file creation elsewhere waits on) per layer or
 * two was a good part of a many-layer pull. */
#define SYNC_BATCH_MAX 32

typedef struct TransferLayer {
        Transfer *transfer;
        size_t index;
        const OciDescriptor *desc;
        const char *diff_id;  /* expected, from the config */
        const char *chain_id; /* t->chain_ids[index] */
        char short_id[13];

        bool present;   /* in the store (was there, or committed by us or another pull) */
        bool extracted; /* verified, waiting for the layers below it to be committed */
        bool prepared;  /* metadata written, waiting for the batch's syncfs to be published */
        bool downloading;
        bool waiting; /* another pull is fetching the same layer */
        bool download_done, child_done;

        char *tmp_name;
        int input_fd, result_fd;
        pid_t pid;
        sd_event_source *child_source, *writable_source;
        RegistryRequest *request;

        uint64_t done, total, uncompressed;
        uint64_t last_progress_usec;
} TransferLayer;

struct Transfer {
        Manager *manager;
        uint32_t id;
        char *path;
        Reference *ref;
        char *canonical; /* "docker.io/library/debian:12" */
        char *familiar;  /* "debian:12" */
        char *repository;
        bool started; /* the hooks hear of it from transfer_start() on */

        enum { STATE_NEW, STATE_RESOLVING, STATE_PULLING, STATE_DONE, STATE_FAILED, STATE_CANCELLED } state;
        RegistryRequest *request; /* manifest or config */

        char *manifest_digest;
        void *manifest_data;
        size_t manifest_size;
        OciManifest *manifest;
        char *config_data;
        size_t config_size;
        OciImageConfig *config;
        char **chain_ids;
        TransferLayer *layers;
        size_t n_layers;
        bool fetched_any;
        char *image_id;
        pid_t sync_pid; /* the syncfs that makes the prepared layers durable (transfer_sync_batch()) */
        sd_event_source *sync_source;

        Push *push; /* a push, when not NULL: everything above but id, path and started is unused */
        TransferDoneFn done_hook; /* the builder's FROM (build.c) */
        void *done_userdata;
};

static const char *const state_names[] = { "new", "resolving", "pulling", "done", "failed", "cancelled" };

static void layer_stop(TransferLayer *l)
{
        registry_request_cancel(l->request);
        l->request = NULL;
        l->writable_source = sd_event_source_disable_unref(l->writable_source);
        l->child_source = sd_event_source_disable_unref(l->child_source);
        l->input_fd = safe_close(l->input_fd);
        l->result_fd = safe_close(l->result_fd);
        if (l->pid > 0) {
                (void) kill(l->pid, SIGKILL);
                (void) waitpid(l->pid, NULL, 0);
                l->pid = 0;
        }
        if (l->tmp_name) {
                (void) layer_store_abort(l->transfer->manager->layers, l->tmp_name);
                l->tmp_name = mfree(l->tmp_name);
        }
        l->downloading = false;
}

static void transfer_stop_sync(Transfer *t)
{
        t->sync_source = sd_event_source_disable_unref(t->sync_source);
        if (t->sync_pid > 0) {
                (void) kill(t->sync_pid, SIGKILL);
                (void) waitpid(t->sync_pid, NULL, 0);
                t->sync_pid = 0;
        }
}

Transfer *transfer_free(Transfer *t)
{
        if (!t)
                return NULL;
        transfer_stop_sync(t);
        push_free(t->push);
        for (size_t i = 0; i < t->n_layers; i++)
                layer_stop(&t->layers[i]);
        free(t->layers);
        registry_request_cancel(t->request);
        free(t->path);
        reference_free(t->ref);
        free(t->canonical);
        free(t->familiar);
        free(t->repository);
        free(t->manifest_digest);
        free(t->manifest_data);
        oci_manifest_free(t->manifest);
        free(t->config_data);
        oci_image_config_free(t->config);
        g_strfreev(t->chain_ids);
        free(t->image_id);
        return mfree(t);
}

int transfer_new(Manager *m, const char *reference, BerthError *e, Transfer **ret)
{
        _cleanup_(transfer_freep) Transfer *t = NULL;
        char id_str[16];
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->manager = m;
        r = manager_parse_reference(m, reference, e, &t->ref);
        if (r < 0)
                return r;
        r = reference_to_string(t->ref, &t->canonical);
        if (r >= 0)
                r = reference_familiar_string(t->ref, &t->familiar);
        if (r >= 0)
                r = reference_repository(t->ref, &t->repository);
        if (r < 0)
                return r;

        t->id = ++m->transfer_counter;
        snprintf(id_str, sizeof(id_str), "_%" PRIu32, t->id);
        if (asprintf(&t->path, "/org/berth1/transfer/%s", id_str) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

int transfer_new_push(Manager *m, Push *p, const char *reference, Transfer **ret)
{
        _cleanup_(transfer_freep) Transfer *t = NULL;

        t = calloc(1, sizeof(*t));
        if (!t) {
                push_free(p);
                return -ENOMEM;
        }
        t->manager = m;
        t->push = p;
        t->canonical = strdup(reference);
        t->id = ++m->transfer_counter;
        if (!t->canonical || asprintf(&t->path, "/org/berth1/transfer/_%" PRIu32, t->id) < 0)
                return -ENOMEM;
        push_set_transfer(p, t);
        *ret = TAKE_PTR(t);
        return 0;
}

Push *transfer_get_push(Transfer *t)
{
        return t->push;
}

bool transfer_is_started(Transfer *t)
{
        return t->started;
}

Manager *transfer_get_manager(Transfer *t)
{
        return t->manager;
}

uint32_t transfer_get_id(Transfer *t)
{
        return t->id;
}
const char *transfer_get_path(Transfer *t)
{
        return t->path;
}
const char *transfer_get_reference(Transfer *t)
{
        return t->canonical;
}
const char *transfer_get_status(Transfer *t)
{
        return t->push ? push_get_status(t->push) : state_names[t->state];
}
const char *transfer_get_manifest_digest(Transfer *t)
{
        return t->push ? push_get_manifest_digest(t->push) : strempty(t->manifest_digest);
}
const char *transfer_get_image_id(Transfer *t)
{
        return t->push ? push_get_image_id(t->push) : strempty(t->image_id);
}

double transfer_get_progress(Transfer *t)
{
        uint64_t done = 0, total = 0;

        if (t->push)
                return push_get_progress(t->push);
        if (t->state == STATE_DONE)
                return 1.0;
        for (size_t i = 0; i < t->n_layers; i++) {
                uint64_t size = t->layers[i].desc->size;
                total += size;
                done += t->layers[i].present || t->layers[i].extracted ? size : MIN(t->layers[i].done, size);
        }
        return total > 0 ? (double) done / (double) total : 0.0;
}

static bool transfers_use_layer(Manager *m, const char *chain_id, Transfer *except, bool fetching_only);
static void transfers_layer_settled(Manager *m, const char *chain_id, Transfer *except);
static void emit_message(Transfer *t, const char *fmt, ...) _printf_(2, 3);
static void emit_message(Transfer *t, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s && t->started)
                transfer_send_message(t, s);
}

static void emit_layer(TransferLayer *l, const char *status)
{
        Transfer *t = l->transfer;

        if (t->started)
                transfer_send_layer_progress(t, l->short_id, status, l->done, l->total);
}

/* Ends the pull: the finished event is the last thing that happens to t; the bus layer frees it after. */
static void transfer_finish(Transfer *t, const BerthError *e)
{
        if (t->state >= STATE_DONE)
                return;
        t->state = e ? (e->error == -ECANCELED ? STATE_CANCELLED : STATE_FAILED) : STATE_DONE;
        registry_request_cancel(t->request);
        t->request = NULL;

        if (e) {
                bool removed = false;

                transfer_stop_sync(t);
                for (size_t i = 0; i < t->n_layers; i++)
                        layer_stop(&t->layers[i]);
                /* A failed pull leaves nothing: its layers that no image uses and no other pull needs go
                 * again, top first. That is what it committed, and what it found "Already exists" when an
                 * image removal meanwhile left the layer to it (manager_layer_held_by_pull()). */
                for (size_t i = t->n_layers; i > 0; i--) {
                        TransferLayer *l = &t->layers[i - 1];
                        if (!l->present || image_store_layer_in_use(t->manager->images, l->chain_id, NULL) ||
                            transfers_use_layer(t->manager, l->chain_id, t, false))
                                continue;
                        if (layer_store_remove(t->manager->layers, l->chain_id) >= 0)
                                removed = true;
                }
                if (removed)
                        manager_empty_trash(t->manager);
                /* Pulls waiting for a layer this one was fetching fetch it themselves now. */
                for (size_t i = 0; i < t->n_layers; i++)
                        transfers_layer_settled(t->manager, t->layers[i].chain_id, t);
                sd_journal_send("MESSAGE=Pull of %s failed: %s", t->familiar, berth_error_message(e),
                                "MESSAGE_ID=" BERTH_MESSAGE_IMAGE_PULL_FAILED, "PRIORITY=%i", LOG_WARNING,
                                "BERTH_IMAGE=%s", t->familiar, "BERTH_TRANSFER=%" PRIu32, t->id,
                                "BERTH_ERROR=%s", berth_error_message(e), "BERTH_ERROR_NAME=%s",
                                bus_error_transfer_name(e), NULL);
        }
        if (t->done_hook)
                t->done_hook(t->done_userdata, e ? NULL : t->image_id, e);
        if (t->started)
                transfer_send_finished(t, e);
}

void transfer_set_done_hook(Transfer *t, TransferDoneFn hook, void *userdata)
{
        t->done_hook = hook;
        t->done_userdata = userdata;
}

/* transfer_finish() with a failure of the given kind (see transfer.h) and message. */
static void transfer_fail(Transfer *t, int error, const char *message)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;

        berth_error_set(&e, error, "%s", message);
        transfer_finish(t, &e);
}

static void transfer_fail_errno(Transfer *t, int r, const char *what)
{
        _cleanup_free_ char *msg = NULL;

        if (asprintf(&msg, "%s: %s", what, strerror(-r)) < 0)
                msg = NULL;
        /* The errno is in the message; as a kind, anything but a full disk is the registry's. */
        transfer_fail(t, r == -ENOSPC ? r : -EPROTO, msg ?: what);
}

static void transfer_fail_registry(Transfer *t, const RegistryError *e)
{
        _cleanup_free_ char *msg = NULL;
        int kind;

        switch (e->kind) {
        case REGISTRY_ERROR_UNAUTHORIZED:
                kind = -EACCES;
                break;
        case REGISTRY_ERROR_MANIFEST_UNKNOWN:
                kind = -ENOENT;
                break;
        case REGISTRY_ERROR_CANCELLED:
                kind = -ECANCELED;
                break;
        default:
                kind = -EPROTO;
        }
        if (e->http_status > 0)
                if (asprintf(&msg, "%s: %s (HTTP %ld)", t->familiar, berth_error_message(&e->base),
                             e->http_status) < 0)
                        msg = NULL;
        if (!msg && asprintf(&msg, "%s: %s", t->familiar, berth_error_message(&e->base)) < 0)
                msg = NULL;
        transfer_fail(t, kind, msg ?: berth_error_message(&e->base));
}

/* Downloading, or extracted and on its way into the store: another pull wanting it waits for this one. */
static bool layer_fetching(const TransferLayer *l)
{
        return l->downloading || l->extracted || l->prepared;
}

/* Whether another running pull needs the layer chain_id at all, or (fetching_only) is fetching it now. */
static bool transfers_use_layer(Manager *m, const char *chain_id, Transfer *except, bool fetching_only)
{
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->transfers);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                Transfer *o = value;
                if (o != except && o->push && !fetching_only && push_uses_layer(o->push, chain_id))
                        return true;
                if (o == except || o->state != STATE_PULLING)
                        continue;
                for (size_t i = 0; i < o->n_layers; i++)
                        if ((!fetching_only || layer_fetching(&o->layers[i])) &&
                            streq(o->layers[i].chain_id, chain_id))
                                return true;
        }
        return false;
}

bool manager_layer_held_by_pull(Manager *m, const char *chain_id)
{
        /* Every layer of a running pull, from the config (when it says "Already exists" or starts the
         * download) until the image is recorded or the pull fails. */
        return transfers_use_layer(m, chain_id, NULL, false);
}

static void transfer_advance(Transfer *t);

/* Another pull committed (or gave up on) a layer we were waiting for. */
static void transfers_layer_settled(Manager *m, const char *chain_id, Transfer *except)
{
        g_autoptr(GPtrArray) to_advance = g_ptr_array_new();
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, m->transfers);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                Transfer *o = value;
                if (o == except || o->state != STATE_PULLING)
                        continue;
                for (size_t i = 0; i < o->n_layers; i++)
                        if (o->layers[i].waiting && streq(o->layers[i].chain_id, chain_id)) {
                                o->layers[i].waiting = false;
                                g_ptr_array_add(to_advance, o);
                        }
        }
        for (guint i = 0; i < to_advance->len; i++)
                transfer_advance(to_advance->pdata[i]);
}

static void layer_fail(TransferLayer *l, int error, const char *message)
{
        layer_stop(l);
        transfer_fail(l->transfer, error, message); /* which settles the waiters of every layer */
}

static void layer_check(TransferLayer *l)
{
        _cleanup_berth_error_ BerthError error_message = BERTH_ERROR_INIT;
        _cleanup_free_ char *msg = NULL;
        LayerExtractResult res;
        int r;

        r = layer_extract_read_result(l->result_fd, &error_message, &res);
        l->result_fd = safe_close(l->result_fd);
        if (r < 0) {
                if (asprintf(&msg, "layer %s could not be extracted: %s", l->short_id,
                             error_message.message ?: strerror(-r)) < 0)
                        msg = NULL;
                return layer_fail(l, r == -ENOSPC ? r : -EINVAL, msg ?: "layer could not be extracted");
        }
        if (!streq(res.blob_digest, l->desc->digest)) {
                if (asprintf(&msg, "layer %s: the registry sent content with digest %s, expected %s",
                             l->short_id, res.blob_digest, l->desc->digest) < 0)
                        msg = NULL;
                return layer_fail(l, -EBADMSG, msg ?: "digest mismatch");
        }
        if (!streq(res.diff_id, l->diff_id)) {
                if (asprintf(&msg, "layer %s: uncompressed content has digest %s, the image config says %s",
                             l->short_id, res.diff_id, l->diff_id) < 0)
                        msg = NULL;
                return layer_fail(l, -EBADMSG, msg ?: "diff_id mismatch");
        }

        l->uncompressed = res.uncompressed_size;
        l->downloading = false;
        l->extracted = true;
        emit_layer(l, "Download complete");
        emit_layer(l, "Extracting");
        transfer_advance(l->transfer);
}

static int on_layer_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        TransferLayer *l = userdata;

        l->child_source = sd_event_source_disable_unref(l->child_source);
        l->pid = 0;
        l->child_done = true;
        if (l->download_done)
                layer_check(l);
        else if (l->downloading) {
                /* The extractor gave up before the download ended: its report says why. */
                registry_request_cancel(l->request);
                l->request = NULL;
                layer_check(l);
        }
        return 0;
}

static int on_layer_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        TransferLayer *l = userdata;
        int r;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        r = registry_blob_resume(l->request);
        if (r < 0)
                log_debug_errno(r, "Failed to resume layer download: %m");
        return 0;
}

static ssize_t on_layer_data(RegistryRequest *req, const void *p, size_t n, void *userdata)
{
        TransferLayer *l = userdata;
        size_t written = 0;
        int r;

        while (written < n) {
                ssize_t k = write(l->input_fd, (const char *) p + written, n - written);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return negative_errno(); /* EPIPE: the extractor died; its report says why */
                }
                written += (size_t) k;
        }
        if (written < n) {
                /* The pipe is full: pause the download until the extractor catches up. */
                if (!l->writable_source) {
                        r = sd_event_add_io(l->transfer->manager->event, &l->writable_source, l->input_fd,
                                            EPOLLOUT, on_layer_writable, l);
                        if (r < 0)
                                return r;
                } else
                        (void) sd_event_source_set_enabled(l->writable_source, SD_EVENT_ONESHOT);
        }
        return (ssize_t) written;
}

static int layer_spawn(TransferLayer *l);

static void on_layer_restart(RegistryRequest *req, void *userdata)
{
        TransferLayer *l = userdata;
        RegistryRequest *keep = l->request;
        int r;

        /* The registry could not resume: start the extraction over from byte 0. */
        l->request = NULL;
        layer_stop(l);
        l->request = keep;
        l->downloading = true;
        l->done = 0;
        r = layer_spawn(l);
        if (r < 0)
                layer_fail(l, -EPROTO, "cannot restart layer extraction");
}

static void on_layer_progress(RegistryRequest *req, uint64_t done, uint64_t total, void *userdata)
{
        TransferLayer *l = userdata;
        uint64_t now = 0;

        l->done = done;
        if (total > 0)
                l->total = total;
        (void) sd_event_now(l->transfer->manager->event, CLOCK_MONOTONIC, &now);
        if (now - l->last_progress_usec < PROGRESS_INTERVAL_USEC)
                return;
        l->last_progress_usec = now;
        emit_layer(l, "Downloading");
}

static void on_layer_finished(RegistryRequest *req, const RegistryError *error, void *userdata)
{
        TransferLayer *l = userdata;
        Transfer *t = l->transfer;

        l->request = NULL;
        if (error) {
                if (error->kind == REGISTRY_ERROR_CANCELLED && l->child_done)
                        return layer_check(l); /* we aborted because the extractor failed */
                if (error->kind == REGISTRY_ERROR_CANCELLED && error->base.error == -EPIPE && l->pid > 0)
                        /* The extractor closed its input, and its exit is on the way: its report says why
                         * (on_layer_child_exit()), not the write that found the pipe closed. */
                        return;
                layer_stop(l);
                transfer_fail_registry(t, error);
                return;
        }
        l->writable_source = sd_event_source_disable_unref(l->writable_source);
        l->input_fd = safe_close(l->input_fd); /* EOF for the extractor */
        l->download_done = true;
        l->done = l->total;
        emit_layer(l, "Verifying Checksum");
        if (l->child_done)
                layer_check(l);
}

static const RegistryStreamOps layer_stream_ops = {
        .data = on_layer_data,
        .restart = on_layer_restart,
        .progress = on_layer_progress,
        .finished = on_layer_finished,
};

static int layer_spawn(TransferLayer *l)
{
        Manager *m = l->transfer->manager;
        _cleanup_close_ int diff_fd = -EBADF, record_fd = -EBADF;
        int r;

        r = layer_store_begin(m->layers, &l->tmp_name, &diff_fd);
        if (r < 0)
                return r;
        r = layer_tar_record_create(m->layers, l->tmp_name, &record_fd);
        if (r < 0)
                return r;
        /* Made durable with the other layers of its batch: one syncfs for several (commit_batch()). */
        r = layer_extract_spawn_recorded(diff_fd, record_fd, false, &l->input_fd, &l->result_fd, &l->pid);
        if (r < 0)
                return r;
        l->child_done = l->download_done = false;
        return sd_event_add_child(m->event, &l->child_source, l->pid, WEXITED, on_layer_child_exit, l);
}

static int layer_start(TransferLayer *l)
{
        Transfer *t = l->transfer;
        int r;

        l->downloading = true;
        l->total = l->desc->size;
        l->done = 0;
        r = layer_spawn(l);
        if (r < 0)
                return r;
        t->fetched_any = true;
        emit_layer(l, "Downloading");
        return registry_stream_blob(t->manager->registry, t->ref->domain, t->ref->path, l->desc->digest,
                                    l->desc->size, &layer_stream_ops, l, &l->request);
}

static uint64_t layer_size_known(Manager *m, const char *chain_id)
{
        g_autoptr(GPtrArray) images = image_store_list(m->images);
        uint64_t bytes = 0;

        for (guint i = 0; i < images->len; i++) {
                const ImageRecord *r = images->pdata[i];
                for (size_t k = 0; r->chain_ids && r->chain_ids[k]; k++)
                        if (streq(r->chain_ids[k], chain_id) && r->layer_sizes)
                                return r->layer_sizes[k];
        }
        (void) layer_store_disk_usage(m->layers, chain_id, &bytes);
        return bytes;
}

static void transfer_complete(Transfer *t)
{
        Manager *m = t->manager;
        _cleanup_(image_record_freep) ImageRecord *rec = NULL;
        _cleanup_free_ char *repo_digest = NULL, *path = NULL;
        const ImageRecord *old;
        bool is_new, tag_moved = false;
        int r;

        if (asprintf(&repo_digest, "%s@%s", t->repository, t->manifest_digest) < 0)
                return transfer_fail_errno(t, -ENOMEM, "out of memory");
        /* The layers' renames into place are durable before an image record names them. */
        r = layer_store_sync_root(m->layers);
        if (r < 0)
                return transfer_fail_errno(t, r, "cannot sync the layer store");

        old = image_store_get(m->images, t->config->diff_ids ? t->image_id : t->image_id);
        is_new = !old;

        rec = calloc(1, sizeof(*rec));
        if (!rec)
                return transfer_fail_errno(t, -ENOMEM, "out of memory");
        rec->id = strdup(t->image_id);
        rec->manifest_digest = strdup(t->manifest_digest);
        rec->diff_ids = g_strdupv(t->config->diff_ids);
        rec->chain_ids = g_strdupv(t->chain_ids);
        rec->layer_sizes = calloc(t->n_layers + 1, sizeof(uint64_t));
        if (!rec->id || !rec->manifest_digest || !rec->layer_sizes)
                return transfer_fail_errno(t, -ENOMEM, "out of memory");
        for (size_t i = 0; i < t->n_layers; i++) {
                rec->layer_sizes[i] = t->layers[i].uncompressed ?: layer_size_known(m, t->chain_ids[i]);
                rec->size += rec->layer_sizes[i];
        }
        rec->created_usec = t->config->created_usec;
        rec->added_usec = old ? old->added_usec : (uint64_t) g_get_real_time();

        /* Keep the repo digests the image had, add this one. */
        g_autoptr(GPtrArray) digests = g_ptr_array_new();
        for (size_t i = 0; old && old->repo_digests && old->repo_digests[i]; i++)
                if (!streq(old->repo_digests[i], repo_digest))
                        g_ptr_array_add(digests, g_strdup(old->repo_digests[i]));
        g_ptr_array_add(digests, g_strdup(repo_digest));
        g_ptr_array_add(digests, NULL);
        rec->repo_digests = (char **) g_ptr_array_free(g_steal_pointer(&digests), false);

        r = image_store_add(m->images, rec, t->config_data, t->config_size, t->manifest_data,
                            t->manifest_size);
        if (r < 0)
                return transfer_fail_errno(t, r, "cannot record the image");

        /* Where each layer's compressed blob lives, for a later push (blob-sources.h): the file is written
         * once for all of them, not once a layer (two fsyncs each, on the way to the pull's answer). */
        bool noted = false;
        for (size_t i = 0; i < t->n_layers; i++) {
                const OciDescriptor *d = t->layers[i].desc;
                r = blob_sources_note(m->blob_sources, t->layers[i].diff_id, d->digest, d->media_type,
                                      d->size, t->ref->domain, t->ref->path);
                if (r < 0)
                        log_warning_errno(r, "Failed to record where layer %s came from, ignoring: %m",
                                          t->layers[i].short_id);
                noted = noted || r > 0;
        }
        if (noted) {
                r = blob_sources_save(m->blob_sources);
                if (r < 0)
                        log_warning_errno(r, "Failed to save where the layers came from, ignoring: %m");
        }

        if (t->ref->tag) {
                _cleanup_free_ char *tag = NULL;
                if (asprintf(&tag, "%s:%s", t->repository, t->ref->tag) < 0)
                        return transfer_fail_errno(t, -ENOMEM, "out of memory");
                tag_moved = !streq_ptr(image_store_tag_target(m->images, tag), t->image_id);
                r = image_store_tag(m->images, tag, t->image_id);
                if (r < 0)
                        return transfer_fail_errno(t, r, "cannot tag the image");
        }

        emit_message(t, "Digest: %s", t->manifest_digest);
        if (is_new || tag_moved || t->fetched_any)
                emit_message(t, "Status: Downloaded newer image for %s", t->familiar);
        else
                emit_message(t, "Status: Image is up to date for %s", t->familiar);

        sd_journal_send("MESSAGE=Pulled image %s (%s).", t->familiar, t->manifest_digest,
                        "MESSAGE_ID=" BERTH_MESSAGE_IMAGE_PULLED, "PRIORITY=%i", LOG_INFO, "BERTH_IMAGE=%s",
                        t->familiar, "BERTH_IMAGE_DIGEST=%s", t->manifest_digest, "BERTH_IMAGE_ID=%s",
                        t->image_id, "BERTH_TRANSFER=%" PRIu32, t->id, NULL);
        if (is_new)
                image_send_signal(m, t->image_id, true);
        transfer_finish(t, NULL);
}

static void commit_failed(TransferLayer *l, int r)
{
        _cleanup_free_ char *msg = NULL;

        if (asprintf(&msg, "cannot commit layer %s to the store: %s", l->short_id, strerror(-r)) < 0)
                msg = NULL;
        layer_fail(l, r == -ENOSPC ? r : -EPROTO, msg ?: "cannot commit layer to the store");
}

static void layer_committed(TransferLayer *l)
{
        l->tmp_name = mfree(l->tmp_name);
        l->present = true;
        l->extracted = l->prepared = false;
        emit_layer(l, "Pull complete");
        transfers_layer_settled(l->transfer->manager, l->chain_id, l->transfer);
}

/* The batch's syncfs returned: its layers are durable; rename them into place, parents first. */
static int on_batch_synced(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        Transfer *t = userdata;
        int r;

        t->sync_source = sd_event_source_disable_unref(t->sync_source);
        t->sync_pid = 0;
        if (si->si_code != CLD_EXITED || si->si_status != EXIT_SUCCESS) {
                transfer_fail_errno(t, -EIO, "cannot sync the layer store");
                return 0;
        }
        for (size_t i = 0; i < t->n_layers; i++) {
                TransferLayer *l = &t->layers[i];
                bool lost;

                if (!l->prepared)
                        continue;
                r = layer_store_publish(t->manager->layers, l->tmp_name, l->chain_id);
                if (r < 0) {
                        commit_failed(l, r);
                        return 0;
                }
                lost = r > 0; /* another pull published it first: ours, and its short link, are gone */
                layer_committed(l);
                if (t->state != STATE_PULLING)
                        return 0;
                if (!lost)
                        continue;
                /* The layers above it in this batch name our discarded short link in their lower file:
                 * prepared again (with the winner's) by the next transfer_advance(). */
                for (size_t k = i + 1; k < t->n_layers; k++) {
                        TransferLayer *u = &t->layers[k];
                        if (!u->prepared)
                                continue;
                        r = layer_store_unprepare(t->manager->layers, u->tmp_name);
                        if (r < 0) {
                                commit_failed(u, r);
                                return 0;
                        }
                        u->prepared = false;
                }
                break;
        }
        transfer_advance(t);
        return 0;
}

/* Whether t holds chain_id prepared: extracted and named, not yet made durable and published. */
static bool transfer_has_prepared(const Transfer *t, const char *chain_id)
{
        for (size_t i = 0; i < t->n_layers; i++)
                if (t->layers[i].prepared && streq(t->layers[i].chain_id, chain_id))
                        return true;
        return false;
}

/* Whether another pull waits for one of the layers this one has prepared. */
static bool transfer_awaited(const Transfer *t)
{
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, t->manager->transfers);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                const Transfer *o = value;

                if (o == t || o->state != STATE_PULLING)
                        continue;
                for (size_t i = 0; i < o->n_layers; i++)
                        if (o->layers[i].waiting && transfer_has_prepared(t, o->layers[i].chain_id))
                                return true;
        }
        return false;
}

/* Starts the syncfs that makes the prepared layers durable; on_batch_synced() publishes them. */
static int transfer_sync_batch(Transfer *t)
{
        int r;

        r = layer_store_sync_spawn(t->manager->layers, &t->sync_pid);
        if (r < 0)
                return r;
        r = sd_event_add_child(t->manager->event, &t->sync_source, t->sync_pid, WEXITED, on_batch_synced, t);
        if (r < 0)
                transfer_stop_sync(t);
        return r;
}

/* Another pull now waits for chain_id: a pull that has it prepared makes its batch durable now, rather than
 * once its own downloads end (a big layer of an image can take minutes). Failing here is left to that
 * pull's own next attempt. */
static void transfers_hurry_layer(Manager *m, const char *chain_id, Transfer *except)
{
        GHashTableIter it;
        gpointer value;
        int r;

        g_hash_table_iter_init(&it, m->transfers);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                Transfer *o = value;

                if (o == except || o->state != STATE_PULLING || o->sync_pid ||
                    !transfer_has_prepared(o, chain_id))
                        continue;
                r = transfer_sync_batch(o);
                if (r < 0)
                        log_debug_errno(r, "Failed to start a pull's syncfs early: %m");
        }
}

static void transfer_advance(Transfer *t)
{
        Manager *m = t->manager;
        unsigned active = 0, max = registry_config_get_max_concurrent_downloads(m->registry_config);
        size_t n_prepared = 0;
        int r;

        if (t->state != STATE_PULLING)
                return;

        /* Commit bottom up: a layer's parent must be in the store (or prepared in the same batch) before it.
         * Extracted layers are prepared while no syncfs runs; one syncfs then makes the whole batch durable,
         * and on_batch_synced() publishes it. Layers extracted meanwhile make up the next batch. */
        for (size_t i = 0; i < t->n_layers && !t->sync_pid; i++) {
                TransferLayer *l = &t->layers[i];
                const TransferLayer *parent = i > 0 ? &t->layers[i - 1] : NULL;

                if (l->prepared)
                        n_prepared++;
                if (l->present || l->prepared)
                        continue;
                if (!l->extracted) {
                        if (!l->downloading && !l->waiting && layer_store_has(m->layers, l->chain_id) > 0) {
                                l->present = true; /* another pull brought it meanwhile */
                                emit_layer(l, "Already exists");
                                continue;
                        }
                        break;
                }
                r = layer_store_prepare(m->layers, l->tmp_name, l->chain_id, l->diff_id,
                                        parent ? t->chain_ids[i - 1] : NULL,
                                        parent && parent->prepared ? parent->tmp_name : NULL);
                if (r < 0)
                        return commit_failed(l, r);
                if (r > 0) { /* another pull committed it meanwhile */
                        layer_committed(l);
                        if (t->state != STATE_PULLING)
                                return;
                        continue;
                }
                l->prepared = true;
                n_prepared++;
        }

        bool all = true;
        for (size_t i = 0; i < t->n_layers; i++)
                if (!t->layers[i].present)
                        all = false;
        if (all)
                return transfer_complete(t);

        for (size_t i = 0; i < t->n_layers; i++)
                if (t->layers[i].downloading)
                        active++;
        for (size_t i = 0; i < t->n_layers && active < max; i++) {
                TransferLayer *l = &t->layers[i];

                if (l->present || l->extracted || l->downloading || l->waiting)
                        continue;
                if (transfers_use_layer(m, l->chain_id, t, true)) {
                        l->waiting = true; /* fetched once, by the other pull */
                        transfers_hurry_layer(m, l->chain_id, t);
                        continue;
                }
                r = layer_start(l);
                if (r < 0)
                        return layer_fail(l, -EPROTO, "cannot start layer download");
                active++;
        }

        /* The prepared layers wait for more while others download (active counts the downloads and
         * extractions running now), but not for layers that wait for another pull (that pull may be waiting
         * for ours), nor when another pull waits for one of them. */
        if (n_prepared > 0 && !t->sync_pid &&
            (n_prepared >= SYNC_BATCH_MAX || active == 0 || transfer_awaited(t))) {
                r = transfer_sync_batch(t);
                if (r < 0)
                        return transfer_fail_errno(t, r, "cannot sync the layer store");
        }
}

static void on_config(RegistryRequest *req, const RegistryError *error, const void *body, size_t size,
                      void *userdata)
{
        Transfer *t = userdata;
        _cleanup_free_ char *digest = NULL, *msg = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        Manager *m = t->manager;
        int r;

        t->request = NULL;
        if (error)
                return transfer_fail_registry(t, error);

        r = sha256_digest_data(body, size, &digest);
        if (r < 0)
                return transfer_fail_errno(t, r, "hashing the config");
        if (!streq(digest, t->manifest->config.digest)) {
                if (asprintf(&msg, "%s: config has digest %s, the manifest says %s", t->familiar, digest,
                             t->manifest->config.digest) < 0)
                        msg = NULL;
                return transfer_fail(t, -EBADMSG, msg ?: "config digest mismatch");
        }
        r = oci_image_config_parse(body, size, &reason, &t->config);
        if (r < 0) {
                if (asprintf(&msg, "%s: invalid image config: %s", t->familiar, strna(reason.message)) < 0)
                        msg = NULL;
                return transfer_fail(t, -EINVAL, msg ?: "invalid image config");
        }
        if (oci_image_config_n_diff_ids(t->config) != t->manifest->n_layers) {
                if (asprintf(&msg, "%s: the manifest lists %zu layers but the config %zu", t->familiar,
                             t->manifest->n_layers, oci_image_config_n_diff_ids(t->config)) < 0)
                        msg = NULL;
                return transfer_fail(t, -EINVAL, msg ?: "layer count mismatch");
        }
        t->config_data = g_strndup(body, size);
        t->config_size = size;
        t->image_id = strdup(digest);
        r = oci_chain_ids(t->config->diff_ids, &t->chain_ids);
        if (r < 0 || !t->config_data || !t->image_id)
                return transfer_fail_errno(t, r < 0 ? r : -ENOMEM, "computing layer chain");

        t->n_layers = t->manifest->n_layers;
        t->layers = calloc(t->n_layers + 1, sizeof(TransferLayer));
        if (!t->layers)
                return transfer_fail_errno(t, -ENOMEM, "out of memory");
        for (size_t i = 0; i < t->n_layers; i++) {
                TransferLayer *l = &t->layers[i];
                l->transfer = t;
                l->index = i;
                l->desc = &t->manifest->layers[i];
                l->diff_id = t->config->diff_ids[i];
                l->chain_id = t->chain_ids[i];
                l->input_fd = l->result_fd = -EBADF;
                l->total = l->desc->size;
                (void) digest_short_id(l->desc->digest, l->short_id);
        }

        t->state = STATE_PULLING;
        /* Docker's first lines: what is there already, what will be fetched. */
        for (size_t i = 0; i < t->n_layers; i++) {
                TransferLayer *l = &t->layers[i];
                if (layer_store_has(m->layers, l->chain_id) > 0) {
                        l->present = true;
                        emit_layer(l, "Already exists");
                } else
                        emit_layer(l, "Pulling fs layer");
        }
        for (size_t i = 0; i < t->n_layers; i++)
                if (!t->layers[i].present)
                        emit_layer(&t->layers[i], "Waiting");
        transfer_advance(t);
}

static void on_manifest(RegistryRequest *req, const RegistryError *error, const void *body, size_t size,
                        const char *content_type, const char *header_digest, void *userdata)
{
        Transfer *t = userdata;
        _cleanup_free_ char *digest = NULL, *msg = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        OciDocumentKind kind;
        int r;

        t->request = NULL;
        if (error)
                return transfer_fail_registry(t, error);

        r = sha256_digest_data(body, size, &digest);
        if (r < 0)
                return transfer_fail_errno(t, r, "hashing the manifest");
        /* What we asked for by digest must be exactly that; a digest header must match too. */
        const char *want = t->manifest_digest ?: t->ref->digest ?: header_digest;
        if (want && !streq(want, digest)) {
                if (asprintf(&msg, "%s: manifest has digest %s, expected %s", t->familiar, digest, want) < 0)
                        msg = NULL;
                return transfer_fail(t, -EBADMSG, msg ?: "manifest digest mismatch");
        }

        r = oci_document_kind_detect(content_type, body, size, &reason, &kind);
        if (r < 0) {
                if (asprintf(&msg, "%s: %s", t->familiar, strna(reason.message)) < 0)
                        msg = NULL;
                return transfer_fail(t, -EINVAL, msg ?: "unknown manifest type");
        }

        if (oci_document_kind_is_index(kind)) {
                _cleanup_(oci_index_freep) OciIndex *idx = NULL;
                _cleanup_(oci_platform_done) OciPlatform host = {};
                const OciDescriptor *pick;

                if (t->manifest_digest) /* an index pointing at an index */
                        return transfer_fail(t, -EINVAL, "nested image index");
                r = oci_index_parse(body, size, &reason, &idx);
                if (r < 0) {
                        if (asprintf(&msg, "%s: invalid image index: %s", t->familiar,
                                     strna(reason.message)) < 0)
                                msg = NULL;
                        return transfer_fail(t, -EINVAL, msg ?: "invalid index");
                }
                r = oci_platform_host(&host);
                if (r >= 0)
                        r = oci_index_pick_platform(idx, &host, &pick);
                if (r < 0) {
                        _cleanup_free_ char *have = NULL, *want_s = NULL;
                        (void) oci_index_platforms_to_string(idx, &have);
                        (void) oci_platform_to_string(&host, &want_s);
                        if (asprintf(&msg, "%s: no image for platform %s (the image has: %s)", t->familiar,
                                     strna(want_s), strna(have)) < 0)
                                msg = NULL;
                        return transfer_fail(t, -ENOEXEC, msg ?: "no matching platform");
                }
                t->manifest_digest = strdup(pick->digest);
                if (!t->manifest_digest)
                        return transfer_fail_errno(t, -ENOMEM, "out of memory");
                r = registry_get_manifest(t->manager->registry, t->ref->domain, t->ref->path, pick->digest,
                                          on_manifest, t, &t->request);
                if (r < 0)
                        return transfer_fail_errno(t, r, "requesting the platform manifest");
                return;
        }

        r = oci_manifest_parse(body, size, &reason, &t->manifest);
        if (r < 0) {
                if (asprintf(&msg, "%s: invalid manifest: %s", t->familiar, strna(reason.message)) < 0)
                        msg = NULL;
                return transfer_fail(t, -EINVAL, msg ?: "invalid manifest");
        }
        free(t->manifest_digest);
        t->manifest_digest = TAKE_PTR(digest);
        t->manifest_data = g_memdup2(body, size);
        t->manifest_size = size;

        /* An image we have already: its config is in the store, verified when it was pulled. */
        if (image_store_get(t->manager->images, t->manifest->config.digest)) {
                _cleanup_free_ char *config = NULL;
                size_t config_size;

                if (image_store_read_config(t->manager->images, t->manifest->config.digest, &config,
                                            &config_size) >= 0)
                        return on_config(NULL, NULL, config, config_size, t);
        }

        r = registry_get_blob(t->manager->registry, t->ref->domain, t->ref->path, t->manifest->config.digest,
                              OCI_CONFIG_SIZE_MAX, on_config, t, &t->request);
        if (r < 0)
                return transfer_fail_errno(t, r, "requesting the image config");
}

int transfer_start(Transfer *t)
{
        _cleanup_free_ char *name = NULL;

        t->started = true;
        if (t->push)
                return push_start(t->push);
        t->state = STATE_RESOLVING;
        (void) reference_familiar_name(t->ref, &name);
        emit_message(t, "%s: Pulling from %s", reference_tag_or_digest(t->ref), name ?: t->repository);
        return registry_get_manifest(t->manager->registry, t->ref->domain, t->ref->path,
                                     reference_tag_or_digest(t->ref), on_manifest, t, &t->request);
}

void transfer_cancel(Transfer *t)
{
        if (t->push)
                return push_cancel(t->push);
        transfer_fail(t, -ECANCELED, "the pull was cancelled");
}
