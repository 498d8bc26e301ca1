/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/fd-passing.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/signal-util.h"
#include "shared/spawn-server.h"

/* A server that does not answer within this is taken as stuck: it is killed and the daemon spawns itself. */
#define REPLY_TIMEOUT_SEC 10

typedef struct Reply {
        uint32_t magic; /* the request's */
        int32_t pid;    /* or a negative errno */
} Reply;

bool spawn_server_running(const SpawnServer *s)
{
        return s->fd >= 0 && getpid() == s->owner;
}

int spawn_server_start(SpawnServer *s, const char *path, char *const argv[])
{
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        struct timeval timeout = { .tv_sec = REPLY_TIMEOUT_SEC };
        _cleanup_free_ char **env = NULL;
        pid_t daemon = getpid(), pid;
        size_t n = 0;

        if (s->fd >= 0)
                return -EALREADY;
        /* Every symbol bound once, in the server: with lazy binding each child would resolve the PLT entries
         * it calls again (libc's, for a thread's stack, too), faulting in the pages it writes and reads. The
         * children never exec with this environment: a container's process gets its own. */
        while (environ[n])
                n++;
        env = calloc(n + 2, sizeof(char *));
        if (!env)
                return -ENOMEM;
        memcpy(env, environ, n * sizeof(char *));
        env[n] = (char *) "LD_BIND_NOW=1";
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return negative_errno();
        if (setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                /* Only the socket goes along: the daemon's bus and files are none of the children's
                 * business. */
                reset_signals();
                if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != daemon ||
                    dup2(pair[1], SPAWN_SERVER_FD) < 0)
                        _exit(EXIT_FAILURE);
                (void) close_range(SPAWN_SERVER_FD + 1, ~0U, 0);
                execve(path, argv, env);
                _exit(127);
        }

        s->fd = TAKE_FD(pair[0]);
        s->pid = pid;
        s->owner = daemon;
        log_debug("The %s %s started as PID %i.", s->what, path, pid);
        return 0;
}

void spawn_server_stop(SpawnServer *s)
{
        if (s->fd < 0)
                return;
        s->fd = safe_close(s->fd);
        if (getpid() != s->owner)
                return; /* a child of the owner: the server is not ours to reap */
        /* Our socket's EOF ends it; a stuck one is killed. */
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        s->pid = 0;
}

/* A server that failed once is not trusted again: it is killed and reaped, and we spawn ourselves. */
static int server_failed(SpawnServer *s, int r)
{
        log_warning_errno(r, "The %s failed, making its children directly: %m", s->what);
        (void) kill(s->pid, SIGKILL);
        spawn_server_stop(s);
        return -ECHILD;
}

int spawn_server_request(SpawnServer *s, const void *req, size_t size, const int *fds, size_t n_fds,
                         pid_t *ret_pid)
{
        Reply reply;
        uint32_t magic;
        ssize_t n;
        int r;

        if (!spawn_server_running(s))
                return -ECHILD;
        assert(size >= sizeof(magic) && n_fds <= SPAWN_SERVER_MAX_FDS);
        memcpy(&magic, req, sizeof(magic));

        r = fds_send(s->fd, req, size, fds, n_fds);
        if (r < 0)
                return server_failed(s, r);
        do
                n = recv(s->fd, &reply, sizeof(reply), 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return server_failed(s, negative_errno());
        if (n != (ssize_t) sizeof(reply) || reply.magic != magic)
                return server_failed(s, -EPROTO);
        if (reply.pid < 0)
                return reply.pid; /* the clone failed (e.g. out of PIDs), or the request was refused */
        *ret_pid = reply.pid;
        return 0;
}

pid_t spawn_server_clone_sibling(uint64_t extra_flags)
{
        /* exit_signal must be 0 with CLONE_PARENT: the child gets ours, SIGCHLD. */
        struct clone_args args = { .flags = CLONE_PARENT | extra_flags };

        return (pid_t) syscall(SYS_clone3, &args, sizeof(args));
}

int spawn_server_main(void *req, size_t size, SpawnServeFn serve, SpawnPrepareFn prepare,
                      int fds[static SPAWN_SERVER_MAX_FDS], size_t *ret_n_fds)
{
        pid_t daemon = getppid();

        /* The daemon forked us with the socket at SPAWN_SERVER_FD and PR_SET_PDEATHSIG set (kept across
         * exec). */
        if (fcntl(SPAWN_SERVER_FD, F_GETFD) < 0)
                return -EBADF;

        for (;;) {
                Reply reply = {};
                size_t n_fds = 0;
                int r = prepare ? prepare() : 0;

                if (r < 0)
                        return r;
                ssize_t n = fds_receive(SPAWN_SERVER_FD, req, size, fds, SPAWN_SERVER_MAX_FDS, &n_fds);

                if (n == 0)
                        return 0; /* the daemon closed its end */
                if (n < 0 && n != -EMSGSIZE)
                        return (int) n;
                memcpy(&reply.magic, req, sizeof(reply.magic));
                /* A request that did not fit is refused; its fds are closed as any request's. */
                reply.pid = n == (ssize_t) size ? serve(req, fds, n_fds, daemon) : -EBADMSG;
                if (reply.pid == 0) {
                        /* In serve()'s child: a server that dies must not live on in it. */
                        (void) close(SPAWN_SERVER_FD);
                        *ret_n_fds = n_fds;
                        return 1;
                }
                for (size_t i = 0; i < n_fds; i++)
                        (void) close(fds[i]);
                if (send(SPAWN_SERVER_FD, &reply, sizeof(reply), MSG_NOSIGNAL) != (ssize_t) sizeof(reply))
                        return -EIO;
        }
}
