/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * berth-monitor: one per running container, in the container's scope (monitor-protocol.h has the protocol
 * with berthd). It exists so that containers outlive a restart or crash of berthd: it lives in the
 * container's scope, not in berthd.service, and berthd re-adopts it when it starts again (the model is
 * systemd-nspawn's and podman's conmon split; docs/architecture.md). It
 *   - waits for berthd's go on the sync socket, so that it is inside the scope before the container exists;
 *   - clones the container (container-spawn.h) and reports "S<pid>" or "E<code> <message>";
 *   - keeps state.json current (running, then exited), so the outcome survives a berthd that is down;
 *   - holds the container's terminal or pipes and forwards output to journald (monitor-stdio.h) and to
 *     attached clients (monitor-attach.h, runtime/attach-protocol.h);
 *   - starts and serves exec sessions, its own children in the container (monitor-exec.h);
 *   - outlives SIGTERM/SIGINT/SIGHUP: `systemctl stop` signals the whole scope, and it is the container's
 * init that decides what they mean. Its end is the container's end.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "monitor/monitor-attach.h"
#include "monitor/monitor-exec.h"
#include "monitor/monitor-journal.h"
#include "monitor/monitor-server.h"
#include "monitor/monitor-stdio.h"
#include "runtime/container-spawn.h"
#include "runtime/attach-protocol.h"
#include "runtime/container-state.h"
#include "runtime/monitor-protocol.h"
#include "runtime/run-spec.h"
#include "shared/fd-passing.h"
#include "shared/fs-util.h"
#include "shared/log.h"

typedef struct Monitor {
        RunSpec *spec;
        ContainerPrep prep;
        sd_event *event;
        JournalWriter *journal;
        MonitorStdio stdio;
        MonitorAttach *attach;
        MonitorExec *exec;
        sd_event_source *child;
        pid_t pid;
        uint64_t started_usec;
} Monitor;

static uint64_t now_usec(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static int send_reply(const char *format, ...) _printf_(1, 2);
static int send_reply(const char *format, ...)
{
        char buf[MONITOR_MSG_MAX];
        va_list ap;
        int n;

        va_start(ap, format);
        n = vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        /* A long message is cut to one packet rather than not sent. */
        if (send(MONITOR_SYNC_FD, buf, MIN((size_t) n, sizeof(buf) - 1), MSG_NOSIGNAL) < 0)
                return log_warning_errno(errno, "Cannot answer berthd on the sync socket: %m");
        return 0;
}

/* Blocks until berthd says go. 1 for go, 0 when berthd gave up (EOF), negative on error. The "G" may carry
 * attach connections made before the start (attach-protocol.h); they become clients of attach. */
static int wait_for_go(MonitorAttach *attach)
{
        char buf[MONITOR_MSG_MAX];
        int fds[ATTACH_PENDING_MAX];
        size_t n_fds;
        ssize_t n;

        n = fds_receive(MONITOR_SYNC_FD, buf, sizeof(buf), fds, ATTACH_PENDING_MAX, &n_fds);
        for (size_t i = 0; i < n_fds; i++) {
                if (attach)
                        (void) monitor_attach_add_client(attach, fds[i]);
                else
                        safe_close(fds[i]);
        }
        if (n < 0)
                return log_error_errno(n, "Cannot read the sync socket: %m");
        if (n == 0)
                return 0;
        if ((size_t) n != strlen(MONITOR_MSG_GO) || memcmp(buf, MONITOR_MSG_GO, (size_t) n) != 0)
                return log_error_errno(EPROTO, "Unexpected message on the sync socket.");
        return 1;
}

static int save_exited(Monitor *m, int exit_code, int exit_signal, const char *error)
{
        ContainerState s = {
                .status = CONTAINER_EXITED,
                .started_usec = m->started_usec,
                .finished_usec = now_usec(),
                .exit_code = exit_code,
                .exit_signal = exit_signal,
                .error = (char *) error,
        };
        int r;

        r = container_state_save_flags(m->spec->state_file, &s,
                                       m->spec->state_unsynced ? WRITE_FILE_NO_SYNC : 0);
        if (r < 0)
                return log_error_errno(r, "Cannot record the exit of container '%s' in '%s': %m",
                                       m->spec->name, m->spec->state_file);
        return 0;
}

static int on_container_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        Monitor *m = userdata;
        int exit_code, exit_signal = 0;

        /* Docker's convention: the status, or 128+N after signal N. */
        if (si->si_code == CLD_EXITED)
                exit_code = si->si_status;
        else {
                exit_signal = si->si_status;
                exit_code = 128 + exit_signal;
        }
        log_debug("Container '%s' (pid %d) exited with code %d.", m->spec->name, (int) m->pid, exit_code);

        /* The pid namespace died with its init, so the output writers are gone; take what they left. */
        monitor_stdio_drain(&m->stdio);
        (void) save_exited(m, exit_code, exit_signal, NULL);
        /* Last, and through the same journal connection as the output: a reader that sees it has seen all.
         */
        (void) journal_writer_send_exit(m->journal, exit_code, exit_signal);
        /* Attached clients get the last output, then their connections close; then we exit. */
        if (m->attach) {
                monitor_attach_finish(m->attach);
                return 0;
        }
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void on_exec_idle(void *userdata)
{
        Monitor *m = userdata;

        if (m->attach)
                monitor_attach_maybe_exit(m->attach);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        log_debug("Ignoring signal %s for the monitor; the container's init gets its own.",
                  strsignal((int) si->ssi_signo));
        return 0;
}

static int start_container(Monitor *m, int *ret_pidfd, ContainerStdio *ret_io)
{
        _cleanup_berth_error_ BerthError error = BERTH_ERROR_INIT;
        int r, exit_code = 0;

        r = container_spawn(m->spec, &m->prep, &error, &m->pid, ret_pidfd, ret_io, &exit_code);
        if (r < 0) {
                log_error("Container '%s' failed to start: %s", m->spec->name, strna(error.message));
                (void) save_exited(m, exit_code, 0, error.message);
                (void) send_reply("E%d %s", exit_code, strna(error.message));
                return r;
        }

        m->started_usec = now_usec();
        ContainerState s = {
                .status = CONTAINER_RUNNING,
                .monitor_pid = getpid(),
                .pid = m->pid,
                .started_usec = m->started_usec,
        };
        /* Not synced: no power loss outlives the running container, and the record of its exit is. */
        r = container_state_save_flags(m->spec->state_file, &s, WRITE_FILE_NO_SYNC);
        if (r < 0) {
                /* berthd must be able to trust "S": a container it cannot see as running must not run. */
                log_error_errno(r, "Cannot record container '%s' as running: %m", m->spec->name);
                (void) kill(m->pid, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) *ret_pidfd, &(siginfo_t){}, WEXITED);
                container_stdio_close(ret_io);
                *ret_pidfd = safe_close(*ret_pidfd);
                (void) save_exited(m, 125, 0, "cannot write the container state");
                (void) send_reply("E125 cannot write the container state: %s", strerror(-r));
                return r;
        }
        return send_reply("S%d", (int) m->pid);
}

static int run(Monitor *m)
{
        _cleanup_close_ int pidfd = -EBADF;
        ContainerStdio io = CONTAINER_STDIO_INIT;
        int r;

        r = sd_event_new(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        r = journal_writer_new(m->spec, m->event, &m->journal);
        if (r < 0)
                return log_oom();

        /* Listening before the container exists: a client can connect as soon as berthd has seen "S". */
        r = isempty(m->spec->attach_socket)
                    ? 0
                    : monitor_attach_new(m->event, &m->stdio, m->spec->attach_socket, m->spec->tty,
                                         m->spec->interactive, &m->attach);
        if (r < 0)
                log_warning_errno(
                        r, "Cannot listen on '%s'; container '%s' cannot be attached to, ignoring: %m",
                        m->spec->attach_socket, m->spec->name);

        /* Made while systemd makes the scope, unless the previous run may still be on the writable layer;
         * a failure is reported after the go. */
        if (!m->spec->prepare_after_go)
                container_prep_make(m->spec, &m->prep);

        r = wait_for_go(m->attach);
        if (r <= 0) {
                log_full_errno(r < 0 ? LOG_ERR : LOG_INFO, 0,
                               "berthd gave up on container '%s'; not starting it.", m->spec->name);
                return -ECANCELED;
        }
        if (m->spec->prepare_after_go)
                container_prep_make(m->spec, &m->prep);

        r = start_container(m, &pidfd, &io);
        /* Answered: what is unmade here no longer delays the start. */
        container_prep_release(&m->prep);
        (void) close(MONITOR_SYNC_FD);
        if (r < 0)
                return 0; /* reported to berthd and recorded: a start failure is no monitor failure */

        r = monitor_stdio_start(&m->stdio, m->event, &io, m->journal, m->spec->tty);
        if (r < 0)
                log_warning_errno(r, "Cannot forward the output of container '%s', ignoring: %m",
                                  m->spec->name);
        if (m->attach) {
                m->stdio.attach = m->attach;
                r = monitor_attach_start(m->attach);
                if (r < 0)
                        log_warning_errno(r, "Cannot serve attach for container '%s', ignoring: %m",
                                          m->spec->name);
        }

        r = sd_event_add_child_pidfd(m->event, &m->child, pidfd, WEXITED, on_container_exit, m);
        if (r < 0) {
                /* Without this source nobody would ever record the exit; better no container than a lost
                 * one. */
                (void) kill(m->pid, SIGKILL);
                return log_error_errno(r, "Cannot watch container '%s': %m", m->spec->name);
        }
        (void) sd_event_source_set_child_pidfd_own(m->child, true);
        if (m->attach) {
                r = monitor_exec_new(m->event, m->spec, pidfd, on_exec_idle, m, &m->exec);
                if (r < 0)
                        log_warning_errno(r, "Cannot serve exec for container '%s', ignoring: %m",
                                          m->spec->name);
                else
                        monitor_attach_set_exec(m->attach, m->exec);
        }
        pidfd = -EBADF;
        /* Output sources run first, so the exit handler finds as little as possible left to drain. */
        (void) sd_event_source_set_priority(m->child, SD_EVENT_PRIORITY_IDLE);

        /* Blocked in main() already; sources only so that they are consumed and logged. */
        static const int ignored[] = { SIGTERM, SIGINT, SIGHUP };
        for (size_t i = 0; i < ELEMENTSOF(ignored); i++) {
                r = sd_event_add_signal(m->event, NULL, ignored[i], on_signal, m);
                if (r < 0)
                        log_warning_errno(r, "Cannot handle %s, ignoring: %m", strsignal(ignored[i]));
        }

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}

static void monitor_done(Monitor *m)
{
        m->stdio.attach = NULL;
        m->attach = monitor_attach_free(m->attach);
        m->exec = monitor_exec_free(m->exec);
        monitor_stdio_done(&m->stdio);
        m->child = sd_event_source_unref(m->child);
        m->journal = journal_writer_free(m->journal);
        m->event = sd_event_unref(m->event);
        m->spec = run_spec_free(m->spec);
}

static int parse_argv(int argc, char *argv[], const char **ret_spec, bool *ret_serve)
{
        static const struct option options[] = {
                { "spec", required_argument, NULL, 's' },
                { "serve", no_argument, NULL, 'S' },
                {},
        };
        int c;

        *ret_spec = NULL;
        *ret_serve = false;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        *ret_spec = optarg;
                        break;
                case 'S':
                        *ret_serve = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (!*ret_spec == !*ret_serve || optind < argc)
                return log_error_errno(EINVAL,
                                       "Usage: berth-monitor --spec=PATH (with the sync socket on fd 3), "
                                       "or berth-monitor --serve (started by berthd)");
        return 0;
}

int main(int argc, char *argv[])
{
        Monitor m = { .prep = CONTAINER_PREP_INIT, .stdio.io = CONTAINER_STDIO_INIT };
        const char *spec_path;
        struct stat st;
        bool serve;
        sigset_t ss;
        int r;

        log_parse_environment();
        if (parse_argv(argc, argv, &spec_path, &serve) < 0)
                return EXIT_FAILURE;
        if (serve) {
                /* Returns in each monitor cloned from here, which goes on below. */
                r = monitor_serve(&spec_path);
                if (r == -EBADF)
                        log_error("berth-monitor --serve is started by berthd only.");
                else if (r < 0)
                        log_error_errno(r, "Failed to serve: %m");
                if (r <= 0)
                        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
                /* A monitor: its command line (ps, systemctl status) reads "berth-monitor", not the
                 * server's. Root may not have CAP_SYS_RESOURCE to point it elsewhere (PR_SET_MM): the
                 * clone's own copy of the words is blanked instead. */
                for (int i = 1; i < argc; i++)
                        memset(argv[i], 0, strlen(argv[i]));
        }

        /* Our own session: a terminal berthd (or a shell, in tests) might have must not reach us. */
        (void) setsid();
        if (fstat(MONITOR_SYNC_FD, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                log_error("fd %d is not the sync socket.", MONITOR_SYNC_FD);
                return EXIT_FAILURE;
        }
        /* It must not leak into the container (the child marks everything CLOEXEC anyway). */
        (void) fcntl(MONITOR_SYNC_FD, F_SETFD, FD_CLOEXEC);
        if (chdir("/") < 0)
                return EXIT_FAILURE;

        /* Before anything forks: sd-event needs these blocked, and a gone attach client must not kill us. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);
        (void) signal(SIGPIPE, SIG_IGN);

        r = run_spec_load(spec_path, &m.spec);
        if (r < 0) {
                log_error_errno(r, "Cannot load the run spec '%s': %m", spec_path);
                (void) send_reply("E125 cannot load the run spec: %s", strerror(-r));
                return EXIT_FAILURE;
        }

        r = run(&m);
        monitor_done(&m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
