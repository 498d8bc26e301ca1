/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "berthctl-attach.h"
#include "berthctl-container.h"
#include "berthctl-exit-watch.h"
#include "berthctl.h"
#include "shared/berth-errors.h"
#include "shared/fs-util.h"

/* The client side of AttachContainer: berthd hands us a socket to the container's monitor, and we pump it
 * against our own stdio, as docker's CLI does against its attach stream (runtime/attach-protocol.h). */

#define DEFAULT_DETACH_KEYS "ctrl-p,ctrl-q"

/* Docker's grammar: comma-separated keys, each a single character or "ctrl-" plus one of a-z @ [ \ ] ^ _. */
int detach_keys_parse(const char *spec, char ret[static DETACH_KEYS_MAX], size_t *ret_n)
{
        g_auto(GStrv) keys = g_strsplit(spec ?: DEFAULT_DETACH_KEYS, ",", -1);
        size_t n = 0;

        for (char **k = keys; *k; k++) {
                const char *c = startswith(*k, "ctrl-");
                if (n >= DETACH_KEYS_MAX)
                        return -EINVAL;
                if (c && strlen(c) == 1 && ((*c >= 'a' && *c <= 'z') || strchr("@[\\]^_", *c)))
                        ret[n++] = (char) (*c == '@' ? 0 : (*c & 0x1f));
                else if (!c && strlen(*k) == 1)
                        ret[n++] = **k;
                else
                        return -EINVAL;
        }
        if (n == 0)
                return -EINVAL;
        *ret_n = n;
        return 0;
}

int detach_keys_check(const char *keys)
{
        char k[DETACH_KEYS_MAX];
        size_t n;

        if (detach_keys_parse(keys, k, &n) < 0) {
                fprintf(stderr, "Invalid detach keys '%s': use e.g. ctrl-p,ctrl-q or ctrl-a,x.\n", keys);
                return -EINVAL;
        }
        return 0;
}

int attach_check_tty(const AttachParams *p)
{
        if (p->tty && p->want_stdin && !isatty(STDIN_FILENO)) {
                fprintf(stderr, "the input device is not a TTY\n");
                return -ENOTTY;
        }
        return 0;
}

static int attach_call(const char *name_or_id, const AttachParams *p, bool lossless, sd_bus_error *error,
                       sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        struct winsize ws = {};
        int r;

        r = manager_new_call("AttachContainer", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name_or_id);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}{sv}{sv}", "stdin", "b", (int) p->want_stdin, "stdin_once",
                                          "b", (int) p->stdin_once, "before_start", "b",
                                          (int) p->before_start);
        if (r >= 0 && lossless)
                r = sd_bus_message_append(m, "{sv}", "lossless", "b", 1);
        /* The size goes with the attach, so a shell started by `run -ti` draws at the right width at once.
         */
        if (r >= 0 && p->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 && ws.ws_row > 0 && ws.ws_col > 0)
                r = sd_bus_message_append(m, "{sv}{sv}", "rows", "u", (uint32_t) ws.ws_row, "columns", "u",
                                          (uint32_t) ws.ws_col);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return manager_call_message_quiet(m, error, ret_reply);
}

int attach_open(const char *name_or_id, const AttachParams *p, int *ret_fd)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r, fd;

        r = attach_call(name_or_id, p, p->lossless, &error, &reply);
        /* berthd grants a lossless stream to the container's creator (and root) only, and says so before
         * it asks polkit anything: start -a of someone else's container takes an ordinary one. */
        if (r < 0 && p->lossless && sd_bus_error_has_name(&error, SD_BUS_ERROR_ACCESS_DENIED) &&
            strstr(strempty(error.message), "'lossless'")) {
                sd_bus_error_free(&error);
                r = attach_call(name_or_id, p, false, &error, &reply);
        }
        if (r < 0)
                return log_bus_error(&error, r);
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return log_bus_error(NULL, r);
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* the reply owns its copy */
        if (fd < 0)
                return log_bus_error(NULL, -errno);
        *ret_fd = fd;
        return 0;
}

static struct termios saved_termios;
static bool termios_saved;

void terminal_restore(void)
{
        if (termios_saved)
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
        termios_saved = false;
}

void terminal_raw(void)
{
        struct termios t;

        if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return;
        termios_saved = true;
        /* Also when exit() is called from somewhere we did not foresee. */
        static bool registered;
        if (!registered)
                (void) atexit(terminal_restore);
        registered = true;
        t = saved_termios;
        cfmakeraw(&t);
        (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &t);
}

static void forward_resize(const char *name_or_id)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct winsize ws = {};
        sd_bus *bus;

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0 ||
            bus_get(&bus) < 0)
                return;
        /* Best effort: the container may be ending right now. */
        (void) sd_bus_call_method(bus, "org.berth1", "/org/berth1", "org.berth1.Manager", "ResizeContainer",
                                  &error, NULL, "suu", name_or_id, (uint32_t) ws.ws_row,
                                  (uint32_t) ws.ws_col);
}

static void forward_signal(const char *name_or_id, int sig)
{
        sd_bus *bus;

        if (bus_get(&bus) >= 0)
                (void) sd_bus_call_method(bus, "org.berth1", "/org/berth1", "org.berth1.Manager",
                                          "KillContainer", NULL, NULL, "si", name_or_id, sig);
}

/* The signals attach takes from its signalfd: WINCH resizes the container's terminal, the others go to the
 * container, as docker's --sig-proxy does. */
static const int proxied_signals[] = { SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

typedef struct SignalProxy {
        const char *name_or_id;
        int sfd;
        unsigned interrupts; /* SIGINTs received */
} SignalProxy;

/* A container's init ignores the signals it has no handler for: the third ctrl-c is not forwarded but ends
 * our wait, so the user is not trapped with it. */
#define INTERRUPTS_TO_GIVE_UP 3

static bool gave_up(const SignalProxy *s)
{
        return s->interrupts >= INTERRUPTS_TO_GIVE_UP;
}

static void signals_forward(SignalProxy *s)
{
        struct signalfd_siginfo si;

        while (!gave_up(s) && read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGWINCH)
                        forward_resize(s->name_or_id);
                else if (si.ssi_signo != SIGINT || ++s->interrupts < INTERRUPTS_TO_GIVE_UP)
                        forward_signal(s->name_or_id, (int) si.ssi_signo);
        }
}

/* Writes all of data to fd, forwarding signals while fd will not take more: the signals are blocked for the
 * signalfd, so a reader that stalls (a pager on hold, a full pipe; a monitor that takes no input) would
 * otherwise keep a ctrl-c or a kill from the container until it drained. After POLLOUT a pipe takes PIPE_BUF
 * bytes without blocking, even where its write end is a blocking one, and a Unix socket far more. */
static int write_forwarding_signals(SignalProxy *s, int fd, const char *data, size_t size)
{
        while (size > 0 && !gave_up(s)) {
                struct pollfd pfd[2] = {
                        { .fd = fd, .events = POLLOUT },
                        { .fd = s->sfd, .events = POLLIN },
                };
                if (poll(pfd, ELEMENTSOF(pfd), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pfd[1].revents)
                        signals_forward(s);
                if (!pfd[0].revents)
                        continue;
                ssize_t n = write(fd, data, MIN(size, (size_t) PIPE_BUF));
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                data += n;
                size -= (size_t) n;
        }
        return 0;
}

/* Without a terminal the stream is framed: [stream, 0, 0, 0, len BE32] payload. Partial frames wait. */
typedef struct Deframer {
        char buf[64 * 1024 + 8];
        size_t len;
} Deframer;

/* Writes what whole or partial frames data completes to our stdout and stderr: 0, or -EPIPE once our reader
 * is gone. Other write errors (a full disk) lose that output only, as with docker's CLI, and the frames stay
 * in step. */
static int deframe(Deframer *d, SignalProxy *s, const char *data, size_t size)
{
        while (size > 0) {
                size_t take = MIN(size, sizeof(d->buf) - d->len);
                memcpy(d->buf + d->len, data, take);
                d->len += take;
                data += take;
                size -= take;
                for (;;) {
                        if (d->len < 8)
                                break;
                        uint32_t n = (uint32_t) (uint8_t) d->buf[4] << 24 |
                                     (uint32_t) (uint8_t) d->buf[5] << 16 |
                                     (uint32_t) (uint8_t) d->buf[6] << 8 | (uint8_t) d->buf[7];
                        size_t have = d->len - 8, chunk = MIN((size_t) n, have);
                        if (chunk == 0 && n > 0)
                                break;
                        int r = write_forwarding_signals(s, d->buf[0] == 2 ? STDERR_FILENO : STDOUT_FILENO,
                                                         d->buf + 8, chunk);
                        if (r == -EPIPE)
                                return r;
                        if (chunk < n) {
                                /* Long frame: pass on what we have, keep the header for the rest. */
                                uint32_t left = n - (uint32_t) chunk;
                                d->buf[4] = (char) (left >> 24), d->buf[5] = (char) (left >> 16);
                                d->buf[6] = (char) (left >> 8), d->buf[7] = (char) left;
                                d->len = 8;
                                break;
                        }
                        memmove(d->buf, d->buf + 8 + n, d->len - 8 - n);
                        d->len -= 8 + n;
                }
        }
        return 0;
}

/* How long the stream's end may come before the exit is known: the monitor exits right after it, and berthd
 * records the exit as soon as it is gone. */
#define EXIT_ANSWER_TIMEOUT_USEC (30 * USEC_PER_SEC)

static int exit_code_of(const ExitWatch *w)
{
        if (w->exited)
                return w->exit_code;
        fprintf(stderr, "Error: the container was removed before its exit code could be read.\n");
        return EXIT_DAEMON;
}

/* After the stream's end: the Wait's answer. Without one (berthd restarted meanwhile, and its answer is
 * lost), a fresh Wait: the new berthd answers it once it has recorded the exit, or at once if it has. */
static int wait_exit_code(const char *name_or_id, ExitWatch *watch)
{
        _cleanup_(exit_watch_done) ExitWatch again = {};

        if (!exit_watch_poll(watch, monotonic_usec() + EXIT_ANSWER_TIMEOUT_USEC, true)) {
                /* A client that let 4 MiB of output wait was dropped (not a lossless one): its stream ended
                 * while the container runs on. */
                fprintf(stderr, "The stream ended but the container is still running.\n");
                return EXIT_DAEMON;
        }
        if (watch->exited || watch->gone)
                return exit_code_of(watch);
        if (exit_watch_send(&again, name_or_id, false) >= 0 &&
            exit_watch_poll(&again, monotonic_usec() + EXIT_ANSWER_TIMEOUT_USEC, true) &&
            (again.exited || again.gone))
                return exit_code_of(&again);
        fprintf(stderr, "Error: berthd did not tell the container's exit code.\n");
        return EXIT_DAEMON;
}

/* One attached session: the stream against our stdio. Input goes out only as the socket takes it, while
 * output goes on being read: a container that is held for its output (a lossless stream) cannot take input
 * until its output is read, and writing input until the socket took it would deadlock with it. */
typedef struct Session {
        SignalProxy proxy;
        int sock;
        Deframer *deframer; /* without a terminal */
        char keys[DETACH_KEYS_MAX];
        size_t n_keys, matched;
        bool use_keys;
        bool stdin_open; /* our stdin is still read */
        bool shut_input; /* our stdin ended: shut the stream for writing once pending is out */
        char pending[4096 + DETACH_KEYS_MAX]; /* read from stdin, not yet taken by the stream */
        size_t pending_len;
        bool detached;    /* by the detach keys */
        bool broken_pipe; /* our own output's reader is gone */
} Session;

/* Reads output from the stream. 0 while it is open, 1 at its end, or the error. */
static int session_output(Session *x)
{
        char out[64 * 1024];
        ssize_t n;
        int r;

        n = read(x->sock, out, sizeof(out));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        /* The container ended (or its monitor dropped us). A monitor that closes with input of ours unread
         * (the container's stdin full, or the container gone) resets the stream after its last output. */
        if (n == 0 || (n < 0 && errno == ECONNRESET))
                return 1;
        if (n < 0)
                return -errno;
        r = x->deframer ? deframe(x->deframer, &x->proxy, out, (size_t) n)
                        : write_forwarding_signals(&x->proxy, STDOUT_FILENO, out, (size_t) n);
        /* Other write errors (a full disk) lose that output only, as docker's CLI does. */
        x->broken_pipe = r == -EPIPE;
        return 0;
}

/* Passes typed bytes on to pending, but for the detach keys. */
static void session_take_input(Session *x, const char *in, size_t n)
{
        for (size_t i = 0; i < n && !x->detached; i++) {
                if (x->use_keys && in[i] == x->keys[x->matched]) {
                        if (++x->matched == x->n_keys)
                                x->detached = true;
                        continue;
                }
                /* A partial sequence was not one: it is passed on, as typed. */
                memcpy(x->pending + x->pending_len, x->keys, x->matched);
                x->pending_len += x->matched;
                x->matched = 0;
                if (x->use_keys && in[i] == x->keys[0]) {
                        x->matched = 1;
                        if (x->n_keys == 1)
                                x->detached = true;
                        continue;
                }
                x->pending[x->pending_len++] = in[i];
        }
}

static void session_input(Session *x)
{
        char in[4096];
        ssize_t n;

        n = read(STDIN_FILENO, in, sizeof(in));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) {
                /* Our input ended: the monitor closes the container's stdin if stdin_once. */
                x->stdin_open = false;
                x->shut_input = true;
                return;
        }
        session_take_input(x, in, (size_t) n);
}

/* Sends what the stream takes now of pending input. */
static void session_flush_input(Session *x)
{
        while (x->pending_len > 0) {
                ssize_t n = send(x->sock, x->pending, x->pending_len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n < 0) {
                        /* The monitor takes no more input: ours goes nowhere from now on. */
                        x->stdin_open = false;
                        x->pending_len = 0;
                        break;
                }
                memmove(x->pending, x->pending + n, x->pending_len - (size_t) n);
                x->pending_len -= (size_t) n;
        }
        if (x->shut_input) {
                (void) shutdown(x->sock, SHUT_WR);
                x->shut_input = false;
        }
}

/* Pumps the stream until it ends, we detach or give up, or our output's reader is gone. */
static int session_run(Session *x)
{
        while (!gave_up(&x->proxy) && !x->detached && !x->broken_pipe) {
                struct pollfd pfd[3] = {
                        { .fd = x->sock, .events = POLLIN | (x->pending_len > 0 ? POLLOUT : 0) },
                        { .fd = x->stdin_open && x->pending_len == 0 ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = x->proxy.sfd, .events = POLLIN },
                };
                int r;

                if (poll(pfd, ELEMENTSOF(pfd), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pfd[2].revents)
                        signals_forward(&x->proxy);
                if (pfd[0].revents & POLLOUT)
                        session_flush_input(x);
                if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        r = session_output(x);
                        if (r != 0)
                                return r < 0 ? r : 0;
                }
                if (pfd[1].revents) {
                        session_input(x);
                        session_flush_input(x);
                }
        }
        return 0;
}

int attach_session(const char *name_or_id, int fd, const AttachParams *p, ExitWatch *watch,
                   bool *ret_detached)
{
        _cleanup_(exit_watch_done) ExitWatch own_watch = {};
        _cleanup_close_ int sfd = -EBADF, sock = fd;
        _cleanup_free_ Deframer *deframer = NULL;
        bool raw = false;
        sigset_t ss;
        int r;

        if (!watch) {
                watch = &own_watch;
                (void) exit_watch_send(watch, name_or_id, false);
        }
        sigemptyset(&ss);
        for (size_t i = 0; i < ELEMENTSOF(proxied_signals); i++)
                sigaddset(&ss, proxied_signals[i]);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);
        sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
        (void) signal(SIGPIPE, SIG_IGN);
        if (!p->tty) {
                deframer = calloc(1, sizeof(*deframer));
                if (!deframer)
                        return EXIT_DAEMON;
        }
        Session x = {
                .proxy = { .name_or_id = name_or_id, .sfd = sfd },
                .sock = sock,
                .deframer = deframer,
                .stdin_open = p->want_stdin,
        };
        /* Detach keys only from a terminal: piped bytes that happen to be ctrl-p ctrl-q are data. */
        x.use_keys = p->want_stdin && isatty(STDIN_FILENO) &&
                     detach_keys_parse(p->detach_keys, x.keys, &x.n_keys) >= 0;

        if (p->tty && isatty(STDIN_FILENO)) {
                terminal_raw();
                raw = true;
        }
        r = session_run(&x);
        if (raw)
                terminal_restore();

        *ret_detached = x.detached || gave_up(&x.proxy) || x.broken_pipe;
        if (x.detached) {
                fprintf(stderr, "read escape sequence\n");
                return EXIT_OK;
        }
        if (gave_up(&x.proxy)) {
                fprintf(stderr,
                        "berthctl: no longer waiting; the container keeps running ('berthctl stop %.12s' "
                        "stops "
                        "it).\n",
                        name_or_id);
                return 128 + SIGINT;
        }
        if (x.broken_pipe)
                /* As a process writing into a pipe whose reader is gone: the container goes on, unread. */
                return 128 + SIGPIPE;
        if (r < 0) {
                fprintf(stderr, "Attach failed: %s\n", strerror(-r));
                return EXIT_DAEMON;
        }
        return wait_exit_code(name_or_id, watch);
}

int verb_attach(int argc, char *argv[])
{
        _cleanup_(container_info_done) ContainerInfo info = {};
        AttachParams p = { .want_stdin = true };
        bool detached;
        int c, fd, r;

        enum { ARG_DETACH_KEYS = 0x100, ARG_NO_STDIN, ARG_SIG_PROXY };
        static const struct option options[] = { { "detach-keys", required_argument, NULL, ARG_DETACH_KEYS },
                                                 { "no-stdin", no_argument, NULL, ARG_NO_STDIN },
                                                 { "help", no_argument, NULL, 'h' },
                                                 {} };
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_DETACH_KEYS:
                        if (detach_keys_check(optarg) < 0)
                                return EXIT_USAGE;
                        p.detach_keys = optarg;
                        break;
                case ARG_NO_STDIN:
                        p.want_stdin = false;
                        break;
                case 'h':
                        printf("Usage: berthctl attach [OPTIONS] CONTAINER\n\n"
                               "Attach to a running container's terminal or output.\n\n"
                               "      --detach-keys KEYS   Keys that detach (default ctrl-p,ctrl-q)\n"
                               "      --no-stdin           Do not send our input\n");
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "berthctl attach: one container is needed.\n");
                return EXIT_USAGE;
        }
        if (container_lookup(argv[optind], &info) < 0)
                return EXIT_ERROR;
        if (!streq_ptr(info.state, "running")) {
                fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
                return EXIT_ERROR;
        }
        p.tty = info.tty;
        p.want_stdin = p.want_stdin && info.interactive;
        if (attach_check_tty(&p) < 0)
                return EXIT_ERROR;
        r = attach_open(info.id, &p, &fd);
        if (r < 0)
                return EXIT_ERROR;
        return attach_session(info.id, fd, &p, NULL, &detached);
}
