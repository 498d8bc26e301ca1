/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The exec child (exec-child.h). Failures are written to stderr_fd as Docker words them and end the child
 * with Docker's exit code (126, 127, or 125 for setup), which the monitor reports as the session's status.
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/confine.h"
#include "runtime/container-child.h"
#include "runtime/exec-child.h"
#include "runtime/mount-util.h"
#include "shared/fd-passing.h"
#include "shared/fs-util.h"
#include "shared/signal-util.h"

int exec_join_pid_namespace(int init_pidfd)
{
        return setns(init_pidfd, CLONE_NEWPID) < 0 ? negative_errno() : 0;
}

/* The monitor lives in <scope>/supervisor; the container's processes in <scope> itself (container-spawn.c).
 * -ENOENT when the monitor is not in such a split scope (then the child stays in the monitor's cgroup). */
static int open_scope_procs(int *ret_fd)
{
        _cleanup_close_ int mnt = -EBADF;
        _cleanup_free_ char *cgroups = NULL;
        char *path, *nl, *last;
        int r, fd;

        r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &cgroups, NULL);
        if (r < 0)
                return r;
        path = strstr(cgroups, "0::/");
        if (!path || (path != cgroups && path[-1] != '\n'))
                return -ENOENT;
        path += strlen("0::/");
        nl = strchr(path, '\n');
        if (nl)
                *nl = 0;
        last = strrchr(path, '/');
        if (!last || !streq(last, "/supervisor"))
                return -ENOENT;
        *last = 0;
        r = cgroup2_clone_writable(&mnt);
        if (r < 0)
                return r;
        _cleanup_free_ char *procs = NULL;
        if (asprintf(&procs, "%s/cgroup.procs", path) < 0)
                return -ENOMEM;
        fd = openat(mnt, procs, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        *ret_fd = fd;
        return 0;
}

static int setup_terminal(int console_sock, int *ret_slave, ChildError *e)
{
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        int r;

        /* The container's own devpts, so that /proc/self/fd/0 names a node the process can see. */
        master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return child_fail(e, negative_errno(), "cannot open /dev/pts/ptmx");
        if (unlockpt(master) < 0)
                return child_fail(e, negative_errno(), "cannot unlock the terminal");
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return child_fail(e, negative_errno(), "cannot open the terminal's slave");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return child_fail(e, negative_errno(), "cannot make the terminal controlling");
        r = fd_send(console_sock, master);
        if (r < 0)
                return child_fail(e, r, "cannot pass the terminal to the monitor");
        *ret_slave = TAKE_FD(slave);
        return 0;
}

static int setup(const RunSpec *spec, const ExecFds *fds, ChildError *e)
{
        _cleanup_close_ int procs = -EBADF, slave = -EBADF, root_fd = -EBADF;
        _cleanup_free_ char *exe = NULL, *home_entry = NULL;
        _cleanup_berth_error_ BerthError user_error = BERTH_ERROR_INIT;
        _cleanup_free_ char **env = NULL;
        UserIds user = {};
        int r;

        if (open_scope_procs(&procs) >= 0 && write(procs, "0", 1) != 1)
                return child_fail(e, negative_errno(), "cannot move into the container's cgroup");
        procs = safe_close(procs);
        if (setns(fds->init_pidfd,
                  CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP) < 0)
                return child_fail(e, negative_errno(), "cannot enter the container's namespaces");
        /* Entering the mount namespace made its root (the container's) ours; the working directory too. */
        if (chdir("/") < 0)
                return child_fail(e, negative_errno(), "cannot change to the container's root");
        if (setsid() < 0)
                return child_fail(e, negative_errno(), "setsid failed");

        if (spec->tty) {
                r = setup_terminal(fds->console, &slave, e);
                if (r < 0)
                        return r;
        }
        root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return child_fail(e, negative_errno(), "cannot open /");
        r = user_lookup(root_fd, spec->user, &user_error, &user);
        if (r < 0)
                return child_fail(e, 0, "%s", user_error.message ?: strerror(-r));
        if (slave >= 0 && fchown(slave, user.uid, (gid_t) -1) < 0)
                r = child_fail(e, negative_errno(), "cannot hand the terminal to uid %u",
                               (unsigned) user.uid);
        /* docker exec -w: the directory must exist (it is not created, unlike a run's). */
        if (r >= 0 && chdir(isempty(spec->cwd) ? "/" : spec->cwd) < 0)
                r = child_fail(e, negative_errno(), "cannot change to the working directory '%s'",
                               spec->cwd);
        if (r >= 0) {
                env = build_env(spec->env, &user, &home_entry);
                if (!env)
                        r = child_fail(e, -ENOMEM, "out of memory");
        }
        if (r >= 0)
                r = find_executable(spec->argv[0], strv_get_value(env, "PATH"), &exe, e);
        /* The terminal becomes stdio last, so that setup errors still reach the stderr pipe. */
        if (r >= 0 && slave >= 0 &&
            (dup2(slave, STDIN_FILENO) < 0 || dup2(slave, STDOUT_FILENO) < 0 ||
             dup2(slave, STDERR_FILENO) < 0))
                r = child_fail(e, negative_errno(), "cannot set up the terminal as stdio");
        slave = safe_close(slave);
        (void) prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        if (r >= 0 && close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                r = child_fail(e, negative_errno(), "cannot mark fds close-on-exec");
        if (r >= 0)
                r = confine_apply(spec, &user, false, e);
        user_ids_done(&user);
        if (r < 0)
                return r;
        execve(exe, spec->argv, env);
        return exec_failed(e, spec->argv[0], negative_errno());
}

_Noreturn static void exec_child_main(const RunSpec *spec, const ExecFds *fds)
{
        ChildError e = {};
        int null_fd;

        reset_signals();
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (spec->tty) {
                /* Until the terminal is set up: nothing to read, errors to the stderr pipe. */
                (void) dup2(null_fd, STDIN_FILENO);
                (void) dup2(fds->stderr_fd, STDOUT_FILENO);
        } else {
                (void) dup2(fds->stdin_fd >= 0 ? fds->stdin_fd : null_fd, STDIN_FILENO);
                (void) dup2(fds->stdout_fd, STDOUT_FILENO);
        }
        (void) dup2(fds->stderr_fd, STDERR_FILENO);

        (void) setup(spec, fds, &e);
        if (e.exit_code == 0)
                e.exit_code = CHILD_EXIT_SETUP;
        /* Docker's words: "OCI runtime exec failed: exec failed: <reason>: unknown". */
        dprintf(STDERR_FILENO,
                "OCI runtime exec failed: exec failed: unable to start container process: %s: unknown\n",
                e.message);
        _exit(e.exit_code);
}

int exec_spawn(const RunSpec *spec, const ExecFds *fds, pid_t *ret_pid, int *ret_pidfd)
{
        int pidfd = -EBADF;
        struct clone_args args = {
                .flags = CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
        };
        pid_t pid;

        pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                exec_child_main(spec, fds);
        *ret_pid = pid;
        *ret_pidfd = pidfd;
        return 0;
}
