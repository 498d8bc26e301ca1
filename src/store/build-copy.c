/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <glob.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/log.h"
#include "store/archive-util.h"
#include "store/build-copy.h"

typedef struct CopyWriter {
        const BuildCopySpec *spec;
        struct archive *tar; /* NULL: digest only */
        Sha256 *digest;      /* of the entry being written */
        GPtrArray *lines;    /* "name\0digest" of each entry: sorted at the end, so no walk order matters */
        BerthError *e;
} CopyWriter;

static int tar_fail(CopyWriter *w, struct archive *a, const char *what)
{
        return berth_error_set(w->e, archive_error_to_errno(a), "%s failed: %s: %s", w->spec->instruction,
                               what, archive_message(a));
}

int build_copy_parse_chown(const char *s, uid_t *ret_uid, gid_t *ret_gid)
{
        g_auto(GStrv) parts = g_strsplit(s, ":", 2);
        unsigned long v[2];

        for (size_t i = 0; i < 2; i++) {
                const char *p = parts[i] ?: parts[0];
                char *end;

                if (streq(p, "root")) {
                        v[i] = 0;
                        continue;
                }
                errno = 0;
                v[i] = strtoul(p, &end, 10);
                if (isempty(p) || *end || errno != 0 || v[i] >= UINT32_MAX)
                        return -EINVAL;
        }
        *ret_uid = (uid_t) v[0];
        *ret_gid = (gid_t) v[1];
        return 0;
}

int build_copy_parse_chmod(const char *s, mode_t *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 8);
        if (isempty(s) || *end || errno != 0 || v > 07777)
                return -EINVAL;
        *ret = (mode_t) v;
        return 0;
}

/* "a/./b/../c" → "a/c"; NULL when it climbs above the root. Leading '/' dropped; "" for the root. */
static char *clean_path(const char *p)
{
        g_auto(GStrv) parts = g_strsplit(p, "/", -1);
        g_autoptr(GPtrArray) out = g_ptr_array_new();

        for (char **c = parts; *c; c++) {
                if (isempty(*c) || streq(*c, "."))
                        continue;
                if (streq(*c, "..")) {
                        if (out->len == 0)
                                return NULL;
                        g_ptr_array_remove_index(out, out->len - 1);
                        continue;
                }
                g_ptr_array_add(out, *c);
        }
        g_ptr_array_add(out, NULL);
        return g_strjoinv("/", (char **) out->pdata);
}

static void digest_str(CopyWriter *w, const char *s)
{
        (void) sha256_update(w->digest, s, strlen(s) + 1);
}

/* One entry: its header (name already the image path, without the leading '/'), then the bytes from fd or
 * from the archive src. */
static int emit(CopyWriter *w, struct archive_entry *entry, struct archive *src)
{
        char meta[128];
        char buf[64 * 1024];
        int r;

        archive_entry_set_uname(entry, NULL);
        archive_entry_set_gname(entry, NULL);
        (void) sha256_reset(w->digest);
        digest_str(w, archive_entry_pathname(entry));
        snprintf(meta, sizeof(meta), "%o %lld %lld %lld", (unsigned) archive_entry_mode(entry),
                 (long long) archive_entry_uid(entry), (long long) archive_entry_gid(entry),
                 (long long) archive_entry_size(entry));
        digest_str(w, meta);
        digest_str(w, strempty(archive_entry_symlink(entry)));
        digest_str(w, strempty(archive_entry_hardlink(entry)));
        if (w->tar) {
                r = archive_write_header(w->tar, entry);
                if (r < ARCHIVE_WARN)
                        return tar_fail(w, w->tar, "cannot write the layer");
        }
        if (archive_entry_filetype(entry) == AE_IFREG && archive_entry_size(entry) > 0 &&
            !archive_entry_hardlink(entry))
                for (;;) {
                        la_ssize_t n = archive_read_data(src, buf, sizeof(buf));
                        if (n < 0)
                                return tar_fail(w, src, "cannot read a source file");
                        if (n == 0)
                                break;
                        (void) sha256_update(w->digest, buf, (size_t) n);
                        if (w->tar && archive_write_data(w->tar, buf, (size_t) n) < 0)
                                return tar_fail(w, w->tar, "cannot write the layer");
                }
        char one[SHA256_DIGEST_STRING_SIZE];
        r = sha256_final_to(w->digest, one);
        if (r < 0)
                return r;
        g_ptr_array_add(w->lines, g_strconcat(archive_entry_pathname(entry), "\n", one, NULL));
        return 0;
}

static int compare_lines(const char *const *a, const char *const *b)
{
        return strcmp(*a, *b);
}

static void apply_owner_mode(CopyWriter *w, struct archive_entry *entry)
{
        archive_entry_set_uid(entry, w->spec->chown ? w->spec->uid : 0);
        archive_entry_set_gid(entry, w->spec->chown ? w->spec->gid : 0);
        if (w->spec->chmod && archive_entry_filetype(entry) != AE_IFLNK)
                archive_entry_set_perm(entry, w->spec->mode);
}

/* ADD's archive extraction: true when path was a tar it wrote out. */
static int try_extract(CopyWriter *w, const char *path, const char *dest)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        struct archive_entry *entry;
        int r;

        if (!a)
                return -ENOMEM;
        (void) archive_read_support_format_tar(a);
        (void) archive_read_support_filter_all(a);
        if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK)
                return 0;
        r = archive_read_next_header(a, &entry);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                return 0; /* not an archive: copied as a file */
        for (;;) {
                g_autofree char *clean = clean_path(archive_entry_pathname(entry));
                if (!clean)
                        return berth_error_set(w->e, -EPERM, "%s failed: %s has an entry outside it: %s",
                                               w->spec->instruction, path, archive_entry_pathname(entry));
                if (!isempty(clean)) {
                        g_autofree char *name =
                                isempty(dest) ? g_strdup(clean) : g_strconcat(dest, "/", clean, NULL);
                        archive_entry_copy_pathname(entry, name);
                        const char *link = archive_entry_hardlink(entry);
                        if (link) {
                                g_autofree char *cl = clean_path(link);
                                g_autofree char *l = cl ? (isempty(dest) ? g_strdup(cl)
                                                                         : g_strconcat(dest, "/", cl, NULL))
                                                        : NULL;
                                if (!l)
                                        return berth_error_set(w->e, -EPERM, "%s failed: bad link in %s",
                                                               w->spec->instruction, path);
                                archive_entry_copy_hardlink(entry, l);
                        }
                        r = emit(w, entry, a);
                        if (r < 0)
                                return r;
                }
                r = archive_read_next_header(a, &entry);
                if (r == ARCHIVE_EOF)
                        return 1;
                if (r < ARCHIVE_WARN)
                        return tar_fail(w, a, path);
        }
}

/* One matched source (a cleaned path relative to the root, "" for the root) to its image path target
 * (without the leading '/'). A directory stands for its contents. */
static int copy_one(CopyWriter *w, const char *src, const char *target)
{
        _cleanup_(archive_read_freep) struct archive *disk = archive_read_disk_new();
        const char *open_path = isempty(src) ? "." : src;
        size_t prefix = strlen(open_path);
        struct stat st;
        int r;

        if (!disk)
                return -ENOMEM;
        if (lstat(open_path, &st) < 0)
                return berth_error_set(w->e, negative_errno(), "%s failed: cannot stat '%s'",
                                       w->spec->instruction, src);
        if (S_ISREG(st.st_mode) && w->spec->extract) {
                r = try_extract(w, open_path, target);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        (void) archive_read_disk_set_symlink_physical(disk);
        (void) archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
        if (archive_read_disk_open(disk, open_path) != ARCHIVE_OK)
                return tar_fail(w, disk, src);
        for (bool top = true;; top = false) {
                _cleanup_(archive_entry_freep) struct archive_entry *entry = archive_entry_new();
                if (!entry)
                        return -ENOMEM;
                r = archive_read_next_header2(disk, entry);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN)
                        return tar_fail(w, disk, src);
                (void) archive_read_disk_descend(disk);
                if (top && archive_entry_filetype(entry) == AE_IFDIR)
                        continue; /* the directory stands for its contents */
                const char *name = archive_entry_pathname(entry);
                g_autofree char *dest = top ? g_strdup(target) : g_strconcat(target, name + prefix, NULL);
                if (!top && (strlen(name) <= prefix || name[prefix] != '/'))
                        return berth_error_set(w->e, -EIO, "%s failed: unexpected entry '%s'",
                                               w->spec->instruction, name);
                if (startswith(dest, "/"))
                        memmove(dest, dest + 1, strlen(dest));
                archive_entry_copy_pathname(entry, dest);
                apply_owner_mode(w, entry);
                r = emit(w, entry, disk);
                if (r < 0)
                        return r;
        }
}

int build_copy_write(const BuildCopySpec *s, int out_fd, char ret_digest[static SHA256_DIGEST_STRING_SIZE],
                     BerthError *e)
{
        _cleanup_(archive_write_freep) struct archive *tar = NULL;
        _cleanup_(sha256_freep) Sha256 *digest = NULL;
        g_autoptr(GPtrArray) matches = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *dest = NULL;
        bool dest_dir;
        int r;

        r = sha256_new(&digest);
        if (r < 0)
                return r;
        CopyWriter w = { .spec = s, .digest = digest, .lines = lines, .e = e };

        for (char **src = s->sources; src && *src; src++) {
                g_autofree char *clean = clean_path(*src);
                glob_t g = {};

                if (!clean)
                        return berth_error_set(e, -EPERM,
                                               "%s failed: forbidden path outside the build context: %s",
                                               s->instruction, *src);
                if (strpbrk(clean, "*?[")) {
                        r = glob(clean, GLOB_PERIOD | GLOB_NOESCAPE, NULL, &g);
                        if (r == GLOB_NOMATCH || (r == 0 && g.gl_pathc == 0)) {
                                globfree(&g);
                                return berth_error_set(e, -ENOENT,
                                                       "%s failed: no source files were specified",
                                                       s->instruction);
                        }
                        if (r != 0) {
                                globfree(&g);
                                return berth_error_set(e, -EIO, "%s failed: cannot match '%s'",
                                                       s->instruction, *src);
                        }
                        for (size_t i = 0; i < g.gl_pathc; i++) {
                                const char *base = basename(g.gl_pathv[i]);
                                if (streq(base, ".") || streq(base, ".."))
                                        continue;
                                g_ptr_array_add(matches, g_strdup(g.gl_pathv[i]));
                        }
                        globfree(&g);
                } else {
                        struct stat st;
                        if (lstat(isempty(clean) ? "." : clean, &st) < 0)
                                return berth_error_set(
                                        e, -ENOENT,
                                        "%s failed: file not found in build context or "
                                        "excluded by .dockerignore: stat %s: file does not exist",
                                        s->instruction, *src);
                        g_ptr_array_add(matches, g_steal_pointer(&clean));
                }
        }
        if (matches->len == 0)
                return berth_error_set(e, -ENOENT, "%s failed: no source files were specified",
                                       s->instruction);

        dest = clean_path(s->dest);
        if (!dest)
                dest = g_strdup("");
        dest_dir = g_str_has_suffix(s->dest, "/") || g_str_has_suffix(s->dest, "/.") || isempty(dest) ||
                   matches->len > 1;
        if (matches->len > 1 && !g_str_has_suffix(s->dest, "/"))
                return berth_error_set(e, -EINVAL,
                                       "When using %s with more than one source file, the destination must "
                                       "be a directory and end with a /",
                                       s->instruction);

        if (out_fd >= 0) {
                tar = archive_write_new();
                if (!tar)
                        return -ENOMEM;
                if (archive_write_set_format_pax_restricted(tar) != ARCHIVE_OK ||
                    archive_write_open_fd(tar, out_fd) != ARCHIVE_OK)
                        return tar_fail(&w, tar, "cannot write the layer");
                w.tar = tar;
        }
        for (guint i = 0; i < matches->len; i++) {
                const char *m = matches->pdata[i];
                struct stat st;
                g_autofree char *target = NULL;

                if (lstat(isempty(m) ? "." : m, &st) < 0)
                        return berth_error_set(e, negative_errno(), "%s failed: cannot stat '%s'",
                                               s->instruction, m);
                if (S_ISDIR(st.st_mode) || (s->extract && S_ISREG(st.st_mode) && dest_dir))
                        target = g_strdup(dest);
                else if (dest_dir) {
                        g_autofree char *b = g_strdup(m);
                        target = isempty(dest) ? g_strdup(basename(b))
                                               : g_strconcat(dest, "/", basename(b), NULL);
                } else
                        target = g_strdup(dest);
                /* A regular file copied into a directory by ADD's extraction path keeps its name when it is
                 * no archive. */
                if (s->extract && S_ISREG(st.st_mode) && dest_dir) {
                        r = try_extract(&w, m, target);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                        g_autofree char *b = g_strdup(m);
                        free(target);
                        target = isempty(dest) ? g_strdup(basename(b))
                                               : g_strconcat(dest, "/", basename(b), NULL);
                }
                BuildCopySpec one = *s;
                one.extract = false;
                w.spec = &one;
                r = copy_one(&w, m, target);
                w.spec = s;
                if (r < 0)
                        return r;
        }
        if (tar && archive_write_close(tar) != ARCHIVE_OK)
                return tar_fail(&w, tar, "cannot write the layer");
        g_ptr_array_sort(lines, (GCompareFunc) compare_lines);
        (void) sha256_reset(digest);
        for (guint i = 0; i < lines->len; i++)
                digest_str(&w, lines->pdata[i]);
        return sha256_final_to(digest, ret_digest);
}

int build_context_write(const char *dir, const char *extra_path, const char *extra_name,
                        BuildContextFilter exclude, void *userdata, int out_fd, BerthError *e)
{
        _cleanup_(archive_read_freep) struct archive *disk = archive_read_disk_new();
        _cleanup_(archive_write_freep) struct archive *tar = archive_write_new();
        _cleanup_close_ int extra_fd = -EBADF;
        char buf[64 * 1024];
        int r;

        if (!disk || !tar)
                return berth_error_set(e, -ENOMEM, "Out of memory");
        /* Opened first: a relative path is the caller's. */
        if (extra_path) {
                extra_fd = open(extra_path, O_RDONLY | O_CLOEXEC);
                if (extra_fd < 0)
                        return berth_error_set(e, negative_errno(), "Cannot open '%s'", extra_path);
        }
        if (chdir(dir) < 0)
                return berth_error_set(e, negative_errno(), "Cannot enter the context '%s'", dir);
        (void) archive_read_disk_set_symlink_physical(disk);
        if (archive_write_set_format_pax_restricted(tar) != ARCHIVE_OK ||
            archive_write_open_fd(tar, out_fd) != ARCHIVE_OK)
                return berth_error_set(e, archive_error_to_errno(tar), "Cannot write the context: %s",
                                       archive_message(tar));
        if (archive_read_disk_open(disk, ".") != ARCHIVE_OK)
                return berth_error_set(e, archive_error_to_errno(disk), "Cannot read the context: %s",
                                       archive_message(disk));
        for (;;) {
                _cleanup_(archive_entry_freep) struct archive_entry *entry = archive_entry_new();
                const char *name;
                int x;

                if (!entry)
                        return berth_error_set(e, -ENOMEM, "Out of memory");
                r = archive_read_next_header2(disk, entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return berth_error_set(e, archive_error_to_errno(disk),
                                               "Cannot read the context: %s", archive_message(disk));
                name = archive_entry_pathname(entry);
                while (startswith(name, "./"))
                        name += 2;
                if (isempty(name) || streq(name, ".")) {
                        (void) archive_read_disk_descend(disk);
                        continue;
                }
                bool is_dir = archive_entry_filetype(entry) == AE_IFDIR;
                x = exclude ? exclude(name, is_dir, userdata) : 0;
                if (is_dir && x != 2)
                        (void) archive_read_disk_descend(disk);
                if (x != 0)
                        continue;
                g_autofree char *n = g_strdup(name);
                archive_entry_copy_pathname(entry, n);
                archive_entry_set_uname(entry, NULL);
                archive_entry_set_gname(entry, NULL);
                r = archive_write_header(tar, entry);
                if (r < ARCHIVE_WARN)
                        return berth_error_set(e, archive_error_to_errno(tar),
                                               "Cannot write the context: %s", archive_message(tar));
                if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_size(entry) <= 0)
                        continue;
                for (;;) {
                        la_ssize_t k = archive_read_data(disk, buf, sizeof(buf));
                        if (k < 0)
                                return berth_error_set(e, archive_error_to_errno(disk),
                                                       "Cannot read '%s': %s", n, archive_message(disk));
                        if (k == 0)
                                break;
                        if (archive_write_data(tar, buf, (size_t) k) < 0)
                                return berth_error_set(e, archive_error_to_errno(tar),
                                                       "Cannot write the context: %s", archive_message(tar));
                }
        }
        if (extra_fd >= 0) {
                _cleanup_(archive_entry_freep) struct archive_entry *entry = archive_entry_new();
                struct stat st;
                ssize_t k;

                if (!entry || fstat(extra_fd, &st) < 0)
                        return berth_error_set(e, -EIO, "Cannot read '%s'", extra_path);
                archive_entry_copy_stat(entry, &st);
                archive_entry_set_pathname(entry, extra_name);
                archive_entry_set_uid(entry, 0);
                archive_entry_set_gid(entry, 0);
                if (archive_write_header(tar, entry) < ARCHIVE_WARN)
                        return berth_error_set(e, archive_error_to_errno(tar),
                                               "Cannot write the context: %s", archive_message(tar));
                while ((k = read(extra_fd, buf, sizeof(buf))) > 0)
                        if (archive_write_data(tar, buf, (size_t) k) < 0)
                                return berth_error_set(e, archive_error_to_errno(tar),
                                                       "Cannot write the context: %s", archive_message(tar));
        }
        if (archive_write_close(tar) != ARCHIVE_OK)
                return berth_error_set(e, archive_error_to_errno(tar), "Cannot write the context: %s",
                                       archive_message(tar));
        return 0;
}
