/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "runtime/copy-up.h"
#include "runtime/dev-setup.h"
#include "runtime/mount-entry.h"
#include "runtime/mount-util.h"
#include "runtime/rootfs-setup.h"
#include "shared/fs-util.h"
#include "shared/strv.h"

/* The classic mount(2) option string is cut at a page. */
#define OVERLAY_OPTIONS_MAX 4096

/* The lowers are "l/XXXX" links relative to layers_dir (Docker's overlay2 trick), so the option string holds
 * 100+ layers where absolute paths would overflow a page: chdir there first. An image without layers gets
 * one empty lower: a directory on a small tmpfs mounted over the rootfs mount point itself, which the
 * overlay then covers (overlay keeps its lowers referenced, the path is only used at mount time). */
/* "volatile" (below) leaves work/work/incompat/volatile/dirty, and the kernel refuses to mount that work dir
 * again: after a power loss the upper dir may lack what was never synced. Within the boot that mounted it
 * nothing is lost (the page cache has it), and overlayfs's documentation allows removing the marker then.
 * So each volatile mount records the boot id beside the work dir, and a marker of the same boot (left by
 * any mount of it: overlay leaves it after a clean unmount too) is removed before the next mount. */
#define VOLATILE_BOOT_ID_FILE "volatile-boot-id"
#define BOOT_ID_LEN           36

static int read_boot_id(const char *path, char ret[static BOOT_ID_LEN + 1])
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0 || read(fd, ret, BOOT_ID_LEN) != BOOT_ID_LEN)
                return -EIO;
        ret[BOOT_ID_LEN] = '\0';
        return 0;
}

static void volatile_marker_prepare(const RunSpec *spec, bool volatile_upper)
{
        char boot[BOOT_ID_LEN + 1], recorded[BOOT_ID_LEN + 1], stamp[PATH_MAX], marker[PATH_MAX];
        _cleanup_close_ int fd = -EBADF;

        if (read_boot_id("/proc/sys/kernel/random/boot_id", boot) < 0)
                return;
        snprintf(stamp, sizeof(stamp), "%s/../" VOLATILE_BOOT_ID_FILE, spec->workdir);
        if (read_boot_id(stamp, recorded) >= 0 && streq(recorded, boot)) {
                /* incompat/volatile/dirty, as the kernel makes it */
                snprintf(marker, sizeof(marker), "%s/work/incompat/volatile/dirty", spec->workdir);
                (void) unlink(marker);
                *strrchr(marker, '/') = '\0';
                (void) rmdir(marker);
                *strrchr(marker, '/') = '\0';
                (void) rmdir(marker);
        }
        if (!volatile_upper)
                return;
        fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0)
                (void) write(fd, boot, BOOT_ID_LEN);
}

static int mount_overlay(const RunSpec *spec, bool volatile_upper, ChildError *e)
{
        _cleanup_free_ char *options = NULL;
        const char *lower = spec->lowerdir;
        int r;

        if (isempty(spec->upperdir) || isempty(spec->workdir) || spec->upperdir[0] != '/' ||
            spec->workdir[0] != '/')
                return child_fail(e, -EINVAL, "upperdir and workdir must be absolute paths");

        if (isempty(lower)) {
                if (mount("tmpfs", spec->rootfs, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "size=4k,mode=755") < 0)
                        return child_fail(e, negative_errno(), "cannot mount the empty lower layer");
                if (chdir(spec->rootfs) < 0 || mkdir("empty", 0755) < 0 || chdir("empty") < 0)
                        return child_fail(e, negative_errno(), "cannot create the empty lower layer");
                lower = ".";
        } else if (isempty(spec->layers_dir) || chdir(spec->layers_dir) < 0)
                return child_fail(e, negative_errno(), "cannot enter the layer directory '%s'",
                                  strempty(spec->layers_dir));

        /* A run --rm container's upper dir is deleted after it: "volatile" spares overlay's sync of the
         * whole upper filesystem when the container's mount namespace goes, which the exit waited for
         * (2 ms on a quiet disk, hundreds with a pull writing). Its fsyncs inside become no-ops too; for
         * the marker it leaves see volatile_marker_prepare(). Kernels before 5.10 do not know it. */
        volatile_marker_prepare(spec, volatile_upper);
        r = asprintf(&options, "lowerdir=%s,upperdir=%s,workdir=%s%s", lower, spec->upperdir, spec->workdir,
                     volatile_upper ? ",volatile" : "");
        if (r < 0)
                return child_fail(e, -ENOMEM, "out of memory");
        if (strlen(options) >= OVERLAY_OPTIONS_MAX)
                return child_fail(e, -E2BIG, "overlay options are %zu bytes, more than a mount can take",
                                  strlen(options));
        r = mount("overlay", spec->rootfs, "overlay", 0, options);
        if (r < 0 && errno == EINVAL && volatile_upper) {
                options[strlen(options) - strlen(",volatile")] = '\0';
                r = mount("overlay", spec->rootfs, "overlay", 0, options);
        }
        if (r < 0)
                return child_fail(e, negative_errno(), "cannot mount the container's root on '%s'",
                                  spec->rootfs);
        if (chdir("/") < 0)
                return child_fail(e, negative_errno(), "cannot leave the layer directory");
        return 0;
}

int rootfs_mount_overlay(const RunSpec *spec, ChildError *e)
{
        return mount_overlay(spec, false, e);
}

/* berth's own files, bound read-only over the image's; the binds come after the caller's mounts, as Docker
 * orders them (a volume on /etc still shows the container's hostname, hosts and resolv.conf). */
static const char *const etc_file_targets[] = { "etc/hostname", "etc/hosts", "etc/resolv.conf" };

static const char *etc_file_source(const RunSpec *spec, size_t i)
{
        const char *const sources[] = { spec->hostname_file, spec->hosts_file, spec->resolv_conf_file };

        return sources[i];
}

/* Whether one of the caller's mounts may go on /etc or below it: then the binds' targets are made where
 * that mount puts them, by the child. A target reached through a symlink of the image's ("/data -> /etc")
 * counts as one. */
static bool mounts_reach_etc(const RunSpec *spec, int root_fd)
{
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS,
        };

        STRV_FOREACH (entry, spec->mounts) {
                _cleanup_(mount_entry_done) MountEntry m = {};
                _cleanup_close_ int fd = -EBADF;

                if (mount_entry_parse_mount(*entry, &m) < 0 || streq(m.target, "/etc") ||
                    startswith(m.target, "/etc/"))
                        return true;
                fd = openat2_retry(root_fd, m.target, &how);
                if (fd == -ELOOP)
                        return true;
        }
        return false;
}

/* A container's first start creates the targets of those binds in its writable layer: a copy-up of /etc and
 * three files, made here before the go rather than by the child after it, where the child would make them
 * itself: in the image's own /etc, a directory reached through no symlink, with no mount of the caller's on
 * /etc or below. Best effort: the child makes, and reports, whatever is missing still. */
static void make_etc_file_targets(const RunSpec *spec)
{
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS,
        };
        _cleanup_close_ int root_fd = -EBADF, etc_fd = -EBADF;

        root_fd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0 || mounts_reach_etc(spec, root_fd))
                return;
        etc_fd = openat2_retry(root_fd, "etc", &how);
        if (etc_fd < 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(etc_file_targets); i++) {
                const char *name = etc_file_targets[i] + strlen("etc/");
                int fd;

                if (isempty(etc_file_source(spec, i)))
                        continue;
                /* O_EXCL|O_NOFOLLOW: an existing file, or a symlink of the image's, is left to the child. */
                fd = openat(etc_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                safe_close(fd);
        }
}

int rootfs_prepare(const RunSpec *spec, ChildError *e)
{
        int r;

        if (unshare(CLONE_NEWNS) < 0)
                return child_fail(e, negative_errno(), "cannot create the container's mount namespace");
        /* A slave: what we mount never reaches berthd's namespace or the host, and what berthd mounts
         * until the clone still arrives, as it did when the child copied berthd's namespace itself. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return child_fail(e, negative_errno(),
                                  "cannot make the container's mount namespace a slave");
        r = mount_overlay(spec, spec->state_unsynced, e);
        if (r < 0)
                return r;
        make_etc_file_targets(spec);
        return 0;
}

/* A sysfs instance shows the network devices of the mounter's network namespace; the kernel refuses one
 * where the caller may not mount that namespace's sysfs (host network in some nested setups). Then the
 * host's /sys is bound read-only, recursively, as runc does. */
static int mount_sys(int root_fd, bool writable, ChildError *e)
{
        _cleanup_close_ int target = -EBADF, tree = -EBADF;
        /* Read-only as Docker's, except for a privileged container (Docker's rule too). */
        const unsigned attrs = (writable ? 0 : MOUNT_ATTR_RDONLY) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                               MOUNT_ATTR_NOEXEC;
        int r;

        r = mount_fs_at(root_fd, "sys", "sysfs", NULL, attrs);
        if (r >= 0)
                return 0;
        if (r != -EPERM && r != -EACCES && r != -EBUSY)
                return child_fail(e, r, "cannot mount sysfs on /sys");

        r = open_mount_target(root_fd, "sys", true, &target);
        if (r < 0)
                return child_fail(e, r, "cannot open mount point /sys");
        r = mount_bind_new(AT_FDCWD, "/sys", true, attrs, &tree);
        if (r < 0)
                return child_fail(e, r, "cannot bind the host's /sys");
        r = mount_attach(tree, target);
        if (r < 0)
                return child_fail(e, r, "cannot attach /sys");
        return 0;
}

/* On a cgroup2 host, Docker's view: a cgroup2 instance of the container's own cgroup namespace (rooted at
 * its scope, see container-spawn.c), read-only unless privileged, so programs that size themselves from
 * their limits (memory.max, cpu.max, pids.max) find them. A v1 or hybrid host keeps /sys/fs/cgroup empty:
 * its v1 hierarchies would show the host's tree. */
static int mount_cgroup(int root_fd, bool writable, ChildError *e)
{
        const unsigned attrs = (writable ? 0 : MOUNT_ATTR_RDONLY) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                               MOUNT_ATTR_NOEXEC;
        struct statfs sfs;
        int r;

        if (statfs("/sys/fs/cgroup", &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                return 0;
        r = mount_fs_at(root_fd, "sys/fs/cgroup", "cgroup2", NULL, attrs);
        if (r < 0)
                return child_fail(e, r, "cannot mount cgroup2 on /sys/fs/cgroup");
        return 0;
}

/* Docker creates the target in the container's upper layer when the image lacks it; a bind of a host file
 * needs a file to sit on. */
static int bind_host_file(int root_fd, const char *source, const char *dest, ChildError *e)
{
        _cleanup_close_ int target = -EBADF, tree = -EBADF;
        int r;

        if (isempty(source))
                return 0;
        r = open_mount_target(root_fd, dest, false, &target);
        if (r < 0)
                return child_fail(e, r, "cannot create /%s in the container", dest);
        r = mount_bind_new(AT_FDCWD, source, false,
                           MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                           &tree);
        if (r < 0)
                return child_fail(e, r, "cannot bind '%s'", source);
        r = mount_attach(tree, target);
        if (r < 0)
                return child_fail(e, r, "cannot bind '%s' on /%s", source, dest);
        return 0;
}

/* One -v/--mount/--tmpfs. The target is opened with RESOLVE_IN_ROOT (open_mount_target()), so an image's
 * symlink ("data -> /etc", "data -> ../../..") resolves inside the container's root and the mount goes onto
 * that fd, never onto a host path; a target that resolves to the root itself is refused, as it would hide
 * the container's whole tree. */
static int mount_one(int root_fd, const char *spec_entry, char **copy_up_targets, ChildError *e)
{
        _cleanup_(mount_entry_done) MountEntry m = {};
        _cleanup_close_ int target = -EBADF, tree = -EBADF;
        struct stat st, root_st;
        bool dir = true;
        int r;

        if (mount_entry_parse_mount(spec_entry, &m) < 0 || m.type == MOUNT_TYPE_VOLUME)
                return child_fail(e, -EINVAL, "bad mount in the run spec: '%s'", spec_entry);
        if (m.type == MOUNT_TYPE_BIND) {
                if (stat(m.source, &st) < 0)
                        return child_fail(e, negative_errno(), "cannot find the mount source '%s'",
                                          m.source);
                dir = S_ISDIR(st.st_mode);
        }
        r = open_mount_target(root_fd, m.target + 1, dir, &target);
        if (r < 0)
                return child_fail(e, r, "cannot open the mount point %s in the container", m.target);
        if (fstat(target, &st) < 0 || fstat(root_fd, &root_st) < 0)
                return child_fail(e, negative_errno(), "cannot stat the mount point %s", m.target);
        if (st.st_dev == root_st.st_dev && st.st_ino == root_st.st_ino)
                return child_fail(e, -ELOOP, "the mount point %s resolves to the container's root",
                                  m.target);
        if (m.type == MOUNT_TYPE_BIND && dir && copy_up_targets &&
            strv_contains(copy_up_targets, m.target)) {
                _cleanup_close_ int from = openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                                    to = open(m.source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                if (from < 0 || to < 0)
                        return child_fail(e, negative_errno(), "cannot open %s for the volume's copy-up",
                                          m.target);
                r = copy_up(from, to);
                if (r < 0)
                        return child_fail(e, r, "cannot copy %s into its new volume", m.target);
        }

        if (m.type == MOUNT_TYPE_TMPFS) {
                _cleanup_free_ char *mode = NULL, *size = NULL;
                const char *opts[3] = {};

                if (asprintf(&mode, "mode=%o", m.tmpfs_mode) < 0 ||
                    (m.tmpfs_size && asprintf(&size, "size=%" PRIu64, m.tmpfs_size) < 0))
                        return child_fail(e, -ENOMEM, "out of memory");
                opts[0] = mode;
                opts[1] = size;
                r = mount_fs_new("tmpfs", "tmpfs", opts,
                                 (m.readonly ? MOUNT_ATTR_RDONLY : 0) | MOUNT_ATTR_NOSUID |
                                         MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                                 &tree);
        } else if (m.readonly)
                r = mount_bind_new(AT_FDCWD, m.source, true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV, &tree);
        else
                /* berthd's unit has ProtectSystem=strict: in its mount namespace (the monitor's copy of it)
                 * the host's tree is bound read-only. A writable bind clears that flag on its own clone, so
                 * the container writes where the host would; the file system itself was never read-only. */
                r = mount_bind_writable(AT_FDCWD, m.source, true, MOUNT_ATTR_NODEV, &tree);
        if (r < 0)
                return child_fail(e, r, "cannot make the %s mount for %s", mount_type_to_string(m.type),
                                  m.target);
        r = mount_attach(tree, target);
        if (r < 0)
                return child_fail(e, r, "cannot mount on %s", m.target);
        return 0;
}

int rootfs_setup(const RunSpec *spec, int *ret_root_fd, ChildError *e)
{
        static const char *const no_opts[] = { NULL };
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        /* Nothing we mount may propagate back to the host (or to other containers). */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return child_fail(e, negative_errno(), "cannot make / private");

        root_fd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return child_fail(e, negative_errno(), "cannot open the container's root");

        r = mount_fs_at(root_fd, "proc", "proc", no_opts,
                        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (r < 0)
                return child_fail(e, r, "cannot mount proc on /proc");
        r = mount_sys(root_fd, spec->privileged, e);
        if (r < 0)
                return r;
        r = mount_cgroup(root_fd, spec->privileged, e);
        if (r < 0)
                return r;
        r = dev_setup(root_fd, spec->tty, spec->devices, e);
        if (r < 0)
                return r;

        /* The caller's mounts, then berth's own files on top of them. */
        STRV_FOREACH (m, spec->mounts) {
                r = mount_one(root_fd, *m, spec->copy_up, e);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(etc_file_targets); i++) {
                r = bind_host_file(root_fd, etc_file_source(spec, i), etc_file_targets[i], e);
                if (r < 0)
                        return r;
        }

        /* --read-only: the overlay alone; what is mounted on it (volumes, /dev, /proc) keeps its own mode.
         */
        if (spec->read_only) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (mount_setattr(root_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                        return child_fail(e, negative_errno(), "cannot make the container's root read-only");
        }

        *ret_root_fd = TAKE_FD(root_fd);
        return 0;
}

int rootfs_pivot(int root_fd, ChildError *e)
{
        /* pivot_root(".", ".") stacks the old root on top of the new one at "/"; detaching it leaves only
         * the container's root, with no directory needed to park the old one in (the runc way). */
        if (fchdir(root_fd) < 0)
                return child_fail(e, negative_errno(), "cannot enter the container's root");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return child_fail(e, negative_errno(), "pivot_root failed");
        if (umount2(".", MNT_DETACH) < 0)
                return child_fail(e, negative_errno(), "cannot detach the host's root");
        if (chdir("/") < 0)
                return child_fail(e, negative_errno(), "cannot chdir to /");
        return 0;
}
