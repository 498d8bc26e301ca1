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
#include "shared/spawn-server.h"
#include "store/fork-server.h"
#include "store/layer-extract-child.h"
#include "store/layer-extract.h"

#define REQUEST_MAGIC UINT32_C(0x4b524f46) /* "FORK" */
#define MAX_FDS       SPAWN_SERVER_MAX_FDS

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

static SpawnServer server = SPAWN_SERVER_INIT("fork server of the store");

bool fork_server_running(void)
{
        return spawn_server_running(&server);
}

_Noreturn static void run_syncfs(int fd)
{
        (void) close(SPAWN_SERVER_FD); /* a server that dies must not live on in its children */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        _exit(syncfs(fd) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* The removal child, the server's or the daemon's own. The daemon blocks SIGTERM for sd-event, and the child
 * must not, or stopping it waits for its timeout while a big tree is still being deleted. Deleting competes
 * with extraction for the ext4 journal: at nice 10. */
_Noreturn static void run_remove_entries(const int *fds, const char *const *prefixes, size_t n)
{
        int r = 0;

        reset_signals();
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        (void) nice(10);
        for (size_t i = 0; i < n; i++)
                if (remove_entries_at(fds[i], prefixes[i]) < 0)
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

static pid_t serve(const void *request, const int *fds, size_t n_fds, pid_t daemon)
{
        const Request *req = request;
        pid_t pid;

        if (req->magic != REQUEST_MAGIC || req->n_fds != n_fds)
                return -EBADMSG;
        if (!(req->kind == JOB_EXTRACT && (n_fds == 3 || n_fds == 4)) &&
            !(req->kind == JOB_SYNCFS && n_fds == 1) &&
            !(req->kind == JOB_REMOVE_ENTRIES && n_fds >= 1 && prefixes_valid(req, n_fds)))
                return -EBADMSG;
        pid = spawn_server_clone_sibling(0);
        if (pid < 0)
                return negative_errno();
        if (pid > 0)
                return pid;

        if (req->kind == JOB_SYNCFS)
                run_syncfs(fds[0]);
        if (req->kind == JOB_REMOVE_ENTRIES) {
                const char *prefixes[MAX_FDS];

                (void) close(SPAWN_SERVER_FD); /* a server that dies must not live on in its children */
                for (size_t i = 0; i < n_fds; i++)
                        prefixes[i] = req->prefixes[i];
                run_remove_entries(fds, prefixes, n_fds);
        }
        layer_extract_set_limits(req->max_layer_size, req->max_layer_entries);
        layer_extract_child_main(fds[0], fds[1], fds[2], n_fds == 4 ? fds[3] : -EBADF, req->sync, daemon);
}

int fork_server_main(void)
{
        int fds[SPAWN_SERVER_MAX_FDS], r;
        size_t n_fds;
        Request req;

        layer_extract_child_prepare();
        /* serve()'s children never return here: each ends in its job. */
        r = spawn_server_main(&req, sizeof(req), serve, NULL, fds, &n_fds);
        if (r == -EBADF)
                log_error("berth-fork-server is started by berthd only.");
        else if (r < 0)
                log_error_errno(r, "Failed to serve: %m");
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

pid_t fork_server_pid(void)
{
        return fork_server_running() ? server.pid : 0;
}

int fork_server_start(const char *path)
{
        return spawn_server_start(&server, path, (char *[]){ (char *) "berth-fork-server", NULL });
}

void fork_server_stop(void)
{
        spawn_server_stop(&server);
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

        assert(n_fds > 0 && n_fds <= MAX_FDS);
        for (size_t i = 0; prefixes && i < n_fds; i++) {
                if (strlen(prefixes[i]) >= sizeof(req.prefixes[i]))
                        return -ENAMETOOLONG;
                strcpy(req.prefixes[i], prefixes[i]);
        }
        layer_extract_get_limits(&req.max_layer_size, &req.max_layer_entries);
        return spawn_server_request(&server, &req, sizeof(req), fds, n_fds, ret_pid);
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
        pid_t pid;
        int r;

        if (n == 0 || n > MAX_FDS)
                return -EINVAL;
        r = request(JOB_REMOVE_ENTRIES, dir_fds, n, false, prefixes, ret_pid);
        if (r != -ECHILD)
                return r;
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                run_remove_entries(dir_fds, prefixes, n);
        *ret_pid = pid;
        return 0;
}
