/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "runtime/mount-util.h"
#include "shared/fs-util.h"
#include "shared/macro.h"

static int openat_in_root(int root_fd, const char *path, int flags, int *ret_fd)
{
        struct open_how how = {
                .flags = (uint64_t) flags | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        fd = openat2_retry(root_fd, path, &how);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

/* Creates the missing directories of path (all of it when dir, all but the last component otherwise), then
 * the last component as an empty file when !dir. Each parent is resolved inside the root again, so a
 * symlink met on the way stays inside too. */
static int create_in_root(int root_fd, const char *path, bool dir)
{
        _cleanup_free_ char *prefix = calloc(1, strlen(path) + 2);
        size_t len = 0;

        if (!prefix)
                return -ENOMEM;
        for (const char *p = path;;) {
                _cleanup_close_ int parent = -EBADF;
                size_t n;
                bool last;
                int r;

                p += strspn(p, "/");
                if (!*p)
                        return 0;
                n = strcspn(p, "/");
                last = !p[n + strspn(p + n, "/")];

                r = openat_in_root(root_fd, len > 0 ? prefix : ".", O_PATH | O_DIRECTORY, &parent);
                if (r < 0)
                        return r;
                if (len > 0)
                        prefix[len++] = '/';
                memcpy(prefix + len, p, n);
                len += n;
                prefix[len] = 0;

                if (last && !dir) {
                        int fd = openat(parent, prefix + len - n,
                                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                        if (fd < 0 && errno != EEXIST)
                                return negative_errno();
                        safe_close(fd);
                } else if (mkdirat(parent, prefix + len - n, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                if (last)
                        return 0;
                p += n;
        }
}

int open_mount_target(int root_fd, const char *path, bool dir, int *ret_fd)
{
        int r;

        r = openat_in_root(root_fd, path, O_PATH | (dir ? O_DIRECTORY : 0), ret_fd);
        if (r != -ENOENT)
                return r;
        r = create_in_root(root_fd, path, dir);
        if (r < 0)
                return r;
        return openat_in_root(root_fd, path, O_PATH | (dir ? O_DIRECTORY : 0), ret_fd);
}

int cgroup2_clone_writable(int *ret_fd)
{
        static const char *const paths[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                struct statfs sfs;

                if (statfs(paths[i], &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                        continue;
                return mount_bind_writable(AT_FDCWD, paths[i], false,
                                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, ret_fd);
        }
        return -ENOENT;
}

int mount_fs_new(const char *fstype, const char *source, const char *const *options, unsigned attrs,
                 int *ret_fd)
{
        _cleanup_close_ int fs = -EBADF;
        int mfd;

        fs = fsopen(fstype, FSOPEN_CLOEXEC);
        if (fs < 0)
                return negative_errno();
        if (source && fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
                return negative_errno();
        for (const char *const *o = options; o && *o; o++) {
                const char *eq = strchr(*o, '=');
                int r;

                if (eq) {
                        _cleanup_free_ char *key = strndup(*o, (size_t) (eq - *o));
                        if (!key)
                                return -ENOMEM;
                        r = fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0);
                } else
                        r = fsconfig(fs, FSCONFIG_SET_FLAG, *o, NULL, 0);
                if (r < 0)
                        return negative_errno();
        }
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return negative_errno();
        mfd = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
        if (mfd < 0)
                return negative_errno();
        *ret_fd = mfd;
        return 0;
}

static int bind_clone(int dir_fd, const char *path, bool recursive, unsigned set, unsigned clear,
                      int *ret_fd)
{
        _cleanup_close_ int tree = -EBADF;
        struct mount_attr attr = { .attr_set = set, .attr_clr = clear };
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);

        if (isempty(path))
                flags |= AT_EMPTY_PATH;
        tree = open_tree(dir_fd, strempty(path), flags);
        if (tree < 0)
                return negative_errno();
        if ((set | clear) != 0 &&
            mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(tree);
        return 0;
}

int mount_bind_new(int dir_fd, const char *path, bool recursive, unsigned attrs, int *ret_fd)
{
        return bind_clone(dir_fd, path, recursive, attrs, 0, ret_fd);
}

int mount_bind_writable(int dir_fd, const char *path, bool recursive, unsigned attrs, int *ret_fd)
{
        return bind_clone(dir_fd, path, recursive, attrs, MOUNT_ATTR_RDONLY, ret_fd);
}

int mkdir_p_host(const char *path, mode_t mode)
{
        _cleanup_free_ char *existing = NULL;
        _cleanup_close_ int dir = -EBADF;
        struct stat st;
        char *slash;

        if (!path || path[0] != '/')
                return -EINVAL;
        existing = strdup(path);
        if (!existing)
                return -ENOMEM;
        /* The nearest ancestor that exists ("/" always does). */
        while (stat(existing, &st) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                slash = strrchr(existing, '/');
                slash[slash == existing ? 1 : 0] = 0;
        }
        if (strlen(existing) == strlen(path))
                return 0;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        /* A bind of it of our own, writable: a read-only view of a writable file system is no obstacle. */
        int r = mount_bind_writable(AT_FDCWD, existing, false, 0, &dir);
        if (r < 0)
                return r;
        const char *rest = path + strlen(existing);
        while (*rest) {
                size_t n;
                rest += strspn(rest, "/");
                n = strcspn(rest, "/");
                if (n == 0)
                        break;
                _cleanup_free_ char *name = strndup(rest, n);
                if (!name)
                        return -ENOMEM;
                if (mkdirat(dir, name, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                int sub = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return negative_errno();
                safe_close(dir);
                dir = sub;
                rest += n;
        }
        return 0;
}

int mount_attach(int mount_fd, int target_fd)
{
        if (move_mount(mount_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return negative_errno();
        return 0;
}

int mount_fs_at(int root_fd, const char *path, const char *fstype, const char *const *options,
                unsigned attrs)
{
        _cleanup_close_ int target = -EBADF, mfd = -EBADF;
        int r;

        r = open_mount_target(root_fd, path, true, &target);
        if (r < 0)
                return r;
        r = mount_fs_new(fstype, fstype, options, attrs, &mfd);
        if (r < 0)
                return r;
        return mount_attach(mfd, target);
}
