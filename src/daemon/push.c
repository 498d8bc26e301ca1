/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>

#include "daemon/blob-sources.h"
#include "daemon/bus-errors.h"
#include "daemon/image.h"
#include "daemon/push.h"
#include "daemon/transfer-dbus.h"
#include "daemon/transfer.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/sha256.h"
#include "registry/reference.h"
#include "registry/registry-client.h"
#include "shared/berth-messages.h"
#include "shared/log.h"
#include "store/image-store.h"

#define PUSH_LAYERS_MAX        4 /* uploads at once, as Docker's default of 5 */
#define PUSH_HEADS_MAX         4 /* digests asked for per layer */
#define PROGRESS_INTERVAL_USEC (100 * USEC_PER_MSEC)

typedef struct Candidate {
        char *digest, *media_type, *registry, *repository;
        uint64_t size;
} Candidate;

typedef enum PushLayerStep {
        STEP_WAITING,
        STEP_CHECKING, /* HEAD of the candidates, one after the other */
        STEP_MOUNTING, /* POST ?mount= of the candidates in other repositories of the registry */
        STEP_UPLOADING,
        STEP_DONE,
} PushLayerStep;

typedef struct PushLayer {
        Push *push;
        size_t index;
        const char *diff_id, *chain_id;
        char short_id[DIGEST_SHORT_ID_SIZE];
        GPtrArray *candidates; /* Candidate */
        size_t next;           /* the candidate the step is at */
        PushLayerStep step;

        char *digest; /* what the manifest lists, once known */
        const char *media_type;
        char *media_type_owned;
        uint64_t size;

        RegistryRequest *request;
        char *location;
        int output_fd, result_fd;
        pid_t pid;
        sd_event_source *child_source, *readable_source;
        bool patch_done, child_done;
        LayerCompressResult result;
        uint64_t sent, last_progress_usec;
} PushLayer;

struct Push {
        Manager *manager;
        Transfer *transfer;
        Reference *ref;
        char *canonical, *familiar, *tag;
        LayerCompression compression;
        enum { PUSH_NEW, PUSH_PUSHING, PUSH_DONE, PUSH_FAILED, PUSH_CANCELLED } state;

        char *image_id;
        char *config_data;
        size_t config_size;
        char *manifest_data; /* the pulled image's own manifest, or NULL */
        size_t manifest_size;
        OciManifest *manifest;
        char **chain_ids, **diff_ids;
        PushLayer *layers;
        size_t n_layers;

        RegistryRequest *request; /* config or manifest */
        char *config_location;
        bool config_done;
        char *new_manifest;
        size_t new_manifest_size;
        const char *new_manifest_type;
        char *manifest_digest;
};

static const char *const state_names[] = { "new", "pushing", "done", "failed", "cancelled" };

static void candidate_free(gpointer p)
{
        Candidate *c = p;

        free(c->digest);
        free(c->media_type);
        free(c->registry);
        free(c->repository);
        free(c);
}

static void layer_stop(PushLayer *l)
{
        registry_request_cancel(l->request);
        l->request = NULL;
        l->readable_source = sd_event_source_disable_unref(l->readable_source);
        l->child_source = sd_event_source_disable_unref(l->child_source);
        l->output_fd = safe_close(l->output_fd);
        l->result_fd = safe_close(l->result_fd);
        if (l->pid > 0) {
                (void) kill(l->pid, SIGKILL);
                (void) waitpid(l->pid, NULL, 0);
                l->pid = 0;
        }
}

Push *push_free(Push *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_layers; i++) {
                PushLayer *l = &p->layers[i];
                layer_stop(l);
                if (l->candidates)
                        g_ptr_array_unref(l->candidates);
                free(l->digest);
                free(l->media_type_owned);
                free(l->location);
        }
        free(p->layers);
        registry_request_cancel(p->request);
        reference_free(p->ref);
        free(p->canonical);
        free(p->familiar);
        free(p->tag);
        free(p->image_id);
        free(p->config_data);
        free(p->manifest_data);
        oci_manifest_free(p->manifest);
        g_strfreev(p->chain_ids);
        g_strfreev(p->diff_ids);
        free(p->config_location);
        free(p->new_manifest);
        free(p->manifest_digest);
        return mfree(p);
}

/* The places a layer's blob is known to be: the record (blob-sources.h), and for a pulled image its own
 * manifest's digest in the repositories it was pulled from (images pulled before the record existed). */
static void layer_add_candidate(PushLayer *l, const char *digest, const char *media_type, uint64_t size,
                                const char *registry, const char *repository)
{
        Candidate *c;

        /* A gzip push is for every client: it reuses no zstd blob. A zstd push compresses what it uploads
         * with zstd but takes any blob the registry has. */
        if (l->push->compression == LAYER_COMPRESSION_GZIP && media_type &&
            g_str_has_suffix(media_type, "+zstd"))
                return;
        for (guint i = 0; i < l->candidates->len; i++) {
                c = l->candidates->pdata[i];
                if (streq(c->digest, digest) && streq(c->registry, registry) &&
                    streq(c->repository, repository))
                        return;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return;
        c->digest = strdup(digest);
        c->media_type = strdup(strempty(media_type));
        c->registry = strdup(registry);
        c->repository = strdup(repository);
        c->size = size;
        if (!c->digest || !c->media_type || !c->registry || !c->repository) {
                candidate_free(c);
                return;
        }
        g_ptr_array_add(l->candidates, c);
}

static void layer_collect_candidates(Push *p, PushLayer *l, const ImageRecord *rec)
{
        GPtrArray *known = blob_sources_get(p->manager->blob_sources, l->diff_id);

        for (guint i = 0; known && i < known->len; i++) {
                BlobSource *b = known->pdata[i];
                layer_add_candidate(l, b->digest, b->media_type, b->size, b->registry, b->repository);
        }
        if (p->manifest && l->index < p->manifest->n_layers) {
                const OciDescriptor *d = &p->manifest->layers[l->index];
                for (size_t i = 0; rec->repo_digests && rec->repo_digests[i]; i++) {
                        _cleanup_(reference_freep) Reference *r = NULL;
                        /* Only where that very manifest is: a push elsewhere may have made another. */
                        if (reference_parse(rec->repo_digests[i], NULL, &r) >= 0 &&
                            streq_ptr(r->digest, rec->manifest_digest))
                                layer_add_candidate(l, d->digest, d->media_type, d->size, r->domain,
                                                    r->path);
                }
        }
}

int push_new(Manager *m, const char *reference, LayerCompression compression, BerthError *e, Push **ret)
{
        _cleanup_(push_freep) Push *p = NULL;
        const ImageRecord *rec;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->manager = m;
        p->compression = compression;
        r = manager_parse_reference(m, reference, e, &p->ref);
        if (r < 0)
                return r;
        if (p->ref->digest)
                return berth_error_set(e, -EINVAL, "'%s': push a tag, not a digest", reference);
        if (!p->ref->tag) {
                p->ref->tag = strdup(REFERENCE_DEFAULT_TAG);
                if (!p->ref->tag)
                        return -ENOMEM;
        }
        r = reference_to_string(p->ref, &p->canonical);
        if (r >= 0)
                r = reference_familiar_string(p->ref, &p->familiar);
        if (r < 0)
                return r;
        p->tag = strdup(p->ref->tag);
        if (!p->tag)
                return -ENOMEM;

        /* Docker pushes a tag only: the name must be a local tag, not an id. */
        rec = image_store_get(m->images, image_store_tag_target(m->images, p->canonical) ?: "");
        if (!rec)
                return berth_error_set(e, -ENOENT, "An image does not exist locally with the tag: %s",
                                       p->familiar);

        p->image_id = strdup(rec->id);
        p->chain_ids = g_strdupv(rec->chain_ids);
        p->diff_ids = g_strdupv(rec->diff_ids);
        if (!p->image_id || !p->chain_ids || !p->diff_ids)
                return -ENOMEM;
        r = image_store_read_config(m->images, rec->id, &p->config_data, &p->config_size);
        if (r < 0)
                return berth_error_set_errno(e, r, "Cannot read the config of %s", p->familiar);
        if (rec->manifest_digest &&
            image_store_read_manifest(m->images, rec->id, &p->manifest_data, &p->manifest_size) >= 0 &&
            oci_manifest_parse(p->manifest_data, p->manifest_size, NULL, &p->manifest) < 0)
                p->manifest_data = mfree(p->manifest_data);

        p->n_layers = g_strv_length(p->chain_ids);
        p->layers = calloc(p->n_layers + 1, sizeof(PushLayer));
        if (!p->layers)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_layers; i++) {
                PushLayer *l = &p->layers[i];
                l->push = p;
                l->index = i;
                l->diff_id = p->diff_ids[i];
                l->chain_id = p->chain_ids[i];
                l->output_fd = l->result_fd = -EBADF;
                l->candidates = g_ptr_array_new_with_free_func(candidate_free);
                (void) digest_short_id(l->diff_id, l->short_id);
                layer_collect_candidates(p, l, rec);
        }
        *ret = TAKE_PTR(p);
        return 0;
}

void push_set_transfer(Push *p, Transfer *t)
{
        p->transfer = t;
}
const char *push_get_reference(Push *p)
{
        return p->canonical;
}
const char *push_get_status(Push *p)
{
        return state_names[p->state];
}
const char *push_get_manifest_digest(Push *p)
{
        return strempty(p->manifest_digest);
}
const char *push_get_image_id(Push *p)
{
        return strempty(p->image_id);
}

double push_get_progress(Push *p)
{
        size_t done = 0;

        if (p->state == PUSH_DONE)
                return 1.0;
        for (size_t i = 0; i < p->n_layers; i++)
                done += p->layers[i].step == STEP_DONE;
        return p->n_layers > 0 ? (double) done / (double) (p->n_layers + 1) : 0.0;
}

bool push_uses_layer(Push *p, const char *chain_id)
{
        if (p->state != PUSH_PUSHING)
                return false;
        for (size_t i = 0; i < p->n_layers; i++)
                if (streq(p->chain_ids[i], chain_id))
                        return true;
        return false;
}

/* ---- reporting ---- */

static void emit_message(Push *p, const char *fmt, ...) _printf_(2, 3);
static void emit_message(Push *p, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s && p->transfer && transfer_is_started(p->transfer))
                transfer_send_message(p->transfer, s);
}

static void emit_layer(PushLayer *l, const char *status, uint64_t done, uint64_t total)
{
        Push *p = l->push;

        if (p->transfer && transfer_is_started(p->transfer))
                transfer_send_layer_progress(p->transfer, l->short_id, status, done, total);
}

static void push_finish(Push *p, const BerthError *e)
{
        if (p->state >= PUSH_DONE)
                return;
        p->state = e ? (e->error == -ECANCELED ? PUSH_CANCELLED : PUSH_FAILED) : PUSH_DONE;
        registry_request_cancel(p->request);
        p->request = NULL;
        for (size_t i = 0; i < p->n_layers; i++)
                layer_stop(&p->layers[i]);

        if (e)
                sd_journal_send("MESSAGE=Push of %s failed: %s", p->familiar, berth_error_message(e),
                                "MESSAGE_ID=" BERTH_MESSAGE_IMAGE_PUSH_FAILED, "PRIORITY=%i", LOG_WARNING,
                                "BERTH_IMAGE=%s", p->familiar, "BERTH_ERROR=%s", berth_error_message(e),
                                "BERTH_ERROR_NAME=%s", bus_error_transfer_name(e), NULL);
        else
                sd_journal_send("MESSAGE=Pushed image %s (%s).", p->familiar, p->manifest_digest,
                                "MESSAGE_ID=" BERTH_MESSAGE_IMAGE_PUSHED, "PRIORITY=%i", LOG_INFO,
                                "BERTH_IMAGE=%s", p->familiar, "BERTH_IMAGE_DIGEST=%s", p->manifest_digest,
                                "BERTH_IMAGE_ID=%s", p->image_id, NULL);
        if (p->transfer && transfer_is_started(p->transfer))
                transfer_send_finished(p->transfer, e);
}

static void push_fail(Push *p, int error, const char *fmt, ...) _printf_(3, 4);
static void push_fail(Push *p, int error, const char *fmt, ...)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        berth_error_set(&e, error, "%s", s ?: "push failed");
        push_finish(p, &e);
}

static void push_fail_registry(Push *p, const char *what, const RegistryError *e)
{
        int kind;

        switch (e->kind) {
        case REGISTRY_ERROR_UNAUTHORIZED:
                kind = -EACCES;
                break;
        case REGISTRY_ERROR_CANCELLED:
                kind = e->base.error == -ECANCELED ? -ECANCELED : -EPROTO;
                break;
        default:
                kind = -EPROTO;
        }
        if (e->kind == REGISTRY_ERROR_UNAUTHORIZED)
                return push_fail(p, kind, "%s: %s: %s (HTTP %ld); log in with 'berthctl login %s'",
                                 p->familiar, what, berth_error_message(&e->base), e->http_status,
                                 p->ref->domain);
        if (e->http_status > 0)
                return push_fail(p, kind, "%s: %s: %s (HTTP %ld)", p->familiar, what,
                                 berth_error_message(&e->base), e->http_status);
        push_fail(p, kind, "%s: %s: %s", p->familiar, what, berth_error_message(&e->base));
}

/* ---- one layer ---- */

static void push_advance(Push *p);
static void layer_check_next(PushLayer *l);
static void layer_mount_next(PushLayer *l);
static void layer_upload(PushLayer *l);

static void layer_done(PushLayer *l, const char *digest, const char *media_type, uint64_t size,
                       const char *status)
{
        Push *p = l->push;
        int r;

        free(l->digest);
        l->digest = strdup(digest);
        free(l->media_type_owned);
        l->media_type_owned = strdup(strempty(media_type));
        l->media_type = l->media_type_owned;
        l->size = size;
        if (!l->digest || !l->media_type_owned)
                return push_fail(p, -ENOMEM, "out of memory");
        l->step = STEP_DONE;
        r = blob_sources_add(p->manager->blob_sources, l->diff_id, digest, media_type, size, p->ref->domain,
                             p->ref->path);
        if (r < 0)
                log_warning_errno(r, "Failed to record where layer %s is, ignoring: %m", l->short_id);
        emit_layer(l, status, size, size);
        push_advance(p);
}

static Candidate *layer_candidate(PushLayer *l, size_t i)
{
        return i < l->candidates->len ? l->candidates->pdata[i] : NULL;
}

static void on_layer_head(RegistryRequest *req, const RegistryError *error, const RegistryResponse *response,
                          void *userdata)
{
        PushLayer *l = userdata;
        Candidate *c = layer_candidate(l, l->next);

        l->request = NULL;
        if (error)
                return push_fail_registry(l->push, "checking for a layer", error);
        if (response->status == 200)
                return layer_done(l, c->digest, c->media_type, response->content_length ?: c->size,
                                  "Layer already exists");
        l->next++;
        layer_check_next(l);
}

/* HEAD each digest the layer is known under (a few at most) in the target repository. */
static void layer_check_next(PushLayer *l)
{
        Push *p = l->push;
        int r;

        l->step = STEP_CHECKING;
        for (; l->next < MIN(l->candidates->len, (size_t) PUSH_HEADS_MAX); l->next++) {
                Candidate *c = layer_candidate(l, l->next);
                bool seen = false;

                for (size_t i = 0; i < l->next; i++)
                        seen = seen || streq(layer_candidate(l, i)->digest, c->digest);
                if (seen)
                        continue;
                r = registry_head_blob(p->manager->registry, p->ref->domain, p->ref->path, c->digest,
                                       on_layer_head, l, &l->request);
                if (r < 0)
                        return push_fail(p, -EPROTO, "cannot check for layer %s: %s", l->short_id,
                                         strerror(-r));
                return;
        }
        l->next = 0;
        layer_mount_next(l);
}

static void on_layer_mount(RegistryRequest *req, const RegistryError *error,
                           const RegistryResponse *response, void *userdata)
{
        PushLayer *l = userdata;
        Candidate *c = layer_candidate(l, l->next);
        _cleanup_free_ char *status = NULL;

        l->request = NULL;
        if (error) {
                /* A source repository we may not read: upload instead. */
                log_debug("Mounting %s from %s failed: %s", c->digest, c->repository,
                          berth_error_message(&error->base));
                l->next++;
                return layer_mount_next(l);
        }
        if (response->status == 201) {
                if (asprintf(&status, "Mounted from %s", c->repository) < 0)
                        status = NULL;
                return layer_done(l, c->digest, c->media_type, c->size, status ?: "Pushed");
        }
        /* 202: the registry would not mount but opened an upload session: use it. */
        free(l->location);
        l->location = response->location ? strdup(response->location) : NULL;
        layer_upload(l);
}

static void layer_mount_next(PushLayer *l)
{
        Push *p = l->push;
        int r;

        l->step = STEP_MOUNTING;
        for (; l->next < l->candidates->len; l->next++) {
                Candidate *c = layer_candidate(l, l->next);

                if (!streq(c->registry, p->ref->domain) || streq(c->repository, p->ref->path))
                        continue;
                r = registry_start_upload(p->manager->registry, p->ref->domain, p->ref->path, c->digest,
                                          c->repository, on_layer_mount, l, &l->request);
                if (r < 0)
                        continue;
                return;
        }
        layer_upload(l);
}

static void layer_finish_upload(PushLayer *l);

static void on_layer_put(RegistryRequest *req, const RegistryError *error, const RegistryResponse *response,
                         void *userdata)
{
        PushLayer *l = userdata;
        Push *p = l->push;

        l->request = NULL;
        if (error)
                return push_fail_registry(p, "committing a layer", error);
        layer_done(l, l->result.digest,
                   p->compression == LAYER_COMPRESSION_ZSTD ? OCI_MEDIA_TYPE_LAYER_ZSTD
                                                            : DOCKER_MEDIA_TYPE_LAYER_GZIP,
                   l->result.size, "Pushed");
}

/* Both the PATCH and the compressor ended: check what went up, then commit it with PUT ?digest=. */
static void layer_finish_upload(PushLayer *l)
{
        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;
        Push *p = l->push;
        int r;

        r = layer_compress_read_result(l->result_fd, &err, &l->result);
        l->result_fd = safe_close(l->result_fd);
        if (r < 0)
                return push_fail(p, r == -ENOSPC ? r : -EPROTO, "layer %s could not be read: %s",
                                 l->short_id, berth_error_message(&err));
        if (!streq(l->result.diff_id, l->diff_id))
                return push_fail(
                        p, -EINVAL,
                        "layer %s: the store keeps no exact copy of this layer's tar (it was stored "
                        "before berth recorded them) and %s does not have its blob; the layer "
                        "remade from its files has digest %s, not %s. Pull the image again, "
                        "then push.",
                        l->short_id, p->ref->domain, l->result.diff_id, l->diff_id);
        r = registry_upload_finish(p->manager->registry, p->ref->domain, p->ref->path, l->location,
                                   l->result.digest, NULL, 0, on_layer_put, l, &l->request);
        if (r < 0)
                return push_fail(p, -EPROTO, "cannot commit layer %s: %s", l->short_id, strerror(-r));
}

static int on_layer_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        PushLayer *l = userdata;

        l->child_source = sd_event_source_disable_unref(l->child_source);
        l->pid = 0;
        l->child_done = true;
        if (l->patch_done)
                layer_finish_upload(l);
        return 0;
}

static int on_output_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        PushLayer *l = userdata;
        int r;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        r = registry_request_resume_send(l->request);
        if (r < 0)
                log_debug_errno(r, "Failed to resume layer upload: %m");
        return 0;
}

static ssize_t on_layer_read(RegistryRequest *req, void *buf, size_t n, void *userdata)
{
        PushLayer *l = userdata;
        Push *p = l->push;
        uint64_t now = 0;
        ssize_t k;
        int r;

        k = read(l->output_fd, buf, n);
        if (k < 0) {
                if (errno == EINTR || errno == EAGAIN) {
                        if (!l->readable_source) {
                                r = sd_event_add_io(p->manager->event, &l->readable_source, l->output_fd,
                                                    EPOLLIN, on_output_readable, l);
                                if (r < 0)
                                        return r;
                        }
                        (void) sd_event_source_set_enabled(l->readable_source, SD_EVENT_ONESHOT);
                        return -EAGAIN;
                }
                return negative_errno();
        }
        l->sent += (uint64_t) k;
        (void) sd_event_now(p->manager->event, CLOCK_MONOTONIC, &now);
        if (k > 0 && now - l->last_progress_usec >= PROGRESS_INTERVAL_USEC) {
                l->last_progress_usec = now;
                emit_layer(l, "Pushing", l->sent, 0);
        }
        return k;
}

static void on_layer_patch(RegistryRequest *req, const RegistryError *error,
                           const RegistryResponse *response, void *userdata)
{
        PushLayer *l = userdata;

        l->request = NULL;
        l->readable_source = sd_event_source_disable_unref(l->readable_source);
        l->output_fd = safe_close(l->output_fd);
        if (error) {
                _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;

                /* When the compressor failed, its reason says more than the upload's. */
                if (l->child_done && l->result_fd >= 0 &&
                    layer_compress_read_result(l->result_fd, &err, &l->result) < 0)
                        return push_fail(l->push, -EPROTO, "layer %s could not be read: %s", l->short_id,
                                         berth_error_message(&err));
                return push_fail_registry(l->push, "uploading a layer", error);
        }
        if (response->location) {
                free(l->location);
                l->location = strdup(response->location);
        }
        l->patch_done = true;
        emit_layer(l, "Pushing", l->sent, l->sent);
        if (l->child_done)
                layer_finish_upload(l);
}

static void layer_patch(PushLayer *l)
{
        Push *p = l->push;
        int r;

        r = registry_upload_patch(p->manager->registry, p->ref->domain, p->ref->path, l->location,
                                  on_layer_read, on_layer_patch, l, &l->request);
        if (r < 0)
                push_fail(p, -EPROTO, "cannot upload layer %s: %s", l->short_id, strerror(-r));
}

static void on_layer_session(RegistryRequest *req, const RegistryError *error,
                             const RegistryResponse *response, void *userdata)
{
        PushLayer *l = userdata;

        l->request = NULL;
        if (error)
                return push_fail_registry(l->push, "starting an upload", error);
        if (!response->location)
                return push_fail(l->push, -EPROTO, "%s: the registry opened an upload without a location",
                                 l->push->familiar);
        l->location = strdup(response->location);
        layer_patch(l);
}

/* Compress from the store as the upload goes: the child writes into a pipe the PATCH body reads. */
static void layer_upload(PushLayer *l)
{
        Push *p = l->push;
        int r;

        l->step = STEP_UPLOADING;
        r = layer_compress_spawn(p->manager->layers, l->chain_id, p->compression, &l->output_fd,
                                 &l->result_fd, &l->pid);
        if (r >= 0)
                r = sd_event_add_child(p->manager->event, &l->child_source, l->pid, WEXITED,
                                       on_layer_child_exit, l);
        if (r < 0)
                return push_fail(p, -EPROTO, "cannot start compressing layer %s: %s", l->short_id,
                                 strerror(-r));
        emit_layer(l, "Pushing", 0, 0);
        if (l->location)
                return layer_patch(l);
        r = registry_start_upload(p->manager->registry, p->ref->domain, p->ref->path, NULL, NULL,
                                  on_layer_session, l, &l->request);
        if (r < 0)
                push_fail(p, -EPROTO, "cannot start upload of layer %s: %s", l->short_id, strerror(-r));
}

/* ---- config and manifest ---- */

/* Docker lists the pushed repo@digest among the image's RepoDigests: so does berth. */
static int push_record_repo_digest(Push *p)
{
        _cleanup_(image_record_freep) ImageRecord *copy = NULL;
        _cleanup_free_ char *repo_digest = NULL, *config = NULL, *manifest = NULL;
        size_t config_size = 0, manifest_size = 0, n, n_layers;
        const ImageRecord *rec = image_store_get(p->manager->images, p->image_id);
        int r;

        if (!rec)
                return 0; /* removed meanwhile */
        if (asprintf(&repo_digest, "%s/%s@%s", p->ref->domain, p->ref->path, p->manifest_digest) < 0)
                return -ENOMEM;
        if (rec->repo_digests && g_strv_contains((const char *const *) rec->repo_digests, repo_digest))
                return 0;

        copy = calloc(1, sizeof(*copy));
        if (!copy)
                return -ENOMEM;
        n = rec->repo_digests ? g_strv_length(rec->repo_digests) : 0;
        n_layers = rec->diff_ids ? g_strv_length(rec->diff_ids) : 0;
        copy->id = strdup(rec->id);
        copy->manifest_digest = g_strdup(rec->manifest_digest);
        copy->repo_digests = calloc(n + 2, sizeof(char *));
        copy->diff_ids = g_strdupv(rec->diff_ids);
        copy->chain_ids = g_strdupv(rec->chain_ids);
        copy->layer_sizes = calloc(n_layers + 1, sizeof(uint64_t));
        if (!copy->id || !copy->repo_digests || !copy->layer_sizes)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                copy->repo_digests[i] = g_strdup(rec->repo_digests[i]);
        copy->repo_digests[n] = TAKE_PTR(repo_digest);
        if (rec->layer_sizes)
                memcpy(copy->layer_sizes, rec->layer_sizes, n_layers * sizeof(uint64_t));
        copy->size = rec->size;
        copy->created_usec = rec->created_usec;
        copy->added_usec = rec->added_usec;

        r = image_store_read_config(p->manager->images, rec->id, &config, &config_size);
        if (r < 0)
                return r;
        if (rec->manifest_digest)
                (void) image_store_read_manifest(p->manager->images, rec->id, &manifest, &manifest_size);
        return image_store_add(p->manager->images, copy, config, config_size, manifest, manifest_size);
}

static void on_manifest_put(RegistryRequest *req, const RegistryError *error,
                            const RegistryResponse *response, void *userdata)
{
        Push *p = userdata;
        int r;

        p->request = NULL;
        if (error)
                return push_fail_registry(p, "storing the manifest", error);
        r = push_record_repo_digest(p);
        if (r < 0)
                log_warning_errno(r, "Failed to add the pushed digest to image %s, ignoring: %m",
                                  p->image_id);
        emit_message(p, "%s: digest: %s size: %zu", p->tag, p->manifest_digest, p->new_manifest_size);
        push_finish(p, NULL);
}

static bool is_zstd(const char *media_type)
{
        return media_type && g_str_has_suffix(media_type, "+zstd");
}

/* The manifest to send: the pulled one when every blob went up under its digest, else a new one. */
static int push_make_manifest(Push *p)
{
        _cleanup_free_ OciDescriptor *layers = NULL;
        OciDocumentKind kind;
        bool original = p->manifest && p->manifest->n_layers == p->n_layers &&
                        streq_ptr(p->manifest->config.digest, p->image_id);

        for (size_t i = 0; original && i < p->n_layers; i++)
                original = streq(p->manifest->layers[i].digest, p->layers[i].digest);
        if (original) {
                p->new_manifest = g_memdup2(p->manifest_data, p->manifest_size);
                p->new_manifest_size = p->manifest_size;
                p->new_manifest_type = oci_document_kind_to_string(p->manifest->kind);
        } else {
                kind = p->compression == LAYER_COMPRESSION_ZSTD ||
                                       (p->manifest && p->manifest->kind == OCI_DOCUMENT_MANIFEST)
                               ? OCI_DOCUMENT_MANIFEST
                               : OCI_DOCUMENT_DOCKER_MANIFEST;
                for (size_t i = 0; i < p->n_layers; i++)
                        if (is_zstd(p->layers[i].media_type))
                                kind = OCI_DOCUMENT_MANIFEST;

                layers = calloc(p->n_layers + 1, sizeof(OciDescriptor));
                if (!layers)
                        return -ENOMEM;
                for (size_t i = 0; i < p->n_layers; i++) {
                        const char *t = p->layers[i].media_type;
                        /* The same gzip bytes under the manifest kind's own name. */
                        if (is_zstd(t))
                                t = OCI_MEDIA_TYPE_LAYER_ZSTD;
                        else
                                t = kind == OCI_DOCUMENT_MANIFEST ? OCI_MEDIA_TYPE_LAYER_GZIP
                                                                  : DOCKER_MEDIA_TYPE_LAYER_GZIP;
                        layers[i] = (OciDescriptor){ .media_type = (char *) t,
                                                     .digest = p->layers[i].digest,
                                                     .size = p->layers[i].size };
                }
                OciDescriptor config = {
                        .media_type = (char *) (kind == OCI_DOCUMENT_MANIFEST ? OCI_MEDIA_TYPE_CONFIG
                                                                              : DOCKER_MEDIA_TYPE_CONFIG),
                        .digest = p->image_id,
                        .size = p->config_size,
                };
                int r = oci_manifest_build_kind(kind, &config, layers, p->n_layers, &p->new_manifest,
                                                &p->new_manifest_size);
                if (r < 0)
                        return r;
                p->new_manifest_type = oci_document_kind_to_string(kind);
        }
        if (!p->new_manifest || !p->new_manifest_type)
                return -ENOMEM;
        return sha256_digest_data(p->new_manifest, p->new_manifest_size, &p->manifest_digest);
}

static void push_manifest(Push *p)
{
        int r;

        r = push_make_manifest(p);
        if (r < 0)
                return push_fail(p, -EPROTO, "%s: cannot make the manifest: %s", p->familiar, strerror(-r));
        r = registry_put_manifest(p->manager->registry, p->ref->domain, p->ref->path, p->tag,
                                  p->new_manifest_type, p->new_manifest, p->new_manifest_size,
                                  on_manifest_put, p, &p->request);
        if (r < 0)
                push_fail(p, -EPROTO, "%s: cannot store the manifest: %s", p->familiar, strerror(-r));
}

static void on_config_put(RegistryRequest *req, const RegistryError *error, const RegistryResponse *response,
                          void *userdata)
{
        Push *p = userdata;

        p->request = NULL;
        if (error)
                return push_fail_registry(p, "uploading the config", error);
        p->config_done = true;
        push_advance(p);
}

static void on_config_session(RegistryRequest *req, const RegistryError *error,
                              const RegistryResponse *response, void *userdata)
{
        Push *p = userdata;
        int r;

        p->request = NULL;
        if (error)
                return push_fail_registry(p, "starting the config upload", error);
        r = registry_upload_finish(p->manager->registry, p->ref->domain, p->ref->path, response->location,
                                   p->image_id, p->config_data, p->config_size, on_config_put, p,
                                   &p->request);
        if (r < 0)
                push_fail(p, -EPROTO, "%s: cannot upload the config: %s", p->familiar, strerror(-r));
}

static void on_config_head(RegistryRequest *req, const RegistryError *error,
                           const RegistryResponse *response, void *userdata)
{
        Push *p = userdata;
        int r;

        p->request = NULL;
        if (error)
                return push_fail_registry(p, "checking for the config", error);
        if (response->status == 200) {
                p->config_done = true;
                return push_advance(p);
        }
        r = registry_start_upload(p->manager->registry, p->ref->domain, p->ref->path, NULL, NULL,
                                  on_config_session, p, &p->request);
        if (r < 0)
                push_fail(p, -EPROTO, "%s: cannot upload the config: %s", p->familiar, strerror(-r));
}

static void push_advance(Push *p)
{
        unsigned active = 0;
        bool all = true;
        int r;

        if (p->state != PUSH_PUSHING)
                return;
        for (size_t i = 0; i < p->n_layers; i++) {
                PushLayer *l = &p->layers[i];
                if (l->step != STEP_DONE)
                        all = false;
                if (l->step != STEP_WAITING && l->step != STEP_DONE)
                        active++;
        }
        for (size_t i = 0; i < p->n_layers && active < PUSH_LAYERS_MAX; i++) {
                PushLayer *l = &p->layers[i];
                if (l->step != STEP_WAITING)
                        continue;
                active++;
                layer_check_next(l);
                if (p->state != PUSH_PUSHING)
                        return;
        }
        if (!all || p->request)
                return;
        if (!p->config_done) {
                r = registry_head_blob(p->manager->registry, p->ref->domain, p->ref->path, p->image_id,
                                       on_config_head, p, &p->request);
                if (r < 0)
                        push_fail(p, -EPROTO, "%s: cannot check for the config: %s", p->familiar,
                                  strerror(-r));
                return;
        }
        push_manifest(p);
}

int push_start(Push *p)
{
        _cleanup_free_ char *name = NULL;

        p->state = PUSH_PUSHING;
        (void) reference_familiar_name(p->ref, &name);
        emit_message(p, "The push refers to repository [%s]", name ?: p->familiar);
        /* Docker lists the layers top first. */
        for (size_t i = p->n_layers; i > 0; i--)
                emit_layer(&p->layers[i - 1], "Preparing", 0, 0);
        for (size_t i = p->n_layers; i > PUSH_LAYERS_MAX; i--)
                emit_layer(&p->layers[i - 1], "Waiting", 0, 0);
        push_advance(p);
        return 0;
}

void push_cancel(Push *p)
{
        push_fail(p, -ECANCELED, "the push was cancelled");
}
