/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Layer extraction, the last stage of a pull.
 *
 * The data path is two stages on two threads of one process:
 *
 *   input fd ──► layer-decompress.c's thread: [sha256: blob digest] → gzip | zstd | none → [sha256: diff_id]
 *            ──chunks──► tar reader ──► archive_write_disk (here, on the calling thread)
 *
 * A blob of at most 64 KiB is decompressed whole into the chunks first, on the calling thread, and the tar
 * reader then reads them: no second thread for a layer of a few files (layer-decompress.h).
 *
 * Every byte is hashed exactly once and the digests cover the whole stream: after the tar end-of-archive
 * marker the decompressing thread still drains both the decompressed stream and the input fd to EOF, as
 * Docker hashes trailing padding too.
 *
 * Confinement. The layer is hostile input, and archive_write_disk only takes paths relative to the
 * current directory. The extracting process is therefore a dedicated child that makes the destination its
 * root directory (fchdir + chroot), holds no other fd than its input, the destination and its report pipe,
 * keeps only the capabilities extraction needs, sets no_new_privs, loads a seccomp allow-list and has its
 * address space capped (extract-confine.h). Ids are restored numerically, so no NSS lookup is needed in
 * there. On top of that, libarchive's SECURE_NODOTDOT|SECURE_NOABSOLUTEPATHS refuse traversal, and we check
 * names ourselves before libarchive sees them: for "..", and for symlinks on the way (layer-symlinks.h,
 * which does what SECURE_SYMLINKS did at a fraction of the cost). Policy for hostile entries — the
 * whole layer fails
 * (-EBADMSG), nothing is skipped silently, since a layer that tries is not one to run:
 *   - an absolute name ("/etc/x") or hardlink target is re-rooted ("etc/x"), as Docker does: ko writes
 *     layers so, umoci a "/" entry (the root, "."); in the chroot they reach nothing else anyway;
 *   - a ".." component in a name or a hardlink target: fails;
 *   - a name that goes through a symlink created earlier by the layer ("a -> /etc", then "a/passwd"), also
 *     through chains of symlinks: fails ("Cannot extract through symlink"; our own whiteout code opens each
 *     directory with O_NOFOLLOW too). An entry whose own name is such a symlink replaces it, as Docker's
 *     does, instead of following it;
 *   - a hardlink to a file that is not in the layer (e.g. "/etc/passwd", "../x"): fails; one that resolves
 *     through a symlink can only reach files under the root anyway, because of the chroot;
 *   - symlinks themselves are stored verbatim, absolute or not: they are ordinary rootfs content and are
 *     only resolved later, inside the container's root.
 *
 * Whiteouts become overlay form as Docker's overlay2 driver does: ".wh.NAME" becomes a 0/0 character
 * device NAME with the entry's owner; ".wh..wh..opq" sets trusted.overlay.opaque=y on its directory; other
 * ".wh..wh.*" (AUFS meta files) are dropped; ".wh.", ".wh.." and ".wh..." are invalid and fail the layer.
 * Raw trusted.overlay.* / user.overlay.* xattrs in the tar are dropped (see filter_xattrs()).
 * A whiteout whose NAME already exists in the same layer leaves that file alone: the image spec says a
 * whiteout applies to lower layers only.
 */
#include <fcntl.h>
#include <linux/prctl.h>
#include <locale.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <archive.h>
#include <archive_entry.h>

#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/signal-util.h"
#include "store/archive-util.h"
#include "store/extract-confine.h"
#include "store/fork-server.h"
#include "store/layer-decompress.h"
#include "store/layer-extract-child.h"
#include "store/layer-extract.h"
#include "store/layer-symlinks.h"
#include "store/layer-tar.h"
#include "store/layer-writeback.h"
#include "store/store-config.h"

#define INPUT_PIPE_SIZE   (1024 * 1024)
#define ERROR_MESSAGE_MAX LAYER_MESSAGE_MAX
#define REPORT_MAGIC      UINT32_C(0x4c584552) /* "LXER" */

/* Where the child's copies of its three fds live (fds 0-2 stay as they are for debug logging). */
#define CHILD_INPUT_FD  3
#define CHILD_DEST_FD   4
#define CHILD_RESULT_FD 5
#define CHILD_RECORD_FD 6 /* only when recording the exact tar (layer-tar.h) */

typedef struct Report {
        uint32_t magic;
        int32_t error;
        LayerExtractResult result;
        char message[ERROR_MESSAGE_MAX];
} Report;

/* One write, so it must stay atomic on a pipe. */
_Static_assert(sizeof(Report) <= 4096, "report must fit in PIPE_BUF");

static uint64_t max_layer_size = STORE_MAX_LAYER_SIZE_DEFAULT;
static uint64_t max_layer_entries = STORE_MAX_LAYER_ENTRIES_DEFAULT;

void layer_extract_set_limits(uint64_t max_size, uint64_t max_entries)
{
        max_layer_size = max_size;
        max_layer_entries = max_entries;
}

void layer_extract_get_limits(uint64_t *ret_max_size, uint64_t *ret_max_entries)
{
        *ret_max_size = max_layer_size;
        *ret_max_entries = max_layer_entries;
}

typedef struct Extractor {
        int input_fd;
        int root_fd;
        LayerDecompressor *stream;  /* the decompressed tar, from layer-decompress.c's thread */
        LayerTarRecorder *recorder; /* NULL unless the exact tar is recorded (layer-tar.h) */
        LayerWriteback *writeback;
        LayerSymlinks *symlinks; /* the symlinks the layer made so far */
        uint64_t entries;
        bool sync; /* syncfs at the end; false when the caller makes many layers durable at once */
        char message[ERROR_MESSAGE_MAX];
} Extractor;

static int fail(Extractor *x, int error, const char *format, ...) _printf_(3, 4);
static int fail(Extractor *x, int error, const char *format, ...)
{
        va_list ap;

        /* Keep the first message: later ones are usually consequences. */
        if (isempty(x->message)) {
                va_start(ap, format);
                vsnprintf(x->message, sizeof(x->message), format, ap);
                va_end(ap);
        }
        return log_debug_errno(error, "Layer extraction failed: %s", x->message);
}

/* archive_write_disk reports a failed write(2) — ENOSPC, EDQUOT, EIO — as ARCHIVE_WARN, the level it also
 * uses for harmless things (a time it could not restore). Taken as a warning, a full disk would leave
 * truncated files in a layer whose digests still match, since they are computed on the stream. So a warning
 * whose errno says the filesystem refused data counts as a failure. */
static bool disk_write_failed(struct archive *disk, la_ssize_t r)
{
        int e;

        if (r >= ARCHIVE_OK)
                return false;
        if (r < ARCHIVE_WARN)
                return true;
        e = archive_errno(disk);
        return e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG || e == ENOMEM || e == EROFS;
}

/* libarchive's own strings ("Write failed") do not carry the errno's text: add it. */
static int fail_disk(Extractor *x, struct archive *disk, const char *what, const char *path)
{
        int e = archive_errno(disk);

        if (e > 0)
                return fail(x, -e, "%s '%s': %s: %s", what, path, archive_message(disk), strerror(e));
        return fail(x, archive_error_to_errno(disk), "%s '%s': %s", what, path, archive_message(disk));
}

static la_ssize_t tar_read_cb(struct archive *a, void *userdata, const void **ret_buf)
{
        Extractor *x = userdata;
        const uint8_t *block = NULL;
        size_t n = layer_decompressor_read(x->stream, &block);
        int r = 0;

        /* The record is written as it goes: a full disk shows here as ENOSPC, not as a lack of memory. */
        if (x->recorder) {
                r = layer_tar_recorder_flush_to(x->recorder, (uint64_t) MAX(archive_filter_bytes(a, 0), 0));
                if (r >= 0)
                        r = layer_tar_recorder_feed(x->recorder, block, n);
        }
        if (r < 0) {
                archive_set_error(a, -r, "Cannot record the layer tar: %s", strerror(-r));
                return -1;
        }
        *ret_buf = block;
        return (la_ssize_t) n;
}

/* Refuses absolute names and ".." components (see the policy at the top). */
bool layer_path_is_safe(const char *p)
{
        if (!p || p[0] == '/')
                return false;
        for (const char *c = p; *c;) {
                size_t l = strcspn(c, "/");
                if (l == 2 && c[0] == '.' && c[1] == '.')
                        return false;
                c += l;
                c += strspn(c, "/");
        }
        return true;
}

/* Opens (and creates, 0755, as libarchive does for missing parents) a directory below the root, refusing
 * to follow any symlink on the way. */
static int open_dir_beneath(int root_fd, const char *path, int *ret_fd)
{
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -EBADF;
        char *saveptr = NULL;

        if (!copy)
                return -ENOMEM;
        fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        for (char *c = strtok_r(copy, "/", &saveptr); c; c = strtok_r(NULL, "/", &saveptr)) {
                int nfd;

                if (streq(c, "."))
                        continue;
                if (streq(c, ".."))
                        return -EBADMSG;
                if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0)
                        return errno == ELOOP || errno == ENOTDIR ? -EBADMSG : negative_errno();
                safe_close(fd);
                fd = nfd;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int layer_entry_classify(const char *path, char **ret_dir, char **ret_name)
{
        _cleanup_free_ char *dir = NULL, *name = NULL;
        const char *base, *wh;
        bool opaque;
        size_t len;

        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        len = strlen(dir);
        while (len > 0 && dir[len - 1] == '/')
                dir[--len] = 0;
        base = strrchr(dir, '/');
        if (base) {
                dir[base - dir] = 0;
                base++;
        } else {
                base = dir;
        }
        wh = startswith(base, ".wh.");
        if (!wh)
                return LAYER_ENTRY_ORDINARY;
        opaque = streq(wh, ".wh..opq");
        if (!opaque && startswith(wh, ".wh."))
                return LAYER_ENTRY_AUFS_META; /* .wh..wh.plnk …: meaningless for overlay */
        if (!opaque) {
                if (isempty(wh) || streq(wh, ".") || streq(wh, ".."))
                        return -EBADMSG;
                name = strdup(wh);
                if (!name)
                        return -ENOMEM;
        }
        if (base == dir) {
                /* The entry sits at the top of the layer. */
                free(dir);
                dir = strdup(".");
                if (!dir)
                        return -ENOMEM;
        }
        if (ret_dir)
                *ret_dir = TAKE_PTR(dir);
        if (ret_name)
                *ret_name = TAKE_PTR(name);
        return opaque ? LAYER_ENTRY_OPAQUE : LAYER_ENTRY_WHITEOUT;
}

/* Returns 1 if the entry was a whiteout and has been dealt with, 0 if it is an ordinary entry. */
static int handle_whiteout(Extractor *x, struct archive_entry *entry, const char *path)
{
        _cleanup_free_ char *dir = NULL, *name = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r, kind;

        kind = layer_entry_classify(path, &dir, &name);
        if (kind == -ENOMEM)
                return fail(x, kind, "Out of memory");
        if (kind < 0)
                return fail(x, kind, "Invalid whiteout entry '%s'", path);
        if (kind == LAYER_ENTRY_ORDINARY)
                return 0;
        if (kind == LAYER_ENTRY_AUFS_META)
                return 1;

        if (kind == LAYER_ENTRY_OPAQUE) {
                r = open_dir_beneath(x->root_fd, dir, &dfd);
                if (r < 0)
                        return fail(x, r, "Cannot open directory of opaque marker '%s'", path);
                if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
                        return fail(x, negative_errno(), "Cannot mark '%s' opaque: %m",
                                    streq(dir, ".") ? "/" : dir);
                return 1;
        }

        r = open_dir_beneath(x->root_fd, dir, &dfd);
        if (r < 0)
                return fail(x, r, "Cannot open directory of whiteout '%s'", path);
        if (mknodat(dfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0) {
                if (errno == EEXIST)
                        return 1; /* same-layer file wins, see above */
                return fail(x, negative_errno(), "Cannot create whiteout for '%s': %m", path);
        }
        if (fchownat(dfd, name, (uid_t) archive_entry_uid(entry), (gid_t) archive_entry_gid(entry),
                     AT_SYMLINK_NOFOLLOW) < 0)
                return fail(x, negative_errno(), "Cannot chown whiteout '%s': %m", path);
        if (archive_entry_mtime_is_set(entry)) {
                struct timespec ts[2] = {
                        { .tv_sec = archive_entry_mtime(entry), .tv_nsec = archive_entry_mtime_nsec(entry) },
                        { .tv_sec = archive_entry_mtime(entry), .tv_nsec = archive_entry_mtime_nsec(entry) },
                };
                (void) utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
        }
        return 1;
}

/* overlayfs reads trusted.overlay.* (user.overlay.* with userxattr) for its own bookkeeping: redirects,
 * metacopy, origin, opaque. A layer may only express overlay semantics through whiteout entries, which we
 * translate; raw overlay xattrs in a tar are dropped, so a layer cannot plant e.g. a redirect into another
 * layer of the stack. */
static bool xattr_is_overlay_private(const char *name)
{
        return startswith(name, "trusted.overlay.") || startswith(name, "user.overlay.");
}

static int filter_xattrs(struct archive_entry *entry)
{
        _cleanup_(archive_entry_freep) struct archive_entry *keep = NULL;
        const char *name;
        const void *value;
        size_t size;
        bool drop = false;

        archive_entry_xattr_reset(entry);
        while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK)
                if (name && xattr_is_overlay_private(name))
                        drop = true;
        if (!drop)
                return 0;

        /* Re-add the others; a scratch entry holds them while the list is cleared. */
        keep = archive_entry_new();
        if (!keep)
                return -ENOMEM;
        archive_entry_xattr_reset(entry);
        while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK)
                if (name && !xattr_is_overlay_private(name))
                        archive_entry_xattr_add_entry(keep, name, value, size);
        archive_entry_xattr_clear(entry);
        archive_entry_xattr_reset(keep);
        while (archive_entry_xattr_next(keep, &name, &value, &size) == ARCHIVE_OK)
                archive_entry_xattr_add_entry(entry, name, value, size);
        log_debug("Dropped overlay xattrs of '%s'", strna(archive_entry_pathname(entry)));
        return 1;
}

/* A block of a regular file's content, which the rebuild reads back from diff/ (layer-tar.h). The block
 * starts at the reader's current position: tar consumes the previous block only when asked for the next. */
static int record_content(Extractor *x, struct archive *tar, const char *path, la_int64_t offset,
                          size_t size)
{
        int r;

        r = layer_tar_recorder_content(x->recorder, (uint64_t) archive_filter_bytes(tar, 0), path,
                                       (uint64_t) offset, size);
        if (r < 0)
                return fail(x, r, "Cannot record the tar of '%s': %s", path, strerror(-r));
        return 0;
}

static int copy_entry_data(Extractor *x, struct archive *tar, struct archive *disk, const char *path,
                           bool regular)
{
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                la_ssize_t w;
                int r;

                r = archive_read_data_block(tar, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN)
                        return fail(x, archive_error_to_errno(tar), "Failed to read '%s' from layer: %s",
                                    path, archive_message(tar));
                if (x->recorder && regular && size > 0) {
                        r = record_content(x, tar, path, offset, size);
                        if (r < 0)
                                return r;
                }
                /* Offsets carry the holes of sparse entries; write_disk seeks over them. */
                w = archive_write_data_block(disk, buf, size, offset);
                if (disk_write_failed(disk, w))
                        return fail_disk(x, disk, "Cannot write", path);
        }
}

/* "/a/b" -> "a/b", "/" -> "." (the layer's root), for the name and a hardlink's target. */
static int reroot_absolute_names(struct archive_entry *entry)
{
        const char *name = archive_entry_pathname(entry), *target = archive_entry_hardlink(entry);

        if (name && name[0] == '/') {
                _cleanup_free_ char *rel = strdup(name + strspn(name, "/"));

                if (!rel)
                        return -ENOMEM;
                archive_entry_copy_pathname(entry, isempty(rel) ? "." : rel);
        }
        if (target && target[0] == '/') {
                _cleanup_free_ char *rel = strdup(target + strspn(target, "/"));

                if (!rel)
                        return -ENOMEM;
                archive_entry_copy_hardlink(entry, isempty(rel) ? "." : rel);
        }
        return 0;
}

/* Refuses a name, or a hardlink's target (canonical too, or NULL), that goes through a symlink the layer
 * made; a symlink at the name itself is removed, so that the entry replaces it rather than writing where it
 * points. */
static int check_symlinks(Extractor *x, const char *path, char *canonical, char *target)
{
        size_t n = layer_symlinks_on_the_way(x->symlinks, canonical);

        if (n == 0 && target) {
                n = layer_symlinks_on_the_way(x->symlinks, target);
                if (n > 0)
                        canonical = target;
        }
        if (n > 0)
                return fail(x, -EBADMSG, "Cannot extract '%s': Cannot extract through symlink %.*s", path,
                            (int) n, canonical);
        if (layer_symlinks_contains(x->symlinks, canonical)) {
                if (unlinkat(x->root_fd, canonical, 0) < 0 && errno != ENOENT)
                        return fail(x, negative_errno(), "Cannot remove symlink '%s': %m", path);
                layer_symlinks_set(x->symlinks, canonical, false);
        }
        return 0;
}

/* After the entry is written: is its name a symlink now? A hardlink to one is one too. */
static void note_symlink(Extractor *x, struct archive_entry *entry, const char *canonical,
                         const char *target)
{
        if (archive_entry_filetype(entry) == AE_IFLNK ||
            (target && layer_symlinks_contains(x->symlinks, target)))
                layer_symlinks_set(x->symlinks, canonical, true);
}

static int extract_entries(Extractor *x, struct archive *tar, struct archive *disk)
{
        for (;;) {
                _cleanup_free_ char *canonical = NULL, *target = NULL;
                struct archive_entry *entry;
                const char *path, *hardlink;
                int r;

                r = archive_read_next_header(tar, &entry);
                if (r == ARCHIVE_EOF)
                        return 0;
                /* ARCHIVE_WARN is e.g. a name that cannot be converted to the locale: keep going. */
                if (r < ARCHIVE_WARN)
                        return fail(x, archive_error_to_errno(tar), "Invalid layer tar: %s",
                                    archive_message(tar));

                if (++x->entries > max_layer_entries)
                        return fail(x, -EFBIG, "Layer has more than %" PRIu64 " entries, %s",
                                    max_layer_entries, "the limit (MaxLayerEntries= in berth.conf)");

                r = reroot_absolute_names(entry);
                if (r < 0)
                        return fail(x, r, "Out of memory");
                path = archive_entry_pathname(entry);
                if (!path)
                        return fail(x, -EBADMSG, "Layer entry without a usable name");
                if (!layer_path_is_safe(path))
                        return fail(x, -EBADMSG, "Refusing layer entry with unsafe name '%s'", strna(path));
                hardlink = archive_entry_hardlink(entry);
                if (hardlink && !layer_path_is_safe(hardlink))
                        return fail(x, -EBADMSG, "Refusing hardlink '%s' to unsafe target '%s'", path,
                                    hardlink);
                canonical = layer_path_canonical(path);
                target = hardlink ? layer_path_canonical(hardlink) : NULL;
                if (!canonical || (hardlink && !target))
                        return fail(x, -ENOMEM, "Out of memory");
                r = check_symlinks(x, path, canonical, target);
                if (r < 0)
                        return r;

                r = handle_whiteout(x, entry, path);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;

                r = filter_xattrs(entry);
                if (r < 0)
                        return fail(x, r, "Out of memory");

                r = archive_write_header(disk, entry);
                if (disk_write_failed(disk, r))
                        return fail_disk(x, disk, "Cannot extract", path);
                if (r == ARCHIVE_WARN)
                        log_debug("Extracting '%s': %s", path, archive_message(disk));

                if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0) {
                        r = copy_entry_data(x, tar, disk, path, archive_entry_filetype(entry) == AE_IFREG);
                        if (r < 0)
                                return r;
                }
                layer_writeback_add(x->writeback, (uint64_t) MAX(archive_entry_size(entry), 0) +
                                                          LAYER_WRITEBACK_ENTRY_BYTES);

                r = archive_write_finish_entry(disk);
                if (disk_write_failed(disk, r))
                        return fail_disk(x, disk, "Cannot finish", path);
                note_symlink(x, entry, canonical, target);
        }
}

/* The tar side: parse what the decompressing thread passes on and write it to disk. */
static int extract_tar(Extractor *x)
{
        _cleanup_(archive_read_freep) struct archive *tar = archive_read_new();
        _cleanup_(archive_write_freep) struct archive *disk = archive_write_disk_new();
        int r;

        if (!tar || !disk)
                return fail(x, -ENOMEM, "Out of memory");

        /* format_tar covers ustar, pax and GNU tar. No filter: a compressed tar inside is not a layer. */
        if (archive_read_support_format_tar(tar) != ARCHIVE_OK)
                return fail(x, -EOPNOTSUPP, "libarchive lacks tar support");
        if (archive_read_open(tar, x, NULL, tar_read_cb, NULL) != ARCHIVE_OK)
                return fail(x, archive_error_to_errno(tar), "Not a tar layer: %s", archive_message(tar));

        /* No archive_write_disk_set_standard_lookup(): owners are restored by number. */
        if (archive_write_disk_set_options(
                    disk, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                  ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                  ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS) != ARCHIVE_OK)
                return fail(x, -EINVAL, "Cannot set extraction options");

        r = extract_entries(x, tar, disk);
        if (r < 0)
                return r;

        /* Directory modes and times are applied here, after their contents (and whiteouts) exist. */
        if (disk_write_failed(disk, archive_write_close(disk)))
                return fail_disk(x, disk, "Cannot finish", "extraction");
        return 0;
}

/* After the end-of-archive marker the tar reader stops, but the diff id covers what follows (a writer's
 * zero padding to its record size): the exact tar keeps it too. */
static int record_rest(Extractor *x)
{
        for (;;) {
                const uint8_t *block;
                size_t n = layer_decompressor_read(x->stream, &block);

                if (n == 0)
                        break;
                if (layer_tar_recorder_feed(x->recorder, block, n) < 0)
                        return fail(x, -ENOMEM, "Out of memory");
        }
        int r = layer_tar_recorder_finish(x->recorder);
        if (r < 0)
                return fail(x, r, "Cannot write the tar record: %s", strerror(-r));
        return 0;
}

static int extract(Extractor *x, int record_fd, LayerExtractResult *ret)
{
        _cleanup_(layer_tar_recorder_freep) LayerTarRecorder *recorder = NULL;
        _cleanup_(layer_writeback_stopp) LayerWriteback *writeback = NULL;
        _cleanup_(layer_symlinks_freep) LayerSymlinks *symlinks = layer_symlinks_new();
        LayerDecompressor *decompressor = NULL;
        char decompress_message[LAYER_MESSAGE_MAX] = "";
        int r, k, w;

        /* The symlink check (layer-symlinks.h) knows only the symlinks the layer made. */
        r = dir_is_empty_at(x->root_fd);
        if (r <= 0)
                return fail(x, r < 0 ? r : -ENOTEMPTY, "The layer's directory is not empty");

        if (record_fd >= 0) {
                r = layer_tar_recorder_new(record_fd, &recorder);
                if (r < 0)
                        return fail(x, r, "Cannot record the layer tar: %s", strerror(-r));
                x->recorder = recorder;
        }

        r = layer_writeback_start(x->root_fd, &writeback);
        if (r < 0)
                return fail(x, r, "Out of memory");
        x->writeback = writeback;
        x->symlinks = symlinks;

        r = layer_decompressor_start(x->input_fd, max_layer_size, &decompressor);
        if (r < 0)
                return fail(x, r, "Cannot start decompressing: %s", strerror(-r));
        x->stream = decompressor;

        r = extract_tar(x);
        if (r >= 0 && x->recorder)
                r = record_rest(x);
        if (r < 0)
                layer_decompressor_cancel(decompressor);
        x->stream = NULL;
        k = layer_decompressor_finish(decompressor, decompress_message, ret);
        x->writeback = NULL;
        w = layer_writeback_stop(TAKE_PTR(writeback));

        /* A failed decompression is the cause of whatever the tar side then saw (a truncated archive). */
        if (k < 0 && k != -ECANCELED) {
                snprintf(x->message, sizeof(x->message), "%s", decompress_message);
                return k;
        }
        if (r < 0)
                return r;
        if (k < 0)
                return fail(x, k, "Decompression stopped");
        if (w < 0)
                return fail(x, w, "Writing the layer to disk failed: %s", strerror(-w));

        /* Once per layer: per-file fsync would cost far more; one syncfs adds ~0.1 s to a 17.5k-file layer.
         */
        if (x->sync && syncfs(x->root_fd) < 0)
                return fail(x, negative_errno(), "syncfs failed: %m");
        return 0;
}

static int extract_confined(int input_fd, int dest_dir_fd, int record_fd, bool sync,
                            char message[static ERROR_MESSAGE_MAX], LayerExtractResult *ret)
{
        LayerExtractResult result = {};
        Extractor x = {
                .input_fd = input_fd,
                .root_fd = dest_dir_fd,
                .sync = sync,
        };
        int r;

        message[0] = 0;

        /* Pax names are UTF-8: load a UTF-8 LC_CTYPE while /usr is still reachable so libarchive need not
         * convert them to an ASCII locale (failure is fine, names then go through as bytes). */
        (void) setlocale(LC_CTYPE, "C.UTF-8");
        umask(022);

        r = extract_confine_memory();
        if (r < 0) {
                snprintf(message, ERROR_MESSAGE_MAX, "Cannot limit the memory of extraction: %s",
                         strerror(-r));
                return r;
        }
        if (fchdir(dest_dir_fd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
                r = negative_errno();
                snprintf(message, ERROR_MESSAGE_MAX, "Cannot confine extraction to its directory: %s",
                         strerror(-r));
                return r;
        }
        /* Before extract() starts the decompressing thread, so that it is confined too. */
        r = extract_confine();
        if (r < 0) {
                snprintf(message, ERROR_MESSAGE_MAX, "Cannot confine extraction: %s", strerror(-r));
                return r;
        }

        r = extract(&x, record_fd, &result);
        if (r < 0) {
                snprintf(message, ERROR_MESSAGE_MAX, "%s", x.message);
                return r;
        }
        *ret = result;
        return 0;
}

int layer_extract_confined(int input_fd, int dest_dir_fd, BerthError *err, LayerExtractResult *ret)
{
        char message[ERROR_MESSAGE_MAX];
        int r;

        r = extract_confined(input_fd, dest_dir_fd, -EBADF, true, message, ret);
        if (r < 0)
                berth_error_set(err, r, "%s", message);
        return r;
}

void layer_extract_child_prepare(void)
{
        /* One malloc arena for all of a child's threads: the decompressing thread's first malloc would
         * otherwise reserve and trim an arena of its own (four calls and its first pages, per layer), and
         * it allocates next to nothing once running (chunks are mmap'd). */
        (void) mallopt(M_ARENA_MAX, 1);
        layer_decompress_prepare();
        (void) setlocale(LC_CTYPE, "C.UTF-8");
        /* After those: it takes the server's size, which what comes before maps into (OpenSSL, the locale).
         */
        extract_confine_prepare_server();
        /* Last, what the set-up freed goes back: a child's mallocs then take fresh pages at the heap's top
         * rather than free chunks among the server's, each a copy-on-write fault (15 µs here, 40 once a
         * second thread runs, the TLB flushed on both CPUs). About 15 fewer faults a child, of 130. The size
         * taken above only shrinks with it. */
        (void) malloc_trim(0);
}

static int move_fd(int fd, int target)
{
        return dup2(fd, target) < 0 ? negative_errno() : 0;
}

_Noreturn void layer_extract_child_main(int input_fd, int dest_dir_fd, int result_fd, int record_fd,
                                        bool sync, pid_t parent)
{
        Report report = { .magic = REPORT_MAGIC };
        int high[4] = { -EBADF, -EBADF, -EBADF, -EBADF }, r;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);

        /* Move our three fds out of the way, then to fixed numbers, then drop everything else the daemon
         * had open (bus, curl sockets, other layers' pipes…). */
        high[0] = fcntl(input_fd, F_DUPFD_CLOEXEC, 10);
        high[1] = fcntl(dest_dir_fd, F_DUPFD_CLOEXEC, 10);
        high[2] = fcntl(result_fd, F_DUPFD_CLOEXEC, 10);
        if (record_fd >= 0)
                high[3] = fcntl(record_fd, F_DUPFD_CLOEXEC, 10);
        if (high[0] < 0 || high[1] < 0 || high[2] < 0 || (record_fd >= 0 && high[3] < 0) ||
            move_fd(high[0], CHILD_INPUT_FD) < 0 || move_fd(high[1], CHILD_DEST_FD) < 0 ||
            move_fd(high[2], CHILD_RESULT_FD) < 0 ||
            (record_fd >= 0 && move_fd(high[3], CHILD_RECORD_FD) < 0))
                _exit(EXIT_FAILURE);
        if (close_range(CHILD_RECORD_FD + (record_fd >= 0), ~0U, 0) < 0)
                for (int fd = CHILD_RECORD_FD + (record_fd >= 0); fd < 65536; fd++)
                        (void) close(fd);

        r = extract_confined(CHILD_INPUT_FD, CHILD_DEST_FD, record_fd >= 0 ? CHILD_RECORD_FD : -EBADF, sync,
                             report.message, &report.result);
        report.error = r < 0 ? r : 0;
        if (write(CHILD_RESULT_FD, &report, sizeof(report)) != (ssize_t) sizeof(report))
                _exit(EXIT_FAILURE);
        _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

static int fork_child(int input_fd, int dest_dir_fd, int result_fd, int record_fd, bool sync, pid_t *ret_pid)
{
        pid_t parent = getpid(), pid;
        int r;

        r = fork_server_extract(input_fd, dest_dir_fd, result_fd, record_fd, sync, ret_pid);
        if (r != -ECHILD)
                return r;

        extract_confine_prepare();
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                /* The daemon blocks signals for sd-event and ignores SIGPIPE: undo both, so SIGTERM works.
                 * (The fork server's children need not: it was exec'd with every signal at its default.) */
                reset_signals();
                layer_extract_child_main(input_fd, dest_dir_fd, result_fd, record_fd, sync, parent);
        }
        *ret_pid = pid;
        return 0;
}

int layer_extract_spawn_recorded(int dest_dir_fd, int record_fd, bool sync, int *ret_input_fd,
                                 int *ret_result_fd, pid_t *ret_pid)
{
        _cleanup_close_pair_ int input[2] = { -EBADF, -EBADF }, result[2] = { -EBADF, -EBADF };
        pid_t pid;
        int r;

        if (dest_dir_fd < 0 || !ret_input_fd || !ret_result_fd || !ret_pid)
                return -EINVAL;

        if (pipe2(input, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        /* Fewer wakeups on both sides; the default 64 KiB is small next to a download. */
        (void) fcntl(input[1], F_SETPIPE_SZ, INPUT_PIPE_SIZE);
        /* Only the daemon's end is non-blocking: the child simply blocks in read(). */
        if (fcntl(input[1], F_SETFL, O_NONBLOCK) < 0)
                return negative_errno();

        r = fork_child(input[0], dest_dir_fd, result[1], record_fd, sync, &pid);
        if (r < 0)
                return r;

        input[0] = safe_close(input[0]);
        result[1] = safe_close(result[1]);
        *ret_input_fd = TAKE_FD(input[1]);
        *ret_result_fd = TAKE_FD(result[0]);
        *ret_pid = pid;
        return 0;
}

int layer_extract_spawn(int dest_dir_fd, int *ret_input_fd, int *ret_result_fd, pid_t *ret_pid)
{
        return layer_extract_spawn_recorded(dest_dir_fd, -EBADF, true, ret_input_fd, ret_result_fd, ret_pid);
}

int layer_extract_read_result(int result_fd, BerthError *err, LayerExtractResult *ret)
{
        Report report;
        ssize_t n;

        do
                n = read(result_fd, &report, sizeof(report));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if (n != (ssize_t) sizeof(report) || report.magic != REPORT_MAGIC)
                return berth_error_set(err, -EPROTO, "Extraction process died without reporting");
        report.message[sizeof(report.message) - 1] = 0;
        report.result.blob_digest[sizeof(report.result.blob_digest) - 1] = 0;
        report.result.diff_id[sizeof(report.result.diff_id) - 1] = 0;

        if (report.error < 0)
                return berth_error_set(err, report.error, "%s", report.message);
        *ret = report.result;
        return 0;
}

int layer_extract_wait(pid_t pid, int result_fd, BerthError *err, LayerExtractResult *ret)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return layer_extract_read_result(result_fd, err, ret);
}

int layer_extract(int input_fd, int dest_dir_fd, BerthError *err, LayerExtractResult *ret)
{
        return layer_extract_recorded(input_fd, dest_dir_fd, -EBADF, err, ret);
}

int layer_extract_recorded(int input_fd, int dest_dir_fd, int record_fd, BerthError *err,
                           LayerExtractResult *ret)
{
        _cleanup_close_pair_ int result[2] = { -EBADF, -EBADF };
        pid_t pid;
        int r;

        if (input_fd < 0 || dest_dir_fd < 0 || !ret)
                return -EINVAL;

        if (pipe2(result, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        r = fork_child(input_fd, dest_dir_fd, result[1], record_fd, true, &pid);
        if (r < 0)
                return r;
        result[1] = safe_close(result[1]);
        return layer_extract_wait(pid, result[0], err, ret);
}
