/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* All of data to fd, through EINTR and short writes; on a non-blocking fd, waits for room with poll(). */
int write_full(int fd, const void *data, size_t size);

/* Writes data to dir_fd/path atomically: a temporary file in the same dir, fsync, rename over the target,
 * then fsync of the dir. Readers see the old content or the new one, never a torn file. */
int write_file_atomic_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode);

/* Like write_file_atomic_at(), for a small file rewritten often that must stay writable on a full disk (a
 * container's state): the new content goes into a twin ".<name>.spare" of exactly `reserve` bytes, padded
 * with spaces (so only for formats where trailing whitespace means nothing, like JSON), which then trades
 * places with the file (renameat2 RENAME_EXCHANGE). The old content becomes the next spare: after the first
 * write no rewrite allocates a block. Content larger than `reserve` falls back to write_file_atomic_at(). */
int write_file_reserved_at(int dir_fd, const char *path, const void *data, size_t size, size_t reserve,
                           mode_t mode);

typedef enum WriteFileFlags {
        /* No fsync of the directory after the rename: for files written into a new directory that is itself
         * synced once, before it is renamed into place (a container's files at create). */
        WRITE_FILE_NO_SYNC_DIR = 1 << 0,
        /* No fsync at all, of the file or of its directory: the replacement stays atomic (a reader, or a
         * berthd restarted after kill -9, sees the old or the new content, never a mix), but after a power
         * loss the file may hold an older content, or none (empty, or a spare's blanks). For what is written
         * again before each use, or describes only what runs now (no power loss outlives it). */
        WRITE_FILE_NO_SYNC = 1 << 1,
} WriteFileFlags;
int write_file_atomic_flags_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode,
                               WriteFileFlags flags);
int write_file_reserved_flags_at(int dir_fd, const char *path, const void *data, size_t size, size_t reserve,
                                 mode_t mode, WriteFileFlags flags);

/* Reads a whole regular file of at most max_size bytes; the buffer is NUL-terminated (not counted). */
int read_file_at(int dir_fd, const char *path, size_t max_size, char **ret, size_t *ret_size);

/* mkdir -p relative to dir_fd; existing dirs are fine. */
int mkdir_p_at(int dir_fd, const char *path, mode_t mode);

/* rm -rf of dir_fd/name without following symlinks or crossing mount points. Missing is fine. */
int rm_rf_at(int dir_fd, const char *name);
/* rm_rf_at() of each entry of dir_fd whose name starts with prefix ("" for all); goes on after a failure
 * and returns the first. */
int remove_entries_at(int dir_fd, const char *prefix);

/* Opens a directory O_DIRECTORY|O_CLOEXEC|O_NOFOLLOW relative to dir_fd (or AT_FDCWD). */
int open_dir_at(int dir_fd, const char *path);

struct open_how;
/* openat2(2), asked again while the kernel answers EAGAIN: with RESOLVE_IN_ROOT or RESOLVE_BENEATH it
 * refuses so a ".." resolved while any rename or mount happened anywhere on the host, which a busy host
 * makes common. Returns the new fd, or -errno (-EAGAIN only after many tries). */
int openat2_retry(int dir_fd, const char *path, const struct open_how *how);

int fsync_dir_at(int dir_fd, const char *path);

static inline void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

/* opendir() of dir_fd/path ("." for dir_fd itself), without following a symlink at the end. */
int opendir_at(int dir_fd, const char *path, DIR **ret);

/* 1 when the directory dir_fd holds no entry, 0 when it holds one, negative errno. */
int dir_is_empty_at(int dir_fd);

typedef enum DirUsageFlags {
        /* Apparent bytes (st_size) of files and symlinks, directories not counted: Docker's directory.Size.
         * Without it, allocated bytes (st_blocks) of every entry, directories included: du. */
        DIR_USAGE_APPARENT = 1 << 0,
        /* Entries deleted while the walk runs are skipped instead of failing it (a running container's). */
        DIR_USAGE_IGNORE_VANISHED = 1 << 1,
} DirUsageFlags;

/* Adds to *total the usage of everything below the directory dir_fd (taken over, closed), without following
 * symlinks, each hard-linked inode once. */
int dir_usage_at(int dir_fd, DirUsageFlags flags, uint64_t *total);
