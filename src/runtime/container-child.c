/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The container's init before it becomes the container: it runs as root on the host, already in its new
 * namespaces, and turns itself into argv[0] step by step. Order matters:
 *   - mounts happen before pivot_root (host nodes and files are still reachable), all in the private mount
 *     namespace;
 *   - the terminal is opened after pivot_root, on the container's own devpts instance, so that
 *     /proc/self/fd/0 names a device the container can see (runc does the same);
 *   - users are resolved after pivot_root from the image's own files (user-lookup.h);
 *   - privilege is dropped last (confine.h), then exec.
 * Failures go to the monitor as a ChildError on the report pipe, which is CLOEXEC: EOF there means execve()
 * succeeded.
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>

#include "runtime/confine.h"
#include "runtime/container-child.h"
#include "runtime/dev-setup.h"
#include "runtime/loopback.h"
#include "runtime/rootfs-setup.h"
#include "runtime/user-lookup.h"
#include "shared/fd-passing.h"
#include "shared/fs-util.h"
#include "shared/signal-util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int setup_stdio(const ChildFds *fds, ChildError *e)
{
        if (dup2(fds->stdin_fd, STDIN_FILENO) < 0 || dup2(fds->stdout_fd, STDOUT_FILENO) < 0 ||
            dup2(fds->stderr_fd, STDERR_FILENO) < 0)
                return child_fail(e, negative_errno(), "cannot set up stdio");
        return 0;
}

/* Opens a pty pair on the container's devpts, makes the slave our controlling terminal and stdio, binds it
 * on /dev/console and hands the master to the monitor. Returns the slave fd (still open, for fchown later).
 */
static int setup_terminal(int console_sock, int *ret_slave, ChildError *e)
{
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        int r;

        master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return child_fail(e, negative_errno(), "cannot open /dev/pts/ptmx");
        if (unlockpt(master) < 0)
                return child_fail(e, negative_errno(), "cannot unlock the terminal");
        /* TIOCGPTPEER opens the slave through the master, with no path lookup to race with. */
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return child_fail(e, negative_errno(), "cannot open the terminal's slave");

        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return child_fail(e, negative_errno(), "cannot make the terminal controlling");
        if (dup2(slave, STDIN_FILENO) < 0 || dup2(slave, STDOUT_FILENO) < 0 ||
            dup2(slave, STDERR_FILENO) < 0)
                return child_fail(e, negative_errno(), "cannot set up the terminal as stdio");

        r = dev_bind_console(slave, e);
        if (r < 0)
                return r;
        r = fd_send(console_sock, master);
        if (r < 0)
                return child_fail(e, r, "cannot pass the terminal to the monitor");

        *ret_slave = TAKE_FD(slave);
        return 0;
}

static bool strv_has_key(char **env, const char *key)
{
        size_t l = strlen(key);

        STRV_FOREACH (s, env)
                if (strneq(*s, key, l) && (*s)[l] == '=')
                        return true;
        return false;
}

const char *strv_get_value(char **env, const char *key)
{
        size_t l = strlen(key);

        STRV_FOREACH (s, env)
                if (strneq(*s, key, l) && (*s)[l] == '=')
                        return *s + l + 1;
        return NULL;
}

/* Docker sets HOME from the user's passwd entry when the image and the run don't. The result shares the
 * strings of env; only the array is new. */
char **build_env(char **env, const UserIds *user, char **ret_home_entry)
{
        size_t n = 0;
        char **l;

        STRV_FOREACH (s, env)
                n++;
        l = calloc(n + 2, sizeof(char *));
        if (!l)
                return NULL;
        if (n > 0)
                memcpy(l, env, n * sizeof(char *));
        if (!strv_has_key(env, "HOME")) {
                if (asprintf(ret_home_entry, "HOME=%s", user->home ?: "/") < 0) {
                        free(l);
                        return NULL;
                }
                l[n] = *ret_home_entry;
        }
        return l;
}

static bool is_executable_file(const char *path)
{
        struct stat st;

        return stat(path, &st) >= 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* Go's exec.LookPath, which Docker's messages come from: the first PATH entry holding a regular file with an
 * execute bit; an empty entry means the current directory. */
int find_executable(const char *name, const char *path, char **ret, ChildError *e)
{
        if (strchr(name, '/')) {
                struct stat st;
                if (stat(name, &st) < 0) {
                        e->exit_code = errno == ENOENT || errno == ENOTDIR ? CHILD_EXIT_NOT_FOUND
                                                                           : CHILD_EXIT_CANNOT_EXEC;
                        e->error = negative_errno();
                        snprintf(e->message, sizeof(e->message), "exec: \"%s\": stat %s: %s", name, name,
                                 strerror(errno));
                        return e->error;
                }
                *ret = strdup(name);
                return *ret ? 0 : child_fail(e, -ENOMEM, "out of memory");
        }

        for (const char *p = path ?: DEFAULT_PATH;; p++) {
                size_t l = strcspn(p, ":");
                _cleanup_free_ char *candidate = NULL;

                if (asprintf(&candidate, "%.*s/%s", (int) l, l > 0 ? p : ".", name) < 0)
                        return child_fail(e, -ENOMEM, "out of memory");
                if (is_executable_file(candidate)) {
                        *ret = TAKE_PTR(candidate);
                        return 0;
                }
                p += l;
                if (!*p)
                        break;
        }
        e->exit_code = CHILD_EXIT_NOT_FOUND;
        e->error = -ENOENT;
        snprintf(e->message, sizeof(e->message), "exec: \"%s\": executable file not found in $PATH", name);
        return -ENOENT;
}

int exec_failed(ChildError *e, const char *name, int error)
{
        e->exit_code = error == -ENOENT || error == -ENOTDIR ? CHILD_EXIT_NOT_FOUND : CHILD_EXIT_CANNOT_EXEC;
        e->error = error;
        snprintf(e->message, sizeof(e->message), "exec: \"%s\": %s", name, strerror(-error));
        return error;
}

static int set_working_directory(const char *cwd, ChildError *e)
{
        int r;

        if (isempty(cwd))
                cwd = "/";
        if (cwd[0] != '/')
                return child_fail(e, -EINVAL, "the working directory '%s' is not absolute", cwd);
        /* Created as root, like Docker's daemon does, then entered. */
        r = mkdir_p_at(AT_FDCWD, cwd, 0755);
        if (r < 0)
                return child_fail(e, r, "cannot create the working directory '%s'", cwd);
        if (chdir(cwd) < 0)
                return child_fail(e, negative_errno(), "cannot change to the working directory '%s'", cwd);
        return 0;
}

static int run(const RunSpec *spec, const ChildFds *fds, ChildError *e)
{
        _cleanup_close_ int root_fd = -EBADF, slave = -EBADF;
        _cleanup_free_ char *exe = NULL, *home_entry = NULL;
        _cleanup_berth_error_ BerthError user_error = BERTH_ERROR_INIT;
        _cleanup_free_ char **env = NULL;
        UserIds user = {};
        int r;

        /* Into the scope's own cgroup (the monitor stays in its "supervisor" child), then a cgroup namespace
         * rooted there: before any mount, so that the cgroup2 instance rootfs_setup() mounts shows it. */
        if (fds->cgroup_procs >= 0) {
                if (write(fds->cgroup_procs, "0", 1) != 1)
                        return child_fail(e, negative_errno(), "cannot move into the container's cgroup");
                if (unshare(CLONE_NEWCGROUP) < 0)
                        return child_fail(e, negative_errno(), "cannot create the cgroup namespace");
        }

        if (!spec->tty) {
                r = setup_stdio(fds, e);
                if (r < 0)
                        return r;
        }
        if (setsid() < 0)
                return child_fail(e, negative_errno(), "setsid failed");

        r = rootfs_setup(spec, &root_fd, e);
        if (r < 0)
                return r;
        r = rootfs_pivot(root_fd, e);
        if (r < 0)
                return r;
        root_fd = safe_close(root_fd);

        if (spec->tty) {
                r = setup_terminal(fds->console, &slave, e);
                if (r < 0)
                        return r;
        }

        if (!isempty(spec->hostname) && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
                return child_fail(e, negative_errno(), "cannot set the hostname '%s'", spec->hostname);
        if (!spec->host_network) {
                r = loopback_up();
                if (r < 0)
                        return child_fail(e, r, "cannot bring up the loopback interface");
        }

        root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return child_fail(e, negative_errno(), "cannot open /");
        r = user_lookup(root_fd, spec->user, &user_error, &user);
        if (r < 0)
                return child_fail(e, 0, "%s", user_error.message ?: strerror(-r));

        /* Like Docker's: the terminal belongs to the container's user, its group stays tty. */
        if (slave >= 0 && fchown(slave, user.uid, (gid_t) -1) < 0)
                r = child_fail(e, negative_errno(), "cannot hand the terminal to uid %u",
                               (unsigned) user.uid);
        slave = safe_close(slave);
        if (r >= 0)
                r = set_working_directory(spec->cwd, e);
        if (r >= 0) {
                env = build_env(spec->env, &user, &home_entry);
                if (!env)
                        r = child_fail(e, -ENOMEM, "out of memory");
        }
        if (r >= 0)
                r = find_executable(spec->argv[0], strv_get_value(env, "PATH"), &exe, e);
        if (r < 0) {
                user_ids_done(&user);
                return r;
        }

        /* Only the report pipe survives until exec; everything else of the monitor's goes. */
        (void) prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                r = child_fail(e, negative_errno(), "cannot mark fds close-on-exec");
        if (r >= 0)
                r = confine_apply(spec, &user, true, e);
        user_ids_done(&user);
        if (r < 0)
                return r;

        execve(exe, spec->argv, env);
        return exec_failed(e, spec->argv[0], negative_errno());
}

_Noreturn void container_child_main(const RunSpec *spec, const ChildFds *fds)
{
        ChildError e = {};
        ssize_t n;

        reset_signals();
        /* Until exec, the child is the monitor's helper: if the monitor goes, so does the half-built
         * container. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

        (void) run(spec, fds, &e);
        if (e.exit_code == 0)
                e.exit_code = CHILD_EXIT_SETUP;
        do
                n = write(fds->report, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        _exit(e.exit_code);
}
