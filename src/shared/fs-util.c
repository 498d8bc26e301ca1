/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <errno.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include <search.h>

#include "shared/fs-util.h"
#include "shared/macro.h"

int open_dir_at(int dir_fd, const char *path)
{
        int fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? negative_errno() : fd;
}

/* Each try takes microseconds, and an EAGAIN needs a rename or mount within one: many tries in a row fail
 * only when something renames or mounts without pause, and then the caller hears EAGAIN. */
#define OPENAT2_TRIES 256

int openat2_retry(int dir_fd, const char *path, const struct open_how *how)
{
        for (unsigned i = 0;; i++) {
                int fd = (int) syscall(SYS_openat2, dir_fd, path, how, sizeof(*how));

                if (fd >= 0)
                        return fd;
                if (errno != EAGAIN || i + 1 >= OPENAT2_TRIES)
                        return -errno;
        }
}

int opendir_at(int dir_fd, const char *path, DIR **ret)
{
        int fd = open_dir_at(dir_fd, path);
        DIR *d;

        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }
        *ret = d;
        return 0;
}

int dir_is_empty_at(int dir_fd)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = opendir_at(dir_fd, ".", &d);
        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        return 0;
        return errno != 0 ? negative_errno() : 1;
}

int fsync_dir_at(int dir_fd, const char *path)
{
        _cleanup_close_ int fd = open_dir_at(dir_fd, path);
        if (fd < 0)
                return fd;
        return fsync(fd) < 0 ? negative_errno() : 0;
}

int write_full(int fd, const void *data, size_t size)
{
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                                (void) poll(&pfd, 1, -1);
                                continue;
                        }
                        return negative_errno();
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

int write_file_atomic_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode)
{
        return write_file_atomic_flags_at(dir_fd, path, data, size, mode, 0);
}

int write_file_atomic_flags_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode,
                               WriteFileFlags flags)
{
        _cleanup_free_ char *tmp = NULL, *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *slash;
        int r;

        slash = strrchr(path, '/');
        if (asprintf(&tmp, "%.*s.#%s.%ld.%u", slash ? (int) (slash - path + 1) : 0, path,
                     slash ? slash + 1 : path, (long) getpid(), (unsigned) random()) < 0)
                return -ENOMEM;

        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return negative_errno();

        r = write_full(fd, data, size);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && !(flags & WRITE_FILE_NO_SYNC) && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        if (flags & (WRITE_FILE_NO_SYNC_DIR | WRITE_FILE_NO_SYNC))
                return 0;

        dir = slash ? strndup(path, (size_t) (slash - path)) : strdup(".");
        if (!dir)
                return -ENOMEM;
        return fsync_dir_at(dir_fd, isempty(dir) ? "/" : dir);
}

/* Fills the spare: content, then spaces up to `reserve` bytes, all written, so later rewrites find every
 * block allocated (a fallocate'd range would still be unwritten extents on some filesystems). Synced when
 * it is about to become the file; a spare that stays a spare needs no sync (written, its blocks are
 * reserved; its content counts only once the next write has filled and synced it). */
static int fill_spare(int dir_fd, const char *spare, const void *data, size_t size, size_t reserve,
                      mode_t mode, bool sync)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;

        buf = malloc(reserve);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, data, size);
        memset(buf + size, ' ', reserve - size);

        /* No O_TRUNC: truncating would hand the blocks back, and taking them again may fail on a full
         * disk. */
        fd = openat(dir_fd, spare, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return negative_errno();
        for (size_t done = 0; done < reserve;) {
                ssize_t n = pwrite(fd, buf + done, reserve - done, (off_t) done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                done += (size_t) n;
        }
        if (ftruncate(fd, (off_t) reserve) < 0 || fchmod(fd, mode) < 0 || (sync && fsync(fd) < 0))
                return negative_errno();
        return 0;
}

int write_file_reserved_at(int dir_fd, const char *path, const void *data, size_t size, size_t reserve,
                           mode_t mode)
{
        return write_file_reserved_flags_at(dir_fd, path, data, size, reserve, mode, 0);
}

int write_file_reserved_flags_at(int dir_fd, const char *path, const void *data, size_t size, size_t reserve,
                                 mode_t mode, WriteFileFlags flags)
{
        _cleanup_free_ char *spare = NULL, *dir = NULL;
        const char *slash;
        int r;

        if (size > reserve)
                return write_file_atomic_flags_at(dir_fd, path, data, size, mode, flags);

        slash = strrchr(path, '/');
        if (asprintf(&spare, "%.*s.%s.spare", slash ? (int) (slash - path + 1) : 0, path,
                     slash ? slash + 1 : path) < 0)
                return -ENOMEM;
        dir = slash ? strndup(path, (size_t) (slash - path)) : strdup(".");
        if (!dir)
                return -ENOMEM;

        r = fill_spare(dir_fd, spare, data, size, reserve, mode, !(flags & WRITE_FILE_NO_SYNC));
        if (r < 0)
                return r;

        if (renameat2(dir_fd, spare, dir_fd, path, RENAME_EXCHANGE) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                /* The first write: the spare becomes the file, and a new spare is made for the next one. */
                if (renameat(dir_fd, spare, dir_fd, path) < 0)
                        return negative_errno();
                r = fill_spare(dir_fd, spare, data, size, reserve, mode, false);
                if (r < 0) {
                        (void) unlinkat(dir_fd, spare, 0);
                        return r;
                }
        }
        if (flags & (WRITE_FILE_NO_SYNC_DIR | WRITE_FILE_NO_SYNC))
                return 0;
        return fsync_dir_at(dir_fd, isempty(dir) ? "/" : dir);
}

int read_file_at(int dir_fd, const char *path, size_t max_size, char **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0, allocated;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max_size)
                return -EFBIG;

        allocated = (size_t) st.st_size + 1;
        buf = malloc(allocated);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t n;

                if (size + 1 >= allocated) {
                        char *nb;
                        if (allocated > max_size)
                                return -EFBIG;
                        allocated = MIN(allocated * 2, max_size + 1);
                        nb = realloc(buf, allocated);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                n = read(fd, buf + size, allocated - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        buf[size] = 0;

        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int mkdir_p_at(int dir_fd, const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                bool end = *s == 0;
                if (*s != '/' && !end)
                        continue;
                *s = 0;
                if (mkdirat(dir_fd, p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                if (end)
                        break;
                *s = '/';
        }
        return 0;
}

static int rm_rf_children(int fd, dev_t dev)
{
        _cleanup_(closedirp) DIR *d = NULL;
        int r = 0;

        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }

        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = negative_errno();
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        int q, subfd;

                        if (st.st_dev != dev) /* never cross into a mount */
                                continue;
                        subfd = openat(dirfd(d), de->d_name,
                                       O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        if (subfd < 0) {
                                if (errno != ENOENT && r == 0)
                                        r = negative_errno();
                                continue;
                        }
                        q = rm_rf_children(subfd, dev);
                        if (q < 0 && r == 0)
                                r = q;
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                                r = negative_errno();
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = negative_errno();
        }
        return r;
}

int rm_rf_at(int dir_fd, const char *name)
{
        struct stat st;
        int fd, r;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? negative_errno() : 0;

        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        r = rm_rf_children(fd, st.st_dev);
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = negative_errno();
        return r;
}

int remove_entries_at(int dir_fd, const char *prefix)
{
        _cleanup_(closedirp) DIR *d = NULL;
        int r;

        r = opendir_at(dir_fd, ".", &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") || !startswith(de->d_name, prefix))
                        continue;
                int q = rm_rf_at(dirfd(d), de->d_name);
                if (q < 0 && r == 0)
                        r = q;
        }
        return r;
}

static int compare_ino(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* seen: a tsearch(3) tree of the inode numbers of hard-linked files counted already. */
static int dir_usage_walk(int dir_fd, DirUsageFlags flags, void **seen, uint64_t *total)
{
        _cleanup_(closedirp) DIR *d = NULL;
        bool ignore_vanished = flags & DIR_USAGE_IGNORE_VANISHED;
        int r;

        d = fdopendir(dir_fd);
        if (!d) {
                safe_close(dir_fd);
                return negative_errno();
        }
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT && ignore_vanished)
                                continue;
                        return negative_errno();
                }
                if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                        uint64_t ino = (uint64_t) st.st_ino, *key;

                        if (tfind(&ino, seen, compare_ino))
                                continue;
                        key = malloc(sizeof(ino));
                        if (!key)
                                return -ENOMEM;
                        *key = ino;
                        if (!tsearch(key, seen, compare_ino))
                                return free(key), -ENOMEM;
                }
                if (!(flags & DIR_USAGE_APPARENT))
                        *total += (uint64_t) st.st_blocks * 512;
                else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
                        *total += (uint64_t) st.st_size;
                if (S_ISDIR(st.st_mode)) {
                        int fd = openat(dirfd(d), de->d_name,
                                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0) {
                                if (errno == ENOENT && ignore_vanished)
                                        continue;
                                return negative_errno();
                        }
                        r = dir_usage_walk(fd, flags, seen, total);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int dir_usage_at(int dir_fd, DirUsageFlags flags, uint64_t *total)
{
        void *seen = NULL;
        int r;

        r = dir_usage_walk(dir_fd, flags, &seen, total);
        tdestroy(seen, free);
        return r;
}
