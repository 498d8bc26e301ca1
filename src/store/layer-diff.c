/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "store/archive-util.h"
#include "store/layer-diff.h"

#define COPY_BUFFER_SIZE     (256U * 1024U)
#define XATTR_LIST_MAX_BYTES (64U * 1024U)
#define WHITEOUT_PREFIX      ".wh."
#define OPAQUE_NAME          ".wh..wh..opq"

typedef struct DiffWriter {
        struct archive *tar;
        GHashTable *inodes; /* "dev:ino" → first path written, for hardlinks */
        uint8_t *buffer;
        char message[256];
} DiffWriter;

static int fail(DiffWriter *w, int error, const char *format, ...) _printf_(3, 4);
static int fail(DiffWriter *w, int error, const char *format, ...)
{
        va_list ap;

        if (!w->message[0]) {
                va_start(ap, format);
                vsnprintf(w->message, sizeof(w->message), format, ap);
                va_end(ap);
        }
        return error;
}

static int tar_error(DiffWriter *w, const char *path)
{
        int e = archive_errno(w->tar);
        return fail(w, e > 0 ? -e : -EIO, "Cannot write '%s' to the layer: %s", path,
                    strna(archive_error_string(w->tar)));
}

static bool xattr_is_overlay(const char *name)
{
        return startswith(name, "trusted.overlay.") || startswith(name, "user.overlay.");
}

/* Copies the xattrs of dir_fd/name onto entry, dropping overlay's own. *ret_opaque tells whether overlay
 * marked the directory opaque. Symlinks and devices cannot be opened for f*xattr(), hence the /proc path. */
static int add_xattrs(DiffWriter *w, int dir_fd, const char *name, const char *path,
                      struct archive_entry *entry, bool *ret_opaque)
{
        _cleanup_free_ char *list = NULL;
        char proc[64 + NAME_MAX];
        ssize_t n;

        *ret_opaque = false;
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dir_fd, name);
        n = llistxattr(proc, NULL, 0);
        if (n < 0)
                return errno == ENOTSUP ? 0
                                        : fail(w, negative_errno(), "Cannot list xattrs of '%s': %m", path);
        if (n == 0)
                return 0;
        if ((size_t) n > XATTR_LIST_MAX_BYTES)
                return fail(w, -E2BIG, "Too many xattrs on '%s'", path);
        list = malloc(n);
        if (!list)
                return fail(w, -ENOMEM, "Out of memory");
        n = llistxattr(proc, list, n);
        if (n < 0)
                return fail(w, negative_errno(), "Cannot list xattrs of '%s': %m", path);

        for (const char *x = list; x < list + n; x += strlen(x) + 1) {
                _cleanup_free_ char *value = NULL;
                ssize_t size;

                if (xattr_is_overlay(x)) {
                        const char *what =
                                startswith(x, "trusted.overlay.") ?: startswith(x, "user.overlay.");
                        if (streq(what, "redirect") || streq(what, "metacopy"))
                                return fail(
                                        w, -EOPNOTSUPP,
                                        "'%s' has an overlay %s: the writable layer alone does not hold it",
                                        path, what);
                        if (streq(what, "opaque")) {
                                char v = 0;
                                if (lgetxattr(proc, x, &v, 1) == 1 && v == 'y')
                                        *ret_opaque = true;
                        }
                        continue;
                }
                size = lgetxattr(proc, x, NULL, 0);
                if (size < 0)
                        return fail(w, negative_errno(), "Cannot read xattr %s of '%s': %m", x, path);
                value = malloc(size + 1);
                if (!value)
                        return fail(w, -ENOMEM, "Out of memory");
                size = lgetxattr(proc, x, value, size);
                if (size < 0)
                        return fail(w, negative_errno(), "Cannot read xattr %s of '%s': %m", x, path);
                archive_entry_xattr_add_entry(entry, x, value, size);
        }
        return 0;
}

void (*layer_diff_before_open_hook)(int dir_fd, const char *name) = NULL;

/* The container runs while it is committed, and this runs as root outside it: between the stat and the open,
 * the file may have become a FIFO (a blocking open would hang the commit forever) or a device node (its
 * content would be copied into the image). So: no blocking, no following, and the opened file must be the
 * regular file that was stat'ed. */
static int open_stated(DiffWriter *w, int dir_fd, const char *name, const char *path, const struct stat *st,
                       int flags)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat opened;

        if (layer_diff_before_open_hook)
                layer_diff_before_open_hook(dir_fd, name);
        fd = openat(dir_fd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | flags);
        if (fd < 0)
                return fail(w, negative_errno(), "Cannot open '%s': %m", path);
        if (fstat(fd, &opened) < 0)
                return fail(w, negative_errno(), "Cannot stat '%s': %m", path);
        if (opened.st_dev != st->st_dev || opened.st_ino != st->st_ino ||
            (opened.st_mode & S_IFMT) != (st->st_mode & S_IFMT))
                return fail(w, -ESTALE, "'%s' was replaced while being copied", path);
        return TAKE_FD(fd);
}

static int write_file_data(DiffWriter *w, int dir_fd, const char *name, const char *path,
                           const struct stat *st)
{
        _cleanup_close_ int fd = -EBADF;
        uint64_t left = st->st_size;

        fd = open_stated(w, dir_fd, name, path, st, 0);
        if (fd < 0)
                return fd;
        while (left > 0) {
                ssize_t n = read(fd, w->buffer, MIN(left, (uint64_t) COPY_BUFFER_SIZE));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return fail(w, negative_errno(), "Cannot read '%s': %m", path);
                if (n == 0)
                        return fail(w, -EIO, "'%s' shrank while being copied", path);
                if (archive_write_data(w->tar, w->buffer, n) != n)
                        return tar_error(w, path);
                left -= n;
        }
        return 0;
}

/* An empty regular file with the given owner and mtime: the tar form of a whiteout. */
static int write_marker(DiffWriter *w, const char *path, const struct stat *st)
{
        _cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();

        if (!e)
                return fail(w, -ENOMEM, "Out of memory");
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0600);
        archive_entry_set_uid(e, st->st_uid);
        archive_entry_set_gid(e, st->st_gid);
        archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
        archive_entry_set_size(e, 0);
        if (archive_write_header(w->tar, e) < ARCHIVE_WARN)
                return tar_error(w, path);
        return 0;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int write_dir(DiffWriter *w, int dir_fd, const char *prefix);

static int write_one(DiffWriter *w, int dir_fd, const char *name, const char *prefix)
{
        _cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
        _cleanup_free_ char *path = NULL;
        bool opaque = false;
        struct stat st;
        int r;

        path = prefix ? g_strdup_printf("%s/%s", prefix, name) : g_strdup(name);
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return fail(w, negative_errno(), "Cannot stat '%s': %m", path);

        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                _cleanup_free_ char *wh = prefix ? g_strdup_printf("%s/" WHITEOUT_PREFIX "%s", prefix, name)
                                                 : g_strdup_printf(WHITEOUT_PREFIX "%s", name);
                return write_marker(w, wh, &st);
        }
        if (S_ISSOCK(st.st_mode)) {
                log_debug("Skipping socket '%s': a tar cannot hold it", path);
                return 0;
        }

        e = archive_entry_new();
        if (!e)
                return fail(w, -ENOMEM, "Out of memory");
        archive_entry_copy_stat(e, &st);
        archive_entry_set_pathname(e, path);
        archive_entry_unset_atime(e);
        archive_entry_unset_ctime(e);
        archive_entry_unset_birthtime(e);
        if (!S_ISREG(st.st_mode))
                archive_entry_set_size(e, 0);

        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX + 1];
                ssize_t n = readlinkat(dir_fd, name, target, PATH_MAX);
                if (n < 0)
                        return fail(w, negative_errno(), "Cannot read symlink '%s': %m", path);
                target[n] = 0;
                archive_entry_set_symlink(e, target);
        } else if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                char key[64];
                const char *first;

                snprintf(key, sizeof(key), "%" PRIu64 ":%" PRIu64, (uint64_t) st.st_dev,
                         (uint64_t) st.st_ino);
                first = g_hash_table_lookup(w->inodes, key);
                if (first) {
                        archive_entry_set_hardlink(e, first);
                        archive_entry_set_size(e, 0);
                } else
                        g_hash_table_insert(w->inodes, g_strdup(key), g_strdup(path));
        }

        r = add_xattrs(w, dir_fd, name, path, e, &opaque);
        if (r < 0)
                return r;

        if (archive_write_header(w->tar, e) < ARCHIVE_WARN)
                return tar_error(w, path);
        if (S_ISREG(st.st_mode) && !archive_entry_hardlink(e) && st.st_size > 0) {
                r = write_file_data(w, dir_fd, name, path, &st);
                if (r < 0)
                        return r;
        }

        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int sub_fd = -EBADF;

                if (opaque) {
                        _cleanup_free_ char *marker = g_strdup_printf("%s/" OPAQUE_NAME, path);
                        r = write_marker(w, marker, &st);
                        if (r < 0)
                                return r;
                }
                sub_fd = open_stated(w, dir_fd, name, path, &st, O_DIRECTORY);
                if (sub_fd < 0)
                        return sub_fd;
                return write_dir(w, sub_fd, path);
        }
        return 0;
}

static int write_dir(DiffWriter *w, int dir_fd, const char *prefix)
{
        _cleanup_(closedirp) DIR *d = NULL;
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        struct dirent *de;
        int r;

        r = opendir_at(dir_fd, ".", &d);
        if (r < 0)
                return fail(w, r, "Cannot open directory '%s': %s", prefix ?: ".", strerror(-r));
        while ((errno = 0, de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        g_ptr_array_add(names, g_strdup(de->d_name));
        if (errno != 0)
                return fail(w, negative_errno(), "Cannot read directory '%s': %m", prefix ?: ".");
        qsort(names->pdata, names->len, sizeof(char *), compare_names);

        for (guint i = 0; i < names->len; i++) {
                r = write_one(w, dir_fd, names->pdata[i], prefix);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_diff(DiffWriter *w, int dir_fd, int output_fd)
{
        _cleanup_(archive_write_freep) struct archive *tar = archive_write_new();
        g_autoptr(GHashTable) inodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        _cleanup_free_ uint8_t *buffer = malloc(COPY_BUFFER_SIZE);
        int r;

        if (!tar || !buffer)
                return fail(w, -ENOMEM, "Out of memory");
        w->tar = tar;
        w->inodes = inodes;
        w->buffer = buffer;

        /* Restricted pax: plain ustar headers unless an entry needs more (long names, xattrs, big ids). */
        if (archive_write_set_format_pax_restricted(tar) != ARCHIVE_OK ||
            archive_write_add_filter_none(tar) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(tar, 1) != ARCHIVE_OK ||
            archive_write_open_fd(tar, output_fd) != ARCHIVE_OK)
                return tar_error(w, ".");

        r = write_dir(w, dir_fd, NULL);
        if (r < 0)
                return r;
        if (archive_write_close(tar) != ARCHIVE_OK)
                return tar_error(w, ".");
        return 0;
}

int layer_diff_write(int dir_fd, int output_fd, BerthError *err)
{
        DiffWriter w = {};
        int r;

        if (dir_fd < 0 || output_fd < 0)
                return -EINVAL;
        r = write_diff(&w, dir_fd, output_fd);
        if (r < 0) {
                log_debug_errno(r, "Writing the layer failed: %s", w.message);
                return berth_error_set(err, r, "%s", w.message[0] ? w.message : "Cannot write the layer");
        }
        return 0;
}
