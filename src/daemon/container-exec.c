/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/container-attach.h"
#include "daemon/container-exec.h"
#include "runtime/attach-protocol.h"
#include "runtime/run-spec.h"
#include "shared/log.h"

/* How long the monitor may take to clone the process and answer (it answers before the process runs); the
 * wait is on the event loop, so it holds up no other caller. */
#define EXEC_ANSWER_TIMEOUT_SEC 30

ExecSession *exec_session_free(ExecSession *s)
{
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->source);
        sd_event_source_disable_unref(s->wait_source);
        sd_event_source_disable_unref(s->linger);
        safe_close(s->pidfd);
        safe_close(s->wait_fd);
        free(s->path);
        free(s->container_name);
        free(s->container_id);
        free(s);
        return NULL;
}

void exec_session_destroy(void *s)
{
        exec_session_free(s);
}

/* Docker's exec environment: the container's, with the exec's -e entries replacing or adding. */
static char **merge_env(char **base, char **extra)
{
        GPtrArray *l = g_ptr_array_new();

        for (char **b = base; b && *b; b++) {
                size_t k = strcspn(*b, "=");
                bool replaced = false;
                for (char **e = extra; e && *e && !replaced; e++)
                        replaced = strncmp(*e, *b, k) == 0 && (*e)[k] == '=';
                if (!replaced)
                        g_ptr_array_add(l, g_strdup(*b));
        }
        for (char **e = extra; e && *e; e++)
                g_ptr_array_add(l, g_strdup(*e));
        g_ptr_array_add(l, NULL);
        return (char **) g_ptr_array_free(l, false);
}

static int build_request(Container *c, const ExecOptions *o, char **ret, size_t *ret_size, BerthError *e)
{
        _cleanup_(run_spec_freep) RunSpec *spec = NULL;
        g_autofree char *path = g_strdup_printf("%s/containers/%s/run-spec", c->manager->runtime_dir, c->id);
        int r;

        /* The spec the container was started with: its environment, directory and user are the defaults. */
        r = run_spec_load(path, &spec);
        if (r < 0)
                return berth_error_set(e, r, "Cannot read the run spec of container %s", c->name);
        g_strfreev(spec->argv);
        spec->argv = g_strdupv(o->command);
        char **env = merge_env(spec->env, o->env);
        g_strfreev(spec->env);
        spec->env = env;
        if (o->workdir) {
                g_free(spec->cwd);
                spec->cwd = g_strdup(o->workdir);
        }
        if (o->user) {
                g_free(spec->user);
                spec->user = g_strdup(o->user);
        }
        spec->tty = o->tty;
        spec->interactive = o->interactive;
        r = run_spec_serialize(spec, ret, ret_size);
        if (r < 0)
                return berth_error_set(e, r, "Cannot write the exec request");
        return 0;
}

static int send_all(int fd, const char *data, size_t size)
{
        while (size > 0) {
                ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EPIPE || errno == ECONNRESET ? -ESRCH : negative_errno();
                data += n;
                size -= (size_t) n;
        }
        return 0;
}

/* Reads the monitor's answer line and nothing after it (the stream's frames are the caller's). Called once
 * the socket is readable: the monitor sends its line in one piece, before any frame. */
static int read_answer(int fd, char *buf, size_t size)
{
        ssize_t n;
        char *nl;

        n = recv(fd, buf, size - 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();
        if (n == 0)
                return -ESRCH;
        buf[n] = 0;
        nl = strchr(buf, '\n');
        if (!nl)
                return -EBADMSG;
        n = recv(fd, buf, (size_t) (nl - buf) + 1, MSG_DONTWAIT);
        if (n < 0)
                return negative_errno();
        *nl = 0;
        return 0;
}

/* A request sent to the monitor, waiting for its answer on the event loop: a monitor that is slow or stuck
 * (a frozen scope, say) must not hold up berthd's other callers. */
typedef struct ExecRequest {
        Manager *manager;
        char *container_id;
        bool tty;
        int fd;
        sd_event_source *io, *timer;
        container_exec_callback_t callback;
        void *userdata;
} ExecRequest;

static ExecRequest *exec_request_free(ExecRequest *x)
{
        if (!x)
                return NULL;
        sd_event_source_disable_unref(x->io);
        sd_event_source_disable_unref(x->timer);
        safe_close(x->fd);
        free(x->container_id);
        return mfree(x);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecRequest *, exec_request_free);

static int exec_session_new(ExecRequest *x, Container *c, pid_t pid, ExecSession **ret)
{
        _cleanup_(exec_session_freep) ExecSession *s = calloc(1, sizeof(*s));
        Manager *m = x->manager;

        if (!s)
                return -ENOMEM;
        *s = (ExecSession){
                .manager = m,
                .id = ++m->exec_counter,
                .container_name = strdup(c->name),
                .container_id = strdup(c->id),
                .pid = pid,
                .tty = x->tty,
                .running = true,
                .exit_code = -1,
                .wait_fd = -EBADF,
                /* Not our child, but a pidfd still tells us when it is gone. ESRCH: it is gone already. */
                .pidfd = (int) syscall(SYS_pidfd_open, pid, 0),
        };
        if (asprintf(&s->path, "/org/berth1/exec/%" PRIu32, s->id) < 0 || !s->container_name ||
            !s->container_id)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

/* Tells the caller how it ended and frees the request: with the stream and a session, or with e. */
static void exec_request_finish(ExecRequest *x, int r, const char *answer)
{
        _cleanup_(exec_request_freep) ExecRequest *owned = x;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Container *c = g_hash_table_lookup(x->manager->containers, x->container_id);
        ExecSession *s = NULL;
        int pid;

        /* Out of epoll before the stream changes hands: the caller's copies keep it open, and an event on it
         * would otherwise reach a freed source. */
        x->io = sd_event_source_disable_unref(x->io);
        x->timer = sd_event_source_disable_unref(x->timer);
        if (r >= 0 && !c)
                r = -ESRCH;
        if (r == -ESRCH)
                berth_error_set(&e, r, "The container is not running.");
        else if (r < 0)
                berth_error_set(&e, r, "The monitor of container %s did not answer the exec request",
                                c ? c->name : x->container_id);
        else if (startswith(answer, "ERR "))
                berth_error_set(&e, streq(answer + 4, "the container is not running") ? -ESRCH : -EIO,
                                "Cannot exec in container %s: %s", c->name, answer + 4);
        else if (sscanf(answer, "PID %d", &pid) != 1 || pid <= 0)
                berth_error_set(&e, -EBADMSG, "Unexpected answer from the monitor of container %s", c->name);
        else {
                r = exec_session_new(x, c, pid, &s);
                if (r < 0)
                        berth_error_set(&e, r, "Cannot record the exec session");
        }
        if (e.error < 0)
                x->callback(c, -EBADF, NULL, &e, x->userdata);
        else
                x->callback(c, TAKE_FD(x->fd), s, NULL, x->userdata);
}

static int on_exec_answer(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        ExecRequest *x = userdata;
        char answer[512];
        int r;

        r = read_answer(fd, answer, sizeof(answer));
        if (r == -EAGAIN)
                return 0;
        exec_request_finish(x, r, answer);
        return 0;
}

static int on_exec_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
        exec_request_finish(userdata, -ETIMEDOUT, NULL);
        return 0;
}

int container_exec(Container *c, const ExecOptions *o, container_exec_callback_t callback, void *userdata,
                   BerthError *e)
{
        _cleanup_(exec_request_freep) ExecRequest *x = NULL;
        g_autofree char *request = NULL;
        size_t request_size = 0;
        char header[ATTACH_HEADER_MAX];
        int r;

        if (!container_is_running(c))
                return -ESRCH;
        r = build_request(c, o, &request, &request_size, e);
        if (r < 0)
                return r;
        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        *x = (ExecRequest){
                .manager = c->manager,
                .container_id = strdup(c->id),
                .tty = o->tty,
                .fd = -EBADF,
                .callback = callback,
                .userdata = userdata,
        };
        if (!x->container_id)
                return -ENOMEM;
        r = container_connect_monitor(c, &x->fd);
        if (r < 0)
                return r;
        /* Blocking, as the caller will use it (the flag is the stream's, shared with the caller's end); the
         * request fits in the socket's buffer (a spec is a few KiB), so sending does not wait for the
         * monitor, and the answer is read with MSG_DONTWAIT once it is there. */
        (void) fcntl(x->fd, F_SETFL, fcntl(x->fd, F_GETFL) & ~O_NONBLOCK);
        snprintf(header, sizeof(header), "EXEC %zu %u %u\n", request_size, o->rows, o->columns);
        r = send_all(x->fd, header, strlen(header));
        if (r >= 0)
                r = send_all(x->fd, request, request_size);
        if (r == -ESRCH)
                return r;
        if (r < 0)
                return berth_error_set(e, r, "Cannot send the exec request to the monitor of container %s",
                                       c->name);
        r = sd_event_add_io(c->manager->event, &x->io, x->fd, EPOLLIN, on_exec_answer, x);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(c->manager->event, &x->timer, CLOCK_MONOTONIC,
                                       EXEC_ANSWER_TIMEOUT_SEC * USEC_PER_SEC, 0, on_exec_timeout, x);
        if (r < 0)
                return r;
        TAKE_PTR(x); /* freed by exec_request_finish() */
        return 0;
}

int exec_session_resize_connect(ExecSession *s, unsigned rows, unsigned columns, int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        char header[ATTACH_HEADER_MAX];
        Container *c = g_hash_table_lookup(s->manager->containers, s->container_id);
        int r;

        if (!c || !container_is_running(c) || !s->running)
                return -ESRCH;
        r = container_connect_monitor(c, &fd);
        if (r < 0)
                return r;
        snprintf(header, sizeof(header), "RESIZE %u %u %d\n", rows, columns, (int) s->pid);
        if (send(fd, header, strlen(header), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t) strlen(header))
                return -ESRCH;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int on_linger_end(sd_event_source *source, uint64_t usec, void *userdata)
{
        ExecSession *s = userdata;

        exec_session_send_removed(s);
        g_hash_table_remove(s->manager->exec_sessions, GUINT_TO_POINTER(s->id)); /* frees s */
        return 0;
}

static void exec_session_ended(ExecSession *s, int exit_code)
{
        int r;

        s->source = sd_event_source_disable_unref(s->source);
        s->wait_source = sd_event_source_disable_unref(s->wait_source);
        s->wait_fd = safe_close(s->wait_fd);
        s->pidfd = safe_close(s->pidfd);
        s->running = false;
        s->exit_code = exit_code;
        log_debug("Exec session %s (pid %d) in container %s ended with %d.", s->path, (int) s->pid,
                  s->container_name, exit_code);
        exec_session_send_finished(s);
        r = sd_event_add_time_relative(s->manager->event, &s->linger, CLOCK_MONOTONIC,
                                       EXEC_SESSION_LINGER_USEC, USEC_PER_SEC, on_linger_end, s);
        if (r < 0) /* out of memory: then the ended object stays until berthd exits */
                log_warning_errno(r, "Cannot time the removal of exec session %s: %m", s->path);
}

static int on_pidfd(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        exec_session_ended(userdata, -1);
        return 0;
}

/* The monitor cannot tell the status: the process's end is all we learn. */
static void watch_pidfd(ExecSession *s)
{
        s->wait_source = sd_event_source_disable_unref(s->wait_source);
        s->wait_fd = safe_close(s->wait_fd);
        if (s->pidfd < 0 ||
            sd_event_add_io(s->manager->event, &s->source, s->pidfd, EPOLLIN, on_pidfd, s) < 0)
                exec_session_ended(s, -1); /* gone already (or cannot be watched) */
}

static int on_wait_answer(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        ExecSession *s = userdata;
        ssize_t n;
        int code;

        n = recv(fd, s->wait_answer + s->wait_len, sizeof(s->wait_answer) - 1 - s->wait_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n > 0) {
                s->wait_len += (size_t) n;
                s->wait_answer[s->wait_len] = 0;
                if (!strchr(s->wait_answer, '\n') && s->wait_len < sizeof(s->wait_answer) - 1)
                        return 0;
        }
        if (n > 0 && sscanf(s->wait_answer, "EXIT %d", &code) == 1)
                exec_session_ended(s, code);
        else
                watch_pidfd(s); /* the monitor went away (its container ended), or does not know it */
        return 0;
}

void exec_session_watch(ExecSession *s)
{
        Container *c = g_hash_table_lookup(s->manager->containers, s->container_id);
        char line[64];
        int n;

        if (c && container_connect_monitor(c, &s->wait_fd) >= 0) {
                n = snprintf(line, sizeof(line), "WAIT %d\n", (int) s->pid);
                /* Into an empty socket buffer: all or nothing. */
                if (send(s->wait_fd, line, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT) == n &&
                    sd_event_add_io(s->manager->event, &s->wait_source, s->wait_fd, EPOLLIN, on_wait_answer,
                                    s) >= 0)
                        return;
        }
        watch_pidfd(s);
}
