/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>

#include "daemon/bus-errors.h"
#include "daemon/container-commit.h"
#include "daemon/container-dbus.h"
#include "daemon/container-monitor.h"
#include "daemon/scope.h"
#include "daemon/image-dbus.h"
#include "daemon/image.h"
#include "oci/manifest.h"
#include "oci/sha256.h"
#include "shared/berth-unit.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/signal-util.h"
#include "store/image-store.h"
#include "store/layer-diff.h"
#include "store/layer-extract.h"
#include "store/layer-store.h"
#include "store/layer-tar.h"

#define COMMIT_MESSAGE_MAX 256

/* What the commit child writes to its pipe: one write, smaller than PIPE_BUF. */
typedef struct CommitReport {
        int32_t error;
        LayerExtractResult result;
        char message[COMMIT_MESSAGE_MAX];
} CommitReport;
_Static_assert(sizeof(CommitReport) <= 4096, "report must fit in PIPE_BUF");

typedef struct CommitOperation {
        Manager *manager;
        sd_bus_message *reply_to;
        CommitDoneFn done; /* instead of reply_to (the builder) */
        void *done_userdata;
        CommitRequest req;

        char *container_id, *container_name, *unit, *created_by;
        char *parent_id;
        char **parent_chain_ids, **parent_diff_ids;
        uint64_t *parent_sizes;
        size_t n_parent;

        bool running, frozen;

        char *tmp_name;
        int tmp_diff_fd, upper_fd, result_fd;
        pid_t pid;
        sd_event_source *child_source;
} CommitOperation;

void commit_request_done(CommitRequest *r)
{
        r->config = oci_image_config_free(r->config);
        r->tag = mfree(r->tag);
        r->author = mfree(r->author);
        r->comment = mfree(r->comment);
        r->created_by = mfree(r->created_by);
}

static void commit_reply(CommitOperation *op, const char *id, const BerthError *e)
{
        if (op->done)
                op->done(op->done_userdata, id, e);
        else
                container_send_commit_reply(op->reply_to, id, e);
}

/* Fire and forget: a failure is systemd's to log. Called on every path that froze. */
static void commit_thaw(CommitOperation *op)
{
        int r;

        if (!op->frozen)
                return;
        op->frozen = false;
        r = scope_freeze(op->manager->bus, op->unit, NULL, false, NULL, NULL);
        if (r < 0)
                log_error_errno(r, "Failed to thaw %s after commit: %m", op->unit);
}

static CommitOperation *commit_operation_free(CommitOperation *op)
{
        if (!op)
                return NULL;
        commit_thaw(op);
        op->child_source = sd_event_source_disable_unref(op->child_source);
        if (op->pid > 0) {
                (void) kill(op->pid, SIGKILL);
                (void) waitpid(op->pid, NULL, 0);
        }
        if (op->tmp_name)
                (void) layer_store_abort(op->manager->layers, op->tmp_name);
        free(op->tmp_name);
        safe_close(op->tmp_diff_fd);
        safe_close(op->upper_fd);
        safe_close(op->result_fd);
        sd_bus_message_unref(op->reply_to);
        commit_request_done(&op->req);
        free(op->container_id);
        free(op->container_name);
        free(op->unit);
        free(op->created_by);
        free(op->parent_id);
        g_strfreev(op->parent_chain_ids);
        g_strfreev(op->parent_diff_ids);
        free(op->parent_sizes);
        return mfree(op);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(CommitOperation *, commit_operation_free);

static void commit_fail(CommitOperation *op, int error, const char *message)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;

        log_error_errno(error, "Commit of container %s failed: %s", op->container_name, message);
        commit_thaw(op);
        berth_error_set(&e, error, "Cannot commit %s: %s", op->container_name, message);
        commit_reply(op, NULL, &e);
        commit_operation_free(op);
}

/* ---- the child ------------------------------------------------------------------------------------ */

/* Writes the tar into a pipe read by a layer_extract child: no copy of the layer on disk but the layer. */
static int commit_child_work(int upper_fd, int dest_fd, int record_fd, CommitReport *report)
{
        _cleanup_close_ int input_fd = -EBADF, result_fd = -EBADF;
        _cleanup_berth_error_ BerthError write_error = BERTH_ERROR_INIT, extract_error = BERTH_ERROR_INIT;
        pid_t pid;
        int r, k, flags;

        r = layer_extract_spawn_recorded(dest_fd, record_fd, true, &input_fd, &result_fd, &pid);
        if (r < 0) {
                snprintf(report->message, sizeof(report->message), "cannot start extraction: %s",
                         strerror(-r));
                return r;
        }
        flags = fcntl(input_fd, F_GETFL);
        if (flags < 0 || fcntl(input_fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
                return negative_errno();

        r = layer_diff_write(upper_fd, input_fd, &write_error);
        input_fd = safe_close(input_fd);
        k = layer_extract_wait(pid, result_fd, &extract_error, &report->result);
        /* A failed extraction makes the writer fail with EPIPE: its own message is the one to report. */
        if (k < 0) {
                snprintf(report->message, sizeof(report->message), "%s",
                         r < 0 && r != -EPIPE ? strna(write_error.message) : strna(extract_error.message));
                return r < 0 && r != -EPIPE ? r : k;
        }
        if (r < 0) {
                snprintf(report->message, sizeof(report->message), "%s", strna(write_error.message));
                return r;
        }
        return 0;
}

_Noreturn static void commit_child(int upper_fd, int dest_fd, int record_fd, int report_fd, pid_t parent)
{
        CommitReport report = {};
        int r;

        reset_signals();
        (void) signal(SIGPIPE, SIG_IGN); /* a failed extractor shows up as EPIPE, not as our death */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);

        r = commit_child_work(upper_fd, dest_fd, record_fd, &report);
        report.error = r < 0 ? r : 0;
        if (write(report_fd, &report, sizeof(report)) != (ssize_t) sizeof(report))
                _exit(EXIT_FAILURE);
        _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* ---- the daemon side ------------------------------------------------------------------------------ */

static int commit_record_image(CommitOperation *op, const LayerExtractResult *res, char **ret_id,
                               bool *ret_new)
{
        Manager *m = op->manager;
        OciImageConfig *cfg = op->req.config;
        _cleanup_(image_record_freep) ImageRecord *rec = NULL;
        _cleanup_free_ char *json = NULL, *id = NULL;
        g_auto(GStrv) chain_ids = NULL;
        uint64_t now = (uint64_t) g_get_real_time();
        OciHistoryEntry *h;
        size_t n = op->n_parent, json_size;
        int r;

        /* rootfs.diff_ids: the parent's, then ours. */
        oci_strv_free(cfg->diff_ids);
        cfg->diff_ids = g_new0(char *, n + 2);
        for (size_t i = 0; i < n; i++)
                cfg->diff_ids[i] = g_strdup(op->parent_diff_ids[i]);
        cfg->diff_ids[n] = g_strdup(res->diff_id);
        r = oci_chain_ids(cfg->diff_ids, &chain_ids);
        if (r < 0)
                return r;

        r = layer_store_commit(m->layers, op->tmp_name, chain_ids[n], res->diff_id,
                               n > 0 ? op->parent_chain_ids[n - 1] : NULL);
        if (r < 0)
                return r;
        op->tmp_name = mfree(op->tmp_name); /* committed, or discarded because the same layer existed */

        h = g_renew(OciHistoryEntry, cfg->history, cfg->n_history + 1);
        cfg->history = h;
        h[cfg->n_history++] = (OciHistoryEntry){
                .created_usec = now,
                .created_by = g_strdup(op->created_by),
                .author = g_strdup(op->req.author),
                .comment = g_strdup(op->req.comment),
        };
        cfg->created_usec = now;
        if (!isempty(op->req.author)) {
                free(cfg->author);
                cfg->author = g_strdup(op->req.author);
        }

        r = oci_image_config_to_json(cfg, &json, &json_size);
        if (r < 0)
                return r;
        r = sha256_digest_data(json, json_size, &id);
        if (r < 0)
                return r;

        rec = calloc(1, sizeof(*rec));
        if (!rec)
                return -ENOMEM;
        rec->id = g_strdup(id);
        rec->diff_ids = g_strdupv(cfg->diff_ids);
        rec->chain_ids = g_strdupv(chain_ids);
        rec->layer_sizes = g_new0(uint64_t, n + 1);
        for (size_t i = 0; i < n; i++) {
                rec->layer_sizes[i] = op->parent_sizes ? op->parent_sizes[i] : 0;
                rec->size += rec->layer_sizes[i];
        }
        rec->layer_sizes[n] = res->uncompressed_size;
        rec->size += res->uncompressed_size;
        rec->created_usec = now;
        rec->added_usec = now;

        *ret_new = !image_store_get(m->images, id);
        r = image_store_add(m->images, rec, json, json_size, NULL, 0);
        if (r < 0)
                return r;
        *ret_id = TAKE_PTR(id);
        return 0;
}

static int on_commit_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        _cleanup_(commit_operation_freep) CommitOperation *op = userdata;
        _cleanup_free_ char *id = NULL, *path = NULL;
        Manager *m = op->manager;
        CommitReport report = {};
        bool is_new = false;
        ssize_t n;
        int r;

        op->pid = 0; /* reaped by sd-event */
        op->child_source = sd_event_source_disable_unref(op->child_source);
        commit_thaw(op); /* first of all: the container runs on */

        n = read(op->result_fd, &report, sizeof(report));
        if (n != (ssize_t) sizeof(report)) {
                commit_fail(TAKE_PTR(op), -EPROTO, "the commit process died without reporting");
                return 0;
        }
        report.message[sizeof(report.message) - 1] = 0;
        report.result.diff_id[sizeof(report.result.diff_id) - 1] = 0;
        if (report.error < 0) {
                commit_fail(TAKE_PTR(op), report.error,
                            report.message[0] ? report.message : strerror(-report.error));
                return 0;
        }

        r = commit_record_image(op, &report.result, &id, &is_new);
        if (r < 0) {
                commit_fail(TAKE_PTR(op), r, "cannot record the image in the store");
                return 0;
        }
        if (op->req.tag) {
                const ImageRecord *image = image_store_get(m->images, id);
                r = image ? manager_tag_image(m, image, op->req.tag) : -ENOENT;
                if (r < 0) {
                        commit_fail(TAKE_PTR(op), r, "cannot tag the image");
                        return 0;
                }
        }

        sd_journal_send("MESSAGE=Committed container %s as %s%s%s.", op->container_name, id,
                        op->req.tag ? ", tagged " : "", strempty(op->req.tag), "PRIORITY=%i", LOG_INFO,
                        "BERTH_CONTAINER=%s", op->container_name, "BERTH_CONTAINER_ID=%s", op->container_id,
                        "BERTH_IMAGE=%s", strempty(op->req.tag), "BERTH_IMAGE_ID=%s", id,
                        "BERTH_PARENT_IMAGE_ID=%s", op->parent_id, "BERTH_LAYER_DIFF_ID=%s",
                        report.result.diff_id, "BERTH_LAYER_SIZE=%" PRIu64, report.result.uncompressed_size,
                        "OBJECT_SYSTEMD_UNIT=%s", op->unit, NULL);
        if (is_new)
                image_send_signal(m, id, true);
        else if (op->req.tag)
                image_send_changed(m, id);
        commit_reply(op, id, NULL);
        return 0;
}

static int commit_spawn(CommitOperation *op)
{
        Manager *m = op->manager;
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        _cleanup_close_ int record_fd = -EBADF;
        pid_t parent = getpid(), pid;
        int r;

        r = layer_store_begin(m->layers, &op->tmp_name, &op->tmp_diff_fd);
        if (r < 0)
                return r;
        r = layer_tar_record_create(m->layers, op->tmp_name, &record_fd);
        if (r < 0)
                return r;
        if (pipe2(report, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                commit_child(op->upper_fd, op->tmp_diff_fd, record_fd, report[1], parent);

        op->pid = pid;
        op->result_fd = TAKE_FD(report[0]);
        return sd_event_add_child(m->event, &op->child_source, pid, WEXITED, on_commit_child_exit, op);
}

static void on_frozen(void *userdata, const BerthError *e)
{
        CommitOperation *op = userdata;
        int r;

        if (e) {
                /* systemd answers NotSupported where the cgroup has no freezer (cgroup v1, or v2 without
                 * cgroup.freeze): the copy is still right for a quiet container, merely not atomic. */
                if (e->error == -EOPNOTSUPP)
                        log_notice("Cannot freeze %s (%s); committing container %s without freezing it.",
                                   op->unit, e->message, op->container_name);
                else
                        log_warning("Failed to freeze %s, committing container %s without freezing it: %s",
                                    op->unit, op->container_name, e->message);
                /* A freeze that did not settle in time may still have frozen it. */
                op->frozen = e->error == -ETIMEDOUT;
        } else {
                op->frozen = true;
                log_debug("Froze %s for the commit.", op->unit);
        }

        r = commit_spawn(op);
        if (r < 0)
                commit_fail(op, r, "cannot start copying the writable layer");
}

int container_commit(Container *c, CommitRequest *req, sd_bus_message *reply_to)
{
        return container_commit_full(c, req, reply_to, NULL, NULL);
}

int container_commit_full(Container *c, CommitRequest *req, sd_bus_message *reply_to, CommitDoneFn done,
                          void *userdata)
{
        Manager *m = c->manager;
        _cleanup_(commit_operation_freep) CommitOperation *op = NULL;
        const ImageRecord *parent;
        char cdir[PATH_MAX], dir[PATH_MAX + 8];
        int r;

        parent = image_store_get(m->images, c->image_id);
        if (!parent)
                return -ENOENT;

        op = calloc(1, sizeof(CommitOperation));
        if (!op)
                return -ENOMEM;
        *op = (CommitOperation){
                .manager = m,
                .reply_to = sd_bus_message_ref(reply_to),
                .done = done,
                .done_userdata = userdata,
                .req = *req,
                .container_id = g_strdup(c->id),
                .container_name = g_strdup(c->name),
                .unit = container_scope_unit(c),
                .created_by = req->created_by ? g_strdup(req->created_by) : g_strjoinv(" ", c->config.argv),
                .parent_id = g_strdup(parent->id),
                .parent_chain_ids = g_strdupv(parent->chain_ids),
                .parent_diff_ids = g_strdupv(parent->diff_ids),
                .n_parent = parent->chain_ids ? g_strv_length(parent->chain_ids) : 0,
                .running = c->state.status == CONTAINER_RUNNING,
                .tmp_diff_fd = -EBADF,
                .upper_fd = -EBADF,
                .result_fd = -EBADF,
        };
        *req = (CommitRequest){};
        if (!op->unit)
                return -ENOMEM;
        if (parent->layer_sizes)
                op->parent_sizes = g_memdup2(parent->layer_sizes, sizeof(uint64_t) * op->n_parent);

        snprintf(dir, sizeof(dir), "%s/diff", container_dir(c, cdir, sizeof(cdir)));
        op->upper_fd = open_dir_at(AT_FDCWD, dir);
        if (op->upper_fd < 0)
                return log_error_errno(op->upper_fd, "Failed to open the writable layer '%s': %m", dir);

        /* Frozen as Pause freezes (the scope's cgroup watched until it is); a container paused by its
         * user is already still, and stays paused after the commit, as with Docker. */
        if (op->running && op->req.pause && !c->paused) {
                _cleanup_free_ char *cgroup = NULL;

                r = container_scope_cgroup(c, &cgroup);
                if (r < 0)
                        log_debug_errno(r, "Cannot find the cgroup of container %s: %m", c->name);
                r = scope_freeze(m->bus, op->unit, cgroup, true, on_frozen, op);
                if (r < 0)
                        return log_error_errno(r, "Failed to ask systemd to freeze %s: %m", op->unit);
        } else {
                r = commit_spawn(op);
                if (r < 0)
                        return log_error_errno(r, "Failed to start committing container %s: %m", c->name);
        }
        TAKE_PTR(op);
        return 0;
}
