/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthctl exec: ExecContainer's stream against our stdio (runtime/attach-protocol.h, "EXEC"). The stream is
 * framed both with and without a terminal, and its last frame carries the exit status, which becomes ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "berthctl-attach.h"
#include "berthctl.h"
#include "runtime/attach-protocol.h"
#include "shared/fs-util.h"

typedef struct ExecArgs {
        bool detach, interactive, tty;
        char **env;
        const char *user, *workdir, *detach_keys;
} ExecArgs;

/* Passes on the complete frames in buf; returns the exit status once its frame came, else -1. */
static int deframe(GByteArray *buf)
{
        int status = -1;

        while (buf->len >= ATTACH_FRAME_HEADER_SIZE) {
                const uint8_t *h = buf->data;
                uint32_t n = (uint32_t) h[4] << 24 | (uint32_t) h[5] << 16 | (uint32_t) h[6] << 8 | h[7];
                if (buf->len < ATTACH_FRAME_HEADER_SIZE + (size_t) n)
                        break;
                const uint8_t *p = h + ATTACH_FRAME_HEADER_SIZE;
                if (h[0] == ATTACH_FRAME_EXIT) {
                        char code[16] = {};
                        memcpy(code, p, MIN((size_t) n, sizeof(code) - 1));
                        status = atoi(code);
                } else
                        (void) write_full(h[0] == 2 ? STDERR_FILENO : STDOUT_FILENO, p, n);
                g_byte_array_remove_range(buf, 0, ATTACH_FRAME_HEADER_SIZE + n);
        }
        return status;
}

static void forward_resize(const char *session)
{
        struct winsize ws = {};
        sd_bus *bus;

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0 ||
            bus_get(&bus) < 0)
                return;
        /* Best effort: the process may be ending right now. */
        (void) sd_bus_call_method(bus, "org.berth1", session, "org.berth1.ExecSession", "Resize", NULL, NULL,
                                  "uu", (uint32_t) ws.ws_row, (uint32_t) ws.ws_col);
}

static int exec_session(int sock, const char *session, const ExecArgs *a)
{
        _cleanup_close_ int sfd = -EBADF;
        g_autoptr(GByteArray) frames = g_byte_array_new();
        char keys[DETACH_KEYS_MAX];
        uint8_t out[64 * 1024], in[4096];
        size_t n_keys = 0, matched = 0;
        bool stdin_open = a->interactive, detached = false, raw = false;
        int status = -1;
        sigset_t ss;

        bool use_keys = a->interactive && a->tty && isatty(STDIN_FILENO) &&
                        detach_keys_parse(a->detach_keys, keys, &n_keys) >= 0;
        sigemptyset(&ss);
        sigaddset(&ss, SIGWINCH);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);
        sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
        (void) signal(SIGPIPE, SIG_IGN);
        if (a->tty && a->interactive && isatty(STDIN_FILENO)) {
                terminal_raw();
                raw = true;
        }

        while (status < 0 && !detached) {
                struct pollfd pfd[3] = {
                        { .fd = sock, .events = POLLIN },
                        { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                };
                if (poll(pfd, ELEMENTSOF(pfd), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (pfd[2].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                if (a->tty)
                                        forward_resize(session);
                }
                if (pfd[0].revents) {
                        ssize_t n = read(sock, out, sizeof(out));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        g_byte_array_append(frames, out, (guint) n);
                        status = deframe(frames);
                }
                if (pfd[1].revents) {
                        ssize_t n = read(STDIN_FILENO, in, sizeof(in));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                stdin_open = false;
                                (void) shutdown(sock, SHUT_WR);
                                continue;
                        }
                        uint8_t fwd[sizeof(in) + DETACH_KEYS_MAX];
                        size_t k = 0;
                        for (ssize_t i = 0; i < n && !detached; i++) {
                                if (use_keys && in[i] == (uint8_t) keys[matched]) {
                                        if (++matched == n_keys)
                                                detached = true;
                                        continue;
                                }
                                memcpy(fwd + k, keys, matched);
                                k += matched;
                                matched = 0;
                                if (use_keys && in[i] == (uint8_t) keys[0]) {
                                        matched = 1;
                                        detached = n_keys == 1;
                                        continue;
                                }
                                fwd[k++] = in[i];
                        }
                        if (k > 0 && write_full(sock, fwd, k) < 0)
                                stdin_open = false;
                }
        }
        if (raw)
                terminal_restore();
        if (detached) {
                fprintf(stderr, "read escape sequence\n");
                return EXIT_OK;
        }
        if (status < 0) {
                fprintf(stderr, "The exec session ended without an exit status.\n");
                return EXIT_DAEMON;
        }
        return status;
}

static int exec_open(const char *container, char **command, const ExecArgs *a, int *ret_fd,
                     char **ret_session)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        struct winsize ws = {};
        const char *session;
        int r, fd;

        r = manager_new_call("ExecContainer", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", container);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, command);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}{sv}", "tty", "b", (int) a->tty, "stdin", "b",
                                          (int) a->interactive);
        if (r >= 0 && a->user)
                r = sd_bus_message_append(m, "{sv}", "user", "s", a->user);
        if (r >= 0 && a->workdir)
                r = sd_bus_message_append(m, "{sv}", "workdir", "s", a->workdir);
        if (r >= 0 && a->env) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "env");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, a->env);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && a->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 && ws.ws_row > 0 && ws.ws_col > 0)
                r = sd_bus_message_append(m, "{sv}{sv}", "rows", "u", (uint32_t) ws.ws_row, "columns", "u",
                                          (uint32_t) ws.ws_col);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_bus_error(NULL, r);
        r = manager_call_message(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "ho", &fd, &session);
        if (r < 0)
                return log_bus_error(NULL, r);
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_bus_error(NULL, -errno);
        *ret_session = strdup(session);
        *ret_fd = fd;
        return 0;
}

int verb_exec(int argc, char *argv[])
{
        g_autoptr(GPtrArray) env = g_ptr_array_new();
        _cleanup_free_ char *session = NULL;
        ExecArgs a = {};
        int c, fd = -EBADF, r;

        enum { ARG_DETACH_KEYS = 0x100 };
        static const struct option options[] = {
                { "detach", no_argument, NULL, 'd' },
                { "interactive", no_argument, NULL, 'i' },
                { "tty", no_argument, NULL, 't' },
                { "env", required_argument, NULL, 'e' },
                { "user", required_argument, NULL, 'u' },
                { "workdir", required_argument, NULL, 'w' },
                { "detach-keys", required_argument, NULL, ARG_DETACH_KEYS },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        /* "+": the command's own options are its own. */
        while ((c = getopt_long(argc, argv, "+dite:u:w:h", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        a.detach = true;
                        break;
                case 'i':
                        a.interactive = true;
                        break;
                case 't':
                        a.tty = true;
                        break;
                case 'e':
                        if (!strchr(optarg, '=')) {
                                /* docker's "-e K": the value from our own environment, or nothing. */
                                const char *v = getenv(optarg);
                                if (!v)
                                        break;
                                g_ptr_array_add(env, g_strdup_printf("%s=%s", optarg, v));
                        } else
                                g_ptr_array_add(env, g_strdup(optarg));
                        break;
                case 'u':
                        a.user = optarg;
                        break;
                case 'w':
                        a.workdir = optarg;
                        break;
                case ARG_DETACH_KEYS:
                        if (detach_keys_check(optarg) < 0)
                                return EXIT_USAGE;
                        a.detach_keys = optarg;
                        break;
                case 'h':
                        printf("Usage: berthctl exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
                               "Run a command in a running container.\n\n"
                               "  -d, --detach             Run the command in the background\n"
                               "  -i, --interactive        Send our stdin to the command\n"
                               "  -t, --tty                Give the command a terminal\n"
                               "  -e, --env K=V            Set an environment variable\n"
                               "  -u, --user USER[:GROUP]  Run as this user of the container\n"
                               "  -w, --workdir DIR        Run in this directory of the container\n"
                               "      --detach-keys KEYS   Keys that detach (default ctrl-p,ctrl-q)\n");
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 2 > argc) {
                fprintf(stderr, "berthctl exec: a container and a command are needed.\n");
                return EXIT_USAGE;
        }
        if (a.detach)
                a.interactive = false;
        if (a.tty && a.interactive && !isatty(STDIN_FILENO)) {
                fprintf(stderr, "the input device is not a TTY\n");
                return EXIT_ERROR;
        }
        if (env->len > 0) {
                g_ptr_array_add(env, NULL);
                a.env = (char **) env->pdata;
        }
        r = exec_open(argv[optind], argv + optind + 1, &a, &fd, &session);
        for (char **e = a.env; e && *e; e++)
                g_free(*e);
        if (r < 0)
                return EXIT_ERROR;
        if (a.detach) {
                /* The process goes on without us; its output is dropped, as with docker exec -d. */
                safe_close(fd);
                return EXIT_OK;
        }
        r = exec_session(fd, session, &a);
        safe_close(fd);
        return r;
}
