/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/log.h"
#include "store/archive-util.h"
#include "store/tree-archive.h"

static int archive_fail(struct archive *a, BerthError *e, const char *what)
{
        return berth_error_set(e, archive_error_to_errno(a), "%s: %s", what, archive_message(a));
}

int tree_archive_write(const char *path, int out_fd, BerthError *e)
{
        _cleanup_(archive_read_freep) struct archive *disk = NULL;
        _cleanup_(archive_write_freep) struct archive *tar = NULL;
        g_autofree char *dir = g_strdup(path), *base = g_strdup(path);
        char buf[64 * 1024];
        int r;

        /* Entries are named from the last component on, as docker cp names them. */
        const char *parent = dirname(dir), *name = basename(base);
        if (streq(name, "/"))
                name = ".";
        if (chdir(parent) < 0)
                return berth_error_set(e, negative_errno(), "Cannot enter '%s'", parent);

        disk = archive_read_disk_new();
        tar = archive_write_new();
        if (!disk || !tar)
                return berth_error_set(e, -ENOMEM, "Out of memory");
        (void) archive_read_disk_set_symlink_physical(disk);
        (void) archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
        if (archive_write_set_format_pax_restricted(tar) != ARCHIVE_OK ||
            archive_write_open_fd(tar, out_fd) != ARCHIVE_OK)
                return archive_fail(tar, e, "Cannot write the archive");
        if (archive_read_disk_open(disk, name) != ARCHIVE_OK)
                return archive_fail(disk, e, "Cannot read the files");
        for (;;) {
                _cleanup_(archive_entry_freep) struct archive_entry *entry = archive_entry_new();
                if (!entry)
                        return berth_error_set(e, -ENOMEM, "Out of memory");
                r = archive_read_next_header2(disk, entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_fail(disk, e, "Cannot read the files");
                (void) archive_read_disk_descend(disk);
                /* Numeric owners only: the names would be the host's, not the container's. */
                archive_entry_set_uname(entry, NULL);
                archive_entry_set_gname(entry, NULL);
                r = archive_write_header(tar, entry);
                if (r < ARCHIVE_WARN)
                        return archive_fail(tar, e, "Cannot write the archive");
                if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_size(entry) <= 0)
                        continue;
                for (;;) {
                        la_ssize_t n = archive_read_data(disk, buf, sizeof(buf));
                        if (n < 0)
                                return archive_fail(disk, e, "Cannot read a file");
                        if (n == 0)
                                break;
                        if (archive_write_data(tar, buf, (size_t) n) < 0)
                                return archive_fail(tar, e, "Cannot write the archive");
                }
        }
        if (archive_write_close(tar) != ARCHIVE_OK)
                return archive_fail(tar, e, "Cannot write the archive");
        return 0;
}

/* libarchive's words plus the errno's, so that EROFS reads "Read-only file system". */
static int disk_fail(struct archive *disk, BerthError *e, const char *path)
{
        int r = archive_error_to_errno(disk);

        if (archive_errno(disk) > 0)
                return berth_error_set(e, r, "Cannot write '%s': %s: %s", path, archive_message(disk),
                                       strerror(-r));
        return berth_error_set(e, r, "Cannot write '%s': %s", path, archive_message(disk));
}

/* "a/b/c" with "x" → "x/b/c"; "a" → "x". */
static char *renamed(const char *name, const char *to)
{
        while (startswith(name, "./"))
                name += 2;
        const char *rest = strchr(name, '/');
        return g_strconcat(to, rest ?: "", NULL);
}

int tree_archive_extract(const char *dir, int in_fd, const char *rename, bool owners, BerthError *e)
{
        _cleanup_(archive_read_freep) struct archive *tar = NULL;
        _cleanup_(archive_write_freep) struct archive *disk = NULL;
        int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
                    ARCHIVE_EXTRACT_UNLINK;
        int r;

        if (owners)
                flags |= ARCHIVE_EXTRACT_OWNER;
        if (chdir(dir) < 0)
                return berth_error_set(e, negative_errno(), "Cannot enter '%s'", dir);
        tar = archive_read_new();
        disk = archive_write_disk_new();
        if (!tar || !disk)
                return berth_error_set(e, -ENOMEM, "Out of memory");
        (void) archive_read_support_format_tar(tar);
        (void) archive_read_support_filter_all(tar);
        (void) archive_write_disk_set_options(disk, flags);
        if (archive_read_open_fd(tar, in_fd, 64 * 1024) != ARCHIVE_OK)
                return archive_fail(tar, e, "Cannot read the archive");
        for (;;) {
                struct archive_entry *entry;
                r = archive_read_next_header(tar, &entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_fail(tar, e, "Cannot read the archive");
                if (rename) {
                        g_autofree char *n = renamed(archive_entry_pathname(entry), rename);
                        archive_entry_copy_pathname(entry, n);
                        const char *link = archive_entry_hardlink(entry);
                        if (link) {
                                g_autofree char *l = renamed(link, rename);
                                archive_entry_copy_hardlink(entry, l);
                        }
                }
                r = archive_write_header(disk, entry);
                if (r < ARCHIVE_WARN)
                        return disk_fail(disk, e, archive_entry_pathname(entry));
                if (archive_entry_size(entry) > 0) {
                        const void *buf;
                        size_t size;
                        la_int64_t offset;
                        while ((r = archive_read_data_block(tar, &buf, &size, &offset)) == ARCHIVE_OK)
                                if (archive_write_data_block(disk, buf, size, offset) < ARCHIVE_WARN)
                                        return disk_fail(disk, e, archive_entry_pathname(entry));
                        if (r != ARCHIVE_EOF)
                                return archive_fail(tar, e, "Cannot read the archive");
                }
                if (archive_write_finish_entry(disk) < ARCHIVE_WARN)
                        return disk_fail(disk, e, archive_entry_pathname(entry));
        }
        if (archive_write_close(disk) != ARCHIVE_OK)
                return berth_error_set(e, archive_error_to_errno(disk), "Cannot finish writing: %s",
                                       archive_message(disk));
        return 0;
}
