/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/container-archive.h"
#include "daemon/container-attach.h"
#include "runtime/rootfs-setup.h"
#include "shared/log.h"
#include "shared/signal-util.h"
#include "store/image-store.h"
#include "store/layer-store.h"
#include "store/tree-archive.h"

/* The child's one report line: "OK" or "E<errno> <message>". */
#define REPORT_MAX 1024

typedef struct ArchiveOp {
        Manager *manager;
        sd_bus_message *reply_to;
        ArchiveDoneFn done; /* instead of reply_to (the builder) */
        void *done_userdata;
        int report_fd, data_fd; /* data_fd: get, the stream's read end for the caller */
        sd_event_source *report_source, *child_source;
        bool replied, reaped;
} ArchiveOp;

static void archive_op_free(ArchiveOp *op)
{
        sd_event_source_disable_unref(op->report_source);
        sd_event_source_disable_unref(op->child_source);
        sd_bus_message_unref(op->reply_to);
        safe_close(op->report_fd);
        safe_close(op->data_fd);
        free(op);
}

static void report(int fd, int error, const BerthError *e)
{
        char line[REPORT_MAX];
        int n = error >= 0 ? snprintf(line, sizeof(line), "OK")
                           : snprintf(line, sizeof(line), "E%d %s", -error,
                                      e && e->message ? e->message : strerror(-error));
        (void) write(fd, line, MIN((size_t) n, sizeof(line) - 1));
}

/* In the child: chrooted into the container's root, resolve and do the work. */
static int child_work(const ArchiveRequest *req, int data_fd, int report_fd, BerthError *e)
{
        struct stat st;

        if (!req->put) {
                if (lstat(req->path, &st) < 0)
                        return berth_error_set(e, negative_errno(),
                                               "Could not find the file %s in the container", req->path);
                report(report_fd, 0, NULL);
                report_fd = -EBADF;
                return tree_archive_write(req->path, data_fd, e);
        }
        /* An existing directory takes the archive; otherwise the archive's top entry becomes path, in
         * path's parent directory (docker cp SRC CONTAINER:NEW). */
        if (stat(req->path, &st) >= 0 && S_ISDIR(st.st_mode))
                return tree_archive_extract(req->path, data_fd, NULL, req->owners, e);
        g_autofree char *d = g_strdup(req->path), *b = g_strdup(req->path);
        const char *parent = dirname(d), *name = basename(b);
        if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
                return berth_error_set(e, -ENOENT, "The directory %s does not exist in the container",
                                       parent);
        return tree_archive_extract(parent, data_fd, name, req->owners, e);
}

_Noreturn static void archive_child(const ArchiveRequest *req, int root_fd, const RunSpec *overlay,
                                    int data_fd, int report_fd, pid_t parent)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        ChildError ce = {};
        int r = 0;

        reset_signals();
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != parent)
                _exit(EXIT_FAILURE);
        if (root_fd < 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        r = berth_error_set(&e, negative_errno(), "Cannot make a mount namespace");
                else if (rootfs_mount_overlay(overlay, &ce) < 0)
                        r = berth_error_set(&e, ce.error < 0 ? ce.error : -EIO, "%s", ce.message);
                else if (chdir(overlay->rootfs) < 0)
                        r = berth_error_set(&e, negative_errno(), "Cannot enter the container's root");
        } else if (fchdir(root_fd) < 0)
                r = berth_error_set(&e, negative_errno(), "Cannot enter the container's root");
        if (r >= 0 && (chroot(".") < 0 || chdir("/") < 0))
                r = berth_error_set(&e, negative_errno(), "Cannot enter the container's root");
        if (r >= 0)
                r = child_work(req, data_fd, report_fd, &e);
        if (r < 0)
                report(report_fd, r, &e);
        else if (req->put)
                report(report_fd, 0, NULL);
        _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

static void op_maybe_free(ArchiveOp *op)
{
        if (op->replied && op->reaped)
                archive_op_free(op);
}

static int on_report(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ArchiveOp *op = userdata;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        char line[REPORT_MAX];
        ssize_t n;
        int error;

        n = read(fd, line, sizeof(line) - 1);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        op->report_source = sd_event_source_disable_unref(op->report_source);
        line[MAX(n, 0)] = 0;
        if (n > 0 && startswith(line, "OK") && op->done)
                op->done(op->done_userdata, NULL);
        else if (n > 0 && startswith(line, "OK"))
                container_send_archive_reply(op->reply_to, op->data_fd, NULL);
        else {
                char *msg = NULL;
                if (n <= 0 || sscanf(line, "E%d", &error) != 1 || error <= 0)
                        error = EIO;
                msg = strchr(line, ' ');
                (void) berth_error_set(&e, -error, "%s", msg ? msg + 1 : "The copy failed");
                if (op->done)
                        op->done(op->done_userdata, &e);
                else
                        container_send_archive_reply(op->reply_to, -EBADF, &e);
        }
        op->data_fd = safe_close(op->data_fd);
        op->replied = true;
        op_maybe_free(op);
        return 0;
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        ArchiveOp *op = userdata;

        op->child_source = sd_event_source_disable_unref(op->child_source);
        op->reaped = true;
        op_maybe_free(op);
        return 0;
}

static int overlay_spec(Container *c, RunSpec *spec)
{
        Manager *m = c->manager;
        const ImageRecord *image = image_store_get(m->images, c->image_id);
        char dir[PATH_MAX];
        size_t n;

        if (!image)
                return -ENOENT;
        n = image->chain_ids ? g_strv_length(image->chain_ids) : 0;
        if (n > 0 && layer_store_lowerdir_option(m->layers, image->chain_ids, n, &spec->lowerdir) < 0)
                return -ENOMEM;
        container_dir(c, dir, sizeof(dir));
        spec->layers_dir = g_strdup(layer_store_path(m->layers));
        spec->upperdir = g_strdup_printf("%s/diff", dir);
        spec->workdir = g_strdup_printf("%s/work", dir);
        spec->rootfs = g_strdup_printf("%s/merged", dir);
        return 0;
}

int container_archive(Container *c, ArchiveRequest *req, sd_bus_message *reply_to, BerthError *e)
{
        return container_archive_full(c, req, reply_to, NULL, NULL, e);
}

int container_archive_full(Container *c, ArchiveRequest *req, sd_bus_message *reply_to, ArchiveDoneFn done,
                           void *userdata, BerthError *e)
{
        Manager *m = c->manager;
        _cleanup_close_pair_ int report_pipe[2] = { -EBADF, -EBADF }, data[2] = { -EBADF, -EBADF };
        _cleanup_close_ int root_fd = -EBADF;
        _cleanup_(run_spec_freep) RunSpec *overlay = NULL;
        pid_t parent = getpid(), pid;
        int r, child_data;

        if (container_is_running(c)) {
                char proc[64];
                snprintf(proc, sizeof(proc), "/proc/%d/root", (int) c->state.pid);
                root_fd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
                /* Opened, then checked: the pid was the init's when it still runs now. */
                if (root_fd < 0 || c->init_pidfd < 0 ||
                    syscall(SYS_pidfd_send_signal, c->init_pidfd, 0, NULL, 0) < 0)
                        return berth_error_set(e, -ESRCH, "Container %s is stopping", c->name);
        } else if (c->monitor_source || c->starting)
                return berth_error_set(e, -EBUSY, "Container %s is starting or stopping; try again",
                                       c->name);
        else {
                overlay = calloc(1, sizeof(*overlay));
                if (!overlay)
                        return -ENOMEM;
                r = overlay_spec(c, overlay);
                if (r < 0)
                        return berth_error_set(e, r, "The image of container %s is gone", c->name);
        }

        if (pipe2(report_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return berth_error_set(e, negative_errno(), "Cannot create a pipe");
        if (!req->put && pipe2(data, O_CLOEXEC) < 0)
                return berth_error_set(e, negative_errno(), "Cannot create a pipe");
        child_data = req->put ? req->tar_fd : data[1];

        pid = fork();
        if (pid < 0)
                return berth_error_set(e, negative_errno(), "Cannot fork");
        if (pid == 0)
                archive_child(req, root_fd, overlay, child_data, report_pipe[1], parent);

        ArchiveOp *op = calloc(1, sizeof(*op));
        if (!op) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return -ENOMEM;
        }
        *op = (ArchiveOp){
                .manager = m,
                .reply_to = sd_bus_message_ref(reply_to),
                .done = done,
                .done_userdata = userdata,
                .report_fd = TAKE_FD(report_pipe[0]),
                .data_fd = TAKE_FD(data[0]),
        };
        r = sd_event_add_io(m->event, &op->report_source, op->report_fd, EPOLLIN, on_report, op);
        if (r >= 0)
                r = sd_event_add_child(m->event, &op->child_source, pid, WEXITED, on_child_exit, op);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                op->replied = op->reaped = true; /* nobody waits: the caller gets the error */
                archive_op_free(op);
                return berth_error_set(e, r, "Cannot watch the copy");
        }
        log_debug("Copying %s %s container %s.", req->path, req->put ? "into" : "out of", c->name);
        return 0;
}
