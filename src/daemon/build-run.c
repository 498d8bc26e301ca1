/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/build-internal.h"
#include "daemon/container-archive.h"
#include "daemon/container-attach.h"
#include "daemon/container-commit.h"
#include "daemon/container-dbus.h"
#include "daemon/container.h"
#include "runtime/attach-protocol.h"
#include "runtime/child-error.h"
#include "runtime/rootfs-setup.h"
#include "runtime/run-spec.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/signal-util.h"
#include "store/build-copy.h"
#include "store/image-store.h"
#include "store/layer-store.h"

/* The steps that make a layer: RUN (a container run, then committed) and COPY/ADD (a created container
 * whose root receives the sources' tar, then committed). Each step's container is removed at its end,
 * whatever happened. */

#define REPORT_MAX     1024
#define LINE_MAX_BYTES 16384

struct BuildRun {
        Build *build;
        Container *container;
        char *created_by;
        char *cache_key;

        /* RUN */
        int output_fd;
        sd_event_source *output_source;
        GString *frames; /* attach frames not yet complete */
        GString *line;
        bool exited, output_done, committing;
        int exit_code; /* as the exit hook saw them: the container may be gone by then (rm -f of it) */
        char *exit_error;

        /* COPY/ADD: the child writing (or only digesting) the sources */
        BuildCopySpec spec;
        char *from_image;
        char *mount_dir; /* where the child mounts from_image */
        pid_t writer;
        int writer_report_fd;
        sd_event_source *writer_source;
        bool digest_only;
        char *digest;
        int pending; /* the writer and the put, in the tar phase */
        int writer_error, put_error;
        char *writer_message, *put_message;

        sd_event_source *defer;
};

static void remove_container(BuildRun *r)
{
        Container *c = TAKE_PTR(r->container);

        if (!c)
                return;
        c->exit_hook = NULL;
        /* Still running (cancelled): removed when its monitor is gone. */
        (void) container_remove_forced(c, NULL);
}

BuildRun *build_run_free(BuildRun *r)
{
        if (!r)
                return NULL;
        remove_container(r);
        r->output_source = sd_event_source_disable_unref(r->output_source);
        r->writer_source = sd_event_source_disable_unref(r->writer_source);
        r->defer = sd_event_source_disable_unref(r->defer);
        if (r->writer > 0) {
                (void) kill(r->writer, SIGKILL);
                (void) waitpid(r->writer, NULL, 0);
        }
        safe_close(r->output_fd);
        safe_close(r->writer_report_fd);
        if (r->frames)
                g_string_free(r->frames, true);
        if (r->line)
                g_string_free(r->line, true);
        g_strfreev(r->spec.sources);
        free((char *) r->spec.dest);
        free(r->from_image);
        free(r->mount_dir);
        free(r->created_by);
        free(r->cache_key);
        free(r->digest);
        free(r->writer_message);
        free(r->put_message);
        free(r->exit_error);
        return mfree(r);
}

void build_run_cancel(Build *b)
{
        BuildRun *r = b->run;

        if (!r)
                return;
        if (r->writer > 0)
                (void) kill(r->writer, SIGKILL);
        if (r->container && r->container->monitor_source)
                /* Also while it starts (its output may come before berthd hears it runs): the monitor goes.
                 */
                (void) container_stop(r->container, 1, NULL);
        else if (!r->committing && !r->pending && r->writer <= 0)
                build_step_failed(b, -ECANCELED, "cancelled");
}

static BuildRun *run_new(Build *b, const char *created_by)
{
        BuildRun *r = calloc(1, sizeof(*r));

        if (!r)
                return NULL;
        r->build = b;
        r->created_by = g_strdup(created_by);
        r->output_fd = -EBADF;
        r->writer_report_fd = -EBADF;
        return r;
}

/* A container of the current image with the build's confinement: the defaults, whatever the caller. */
static int create_container(BuildRun *r, char **argv, char **env, BerthError *e)
{
        Build *b = r->build;
        Manager *m = b->manager;
        _cleanup_(container_options_done) ContainerOptions o = {};
        _cleanup_(container_config_done) ContainerConfig config = {};
        _cleanup_free_ char *name = NULL;
        Container *other;
        char id[65];
        int k;

        o.command = g_strdupv(argv);
        o.set_entrypoint = true;
        o.entrypoint = g_new0(char *, 1);
        o.env = g_strdupv(env);
        o.network = g_strdup(b->opt.network ?: "bridge");
        for (unsigned i = 0;; i++) {
                g_autofree char *random = container_name_generate();
                free(name);
                /* The prefix tells a restarted berthd which containers were steps of a build it no longer
                 * runs (manager_sweep_build_containers()). */
                name = g_strconcat(BUILD_CONTAINER_PREFIX, random, NULL);
                if (manager_find_container(m, name, NULL, &other) < 0)
                        break;
                if (i > 100)
                        return -EEXIST;
        }
        k = container_generate_id(id);
        if (k < 0)
                return k;
        k = container_config_resolve(b->config, &o, id, e, &config);
        if (k < 0)
                return k;
        /* Never synced (no ret_sync, auto_remove): a step's container does not outlive the build, and a
         * restarted berthd removes those it finds. */
        k = container_create(m, id, b->image_id, b->image_id, name, &config, "[]", 0, &r->container, NULL);
        if (k < 0)
                return berth_error_set(e, k, "Cannot create the step's container: %s", strerror(-k));
        r->container->auto_remove = true;
        container_send_signal(r->container, true);
        return 0;
}

/* ---- commit ------------------------------------------------------------------------------------------ */

static void on_committed(void *userdata, const char *image_id, const BerthError *e)
{
        BuildRun *r = userdata;
        Build *b = r->build;
        g_autofree char *id = g_strdup(image_id);

        r->committing = false;
        remove_container(r);
        if (e)
                return build_step_failed(b, e->error, "Cannot commit step %u: %s", b->step,
                                         berth_error_message(e));
        if (b->status == BUILD_CANCELLED)
                return build_step_failed(b, -ECANCELED, "cancelled");
        build_cache_record(b, r->cache_key, id);
        build_step_done(b, id, false);
}

static void commit(BuildRun *r)
{
        Build *b = r->build;
        CommitRequest req = {
                .config = build_config_copy(b->config),
                .created_by = g_strdup(r->created_by),
        };
        int k;

        if (!req.config)
                return build_step_failed(b, -ENOMEM, "Out of memory");
        r->committing = true;
        k = container_commit_full(r->container, &req, NULL, on_committed, r);
        commit_request_done(&req);
        if (k < 0) {
                r->committing = false;
                build_step_failed(b, k, "Cannot commit step %u: %s", b->step, strerror(-k));
        }
}

/* ---- RUN ---------------------------------------------------------------------------------------------- */

static void flush_line(BuildRun *r)
{
        if (r->line->len == 0)
                return;
        build_output(r->build, r->line->str);
        g_string_truncate(r->line, 0);
}

static void take_output(BuildRun *r, const char *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '\n' || r->line->len >= LINE_MAX_BYTES) {
                        flush_line(r);
                        if (p[i] == '\n')
                                continue;
                }
                if (p[i] != '\r')
                        g_string_append_c(r->line, p[i]);
        }
}

static int on_run_defer(sd_event_source *s, void *userdata)
{
        BuildRun *r = userdata;
        Build *b = r->build;
        Container *c = r->container;

        r->defer = sd_event_source_disable_unref(r->defer);
        flush_line(r);
        if (b->status == BUILD_CANCELLED)
                return build_step_failed(b, -ECANCELED, "cancelled"), 0;
        if (!c)
                return build_step_failed(b, -ECANCELED, "Step %u: its container was removed", b->step), 0;
        if (r->exit_code != 0 || r->exit_error) {
                g_autofree char *msg = NULL;
                if (r->exit_error && r->exit_code >= 125)
                        msg = g_strdup_printf("The command '%s' could not run: %s", r->created_by,
                                              r->exit_error);
                else
                        msg = g_strdup_printf("The command '%s' returned a non-zero code: %d", r->created_by,
                                              r->exit_code);
                remove_container(r);
                build_step_failed(b, -EIO, "Step %u: %s", b->step, msg);
                return 0;
        }
        commit(r);
        return 0;
}

static void maybe_done(BuildRun *r)
{
        if (!r->exited || !r->output_done || r->defer)
                return;
        if (sd_event_add_defer(r->build->manager->event, &r->defer, on_run_defer, r) < 0)
                build_step_failed(r->build, -ENOMEM, "Cannot go on after step %u", r->build->step);
}

static void on_exit_hook(Container *c, void *userdata)
{
        BuildRun *r = userdata;

        r->exited = true;
        r->exit_code = c->state.exit_code;
        r->exit_error = g_strdup(c->state.error);
        c->exit_hook = NULL;
        /* Someone removed it (rm -f): it is freed right after this hook, so forget it now. */
        if (c->remove_on_exit)
                r->container = NULL;
        maybe_done(r);
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        BuildRun *r = userdata;
        char buf[16384];
        ssize_t n;

        n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                r->output_source = sd_event_source_disable_unref(r->output_source);
                r->output_fd = safe_close(r->output_fd);
                r->output_done = true;
                maybe_done(r);
                return 0;
        }
        g_string_append_len(r->frames, buf, n);
        while (r->frames->len >= ATTACH_FRAME_HEADER_SIZE) {
                uint32_t len;
                memcpy(&len, r->frames->str + 4, sizeof(len));
                len = ntohl(len);
                if (r->frames->len < ATTACH_FRAME_HEADER_SIZE + len)
                        break;
                take_output(r, r->frames->str + ATTACH_FRAME_HEADER_SIZE, len);
                g_string_erase(r->frames, 0, ATTACH_FRAME_HEADER_SIZE + len);
        }
        return 0;
}

int build_run_start(Build *b, char **argv, const char *created_by, char **env)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        BuildRun *r;
        AttachOptions ao = { .want_stdout = true, .want_stderr = true, .before_start = true };
        g_autofree char *key = build_cache_key(b, created_by, NULL);
        const char *hit = build_cache_lookup(b, key);
        int k;

        if (hit) {
                build_step_done(b, hit, true);
                return 0;
        }
        r = run_new(b, created_by);
        if (!r)
                return -ENOMEM;
        b->run = r;
        r->cache_key = TAKE_PTR(key);
        r->frames = g_string_new(NULL);
        r->line = g_string_new(NULL);

        k = create_container(r, argv, env, &e);
        if (k < 0) {
                build_step_failed(b, k, "Step %u: %s", b->step, berth_error_message(&e));
                return 0;
        }
        {
                g_autofree char *msg = g_strdup_printf(" ---> Running in %.12s", r->container->id);
                build_output(b, msg);
        }
        k = container_attach(r->container, &ao, &r->output_fd);
        if (k >= 0)
                k = sd_event_add_io(b->manager->event, &r->output_source, r->output_fd, EPOLLIN, on_output,
                                    r);
        if (k < 0) {
                build_step_failed(b, k, "Step %u: cannot read the output: %s", b->step, strerror(-k));
                return 0;
        }
        r->container->exit_hook = on_exit_hook;
        r->container->exit_hook_userdata = r;
        k = container_start(r->container, NULL);
        if (k < 0) {
                /* The start's failure ends the monitor, which the exit hook reports, if it ran; else now. */
                if (!r->container->monitor_source) {
                        r->container->exit_hook = NULL;
                        build_step_failed(b, k, "Step %u: the container did not start: %s", b->step,
                                          strerror(-k));
                }
                return 0;
        }
        return 0;
}

/* ---- COPY / ADD ----------------------------------------------------------------------------------------
 */

static int mount_image(const char *layers_dir, const char *lowerdir, const char *dir, ChildError *ce)
{
        g_autofree char *upper = g_strdup_printf("%s/diff", dir), *work = g_strdup_printf("%s/work", dir),
                        *merged = g_strdup_printf("%s/merged", dir);
        RunSpec spec = {
                .layers_dir = (char *) layers_dir,
                .lowerdir = (char *) lowerdir,
                .upperdir = upper,
                .workdir = work,
                .rootfs = merged,
        };

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        return rootfs_mount_overlay(&spec, ce);
}

_Noreturn static void writer_child(const BuildRun *r, const char *root, const char *layers_dir,
                                   const char *lowerdir, int out_fd, int report_fd)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        char digest[SHA256_DIGEST_STRING_SIZE] = "", line[REPORT_MAX];
        ChildError ce = {};
        int k = 0;

        reset_signals();
        (void) signal(SIGPIPE, SIG_IGN);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (r->mount_dir) {
                k = mount_image(layers_dir, lowerdir, r->mount_dir, &ce);
                if (k < 0)
                        (void) berth_error_set(&e, k, "Cannot mount the image of --from: %s", ce.message);
        }
        if (k >= 0 && (chroot(root) < 0 || chdir("/") < 0))
                k = berth_error_set(&e, negative_errno(), "Cannot enter the sources' root");
        if (k >= 0)
                k = build_copy_write(&r->spec, out_fd, digest, &e);
        if (out_fd >= 0)
                (void) close(out_fd);
        if (k < 0)
                snprintf(line, sizeof(line), "E%d %s", -k, berth_error_message(&e));
        else
                snprintf(line, sizeof(line), "OK %s", digest);
        (void) write(report_fd, line, strlen(line));
        _exit(k < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

static void copy_finish(BuildRun *r);

static int on_writer_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        BuildRun *r = userdata;
        Build *b = r->build;
        char line[REPORT_MAX];
        ssize_t n;
        int err;

        r->writer = 0;
        r->writer_source = sd_event_source_disable_unref(r->writer_source);
        n = read(r->writer_report_fd, line, sizeof(line) - 1);
        r->writer_report_fd = safe_close(r->writer_report_fd);
        line[MAX(n, 0)] = 0;
        if (n > 0 && startswith(line, "OK ")) {
                free(r->digest);
                r->digest = g_strdup(line + 3);
        } else {
                const char *msg = strchr(line, ' ');
                if (n <= 0 || sscanf(line, "E%d", &err) != 1 || err <= 0)
                        err = EIO;
                r->writer_error = -err;
                free(r->writer_message);
                r->writer_message = g_strdup(msg ? msg + 1 : "the copy failed");
        }
        if (r->digest_only) {
                if (b->status == BUILD_CANCELLED)
                        return build_step_failed(b, -ECANCELED, "cancelled"), 0;
                if (r->writer_error < 0)
                        return build_step_failed(b, r->writer_error, "Step %u: %s", b->step,
                                                 r->writer_message),
                               0;
                copy_finish(r);
                return 0;
        }
        if (--r->pending == 0)
                copy_finish(r);
        return 0;
}

static int spawn_writer(BuildRun *r, int out_fd)
{
        Build *b = r->build;
        Manager *m = b->manager;
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        g_autofree char *lowerdir = NULL, *root = NULL;
        pid_t pid;
        int k;

        if (r->from_image) {
                const ImageRecord *img = image_store_get(m->images, r->from_image);
                size_t n;
                if (!img)
                        return -ENOENT;
                n = img->chain_ids ? g_strv_length(img->chain_ids) : 0;
                if (n > 0 && layer_store_lowerdir_option(m->layers, img->chain_ids, n, &lowerdir) < 0)
                        return -ENOMEM;
                if (!r->mount_dir) {
                        r->mount_dir = g_strdup_printf("%s/from-%u", b->dir, b->step);
                        const char *sub[] = { "diff", "work", "merged" };
                        for (size_t i = 0; i < G_N_ELEMENTS(sub); i++) {
                                g_autofree char *d = g_strdup_printf("%s/%s", r->mount_dir, sub[i]);
                                k = mkdir_p_at(AT_FDCWD, d, 0700);
                                if (k < 0)
                                        return k;
                        }
                }
                root = g_strdup_printf("%s/merged", r->mount_dir);
        } else
                root = g_strdup(b->context_dir);

        if (pipe2(report, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                writer_child(r, root, layer_store_path(m->layers), lowerdir, out_fd, report[1]);
        r->writer = pid;
        r->writer_report_fd = TAKE_FD(report[0]);
        return sd_event_add_child(m->event, &r->writer_source, pid, WEXITED, on_writer_exit, r);
}

static void on_put_done(void *userdata, const BerthError *e)
{
        BuildRun *r = userdata;

        if (e) {
                r->put_error = e->error;
                r->put_message = g_strdup(berth_error_message(e));
        }
        if (--r->pending == 0)
                copy_finish(r);
}

static void copy_finish(BuildRun *r)
{
        Build *b = r->build;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_close_pair_ int data[2] = { -EBADF, -EBADF };
        int k;

        if (b->status == BUILD_CANCELLED)
                return build_step_failed(b, -ECANCELED, "cancelled");
        if (!r->digest_only) {
                /* The tar is in the container's root: commit it. */
                if (r->writer_error < 0)
                        return build_step_failed(b, r->writer_error, "Step %u: %s", b->step,
                                                 r->writer_message);
                if (r->put_error < 0)
                        return build_step_failed(b, r->put_error, "Step %u: %s", b->step, r->put_message);
                return commit(r);
        }

        /* The digest is known: the cache, or the tar phase. */
        const char *kw = r->spec.instruction;
        g_autofree char *created_by =
                g_strdup_printf("/bin/sh -c #(nop) %s %s:%.64s in %s ", kw, r->from_image ? "from" : "file",
                                r->digest + strlen("sha256:"), r->spec.dest);
        free(r->created_by);
        r->created_by = TAKE_PTR(created_by);
        free(r->cache_key);
        r->cache_key = build_cache_key(b, r->created_by, NULL);
        const char *hit = build_cache_lookup(b, r->cache_key);
        if (hit) {
                g_autofree char *id = g_strdup(hit);
                return build_step_done(b, id, true);
        }

        r->digest_only = false;
        k = create_container(r, (char *[]){ (char *) "/bin/true", NULL }, NULL, &e);
        if (k < 0)
                return build_step_failed(b, k, "Step %u: %s", b->step, berth_error_message(&e));
        if (pipe2(data, O_CLOEXEC) < 0)
                return build_step_failed(b, -errno, "Step %u: cannot make a pipe", b->step);
        k = spawn_writer(r, data[1]);
        if (k < 0)
                return build_step_failed(b, k, "Step %u: cannot start copying: %s", b->step, strerror(-k));
        data[1] = safe_close(data[1]);
        ArchiveRequest req = { .put = true, .path = (char *) "/", .tar_fd = data[0], .owners = true };
        r->pending = 2;
        k = container_archive_full(r->container, &req, NULL, on_put_done, r, &e);
        if (k < 0) {
                r->pending = 0;
                return build_step_failed(b, k, "Step %u: %s", b->step, berth_error_message(&e));
        }
}

int build_copy_start(Build *b, const DockerfileInstruction *i, char **sources, const char *dest,
                     const char *from_image)
{
        const DockerfileFlag *chown = dockerfile_instruction_flag(i, "chown"),
                             *chmod = dockerfile_instruction_flag(i, "chmod");
        BuildRun *r;
        int k;

        r = run_new(b, NULL);
        if (!r)
                return -ENOMEM;
        b->run = r;
        r->spec.sources = g_strdupv(sources);
        r->spec.dest = g_strdup(dest);
        r->spec.instruction = i->keyword == DOCKERFILE_ADD ? "ADD" : "COPY";
        r->spec.extract = i->keyword == DOCKERFILE_ADD;
        r->from_image = g_strdup(from_image);
        r->digest_only = true;
        if (chown && chown->value) {
                r->spec.chown = true;
                if (build_copy_parse_chown(chown->value, &r->spec.uid, &r->spec.gid) < 0) {
                        build_step_failed(
                                b, -EINVAL,
                                "Dockerfile:%u: --chown=%s: berth takes numeric ids (or root) only", i->line,
                                chown->value);
                        return 0;
                }
        }
        if (chmod && chmod->value) {
                r->spec.chmod = true;
                if (build_copy_parse_chmod(chmod->value, &r->spec.mode) < 0) {
                        build_step_failed(b, -EINVAL, "Dockerfile:%u: --chmod=%s: not an octal mode",
                                          i->line, chmod->value);
                        return 0;
                }
        }
        k = spawn_writer(r, -EBADF);
        if (k < 0) {
                build_step_failed(b, k, "Step %u: cannot read the sources: %s", b->step, strerror(-k));
                return 0;
        }
        return 0;
}

void manager_sweep_build_containers(Manager *m)
{
        g_autoptr(GPtrArray) gone = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, m->containers);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (startswith(((Container *) v)->name, BUILD_CONTAINER_PREFIX))
                        g_ptr_array_add(gone, v);
        for (guint i = 0; i < gone->len; i++) {
                Container *c = gone->pdata[i];
                log_info("Removing container %s, a step of a build berthd no longer runs.", c->name);
                (void) container_remove_forced(c, NULL);
        }
}
