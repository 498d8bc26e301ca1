/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "monitor/monitor-exec.h"
#include "runtime/attach-protocol.h"
#include "runtime/exec-child.h"
#include "shared/fd-passing.h"
#include "shared/byte-array.h"
#include "shared/log.h"

/* Output waiting for a slow client stops the reading of the process's output (it blocks on its pipe or
 * terminal, as under a slow `docker exec`), rather than being dropped. */
#define EXEC_QUEUE_MAX   ((size_t) 4U * 1024U * 1024U)
#define EXEC_REQUEST_MAX ((size_t) 1024U * 1024U)
/* "WAIT" connections one session answers at most (berthd makes one). */
#define EXEC_WAITERS_MAX 4
/* Exit statuses kept after their session is gone, for a WAIT that comes after the end. */
#define EXEC_ENDED_MAX 64

struct MonitorExec {
        sd_event *event;
        const RunSpec *spec;
        int init_pidfd;
        bool pidns_joined, finishing;
        PtrArray *sessions;
        struct {
                pid_t pid;
                int code;
        } ended[EXEC_ENDED_MAX]; /* a ring, the newest at ended_next - 1 */
        size_t ended_next;
        void (*on_idle)(void *userdata);
        void *userdata;
};

typedef enum { OUT_STDOUT = 1, OUT_STDERR = 2 } OutStream;

typedef struct Session {
        MonitorExec *owner;
        int fd; /* the client; -EBADF once it is gone (the process goes on, its output is dropped) */
        sd_event_source *fd_source;
        ByteArray *request;
        size_t request_length;
        unsigned rows, cols;
        bool started, tty, exited, input_eof;
        int exit_code;
        pid_t pid;
        sd_event_source *child_source;
        int input_fd; /* stdin pipe or a dup of the pty master */
        int out_fd[3];
        sd_event_source *out_source[3];
        int console_fd;
        sd_event_source *console_source;
        ByteArray *to_client, *to_input;
        size_t to_client_off;
        int waiters[EXEC_WAITERS_MAX]; /* fds of "WAIT <pid>" connections, answered at the end */
        size_t n_waiters;
} Session;

static void session_update(Session *s);

static void session_free(Session *s)
{
        if (!s)
                return;
        sd_event_source_disable_unref(s->fd_source);
        sd_event_source_disable_unref(s->child_source);
        sd_event_source_disable_unref(s->console_source);
        for (size_t i = 0; i < 3; i++) {
                sd_event_source_disable_unref(s->out_source[i]);
                safe_close(s->out_fd[i]);
        }
        safe_close(s->fd);
        safe_close(s->input_fd);
        safe_close(s->console_fd);
        byte_array_unref(s->request);
        byte_array_unref(s->to_client);
        byte_array_unref(s->to_input);
        for (size_t i = 0; i < s->n_waiters; i++)
                safe_close(s->waiters[i]);
        free(s);
}

/* Answers a WAIT connection and closes it; a waiter that is gone (berthd restarted) is no matter. */
static void waiter_answer(int fd, const char *line)
{
        (void) send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
        safe_close(fd);
}

static void session_remove(Session *s)
{
        MonitorExec *x = s->owner;

        if (s->pid > 0)
                log_debug("Exec session %d ended with %d.", (int) s->pid, s->exit_code);
        ptr_array_remove(x->sessions, s);
        if (x->sessions->len == 0 && x->on_idle)
                x->on_idle(x->userdata);
}

static void client_gone(Session *s)
{
        s->fd_source = sd_event_source_disable_unref(s->fd_source);
        s->fd = safe_close(s->fd);
        byte_array_set_size(s->to_client, 0);
        s->to_client_off = 0;
        if (!s->started || s->exited) {
                session_remove(s);
                return;
        }
        session_update(s);
}

/* Returns false when the session was removed. */
static bool client_flush(Session *s)
{
        while (s->fd >= 0 && s->to_client->len > s->to_client_off) {
                ssize_t n = send(s->fd, s->to_client->data + s->to_client_off,
                                 s->to_client->len - s->to_client_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        client_gone(s);
                        return s->started && !s->exited;
                }
                s->to_client_off += (size_t) n;
        }
        if (s->to_client_off == s->to_client->len) {
                byte_array_set_size(s->to_client, 0);
                s->to_client_off = 0;
                if (s->exited) {
                        session_remove(s);
                        return false;
                }
        }
        session_update(s);
        return true;
}

static void queue_frame(Session *s, OutStream stream, const void *data, size_t size)
{
        uint8_t h[ATTACH_FRAME_HEADER_SIZE] = { (uint8_t) stream,
                                                0,
                                                0,
                                                0,
                                                (uint8_t) (size >> 24),
                                                (uint8_t) (size >> 16),
                                                (uint8_t) (size >> 8),
                                                (uint8_t) size };

        if (s->fd < 0)
                return;
        byte_array_append(s->to_client, h, sizeof(h));
        byte_array_append(s->to_client, data, (size_t) size);
}

static void input_close(Session *s)
{
        s->input_fd = safe_close(s->input_fd);
        byte_array_set_size(s->to_input, 0);
}

static void input_flush(Session *s)
{
        while (s->to_input->len > 0 && s->input_fd >= 0) {
                ssize_t n = write(s->input_fd, s->to_input->data, s->to_input->len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        input_close(s);
                        break;
                }
                byte_array_remove_range(s->to_input, 0, (size_t) n);
        }
        /* The client's EOF is the process's EOF (without a terminal; a terminal has no EOF to give). */
        if (s->input_eof && s->to_input->len == 0 && !s->tty)
                input_close(s);
}

static void session_update(Session *s)
{
        uint32_t events = 0;
        bool room = s->to_client->len - s->to_client_off < EXEC_QUEUE_MAX;

        for (size_t i = 1; i < 3; i++)
                if (s->out_source[i])
                        (void) sd_event_source_set_enabled(s->out_source[i],
                                                           room ? SD_EVENT_ON : SD_EVENT_OFF);
        if (s->fd < 0)
                return;
        if (!s->started || (!s->input_eof && s->to_input->len == 0 && !s->exited))
                events |= EPOLLIN;
        if (s->to_client->len > s->to_client_off)
                events |= EPOLLOUT;
        (void) sd_event_source_set_io_events(s->fd_source, events);
}

/* Reads what the process wrote; false at EOF (or EIO: a terminal whose last writer is gone). */
static bool read_output(Session *s, size_t i)
{
        char buf[32 * 1024];
        ssize_t n;

        n = read(s->out_fd[i], buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
        if (n <= 0) {
                s->out_source[i] = sd_event_source_disable_unref(s->out_source[i]);
                s->out_fd[i] = safe_close(s->out_fd[i]);
                return false;
        }
        queue_frame(s, (OutStream) i, buf, (size_t) n);
        return true;
}

static int on_output(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        Session *s = userdata;

        for (size_t i = 1; i < 3; i++)
                if (s->out_source[i] == source)
                        (void) read_output(s, i);
        (void) client_flush(s);
        return 0;
}

static int watch_output(Session *s, size_t i, int fd)
{
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        s->out_fd[i] = fd;
        return sd_event_add_io(s->owner->event, &s->out_source[i], fd, EPOLLIN, on_output, s);
}

static int set_size(int master, unsigned rows, unsigned cols)
{
        struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };

        if (rows == 0 || cols == 0 || rows > USHRT_MAX || cols > USHRT_MAX)
                return -EINVAL;
        return ioctl(master, TIOCSWINSZ, &ws) < 0 ? negative_errno() : 0;
}

static int on_console(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        Session *s = userdata;
        int master, r;

        s->console_source = sd_event_source_disable_unref(s->console_source);
        r = fd_receive(fd, &master);
        s->console_fd = safe_close(s->console_fd);
        if (r < 0)
                return 0; /* the child failed before its terminal existed; its stderr pipe says why */
        if (s->rows > 0 && s->cols > 0)
                (void) set_size(master, s->rows, s->cols);
        s->input_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
        if (s->input_fd >= 0)
                (void) fcntl(s->input_fd, F_SETFL, fcntl(s->input_fd, F_GETFL) | O_NONBLOCK);
        if (watch_output(s, OUT_STDOUT, master) < 0)
                safe_close(master);
        input_flush(s);
        session_update(s);
        return 0;
}

/* Keeps the status for late waiters and answers the waiting ones (berthd's ExecSession.ExitCode). */
static void session_record_exit(Session *s)
{
        MonitorExec *x = s->owner;
        char line[32];

        x->ended[x->ended_next % EXEC_ENDED_MAX].pid = s->pid;
        x->ended[x->ended_next % EXEC_ENDED_MAX].code = s->exit_code;
        x->ended_next++;
        (void) snprintf(line, sizeof(line), "EXIT %d\n", s->exit_code);
        for (size_t i = 0; i < s->n_waiters; i++)
                waiter_answer(s->waiters[i], line);
        s->n_waiters = 0;
}

static int on_process_exit(sd_event_source *source, const siginfo_t *si, void *userdata)
{
        Session *s = userdata;
        char code[16];

        s->exit_code = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
        session_record_exit(s);
        /* What the process wrote before it ended is in its pipes or terminal now: take it, then the status.
         */
        for (size_t i = 1; i < 3; i++)
                while (s->out_fd[i] >= 0 && s->to_client->len - s->to_client_off < EXEC_QUEUE_MAX * 2 &&
                       read_output(s, i)) {
                        int avail = 0;
                        if (ioctl(s->out_fd[i], FIONREAD, &avail) < 0 || avail <= 0)
                                break;
                }
        for (size_t i = 1; i < 3; i++) {
                s->out_source[i] = sd_event_source_disable_unref(s->out_source[i]);
                s->out_fd[i] = safe_close(s->out_fd[i]);
        }
        input_close(s);
        s->exited = true;
        int n = snprintf(code, sizeof(code), "%d", s->exit_code);
        queue_frame(s, ATTACH_FRAME_EXIT, code, (size_t) n);
        if (s->fd < 0) {
                session_remove(s);
                return 0;
        }
        (void) client_flush(s);
        return 0;
}

static void reply_error(Session *s, const char *message)
{
        char line[512];
        int n = snprintf(line, sizeof(line), "ERR %s\n", message);

        (void) send(s->fd, line, MIN((size_t) n, sizeof(line) - 1), MSG_NOSIGNAL | MSG_DONTWAIT);
        session_remove(s);
}

static void session_start(Session *s)
{
        MonitorExec *x = s->owner;
        _cleanup_(run_spec_freep) RunSpec *req = NULL;
        _cleanup_close_pair_ int in[2] = { -EBADF, -EBADF }, out[2] = { -EBADF, -EBADF },
                                 err[2] = { -EBADF, -EBADF }, console[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        int r;

        r = run_spec_parse(s->request->data, s->request->len, &req);
        if (r < 0)
                return reply_error(s, "malformed exec request");
        if (x->finishing)
                return reply_error(s, "the container is not running");
        if (!x->pidns_joined) {
                r = exec_join_pid_namespace(x->init_pidfd);
                if (r < 0)
                        return reply_error(s, "cannot join the container's pid namespace");
                x->pidns_joined = true;
        }

        /* The container's confinement, the exec's own command, environment, directory, user, terminal. */
        RunSpec spec = *x->spec;
        spec.argv = req->argv;
        spec.env = req->env;
        spec.cwd = req->cwd;
        spec.user = req->user;
        spec.tty = req->tty;
        s->tty = req->tty;

        if (pipe2(err, O_CLOEXEC) < 0 ||
            (!s->tty && (pipe2(out, O_CLOEXEC) < 0 || (req->interactive && pipe2(in, O_CLOEXEC) < 0))) ||
            (s->tty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, console) < 0))
                return reply_error(s, "cannot create the process's stdio");
        ExecFds fds = {
                .init_pidfd = x->init_pidfd,
                .console = console[1],
                .stdin_fd = in[0],
                .stdout_fd = out[1],
                .stderr_fd = err[1],
        };
        r = exec_spawn(&spec, &fds, &s->pid, &pidfd);
        if (r < 0)
                return reply_error(s, r == -ENOMEM ? "the container is not running"
                                                   : "cannot start the process");
        s->started = true;

        char line[64];
        int n = snprintf(line, sizeof(line), "PID %d\n", (int) s->pid);
        byte_array_append(s->to_client, (const uint8_t *) line, (size_t) n);
        if (!s->tty) {
                r = watch_output(s, OUT_STDOUT, TAKE_FD(out[0]));
                if (r >= 0 && in[1] >= 0) {
                        s->input_fd = TAKE_FD(in[1]);
                        (void) fcntl(s->input_fd, F_SETFL, fcntl(s->input_fd, F_GETFL) | O_NONBLOCK);
                }
        } else {
                s->console_fd = TAKE_FD(console[0]);
                r = sd_event_add_io(x->event, &s->console_source, s->console_fd, EPOLLIN, on_console, s);
        }
        if (r >= 0)
                r = watch_output(s, OUT_STDERR, TAKE_FD(err[0]));
        if (r >= 0)
                r = sd_event_add_child_pidfd(x->event, &s->child_source, pidfd, WEXITED, on_process_exit, s);
        if (r < 0) {
                (void) kill(s->pid, SIGKILL);
                log_warning_errno(r, "Cannot watch exec session %d: %m", (int) s->pid);
                return;
        }
        (void) sd_event_source_set_child_pidfd_own(s->child_source, true);
        TAKE_FD(pidfd);
        /* After the output sources, so that the exit handler finds little left to drain. */
        (void) sd_event_source_set_priority(s->child_source, SD_EVENT_PRIORITY_IDLE);
        log_debug("Exec session %d started: %s", (int) s->pid, req->argv[0]);
        (void) client_flush(s);
}

static void session_data(Session *s, const char *data, size_t size)
{
        if (!s->started) {
                size_t take = MIN(size, s->request_length - s->request->len);
                byte_array_append(s->request, (const uint8_t *) data, (size_t) take);
                data += take;
                size -= take;
                if (s->request->len < s->request_length)
                        return;
                session_start(s);
                /* A started session is still there unless its start failed. */
                if (!ptr_array_find(s->owner->sessions, s, NULL) || !s->started)
                        return;
        }
        if (size > 0 && s->input_fd >= 0) {
                byte_array_append(s->to_input, (const uint8_t *) data, (size_t) size);
                input_flush(s);
        } else if (size > 0 && s->tty && s->console_fd >= 0)
                byte_array_append(s->to_input, (const uint8_t *) data,
                                  (size_t) size); /* until the pty exists */
}

static int on_client(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        Session *s = userdata;
        char buf[16 * 1024];

        if (revents & EPOLLOUT && !client_flush(s))
                return 0;
        if (revents & EPOLLIN) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                if (n < 0 || (n == 0 && !s->started)) {
                        client_gone(s);
                        return 0;
                }
                if (n == 0) {
                        s->input_eof = true;
                        input_flush(s);
                } else
                        session_data(s, buf, (size_t) n);
                if (ptr_array_find(s->owner->sessions, s, NULL))
                        session_update(s);
                return 0;
        }
        if (revents & (EPOLLHUP | EPOLLERR))
                client_gone(s);
        return 0;
}

void monitor_exec_add(MonitorExec *x, int fd, size_t request_length, unsigned rows, unsigned cols,
                      const char *data, size_t size)
{
        Session *s;

        s = calloc(1, sizeof(*s));
        if (!s) {
                safe_close(fd);
                return;
        }
        *s = (Session){
                .owner = x,
                .fd = fd,
                .rows = rows,
                .cols = cols,
                .request_length = request_length,
                .request = byte_array_new(),
                .to_client = byte_array_new(),
                .to_input = byte_array_new(),
                .input_fd = -EBADF,
                .out_fd = { -EBADF, -EBADF, -EBADF },
                .console_fd = -EBADF,
        };
        ptr_array_add(x->sessions, s);
        if (request_length == 0 || request_length > EXEC_REQUEST_MAX)
                return reply_error(s, "malformed exec request");
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (sd_event_add_io(x->event, &s->fd_source, fd, EPOLLIN, on_client, s) < 0)
                return reply_error(s, "out of resources");
        session_data(s, data, size);
        if (ptr_array_find(x->sessions, s, NULL))
                session_update(s);
}

void monitor_exec_wait(MonitorExec *x, int fd, pid_t pid)
{
        char line[32];

        for (size_t i = 0; x && i < x->sessions->len; i++) {
                Session *s = x->sessions->pdata[i];
                if (s->pid != pid || !s->started)
                        continue;
                if (!s->exited && s->n_waiters < EXEC_WAITERS_MAX) {
                        s->waiters[s->n_waiters++] = fd;
                        return;
                }
                if (!s->exited)
                        return waiter_answer(fd, "ERR too many waiters\n");
                (void) snprintf(line, sizeof(line), "EXIT %d\n", s->exit_code);
                return waiter_answer(fd, line);
        }
        /* Ended and gone already: the newest record of that pid. */
        for (size_t n = 0; x && n < MIN(x->ended_next, (size_t) EXEC_ENDED_MAX); n++) {
                size_t i = (x->ended_next - 1 - n) % EXEC_ENDED_MAX;
                if (x->ended[i].pid == pid) {
                        (void) snprintf(line, sizeof(line), "EXIT %d\n", x->ended[i].code);
                        return waiter_answer(fd, line);
                }
        }
        waiter_answer(fd, "ERR no such exec session\n");
}

int monitor_exec_resize(MonitorExec *x, pid_t pid, unsigned rows, unsigned cols)
{
        for (size_t i = 0; x && i < x->sessions->len; i++) {
                Session *s = x->sessions->pdata[i];
                if (s->pid != pid || !s->started || s->exited)
                        continue;
                if (!s->tty)
                        return -ENOTTY;
                if (s->out_fd[OUT_STDOUT] < 0) {
                        /* The terminal is not there yet: it gets this size when it is. */
                        s->rows = rows, s->cols = cols;
                        return 0;
                }
                return set_size(s->out_fd[OUT_STDOUT], rows, cols);
        }
        return -ESRCH;
}

int monitor_exec_new(sd_event *event, const RunSpec *spec, int init_pidfd, void (*on_idle)(void *userdata),
                     void *userdata, MonitorExec **ret)
{
        MonitorExec *x = calloc(1, sizeof(*x));

        if (!x)
                return -ENOMEM;
        *x = (MonitorExec){
                .event = sd_event_ref(event),
                .spec = spec,
                .init_pidfd = init_pidfd,
                .sessions = ptr_array_new_with_free_func((PtrArrayFree) session_free),
                .on_idle = on_idle,
                .userdata = userdata,
        };
        *ret = x;
        return 0;
}

void monitor_exec_finish(MonitorExec *x)
{
        if (x)
                x->finishing = true;
}

bool monitor_exec_idle(MonitorExec *x)
{
        return !x || x->sessions->len == 0;
}

void monitor_exec_drop_all(MonitorExec *x)
{
        if (x)
                ptr_array_set_size(x->sessions, 0);
}

MonitorExec *monitor_exec_free(MonitorExec *x)
{
        if (!x)
                return NULL;
        x->on_idle = NULL;
        ptr_array_unref(x->sessions);
        sd_event_unref(x->event);
        free(x);
        return NULL;
}
