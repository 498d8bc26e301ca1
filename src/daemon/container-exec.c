/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon/container-attach.h"
#include "daemon/container-exec.h"
#include "runtime/attach-protocol.h"
#include "runtime/run-spec.h"
#include "shared/log.h"

/* How long the monitor may take to clone the process and answer; it answers before the process runs. */
#define EXEC_ANSWER_TIMEOUT_SEC 5

ExecSession *exec_session_free(ExecSession *s)
{
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->source);
        safe_close(s->pidfd);
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

static int build_request(Container *c, const ExecOptions *o, char **ret_json, BerthError *e)
{
        _cleanup_(run_spec_freep) RunSpec *spec = NULL;
        g_autofree char *path =
                g_strdup_printf("%s/containers/%s/spec.json", c->manager->runtime_dir, c->id);
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
        r = run_spec_to_json(spec, ret_json);
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

/* Reads the monitor's answer line and nothing after it (the stream's frames are the caller's). */
static int read_answer(int fd, char *buf, size_t size)
{
        ssize_t n;
        char *nl;

        for (;;) {
                n = recv(fd, buf, size - 1, MSG_PEEK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                if (n == 0)
                        return -ESRCH;
                buf[n] = 0;
                nl = strchr(buf, '\n');
                if (nl)
                        break;
                /* The monitor sends its line in one piece, before any frame. */
                return -EBADMSG;
        }
        n = recv(fd, buf, (size_t) (nl - buf) + 1, 0);
        if (n < 0)
                return negative_errno();
        *nl = 0;
        return 0;
}

int container_exec(Container *c, const ExecOptions *o, int *ret_fd, ExecSession **ret, BerthError *e)
{
        _cleanup_close_ int fd = -EBADF;
        g_autofree char *json = NULL;
        char header[ATTACH_HEADER_MAX], answer[512];
        struct timeval tv = { .tv_sec = EXEC_ANSWER_TIMEOUT_SEC };
        int r, pid;

        if (!container_is_running(c))
                return -ESRCH;
        r = build_request(c, o, &json, e);
        if (r < 0)
                return r;
        r = container_connect_monitor(c, &fd);
        if (r < 0)
                return r;
        /* Bounded blocking: the monitor reads requests at once and answers right after the clone. */
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        snprintf(header, sizeof(header), "EXEC %zu %u %u\n", strlen(json), o->rows, o->columns);
        r = send_all(fd, header, strlen(header));
        if (r >= 0)
                r = send_all(fd, json, strlen(json));
        if (r >= 0)
                r = read_answer(fd, answer, sizeof(answer));
        if (r == -ESRCH)
                return r;
        if (r < 0)
                return berth_error_set(e, r, "The monitor of container %s did not answer the exec request",
                                       c->name);
        if (startswith(answer, "ERR "))
                return berth_error_set(e, streq(answer + 4, "the container is not running") ? -ESRCH : -EIO,
                                       "Cannot exec in container %s: %s", c->name, answer + 4);
        if (sscanf(answer, "PID %d", &pid) != 1 || pid <= 0)
                return berth_error_set(e, -EBADMSG, "Unexpected answer from the monitor of container %s",
                                       c->name);
        tv = (struct timeval){};
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

        _cleanup_(exec_session_freep) ExecSession *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        Manager *m = c->manager;
        *s = (ExecSession){
                .manager = m,
                .id = ++m->exec_counter,
                .container_name = strdup(c->name),
                .container_id = strdup(c->id),
                .pid = pid,
                .tty = o->tty,
                .running = true,
                /* Not our child, but a pidfd still tells us when it is gone. ESRCH: it is gone already. */
                .pidfd = (int) syscall(SYS_pidfd_open, pid, 0),
        };
        if (asprintf(&s->path, "/org/berth1/exec/%" PRIu32, s->id) < 0 || !s->container_name ||
            !s->container_id)
                return -ENOMEM;
        *ret_fd = TAKE_FD(fd);
        *ret = TAKE_PTR(s);
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
