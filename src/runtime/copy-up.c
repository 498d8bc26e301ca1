/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/copy-up.h"
#include "shared/fs-util.h"
#include "shared/macro.h"

#define COPY_DEPTH_MAX 256

static int copy_attrs(int dir_fd, const char *name, const struct stat *st)
{
        const struct timespec times[2] = { st->st_atim, st->st_mtim };

        if (fchownat(dir_fd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISLNK(st->st_mode) && fchmodat(dir_fd, name, st->st_mode & 07777, 0) < 0)
                return negative_errno();
        if (utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        return 0;
}

static int copy_file(int src_dir, int dst_dir, const char *name)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;

        in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return negative_errno();
        out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return negative_errno();
        for (;;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, 1U << 30, 0);
                if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP)) {
                        char buf[65536];
                        n = read(in, buf, sizeof(buf));
                        if (n > 0 && write(out, buf, (size_t) n) != n)
                                return errno ? negative_errno() : -EIO;
                }
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 0;
        }
}

static int copy_dir(int src, int dst, unsigned depth)
{
        _cleanup_close_ int iter = -EBADF;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > COPY_DEPTH_MAX)
                return -ELOOP;
        iter = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (iter < 0)
                return negative_errno();
        d = fdopendir(iter);
        if (!d)
                return negative_errno();
        iter = -EBADF; /* the DIR owns it now */
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                const char *n = de->d_name;
                struct stat st;

                if (streq(n, ".") || streq(n, ".."))
                        continue;
                if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = negative_errno();
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int s = -EBADF, t = -EBADF;

                        if (mkdirat(dst, n, 0700) < 0) {
                                r = negative_errno();
                                break;
                        }
                        s = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        t = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s < 0 || t < 0) {
                                r = negative_errno();
                                break;
                        }
                        r = copy_dir(s, t, depth + 1);
                } else if (S_ISREG(st.st_mode))
                        r = copy_file(src, dst, n);
                else if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t len = readlinkat(src, n, target, sizeof(target) - 1);

                        if (len < 0)
                                r = negative_errno();
                        else {
                                target[len] = 0;
                                r = symlinkat(target, dst, n) < 0 ? negative_errno() : 0;
                        }
                } else
                        r = mknodat(dst, n, st.st_mode & S_IFMT, st.st_rdev) < 0 ? negative_errno() : 0;
                if (r >= 0)
                        r = copy_attrs(dst, n, &st);
        }
        if (r >= 0 && errno != 0)
                r = negative_errno();
        closedir(d);
        return r;
}

int copy_up(int src_fd, int dst_fd)
{
        struct stat st;
        int r;

        r = dir_is_empty_at(dst_fd);
        if (r <= 0)
                return r;

        r = copy_dir(src_fd, dst_fd, 0);
        if (r < 0)
                return r;
        /* The volume's root takes the owner and mode of the image's directory too (Docker's). */
        if (fstat(src_fd, &st) < 0)
                return negative_errno();
        if (fchown(dst_fd, st.st_uid, st.st_gid) < 0 || fchmod(dst_fd, st.st_mode & 07777) < 0)
                return negative_errno();
        return 0;
}
