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
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/signal-util.h"
#include "store/fork-server.h"
#include "store/layer-extract-child.h"
#include "store/layer-extract.h"

#define REQUEST_MAGIC UINT32_C(0x4b524f46) /* "FORK" */
#define MAX_FDS       4
#define SERVER_FD     3 /* the server's end of the socket, in the server */
/* A server that does not answer within this is taken as stuck: it is killed and the daemon forks itself. */
#define REPLY_TIMEOUT_SEC 10

typedef enum JobKind {
        JOB_EXTRACT,
        JOB_SYNCFS,
        JOB_REMOVE_ENTRIES,
} JobKind;

typedef struct Request {
        uint32_t magic;
        uint32_t kind;
        /* extract: input, destination, result[, record]; syncfs: the filesystem's fd; remove entries: the
         * directories */
        uint32_t n_fds;
        uint32_t sync;
        uint64_t max_layer_size, max_layer_entries;
        char prefixes[MAX_FDS][FORK_SERVER_PREFIX_MAX]; /* remove entries: per directory, "" for all */
} Request;

typedef struct Reply {
        uint32_t magic;
        int32_t pid; /* or a negative errno */
} Reply;

static int server_fd = -EBADF;
static pid_t server_pid;
static pid_t server_owner; /* the process that started it: the only one whose children it may make */

bool fork_server_running(void)
{
        return server_fd >= 0 && getpid() == server_owner;
}

/* The new child's parent is our parent (the daemon). exit_signal must be 0 with CLONE_PARENT: the child
 * gets ours, SIGCHLD. No CLONE_VM, so the child runs on a copy of our stack, as after fork(); the server is
 * single-threaded, so no atfork state is missed. */
static pid_t clone_sibling(void)
{
        struct clone_args args = { .flags = CLONE_PARENT };

        return (pid_t) syscall(SYS_clone3, &args, sizeof(args));
}

_Noreturn static void run_syncfs(int fd)
{
        (void) close(SERVER_FD); /* a server that dies must not live on in its children */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        _exit(syncfs(fd) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* Deleting a big tree competes with extraction for the ext4 journal: at nice 10. */
_Noreturn static void run_remove_entries(const int *fds, size_t n_fds, const Request *req)
{
        int r = 0;

        (void) close(SERVER_FD);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        (void) nice(10);
        for (size_t i = 0; i < n_fds; i++)
                if (remove_entries_at(fds[i], req->prefixes[i]) < 0)
                        r = -EIO;
        _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

static bool prefixes_valid(const Request *req, size_t n_fds)
{
        for (size_t i = 0; i < n_fds; i++)
                if (!memchr(req->prefixes[i], 0, sizeof(req->prefixes[i])) || strchr(req->prefixes[i], '/'))
                        return false;
        return true;
}

static pid_t serve(const Request *req, const int *fds, size_t n_fds, pid_t daemon)
{
        pid_t pid;

        if (req->magic != REQUEST_MAGIC || req->n_fds != n_fds)
                return -EBADMSG;
        if (!(req->kind == JOB_EXTRACT && (n_fds == 3 || n_fds == 4)) &&
            !(req->kind == JOB_SYNCFS && n_fds == 1) &&
            !(req->kind == JOB_REMOVE_ENTRIES && n_fds >= 1 && prefixes_valid(req, n_fds)))
                return -EBADMSG;
        pid = clone_sibling();
        if (pid < 0)
                return negative_errno();
        if (pid > 0)
                return pid;

        if (req->kind == JOB_SYNCFS)
                run_syncfs(fds[0]);
        if (req->kind == JOB_REMOVE_ENTRIES)
                run_remove_entries(fds, n_fds, req);
        layer_extract_set_limits(req->max_layer_size, req->max_layer_entries);
        layer_extract_child_main(fds[0], fds[1], fds[2], n_fds == 4 ? fds[3] : -EBADF, req->sync, daemon);
}

/* The bytes' count (sizeof(Request) when whole), 0 at EOF, negative on error; a request that did not fit is
 * answered with -EBADMSG (its fds are closed as any request's). */
static ssize_t receive_request(int sock, Request *req, int fds[static MAX_FDS], size_t *ret_n_fds)
{
        ssize_t n = fds_receive(sock, req, sizeof(*req), fds, MAX_FDS, ret_n_fds);

        if (n == -EMSGSIZE || (n > 0 && n != (ssize_t) sizeof(*req))) {
                req->magic = 0;
                return 1;
        }
        return n;
}

int fork_server_main(void)
{
        pid_t daemon = getppid();

        /* The daemon forked us with the socket at SERVER_FD and PR_SET_PDEATHSIG set (kept across exec). */
        if (fcntl(SERVER_FD, F_GETFD) < 0) {
                log_error("berth-fork-server is started by berthd only.");
                return EXIT_FAILURE;
        }
        layer_extract_child_prepare();

        for (;;) {
                int fds[MAX_FDS];
                size_t n_fds;
                Request req;
                Reply reply = { .magic = REQUEST_MAGIC };
                ssize_t n = receive_request(SERVER_FD, &req, fds, &n_fds);

                if (n == 0)
                        return EXIT_SUCCESS; /* the daemon closed its end */
                if (n < 0) {
                        log_error_errno(n, "Failed to receive a request: %m");
                        return EXIT_FAILURE;
                }
                reply.pid = serve(&req, fds, n_fds, daemon);
                for (size_t i = 0; i < n_fds; i++)
                        (void) close(fds[i]);
                if (send(SERVER_FD, &reply, sizeof(reply), MSG_NOSIGNAL) != (ssize_t) sizeof(reply))
                        return EXIT_FAILURE;
        }
}

pid_t fork_server_pid(void)
{
        return fork_server_running() ? server_pid : 0;
}

int fork_server_start(const char *path)
{
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        struct timeval timeout = { .tv_sec = REPLY_TIMEOUT_SEC };
        pid_t daemon = getpid(), pid;

        if (server_fd >= 0)
                return -EALREADY;
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
                    dup2(pair[1], SERVER_FD) < 0)
                        _exit(EXIT_FAILURE);
                (void) close_range(SERVER_FD + 1, ~0U, 0);
                execl(path, "berth-fork-server", NULL);
                _exit(127);
        }

        server_fd = TAKE_FD(pair[0]);
        server_pid = pid;
        server_owner = daemon;
        log_debug("Fork server %s started as PID %i.", path, pid);
        return 0;
}

void fork_server_stop(void)
{
        if (server_fd < 0)
                return;
        server_fd = safe_close(server_fd);
        if (getpid() != server_owner)
                return; /* a child of the owner: the server is not ours to reap */
        /* Our socket's EOF ends it; a stuck one is killed. */
        while (waitpid(server_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        server_pid = 0;
}

/* A server that failed once is not trusted again: it is killed and reaped, and we fork ourselves. */
static int server_failed(int r)
{
        log_warning_errno(r, "The fork server of the store failed, forking layer children directly: %m");
        (void) kill(server_pid, SIGKILL);
        fork_server_stop();
        return -ECHILD;
}

static int request(JobKind kind, const int *fds, size_t n_fds, bool sync, const char *const *prefixes,
                   pid_t *ret_pid)
{
        Request req = {
                .magic = REQUEST_MAGIC,
                .kind = kind,
                .n_fds = n_fds,
                .sync = sync,
        };
        Reply reply;
        ssize_t n;
        int r;

        if (!fork_server_running())
                return -ECHILD;
        assert(n_fds > 0 && n_fds <= MAX_FDS);

        for (size_t i = 0; prefixes && i < n_fds; i++) {
                if (strlen(prefixes[i]) >= sizeof(req.prefixes[i]))
                        return -ENAMETOOLONG;
                strcpy(req.prefixes[i], prefixes[i]);
        }
        layer_extract_get_limits(&req.max_layer_size, &req.max_layer_entries);
        r = fds_send(server_fd, &req, sizeof(req), fds, n_fds);
        if (r < 0)
                return server_failed(r);
        do
                n = recv(server_fd, &reply, sizeof(reply), 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return server_failed(negative_errno());
        if (n != (ssize_t) sizeof(reply) || reply.magic != REQUEST_MAGIC)
                return server_failed(-EPROTO);
        if (reply.pid < 0)
                return reply.pid; /* the clone failed (e.g. out of PIDs): that is the caller's error */
        *ret_pid = reply.pid;
        return 0;
}

int fork_server_extract(int input_fd, int dest_dir_fd, int result_fd, int record_fd, bool sync,
                        pid_t *ret_pid)
{
        int fds[] = { input_fd, dest_dir_fd, result_fd, record_fd };

        return request(JOB_EXTRACT, fds, record_fd >= 0 ? 4 : 3, sync, NULL, ret_pid);
}

int fork_server_syncfs(int fd, pid_t *ret_pid)
{
        return request(JOB_SYNCFS, &fd, 1, false, NULL, ret_pid);
}

int fork_server_remove_entries(const int *dir_fds, const char *const *prefixes, size_t n, pid_t *ret_pid)
{
        if (n == 0 || n > MAX_FDS)
                return -EINVAL;
        return request(JOB_REMOVE_ENTRIES, dir_fds, n, false, prefixes, ret_pid);
}
