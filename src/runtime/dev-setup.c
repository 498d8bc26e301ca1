/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/dev-setup.h"
#include "runtime/mount-util.h"
#include "shared/fs-util.h"

static const struct {
        const char *name;
        unsigned major, minor;
} nodes[] = {
        { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
        { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
        const char *name, *target;
} links[] = {
        { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
        { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },         { "core", "/proc/kcore" },
};

/* mknod needs CAP_MKNOD and a device cgroup that allows it; where that fails (a nested or restricted host)
 * the host's node is bind-mounted instead, which is what runc does in user namespaces. */
static int make_node(int dev_fd, const char *name, unsigned major, unsigned minor)
{
        _cleanup_close_ int fd = -EBADF, tree = -EBADF;
        _cleanup_free_ char *host = NULL;
        int r;

        if (mknodat(dev_fd, name, S_IFCHR | 0666, makedev(major, minor)) >= 0) {
                /* The umask must not narrow the mode. */
                return fchmodat(dev_fd, name, 0666, 0) < 0 ? negative_errno() : 0;
        }
        if (errno != EPERM && errno != EACCES)
                return negative_errno();

        fd = openat(dev_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0)
                return negative_errno();
        fd = safe_close(fd);
        fd = openat(dev_fd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        if (asprintf(&host, "/dev/%s", name) < 0)
                return -ENOMEM;
        r = mount_bind_new(AT_FDCWD, host, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, &tree);
        if (r < 0)
                return r;
        return mount_attach(tree, fd);
}

/* "c 10:200 666 0:0 /dev/net/tun" (run-spec.h): the node the host has, with its mode and owner, as Docker
 * makes it. Whether it may be opened is the scope's DeviceAllow=, set by berthd from the same numbers. */
static int make_host_device(int dev_fd, const char *entry, ChildError *e)
{
        _cleanup_close_ int parent = -EBADF;
        unsigned maj, min, mode, uid, gid;
        char type, path[PATH_MAX];
        const char *rel, *name, *slash;
        int n = 0, at = dev_fd, r;

        if (sscanf(entry, "%c %u:%u %o %u:%u %n", &type, &maj, &min, &mode, &uid, &gid, &n) != 6 || n == 0 ||
            (type != 'c' && type != 'b') || mode > 07777)
                return child_fail(e, -EINVAL, "invalid device entry '%s'", entry);
        rel = startswith(entry + n, "/dev/");
        if (isempty(rel) || strlen(rel) >= sizeof(path))
                return child_fail(e, -EINVAL, "invalid device path in '%s'", entry);
        name = rel;
        slash = strrchr(rel, '/');
        if (slash) {
                /* Never through our symlinks: /dev/fd and friends point into /proc, still the host's. */
                struct open_how how = {
                        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
                };

                snprintf(path, sizeof(path), "%.*s", (int) (slash - rel), rel);
                r = mkdir_p_at(dev_fd, path, 0755);
                if (r < 0)
                        return child_fail(e, r, "cannot create /dev/%s", path);
                parent = openat2_retry(dev_fd, path, &how);
                if (parent < 0)
                        return child_fail(e, parent, "cannot open /dev/%s", path);
                at = parent;
                name = slash + 1;
        }
        (void) unlinkat(at, name, 0); /* --device /dev/null:/dev/null replaces ours */
        if (mknodat(at, name, (type == 'c' ? S_IFCHR : S_IFBLK) | (mode & 07777), makedev(maj, min)) < 0)
                return child_fail(e, negative_errno(), "cannot create the device /dev/%s", rel);
        if (fchownat(at, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(at, name, mode & 07777, 0) < 0)
                return child_fail(e, negative_errno(), "cannot set the owner and mode of /dev/%s", rel);
        return 0;
}

static int populate(int dev_fd, bool console, char **devices, ChildError *e)
{
        int r;

        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                r = make_node(dev_fd, nodes[i].name, nodes[i].major, nodes[i].minor);
                if (r < 0)
                        return child_fail(e, r, "cannot create /dev/%s", nodes[i].name);
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i].target, dev_fd, links[i].name) < 0)
                        return child_fail(e, negative_errno(), "cannot create /dev/%s", links[i].name);
        if (console) {
                int fd = openat(dev_fd, "console", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0)
                        return child_fail(e, negative_errno(), "cannot create /dev/console");
                safe_close(fd);
        }
        STRV_FOREACH (d, devices) {
                r = make_host_device(dev_fd, *d, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

int dev_setup(int root_fd, bool console, char **devices, ChildError *e)
{
        static const char *const dev_opts[] = { "mode=755", "size=65536k", NULL };
        static const char *const pts_opts[] = { "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL };
        static const char *const shm_opts[] = { "mode=1777", "size=65536k", NULL };
        _cleanup_close_ int target = -EBADF, mfd = -EBADF;
        int r;

        r = open_mount_target(root_fd, "dev", true, &target);
        if (r < 0)
                return child_fail(e, r, "cannot create mount point /dev");
        r = mount_fs_new("tmpfs", "tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME, &mfd);
        if (r < 0)
                return child_fail(e, r, "cannot mount tmpfs on /dev");

        /* Filled through the detached mount's fd, then attached: nothing is ever looked up by path. */
        r = populate(mfd, console, devices, e);
        if (r < 0)
                return r;
        r = mount_attach(mfd, target);
        if (r < 0)
                return child_fail(e, r, "cannot attach /dev");

        r = mount_fs_at(root_fd, "dev/pts", "devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        if (r < 0)
                return child_fail(e, r, "cannot mount devpts on /dev/pts");
        r = mount_fs_at(root_fd, "dev/shm", "tmpfs", shm_opts,
                        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (r < 0)
                return child_fail(e, r, "cannot mount tmpfs on /dev/shm");
        r = mount_fs_at(root_fd, "dev/mqueue", "mqueue", NULL,
                        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (r < 0)
                return child_fail(e, r, "cannot mount mqueue on /dev/mqueue");
        return 0;
}

int dev_bind_console(int slave_fd, ChildError *e)
{
        _cleanup_close_ int target = -EBADF, tree = -EBADF;
        int r;

        target = open("/dev/console", O_PATH | O_CLOEXEC | O_NOFOLLOW);
        if (target < 0)
                return child_fail(e, negative_errno(), "cannot open /dev/console");
        r = mount_bind_new(slave_fd, NULL, false, 0, &tree);
        if (r < 0)
                return child_fail(e, r, "cannot clone the terminal for /dev/console");
        r = mount_attach(tree, target);
        if (r < 0)
                return child_fail(e, r, "cannot bind the terminal onto /dev/console");
        return 0;
}
