/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "monitor/monitor-attach.h"
#include "monitor/monitor-exec.h"
#include "runtime/attach-protocol.h"
#include "shared/byte-array.h"
#include "shared/log.h"

/* A client that lets this much output pile up is dropped rather than letting the monitor grow without
 * bound; the container is never slowed down by such a client (its output also goes to the journal). */
#define CLIENT_QUEUE_MAX ((size_t) 4U * 1024U * 1024U)
/* A lossless client is never dropped for being slow while the container runs: once this much waits for it,
 * the container's output is no longer read until the client has taken half of it (Docker's attach stream
 * blocks the container the same way). The bound is on what waits before a read; one read adds at most
 * 64 KiB. */
#define LOSSLESS_QUEUE_HOLD ((size_t) 256U * 1024U)
/* How long clients get to take the last output after the container exited; a lossless one gets it again
 * as long as it took something meanwhile, so that a stalled reader cannot keep a dead container's monitor
 * (and so its record, its restart, its removal) waiting for good. */
#define FINISH_TIMEOUT_USEC (5 * USEC_PER_SEC)

typedef struct Client {
        MonitorAttach *owner;
        int fd;
        sd_event_source *source;
        char header[ATTACH_HEADER_MAX];
        size_t header_len;
        bool attached; /* the ATTACH header was read */
        bool want_stdin, want_stdout, want_stderr, stdin_once;
        bool lossless;   /* never dropped for being slow; see LOSSLESS_QUEUE_HOLD */
        bool progressed; /* took output since the last finish timeout */
        bool input_done;
        ByteArray *queue; /* output not yet written, from queue_off on */
        size_t queue_off;
} Client;

struct MonitorAttach {
        sd_event *event;
        MonitorStdio *stdio;
        char *path;
        bool tty, interactive, started, finishing;
        bool holding; /* the container's output is not read while a lossless client catches up */
        int listen_fd;
        sd_event_source *listen_source;
        PtrArray *clients;
        /* Input from clients to the container: a dup of the pty master or the stdin pipe, with its own
         * source (sd-event takes each fd number once, and the pty master is read elsewhere). */
        int input_fd;
        sd_event_source *input_source;
        ByteArray *input;
        bool close_input_when_written; /* a stdin_once client ended its input */
        sd_event_source *finish_timer;
        MonitorExec *exec; /* "EXEC" connections go there (monitor-exec.h) */
};

static void client_update(Client *c);

static void client_free(Client *c)
{
        if (!c)
                return;
        sd_event_source_disable_unref(c->source);
        safe_close(c->fd);
        if (c->queue)
                byte_array_unref(c->queue);
        free(c);
}

static void attach_maybe_exit(MonitorAttach *a)
{
        if (a->finishing && a->clients->len == 0 && monitor_exec_idle(a->exec))
                (void) sd_event_exit(a->event, 0);
}

static size_t client_pending(const Client *c)
{
        return c->queue->len - c->queue_off;
}

/* Holds the container's output once a lossless client has LOSSLESS_QUEUE_HOLD waiting, until every one
 * has less than half of that. */
static void output_hold_update(MonitorAttach *a)
{
        size_t limit = a->holding ? LOSSLESS_QUEUE_HOLD / 2 : LOSSLESS_QUEUE_HOLD;
        bool hold = false;

        for (size_t i = 0; i < a->clients->len && !hold; i++) {
                const Client *c = a->clients->pdata[i];
                hold = c->lossless && client_pending(c) >= limit;
        }
        if (hold == a->holding)
                return;
        a->holding = hold;
        monitor_stdio_hold(a->stdio, hold);
}

static void client_drop(Client *c)
{
        MonitorAttach *a = c->owner;

        ptr_array_remove(a->clients, c); /* frees it */
        output_hold_update(a);
        attach_maybe_exit(a);
}

static void input_close(MonitorAttach *a)
{
        a->input_source = sd_event_source_disable_unref(a->input_source);
        a->input_fd = safe_close(a->input_fd);
        /* The monitor's own write end too, or the container would never see EOF. */
        if (!a->tty)
                a->stdio->io.stdin_fd = safe_close(a->stdio->io.stdin_fd);
        byte_array_set_size(a->input, 0);
}

static void clients_update(MonitorAttach *a)
{
        for (size_t i = 0; i < a->clients->len; i++)
                client_update(a->clients->pdata[i]);
}

/* Writes queued input to the container; EAGAIN leaves it queued for the input source. */
static void input_flush(MonitorAttach *a)
{
        while (a->input->len > 0 && a->input_fd >= 0) {
                ssize_t n = write(a->input_fd, a->input->data, a->input->len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        /* The container closed its stdin: nothing more can go there. */
                        log_debug_errno(errno, "Cannot write to the container's input, closing it: %m");
                        input_close(a);
                        break;
                }
                byte_array_remove_range(a->input, 0, (size_t) n);
        }
        if (a->input->len == 0 && a->close_input_when_written && a->input_fd >= 0)
                input_close(a);
        if (a->input_source)
                (void) sd_event_source_set_enabled(a->input_source,
                                                   a->input->len > 0 ? SD_EVENT_ON : SD_EVENT_OFF);
        /* Clients are read only while no input waits: that is the back-pressure to a fast typist's pipe. */
        clients_update(a);
}

static int on_input_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        input_flush(userdata);
        return 0;
}

/* Writes queued output; drops the client when it is gone. Returns false when it was dropped. */
static bool client_flush(Client *c)
{
        while (c->queue->len > c->queue_off) {
                ssize_t n = send(c->fd, c->queue->data + c->queue_off, c->queue->len - c->queue_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        client_drop(c);
                        return false;
                }
                c->queue_off += (size_t) n;
                c->progressed = true;
        }
        if (c->owner->holding)
                output_hold_update(c->owner);
        if (c->queue_off == c->queue->len) {
                byte_array_set_size(c->queue, 0);
                c->queue_off = 0;
                if (c->owner->finishing) {
                        client_drop(c);
                        return false;
                }
        }
        client_update(c);
        return true;
}

static void client_update(Client *c)
{
        MonitorAttach *a = c->owner;
        uint32_t events = 0;

        if (!a->started)
                return;
        if (!a->finishing && (!c->attached || (!c->input_done && !(c->want_stdin && a->input->len > 0))))
                events |= EPOLLIN;
        if (c->queue->len > c->queue_off)
                events |= EPOLLOUT;
        (void) sd_event_source_set_io_events(c->source, events);
}

static void client_queue(Client *c, const void *data, size_t size)
{
        if (!c->lossless && client_pending(c) + size > CLIENT_QUEUE_MAX) {
                log_warning("An attached client does not read its output; detaching it.");
                client_drop(c);
                return;
        }
        byte_array_append(c->queue, data, (size_t) size);
        if (client_flush(c) && c->lossless)
                output_hold_update(c->owner);
}

static int set_window_size(MonitorAttach *a, unsigned rows, unsigned cols)
{
        struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };

        if (a->stdio->io.pty_master < 0)
                return -ENOTTY;
        if (rows == 0 || cols == 0 || rows > USHRT_MAX || cols > USHRT_MAX)
                return -EINVAL;
        /* The kernel sends SIGWINCH to the terminal's foreground process group when the size changes. */
        return ioctl(a->stdio->io.pty_master, TIOCSWINSZ, &ws) < 0 ? negative_errno() : 0;
}

static bool parse_flag(const char *word, const char *key, bool *ret)
{
        const char *v = startswith(word, key);
        if (!v || *v != '=')
                return false;
        *ret = streq(v + 1, "1");
        return true;
}

/* Handles the header line; returns false when the connection ended with it (RESIZE, or malformed). */
static bool client_header(Client *c, char *line)
{
        MonitorAttach *a = c->owner;
        unsigned rows = 0, cols = 0;
        char *save = NULL, *w;
        int pid = 0;

        if (sscanf(line, "WAIT %d", &pid) == 1 && pid > 0) {
                int fd = TAKE_FD(c->fd);
                client_drop(c);
                monitor_exec_wait(a->exec, fd, pid);
                return false;
        }
        if (sscanf(line, "RESIZE %u %u %d", &rows, &cols, &pid) >= 2) {
                int r = pid > 0 ? monitor_exec_resize(a->exec, pid, rows, cols)
                                : set_window_size(a, rows, cols);
                char reply[128];
                int n = r < 0 ? snprintf(reply, sizeof(reply), "ERR %s\n", strerror(-r))
                              : snprintf(reply, sizeof(reply), "OK\n");
                (void) send(c->fd, reply, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
                client_drop(c);
                return false;
        }
        w = strtok_r(line, " ", &save);
        if (!w || !streq(w, "ATTACH")) {
                log_warning("Unknown request on the attach socket, closing it.");
                client_drop(c);
                return false;
        }
        while ((w = strtok_r(NULL, " ", &save)))
                if (!parse_flag(w, "stdin", &c->want_stdin) && !parse_flag(w, "stdout", &c->want_stdout) &&
                    !parse_flag(w, "stderr", &c->want_stderr) &&
                    !parse_flag(w, "stdin_once", &c->stdin_once) &&
                    !parse_flag(w, "lossless", &c->lossless)) {
                        (void) sscanf(w, "rows=%u", &rows);
                        (void) sscanf(w, "cols=%u", &cols);
                }
        if (rows > 0 && cols > 0)
                (void) set_window_size(a, rows, cols);
        c->attached = true;
        log_debug("Client attached (stdin=%d stdout=%d stderr=%d).", c->want_stdin, c->want_stdout,
                  c->want_stderr);
        return true;
}

static void client_input(Client *c, const char *data, size_t size)
{
        MonitorAttach *a = c->owner;

        /* Docker drops the input of clients that did not ask for stdin, and of non-interactive containers.
         */
        if (!c->want_stdin || a->input_fd < 0 || size == 0)
                return;
        byte_array_append(a->input, (const uint8_t *) data, (size_t) size);
        input_flush(a);
}

static void client_read(Client *c)
{
        char buf[16 * 1024];
        ssize_t n;

        n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                c->input_done = true;
                if (!c->attached) {
                        client_drop(c);
                        return;
                }
                if (c->want_stdin && c->stdin_once && !c->owner->tty) {
                        c->owner->close_input_when_written = true;
                        input_flush(c->owner);
                }
                client_update(c);
                return;
        }
        if (c->attached) {
                client_input(c, buf, (size_t) n);
                return;
        }

        size_t take = MIN((size_t) n, sizeof(c->header) - 1 - c->header_len);
        memcpy(c->header + c->header_len, buf, take);
        c->header_len += take;
        c->header[c->header_len] = 0;
        char *nl = strchr(c->header, '\n');
        if (!nl) {
                if (c->header_len >= sizeof(c->header) - 1) {
                        log_warning("Overlong header on the attach socket, closing it.");
                        client_drop(c);
                }
                return;
        }
        *nl = 0;
        /* Bytes after the header in the same read are already input. */
        size_t header_end = (size_t) (nl - c->header) + 1, rest_in_header = c->header_len - header_end;
        char rest[sizeof(c->header)];
        memcpy(rest, nl + 1, rest_in_header);
        size_t length = 0;
        unsigned rows = 0, cols = 0;
        if (sscanf(c->header, "EXEC %zu %u %u", &length, &rows, &cols) == 3) {
                MonitorAttach *a = c->owner;
                /* The connection is an exec session's from now on; the request follows the header. */
                _cleanup_(byte_array_unrefp) ByteArray *body = byte_array_new();
                byte_array_append(body, (const uint8_t *) rest, (size_t) rest_in_header);
                byte_array_append(body, (const uint8_t *) buf + take, (size_t) ((size_t) n - take));
                int fd = TAKE_FD(c->fd);
                client_drop(c);
                if (!a->exec || a->finishing) {
                        static const char no[] = "ERR the container is not running\n";
                        (void) send(fd, no, strlen(no), MSG_NOSIGNAL | MSG_DONTWAIT);
                        safe_close(fd);
                        return;
                }
                monitor_exec_add(a->exec, fd, length, rows, cols, (const char *) body->data, body->len);
                return;
        }
        if (!client_header(c, c->header))
                return;
        client_input(c, rest, rest_in_header);
        client_input(c, buf + take, (size_t) n - take);
        client_update(c);
}

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Client *c = userdata;

        if (revents & EPOLLOUT && !client_flush(c))
                return 0;
        if (revents & EPOLLIN) {
                client_read(c);
                return 0;
        }
        /* Both directions closed (or an error) with nothing to read: the client is gone. */
        if (revents & (EPOLLHUP | EPOLLERR))
                client_drop(c);
        return 0;
}

static int client_watch(Client *c)
{
        int r;

        r = sd_event_add_io(c->owner->event, &c->source, c->fd, 0, on_client, c);
        if (r < 0)
                return r;
        client_update(c);
        return 0;
}

int monitor_attach_add_client(MonitorAttach *a, int fd)
{
        Client *c;

        if (a->finishing)
                return safe_close(fd), -ESHUTDOWN;
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        c = calloc(1, sizeof(*c));
        if (!c)
                return safe_close(fd), -ENOMEM;
        *c = (Client){ .owner = a, .fd = fd, .queue = byte_array_new() };
        ptr_array_add(a->clients, c);
        if (!a->started)
                return 0; /* watched from monitor_attach_start() on */
        return client_watch(c);
}

static int on_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        MonitorAttach *a = userdata;
        int cfd, r;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(errno, "Cannot accept an attach connection, ignoring: %m");
                return 0;
        }
        r = monitor_attach_add_client(a, cfd);
        if (r < 0)
                log_warning_errno(r, "Cannot serve an attach connection, ignoring: %m");
        return 0;
}

int monitor_attach_new(sd_event *event, MonitorStdio *stdio, const char *path, bool tty, bool interactive,
                       MonitorAttach **ret)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(monitor_attach_freep) MonitorAttach *a = NULL;
        mode_t old;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = (MonitorAttach){
                .event = sd_event_ref(event),
                .stdio = stdio,
                .path = strdup(path),
                .tty = tty,
                .interactive = interactive,
                .listen_fd = -EBADF,
                .input_fd = -EBADF,
                .clients = ptr_array_new_with_free_func((PtrArrayFree) client_free),
                .input = byte_array_new(),
        };
        if (!a->path || !a->clients || !a->input)
                return -ENOMEM;

        a->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (a->listen_fd < 0)
                return negative_errno();
        /* A socket left by an earlier run of this container would make bind() fail. */
        (void) unlink(path);
        /* Born 0600: there is no moment at which someone else could connect. */
        old = umask(0077);
        r = bind(a->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ? negative_errno() : 0;
        umask(old);
        if (r < 0)
                return r;
        if (listen(a->listen_fd, SOMAXCONN) < 0)
                return negative_errno();
        *ret = TAKE_PTR(a);
        return 0;
}

int monitor_attach_start(MonitorAttach *a)
{
        int fd, r;

        a->started = true;
        fd = a->stdio->io.pty_master >= 0 ? (a->interactive ? a->stdio->io.pty_master : -EBADF)
                                          : a->stdio->io.stdin_fd;
        if (fd >= 0) {
                a->input_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (a->input_fd < 0)
                        return negative_errno();
                (void) fcntl(a->input_fd, F_SETFL, fcntl(a->input_fd, F_GETFL) | O_NONBLOCK);
                r = sd_event_add_io(a->event, &a->input_source, a->input_fd, EPOLLOUT, on_input_writable, a);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_enabled(a->input_source, SD_EVENT_OFF);
        }
        r = sd_event_add_io(a->event, &a->listen_source, a->listen_fd, EPOLLIN, on_connection, a);
        if (r < 0)
                return r;
        /* Clients handed over with "G" (attached before the start) wrote their header before the container
         * existed: it is read here, before the event loop reads any output, or the container's first output
         * could go by while they are not attached yet. Backwards: a client that is dropped leaves the array.
         */
        for (size_t i = a->clients->len; i > 0; i--) {
                Client *c = a->clients->pdata[i - 1];

                r = client_watch(c);
                if (r < 0)
                        return r;
                client_read(c);
        }
        return 0;
}

void monitor_attach_output(MonitorAttach *a, OutputStream stream, const char *data, size_t size)
{
        uint8_t frame[ATTACH_FRAME_HEADER_SIZE] = { stream == OUTPUT_STDERR ? 2 : 1 };

        if (!a || size == 0)
                return;
        frame[4] = (uint8_t) (size >> 24);
        frame[5] = (uint8_t) (size >> 16);
        frame[6] = (uint8_t) (size >> 8);
        frame[7] = (uint8_t) size;
        /* Backwards: a client that is dropped leaves the array under our feet. */
        for (size_t i = a->clients->len; i > 0; i--) {
                Client *c = a->clients->pdata[i - 1];
                if (!c->attached || !(stream == OUTPUT_STDERR ? c->want_stderr : c->want_stdout))
                        continue;
                if (a->tty) {
                        client_queue(c, data, size);
                        continue;
                }
                /* Header and payload in one queue so that a frame is never split by a drop. */
                if (!c->lossless && client_pending(c) + sizeof(frame) + size > CLIENT_QUEUE_MAX) {
                        client_queue(c, data, CLIENT_QUEUE_MAX + 1); /* drops it */
                        continue;
                }
                byte_array_append(c->queue, frame, sizeof(frame));
                client_queue(c, data, size);
        }
}

static int on_finish_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        MonitorAttach *a = userdata;
        bool again = false;

        log_debug("Attached clients did not take the last output in time; closing those that took none.");
        /* Lossless ones that took some of it meanwhile get another round. Backwards: a client that is
         * dropped leaves the array. */
        for (size_t i = a->clients->len; i > 0; i--) {
                Client *c = a->clients->pdata[i - 1];
                if (c->lossless && c->progressed) {
                        c->progressed = false;
                        again = true;
                } else
                        ptr_array_remove(a->clients, c);
        }
        if (again && (sd_event_source_set_time_relative(s, FINISH_TIMEOUT_USEC) < 0 ||
                      sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) < 0))
                ptr_array_set_size(a->clients, 0);
        monitor_exec_drop_all(a->exec);
        attach_maybe_exit(a);
        return 0;
}

void monitor_attach_set_exec(MonitorAttach *a, MonitorExec *exec)
{
        a->exec = exec;
}

void monitor_attach_maybe_exit(MonitorAttach *a)
{
        attach_maybe_exit(a);
}

void monitor_attach_finish(MonitorAttach *a)
{
        a->finishing = true;
        monitor_exec_finish(a->exec);
        /* No new clients: the container is gone, and berthd reads state.json from now on. */
        a->listen_source = sd_event_source_disable_unref(a->listen_source);
        a->listen_fd = safe_close(a->listen_fd);
        (void) unlink(a->path);
        (void) sd_event_add_time_relative(a->event, &a->finish_timer, CLOCK_MONOTONIC, FINISH_TIMEOUT_USEC,
                                          0, on_finish_timeout, a);
        for (size_t i = a->clients->len; i > 0; i--) {
                Client *c = a->clients->pdata[i - 1];
                c->progressed = false; /* the rounds count from the exit */
                if (!c->attached || c->queue->len == c->queue_off)
                        client_drop(c);
                else
                        client_update(c);
        }
        attach_maybe_exit(a);
}

MonitorAttach *monitor_attach_free(MonitorAttach *a)
{
        if (!a)
                return NULL;
        ptr_array_unref(a->clients);
        sd_event_source_disable_unref(a->listen_source);
        sd_event_source_disable_unref(a->input_source);
        sd_event_source_disable_unref(a->finish_timer);
        safe_close(a->listen_fd);
        safe_close(a->input_fd);
        if (a->path)
                (void) unlink(a->path);
        free(a->path);
        byte_array_unref(a->input);
        sd_event_unref(a->event);
        free(a);
        return NULL;
}
