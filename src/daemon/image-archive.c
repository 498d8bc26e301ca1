/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "daemon/image-archive.h"
#include "daemon/image-dbus.h"
#include "daemon/image.h"
#include "oci/config.h"
#include "oci/digest.h"
#include "oci/sha256.h"
#include "registry/reference.h"
#include "shared/log.h"
#include "shared/signal-util.h"
#include "store/image-store.h"
#include "store/layer-store.h"

/* The child's fds, moved to fixed numbers; everything else of berthd's is closed in it. */
#define CHILD_DATA_FD     3
#define CHILD_RESULT_FD   4
#define CHILD_PROGRESS_FD 5

#define PROGRESS_INTERVAL_USEC (200U * 1000U)
#define RESULT_MAX             (256U * 1024U * 1024U)

typedef struct Progress {
        uint64_t done, total;
} Progress;

typedef struct ArchiveJob {
        Manager *manager;
        sd_bus_message *reply_to;
        bool load;
        int result_fd;   /* memfd: "OK\n<json>" or "E<errno> <message>" */
        int progress_fd; /* the read end of the child's Progress records */
        sd_event_source *progress_source, *child_source;
} ArchiveJob;

static void job_free(ArchiveJob *j)
{
        if (!j)
                return;
        sd_event_source_disable_unref(j->progress_source);
        sd_event_source_disable_unref(j->child_source);
        sd_bus_message_unref(j->reply_to);
        safe_close(j->result_fd);
        safe_close(j->progress_fd);
        free(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ArchiveJob *, job_free);

/* ---- the child -----------------------------------------------------------------------------------------
 */

static void child_progress(uint64_t done, uint64_t total, void *userdata)
{
        uint64_t *last = userdata;
        struct timespec ts;
        uint64_t now;
        Progress p = { .done = done, .total = total };

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        if (now - *last < PROGRESS_INTERVAL_USEC)
                return;
        *last = now;
        /* Non-blocking: when berthd is behind, a report is simply dropped. */
        (void) !write(CHILD_PROGRESS_FD, &p, sizeof(p));
}

static void child_report(int error, const BerthError *e, const char *json, size_t size)
{
        _cleanup_free_ char *line = NULL;
        int n;

        if (error >= 0)
                n = asprintf(&line, "OK\n");
        else
                n = asprintf(&line, "E%d %s", -error, e && e->message ? e->message : strerror(-error));
        if (n < 0 || write(CHILD_RESULT_FD, line, (size_t) n) != n)
                _exit(EXIT_FAILURE);
        for (const char *p = json; p && size > 0;) {
                ssize_t k = write(CHILD_RESULT_FD, p, size);
                if (k <= 0)
                        _exit(EXIT_FAILURE);
                p += k;
                size -= (size_t) k;
        }
}

static int child_work(const char *layers_path, bool load, const ImageArchiveImage *images, size_t n_images,
                      ImageArchiveFormat format, char **ret_json, size_t *ret_size, BerthError *e)
{
        _cleanup_(layer_store_freep) LayerStore *s = NULL;
        ImageArchiveLoaded *loaded = NULL;
        uint64_t last = 0;
        size_t n = 0;
        int r, flags;

        r = layer_store_open(layers_path, &s);
        if (r < 0)
                return berth_error_set(e, r, "Cannot open the layer store: %s", strerror(-r));
        /* The caller's fd may be non-blocking; this process simply waits. */
        flags = fcntl(CHILD_DATA_FD, F_GETFL);
        if (flags >= 0 && (flags & O_NONBLOCK))
                (void) fcntl(CHILD_DATA_FD, F_SETFL, flags & ~O_NONBLOCK);

        if (!load)
                return image_archive_write(s, images, n_images, format, CHILD_DATA_FD, child_progress, &last,
                                           e);

        r = image_archive_read(s, CHILD_DATA_FD, child_progress, &last, &loaded, &n, e);
        if (r < 0)
                return r;
        r = image_archive_loaded_to_json(loaded, n, ret_json, ret_size);
        for (size_t i = 0; i < n; i++)
                image_archive_loaded_done(loaded + i);
        g_free(loaded);
        return r;
}

_Noreturn static void job_child(const char *layers_path, bool load, const ImageArchiveImage *images,
                                size_t n_images, ImageArchiveFormat format, int data_fd, int result_fd,
                                int progress_fd, pid_t parent)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_free_ char *json = NULL;
        int high[3];
        size_t size = 0;
        int r;

        reset_signals();
        /* A caller that goes away, or an extractor that fails, is EPIPE, not our death. */
        (void) signal(SIGPIPE, SIG_IGN);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);

        high[0] = fcntl(data_fd, F_DUPFD_CLOEXEC, 10);
        high[1] = fcntl(result_fd, F_DUPFD_CLOEXEC, 10);
        high[2] = fcntl(progress_fd, F_DUPFD_CLOEXEC, 10);
        if (high[0] < 0 || high[1] < 0 || high[2] < 0 || dup3(high[0], CHILD_DATA_FD, O_CLOEXEC) < 0 ||
            dup3(high[1], CHILD_RESULT_FD, O_CLOEXEC) < 0 || dup3(high[2], CHILD_PROGRESS_FD, O_CLOEXEC) < 0)
                _exit(EXIT_FAILURE);
        /* Nothing of berthd's (the bus, other children's pipes) stays open in here. */
        if (close_range(CHILD_PROGRESS_FD + 1, ~0U, 0) < 0)
                for (int fd = CHILD_PROGRESS_FD + 1; fd < 65536; fd++)
                        (void) close(fd);

        r = child_work(layers_path, load, images, n_images, format, &json, &size, &e);
        child_report(r, &e, json, size);
        _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* ---- berthd's side ------------------------------------------------------------------------------------ */

static int on_progress(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ArchiveJob *j = userdata;
        Progress p, last = {};
        bool any = false;

        while (read(fd, &p, sizeof(p)) == (ssize_t) sizeof(p)) {
                last = p;
                any = true;
        }
        if (any)
                image_archive_send_progress(j->reply_to, last.done, last.total);
        if (revents & (EPOLLHUP | EPOLLERR))
                j->progress_source = sd_event_source_disable_unref(j->progress_source);
        return 0;
}

/* Reads the child's answer: 0 with the JSON after "OK\n" in *ret_json (may be empty), or its error. */
static int read_result(ArchiveJob *j, char **ret_json, BerthError *e)
{
        _cleanup_free_ char *data = NULL;
        off_t size = lseek(j->result_fd, 0, SEEK_END);
        ssize_t n;
        int error = 0;

        if (size <= 0 || size > (off_t) RESULT_MAX)
                return berth_error_set(e, -EPROTO, "The %s process died without reporting",
                                       j->load ? "load" : "save");
        data = malloc((size_t) size + 1);
        if (!data)
                return -ENOMEM;
        n = pread(j->result_fd, data, (size_t) size, 0);
        if (n != size)
                return berth_error_set(e, -EIO, "Cannot read the report of the %s process",
                                       j->load ? "load" : "save");
        data[size] = 0;
        if (startswith(data, "OK\n")) {
                *ret_json = strdup(data + 3);
                return *ret_json ? 0 : -ENOMEM;
        }
        if (sscanf(data, "E%d", &error) != 1 || error <= 0)
                error = EIO;
        return berth_error_set(e, -error, "%s", strchr(data, ' ') ? strchr(data, ' ') + 1 : "failed");
}

static char *familiar(const char *canonical)
{
        _cleanup_(reference_freep) Reference *ref = NULL;
        char *f = NULL;

        if (reference_parse(canonical, NULL, &ref) >= 0 && reference_familiar_string(ref, &f) >= 0)
                return f;
        return strdup(canonical);
}

/* Records one loaded image (its layers are in the store already) and tags it. */
static int record_loaded(Manager *m, const ImageArchiveLoaded *l, GPtrArray *out, BerthError *e)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *cfg = NULL;
        _cleanup_(image_record_freep) ImageRecord *rec = NULL;
        _cleanup_free_ char *id = NULL;
        const ImageRecord *stored;
        bool is_new, tagged = false;
        size_t n = g_strv_length(l->diff_ids);
        int r;

        r = sha256_digest_data(l->config, l->config_size, &id);
        if (r < 0)
                return r;
        if (!streq(id, l->id) || oci_image_config_parse(l->config, l->config_size, NULL, &cfg) < 0)
                return berth_error_set(e, -EPROTO, "The load process reported a bad config for %s", l->id);
        for (size_t i = 0; i < n; i++)
                if (layer_store_has(m->layers, l->chain_ids[i]) <= 0)
                        return berth_error_set(
                                e, -ENOENT,
                                "A layer of image %s was removed while it was loaded; load it again", l->id);

        is_new = !image_store_get(m->images, id);
        if (is_new) {
                rec = calloc(1, sizeof(*rec));
                if (!rec)
                        return -ENOMEM;
                rec->id = g_strdup(id);
                rec->diff_ids = g_strdupv(l->diff_ids);
                rec->chain_ids = g_strdupv(l->chain_ids);
                rec->layer_sizes = g_new0(uint64_t, MAX(n, 1U));
                for (size_t i = 0; i < n; i++) {
                        rec->layer_sizes[i] = l->layer_sizes[i];
                        rec->size += l->layer_sizes[i];
                }
                rec->created_usec = cfg->created_usec;
                rec->added_usec = (uint64_t) g_get_real_time();
                r = image_store_add(m->images, rec, l->config, l->config_size, NULL, 0);
                if (r < 0)
                        return berth_error_set(e, r, "Cannot record image %s: %s", id, strerror(-r));
        }
        stored = image_store_get(m->images, id);
        if (!stored)
                return -ENOENT;

        STRV_FOREACH (name, l->names) {
                _cleanup_berth_error_ BerthError te = BERTH_ERROR_INIT;
                _cleanup_free_ char *canonical = NULL;
                const char *old;

                if (manager_canonical_reference(m, *name, &te, &canonical) < 0 || strchr(canonical, '@')) {
                        log_warning("Not tagging loaded image %s as '%s': %s", id, *name,
                                    berth_error_message(&te));
                        continue;
                }
                old = image_store_tag_target(m->images, canonical);
                _cleanup_free_ char *old_id = old && !streq(old, id) ? strdup(old) : NULL;
                r = manager_tag_image(m, stored, canonical);
                if (r < 0)
                        return berth_error_set(e, r, "Cannot tag image %s as %s: %s", id, canonical,
                                               strerror(-r));
                if (old_id)
                        image_send_changed(m, old_id);
                g_ptr_array_add(out, familiar(canonical));
                tagged = true;
        }
        if (!tagged)
                g_ptr_array_add(out, g_strdup(id));
        if (is_new)
                image_send_signal(m, id, true);
        else
                image_send_changed(m, id);
        log_info("Loaded image %s%s", id, tagged ? "" : " (untagged)");
        return 0;
}

static int finish_load(ArchiveJob *j, const char *json, GPtrArray *out, BerthError *e)
{
        ImageArchiveLoaded *loaded = NULL;
        size_t n = 0;
        int r;

        r = image_archive_loaded_from_json(json, strlen(json), &loaded, &n);
        if (r < 0)
                return berth_error_set(e, -EPROTO, "The load process sent an unreadable report");
        for (size_t i = 0; i < n && r >= 0; i++)
                r = record_loaded(j->manager, loaded + i, out, e);
        for (size_t i = 0; i < n; i++)
                image_archive_loaded_done(loaded + i);
        g_free(loaded);
        return r;
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        _cleanup_(job_freep) ArchiveJob *j = userdata;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func(free);
        _cleanup_free_ char *json = NULL;
        int r;

        j->child_source = sd_event_source_disable_unref(j->child_source);
        if (j->progress_source)
                (void) on_progress(NULL, j->progress_fd, 0, j);

        r = read_result(j, &json, &e);
        if (r >= 0 && j->load)
                r = finish_load(j, json, loaded, &e);
        if (r < 0 && !e.message)
                berth_error_set(&e, r, "%s", strerror(-r));
        if (r < 0)
                log_warning("%s failed: %s", j->load ? "Load" : "Save", berth_error_message(&e));

        g_ptr_array_add(loaded, NULL);
        if (j->load)
                image_archive_send_load_reply(j->reply_to, r < 0 ? NULL : (char **) loaded->pdata,
                                              r < 0 ? &e : NULL);
        else
                image_archive_send_save_reply(j->reply_to, r < 0 ? &e : NULL);
        return 0;
}

static int job_start(Manager *m, bool load, const ImageArchiveImage *images, size_t n_images,
                     ImageArchiveFormat format, int data_fd, sd_bus_message *reply_to, BerthError *e)
{
        _cleanup_(job_freep) ArchiveJob *j = NULL;
        _cleanup_close_pair_ int progress[2] = { -EBADF, -EBADF };
        _cleanup_close_ int result_fd = -EBADF;
        pid_t parent = getpid(), pid;
        int r;

        result_fd = memfd_create(load ? "berth-load" : "berth-save", MFD_CLOEXEC);
        if (result_fd < 0 || pipe2(progress, O_CLOEXEC | O_NONBLOCK) < 0)
                return berth_error_set_errno(e, negative_errno(), "Cannot set up the %s",
                                             load ? "load" : "save");

        pid = fork();
        if (pid < 0)
                return berth_error_set_errno(e, negative_errno(), "Cannot fork");
        if (pid == 0)
                job_child(layer_store_path(m->layers), load, images, n_images, format, data_fd, result_fd,
                          progress[1], parent);
        progress[1] = safe_close(progress[1]);

        j = calloc(1, sizeof(*j));
        if (!j) {
                (void) kill(pid, SIGKILL);
                return -ENOMEM;
        }
        *j = (ArchiveJob){
                .manager = m,
                .reply_to = sd_bus_message_ref(reply_to),
                .load = load,
                .result_fd = TAKE_FD(result_fd),
                .progress_fd = TAKE_FD(progress[0]),
        };
        r = sd_event_add_child(m->event, &j->child_source, pid, WEXITED, on_child_exit, j);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                return berth_error_set(e, r, "Cannot watch the %s process", load ? "load" : "save");
        }
        r = sd_event_add_io(m->event, &j->progress_source, j->progress_fd, EPOLLIN, on_progress, j);
        if (r < 0)
                log_debug_errno(r, "No progress for this %s: %m", load ? "load" : "save");
        log_info("%s started (process %d)", load ? "Load" : "Save", (int) pid);
        TAKE_PTR(j);
        return 0;
}

int manager_load_images(Manager *m, int in_fd, sd_bus_message *reply_to, BerthError *e)
{
        return job_start(m, true, NULL, 0, IMAGE_ARCHIVE_DOCKER, in_fd, reply_to, e);
}

/* The names an image is saved with: the tag the user named, none when it was named by id. */
static int saved_name(Manager *m, const char *key, const ImageRecord *rec, char **ret)
{
        _cleanup_free_ char *canonical = NULL;
        const char *target;

        *ret = NULL;
        if (streq(key, rec->id) || startswith(digest_hex(rec->id), key))
                return 0;
        if (manager_canonical_reference(m, key, NULL, &canonical) < 0 || strchr(canonical, '@'))
                return 0;
        target = image_store_tag_target(m->images, canonical);
        if (target && streq(target, rec->id))
                *ret = TAKE_PTR(canonical);
        return 0;
}

static void images_free(GArray *a)
{
        for (guint i = 0; i < a->len; i++)
                image_archive_image_done(&g_array_index(a, ImageArchiveImage, i));
        g_array_free(a, true);
}

int manager_save_images(Manager *m, char **keys, int out_fd, ImageArchiveFormat format,
                        sd_bus_message *reply_to, BerthError *e)
{
        GArray *images = g_array_new(false, true, sizeof(ImageArchiveImage));
        int r = 0;

        if (!keys || !keys[0]) {
                images_free(images);
                return berth_error_set(e, -EINVAL, "No image to save");
        }
        STRV_FOREACH (key, keys) {
                const ImageRecord *rec;
                _cleanup_free_ char *name = NULL;
                ImageArchiveImage *img = NULL;

                r = manager_find_image(m, *key, e, &rec);
                if (r < 0)
                        break;
                (void) saved_name(m, *key, rec, &name);
                for (guint i = 0; i < images->len; i++)
                        if (streq(g_array_index(images, ImageArchiveImage, i).id, rec->id))
                                img = &g_array_index(images, ImageArchiveImage, i);
                if (!img) {
                        ImageArchiveImage add = {
                                .id = g_strdup(rec->id),
                                .names = g_new0(char *, 1),
                                .familiar = g_new0(char *, 1),
                                .diff_ids = g_strdupv(rec->diff_ids ?: (char *[]){ NULL }),
                                .chain_ids = g_strdupv(rec->chain_ids ?: (char *[]){ NULL }),
                        };
                        r = image_store_read_config(m->images, rec->id, &add.config, &add.config_size);
                        if (r < 0) {
                                image_archive_image_done(&add);
                                berth_error_set(e, r, "Cannot read the config of %s: %s", rec->id,
                                                strerror(-r));
                                break;
                        }
                        g_array_append_val(images, add);
                        img = &g_array_index(images, ImageArchiveImage, images->len - 1);
                }
                if (name && !g_strv_contains((const char *const *) img->names, name)) {
                        guint len = g_strv_length(img->names);
                        img->names = g_renew(char *, img->names, len + 2);
                        img->familiar = g_renew(char *, img->familiar, len + 2);
                        img->familiar[len] = familiar(name);
                        img->familiar[len + 1] = NULL;
                        img->names[len] = TAKE_PTR(name);
                        img->names[len + 1] = NULL;
                }
        }
        if (r >= 0)
                r = job_start(m, false, (ImageArchiveImage *) (void *) images->data, images->len, format,
                              out_fd, reply_to, e);
        images_free(images);
        return r;
}
