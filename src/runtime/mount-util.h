/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Mount helpers for the container child, all by file descriptor (the new mount API): a target is opened
 * below the container root with RESOLVE_IN_ROOT, so a symlink in an image ("dev -> /", "etc/hosts ->
 * /etc/shadow") resolves inside that root and never on the host, and nothing goes through path strings
 * after that. */

/* Opens root_fd/path as O_PATH with RESOLVE_IN_ROOT; when missing, creates it (a directory, or an empty file
 * when !dir) together with missing parent directories (0755). */
int open_mount_target(int root_fd, const char *path, bool dir, int *ret_fd);

/* Creates a filesystem instance (fsopen/fsconfig/fsmount). options is a NULL-terminated list of "key=value"
 * strings and bare flags; attrs are MOUNT_ATTR_*. Returns the detached mount's fd, whose root directory may
 * be filled before it is attached. */
int mount_fs_new(const char *fstype, const char *source, const char *const *options, unsigned attrs,
                 int *ret_fd);

/* Clones the host path (recursively when recursive) as a detached mount, with attrs set (recursively). */
int mount_bind_new(int dir_fd, const char *path, bool recursive, unsigned attrs, int *ret_fd);
/* The same, and writable (recursively when recursive) even where the source is bound read-only, as berthd's
 * ProtectSystem= and ProtectControlGroups= bind the host's tree: only the view was read-only. */
int mount_bind_writable(int dir_fd, const char *path, bool recursive, unsigned attrs, int *ret_fd);

/* mkdir -p of an absolute host path (mode for what it makes), also where this process sees the host
 * read-only (berthd's ProtectSystem=strict binds it so; the file system itself is writable): through a
 * writable clone of the mount of the nearest existing ancestor. 0 when path exists already (whatever it
 * is), -ENOTDIR when an ancestor is not a directory. Symlinks in the existing part are followed. */
int mkdir_p_host(const char *path, mode_t mode);

/* A writable clone of the mount of the cgroup2 hierarchy (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
 * hybrid host), as a detached mount, for moving processes between cgroups where berthd's unit made that
 * mount read-only (ProtectControlGroups=). Never a new cgroup2 instance: mounting one from the host's
 * cgroup namespace applies its options to the host's whole hierarchy, and no options there clear
 * systemd's nsdelegate and memory_recursiveprot. -ENOENT without a cgroup2 hierarchy. */
int cgroup2_clone_writable(int *ret_fd);

/* Attaches a detached mount on target_fd. */
int mount_attach(int mount_fd, int target_fd);

/* mount_fs_new + mount_attach on root_fd/path (created when missing). */
int mount_fs_at(int root_fd, const char *path, const char *fstype, const char *const *options,
                unsigned attrs);
