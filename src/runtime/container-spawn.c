/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime/child-error.h"
#include "runtime/container-child.h"
#include "runtime/container-spawn.h"
#include "runtime/mount-util.h"
#include "runtime/rootfs-setup.h"
#include "shared/berth-unit.h"
#include "shared/fd-passing.h"
#include "shared/fs-util.h"
#include "shared/log.h"

void container_stdio_close(ContainerStdio *io)
{
        io->pty_master = safe_close(io->pty_master);
        io->stdin_fd = safe_close(io->stdin_fd);
        io->stdout_fd = safe_close(io->stdout_fd);
        io->stderr_fd = safe_close(io->stderr_fd);
}

/* clone3() rather than clone(): CLONE_PIDFD hands us the pidfd atomically with the pid, so the monitor never
 * waits on a pid that could have been recycled. Without CLONE_VM the child runs on a copy of our stack, like
 * after fork(); glibc has no wrapper, and as the monitor is single-threaded no atfork state is missed. */
static pid_t clone_child(uint64_t flags, int *ret_pidfd)
{
        struct clone_args args = {
                .flags = flags | CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = SIGCHLD,
        };

        return (pid_t) syscall(SYS_clone3, &args, sizeof(args));
}

/* The container gets a cgroup namespace rooted at its scope, so that it sees its own cgroup at
 * /sys/fs/cgroup (read-only) and its limits there, as Docker gives one on cgroup2 hosts. The monitor shares
 * the scope, so it first moves itself into a "supervisor" child cgroup, which leaves the scope's own
 * cgroup.procs to the container's processes; no controller is enabled below the scope, so the scope may hold
 * both. berthd's unit has ProtectControlGroups=, which makes our /sys/fs/cgroup read-only: a writable
 * clone of that mount (cgroup_fs, made before the go; cgroup2_clone_writable()) is used instead. The child
 * moves itself back into the scope through the returned fd to its cgroup.procs, opened here, then unshares
 * its cgroup namespace (a namespace made at clone time would be rooted at the supervisor cgroup). Sets
 * -EBADF and changes nothing where there is no cgroup2 hierarchy or no scope of the container's to split. */
static int cgroup_split(const char *name, int cgroup_fs, int *ret_procs_fd)
{
        _cleanup_close_ int scope = -EBADF, procs = -EBADF, supervisor = -EBADF;
        _cleanup_free_ char *cgroups = NULL, *controllers = NULL, *unit = NULL;
        const char *path, *last;
        char *nl;
        int r;

        *ret_procs_fd = -EBADF;
        if (cgroup_fs < 0)
                return 0;
        r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &cgroups, NULL);
        if (r < 0)
                return r;
        path = strstr(cgroups, "0::/");
        if (!path || (path != cgroups && path[-1] != '\n'))
                return 0;
        path += strlen("0::/");
        nl = strchr(path, '\n');
        if (nl)
                *nl = 0;
        /* Only the container's own scope is ours to split (not, say, the session of a test run by hand). */
        last = strrchr(path, '/');
        unit = berth_scope_name(name);
        if (!unit)
                return -ENOMEM;
        if (!streq(last ? last + 1 : path, unit))
                return 0;

        scope = openat(cgroup_fs, path, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (scope < 0)
                return negative_errno();
        /* With controllers enabled below the scope, it could hold no processes besides a child cgroup. */
        r = read_file_at(scope, "cgroup.subtree_control", 4096, &controllers, NULL);
        if (r < 0)
                return r;
        if (!isempty(controllers) && !streq(controllers, "\n"))
                return 0;
        procs = openat(scope, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (procs < 0)
                return negative_errno();
        if (mkdirat(scope, "supervisor", 0755) < 0 && errno != EEXIST)
                return negative_errno();
        supervisor = openat(scope, "supervisor/cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (supervisor < 0)
                return negative_errno();
        if (write(supervisor, "0", 1) != 1)
                return negative_errno();
        *ret_procs_fd = TAKE_FD(procs);
        return 0;
}

/* Blocks until the child has exec'd (EOF) or reported; > 0 when it reported. */
static int read_report(int fd, ChildError *e)
{
        ssize_t n;

        do
                n = read(fd, e, sizeof(*e));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if (n == 0)
                return 0;
        if (n != (ssize_t) sizeof(*e) || e->exit_code <= 0) {
                *e = (ChildError){ .exit_code = CHILD_EXIT_SETUP, .error = -EPROTO };
                snprintf(e->message, sizeof(e->message), "container setup died without reporting");
        }
        e->message[sizeof(e->message) - 1] = 0;
        return 1;
}

typedef struct Pipes {
        int report[2];
        int console[2];
        int in[2];
        int out[2];
        int err[2];
} Pipes;

static void pipes_close(Pipes *p)
{
        int *fds = (int *) p;
        for (size_t i = 0; i < sizeof(*p) / sizeof(int); i++)
                safe_close(fds[i]);
}

static int pipes_open(const RunSpec *spec, Pipes *p)
{
        if (pipe2(p->report, O_CLOEXEC) < 0)
                return negative_errno();
        if (spec->tty)
                return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->console) < 0
                               ? negative_errno()
                               : 0;

        if (pipe2(p->out, O_CLOEXEC) < 0 || pipe2(p->err, O_CLOEXEC) < 0)
                return negative_errno();
        if (spec->interactive)
                return pipe2(p->in, O_CLOEXEC) < 0 ? negative_errno() : 0;
        p->in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        return p->in[0] < 0 ? negative_errno() : 0;
}

static int fail(ChildError *e, int error, int *ret_exit_code, BerthError *err)
{
        *ret_exit_code = e->exit_code > 0 ? e->exit_code : CHILD_EXIT_SETUP;
        e->error = error < 0 ? error : -EIO;
        return child_error_to_berth(e, err);
}

void container_prep_make(const RunSpec *spec, ContainerPrep *prep)
{
        int r;

        *prep = (ContainerPrep) CONTAINER_PREP_INIT;
        r = cgroup2_clone_writable(&prep->cgroup_fs);
        if (r < 0)
                log_debug_errno(r, "No cgroup2 hierarchy to split the scope through, ignoring: %m");

        prep->origin_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (prep->origin_mntns < 0) {
                prep->origin_mntns = -EBADF;
                (void) child_fail(&prep->error, negative_errno(),
                                  "cannot open the monitor's mount namespace");
                return;
        }
        (void) rootfs_prepare(spec, &prep->error);
}

void container_prep_release(ContainerPrep *prep)
{
        prep->cgroup_fs = safe_close(prep->cgroup_fs);
        if (prep->origin_mntns < 0)
                return;
        /* setns() makes "/" our cwd, which it was already (main()). */
        if (setns(prep->origin_mntns, CLONE_NEWNS) < 0)
                log_warning_errno(errno, "Cannot return to berthd's mount namespace, ignoring: %m");
        prep->origin_mntns = safe_close(prep->origin_mntns);
}

int container_spawn(const RunSpec *spec, const ContainerPrep *prep, BerthError *err, pid_t *ret_pid,
                    int *ret_pidfd, ContainerStdio *ret_io, int *ret_exit_code)
{
        _cleanup_(pipes_close) Pipes p = {
                { -EBADF, -EBADF }, { -EBADF, -EBADF }, { -EBADF, -EBADF },
                { -EBADF, -EBADF }, { -EBADF, -EBADF },
        };
        _cleanup_close_ int pidfd = -EBADF, master = -EBADF, cgroup_procs = -EBADF;
        uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
        ChildError e = {};
        pid_t pid;
        int r;

        if (!spec || !prep || !ret_pid || !ret_pidfd || !ret_io || !ret_exit_code)
                return -EINVAL;
        if (prep->error.exit_code != 0) {
                e = prep->error;
                return fail(&e, e.error, ret_exit_code, err);
        }
        if (!spec->host_network && !spec->network_inherited)
                flags |= CLONE_NEWNET;

        r = cgroup_split(spec->name, prep->cgroup_fs, &cgroup_procs);
        if (r < 0)
                log_debug_errno(r, "Cannot move the monitor out of the container's cgroup, ignoring: %m");
        if (cgroup_procs < 0)
                flags |= CLONE_NEWCGROUP; /* the child cannot move: a namespace at our own cgroup */

        r = pipes_open(spec, &p);
        if (r < 0) {
                child_fail(&e, r, "cannot create the container's pipes");
                return fail(&e, r, ret_exit_code, err);
        }

        pid = clone_child(flags, &pidfd);
        if (pid < 0) {
                r = negative_errno();
                child_fail(&e, r, "cannot create the container's namespaces");
                return fail(&e, r, ret_exit_code, err);
        }
        if (pid == 0) {
                /* Not the container's: berthd's mount namespace and the host's cgroup tree. */
                if (prep->origin_mntns >= 0)
                        (void) close(prep->origin_mntns);
                if (prep->cgroup_fs >= 0)
                        (void) close(prep->cgroup_fs);
                ChildFds fds = {
                        .report = p.report[1],
                        .console = p.console[1],
                        .stdin_fd = p.in[0],
                        .stdout_fd = p.out[1],
                        .stderr_fd = p.err[1],
                        .cgroup_procs = cgroup_procs,
                };
                container_child_main(spec, &fds);
        }

        /* Our copies of the child's ends must go, or we would never see EOF on the report pipe or the
         * output. */
        p.report[1] = safe_close(p.report[1]);
        p.console[1] = safe_close(p.console[1]);
        p.in[0] = safe_close(p.in[0]);
        p.out[1] = safe_close(p.out[1]);
        p.err[1] = safe_close(p.err[1]);

        r = read_report(p.report[0], &e);
        if (r == 0 && spec->tty) {
                /* The master was sent before the exec, so it is queued by now. */
                r = fd_receive(p.console[0], &master);
                if (r < 0) {
                        (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                        child_fail(&e, r, "the container's terminal did not arrive");
                }
        } else if (r < 0) {
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                child_fail(&e, r, "cannot read the container's setup report");
        }
        if (r != 0 || e.exit_code != 0) {
                siginfo_t si = {};
                /* The child exits right after reporting; reap it so no zombie stays behind. */
                (void) waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED);
                log_debug("Container child %d failed: %s", (int) pid, e.message);
                return fail(&e, e.error < 0 ? e.error : -EIO, ret_exit_code, err);
        }

        *ret_io = (ContainerStdio){
                .pty_master = TAKE_FD(master),
                .stdin_fd = spec->interactive && !spec->tty ? TAKE_FD(p.in[1]) : -EBADF,
                .stdout_fd = TAKE_FD(p.out[0]),
                .stderr_fd = TAKE_FD(p.err[0]),
        };
        *ret_pid = pid;
        *ret_pidfd = TAKE_FD(pidfd);
        return 0;
}
