/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Layer extraction and the layer store. Layers are built here with libarchive's writer; everything happens
 * in mkdtemp dirs under /var/tmp, removed at the end of each test. Needs root (mknod, chown, trusted.*
 * xattrs, overlay mounts); skipped otherwise. */
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib.h>
#include <openssl/evp.h>

#include "shared/fs-util.h"
#include "shared/macro.h"
#include "store/extract-confine.h"
#include "store/fork-server.h"
#include "store/layer-decompress.h"
#include "store/layer-extract.h"
#include "store/layer-store.h"
#include "store/layer-symlinks.h"
#include "store/layer-writeback.h"
#include "store/store-config.h"
#include "store/stream-ring.h"

#define MTIME       1234567890
#define SPARSE_SIZE (8 * 1024 * 1024)

typedef enum Compression {
        COMPRESSION_NONE,
        COMPRESSION_GZIP,
        COMPRESSION_ZSTD,
} Compression;

/* ---- helpers ---------------------------------------------------------------------------------------- */

typedef struct TmpDir {
        char *path;
        int fd;
} TmpDir;

static void tmpdir_make(TmpDir *t)
{
        t->path = g_strdup("/var/tmp/berth-test-layer-XXXXXX");
        g_assert_nonnull(mkdtemp(t->path));
        t->fd = open_dir_at(AT_FDCWD, t->path);
        g_assert_cmpint(t->fd, >=, 0);
}

static void tmpdir_done(TmpDir *t)
{
        g_autofree char *parent = g_path_get_dirname(t->path), *base = g_path_get_basename(t->path);
        _cleanup_close_ int pfd = open_dir_at(AT_FDCWD, parent);

        safe_close(t->fd);
        g_assert_cmpint(rm_rf_at(pfd, base), ==, 0);
        g_assert_cmpint(access(t->path, F_OK), <, 0);
        g_free(t->path);
}

static bool need_root(void)
{
        if (geteuid() == 0)
                return true;
        g_test_skip("needs root");
        return false;
}

static void sha256_hex(const void *data, size_t size, char out[static LAYER_DIGEST_STRING_MAX])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        g_assert_cmpint(EVP_Digest(data, size, md, &len, EVP_sha256(), NULL), ==, 1);
        g_assert_cmpuint(len, ==, 32);
        strcpy(out, "sha256:");
        for (unsigned i = 0; i < len; i++)
                sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static la_ssize_t byte_array_write(struct archive *a, void *userdata, const void *buf, size_t n)
{
        g_byte_array_append(userdata, buf, (guint) n);
        return (la_ssize_t) n;
}

static struct archive *tar_new(GByteArray *out)
{
        struct archive *a = archive_write_new();

        g_assert_nonnull(a);
        g_assert_cmpint(archive_write_set_format_pax(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_add_filter_none(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_open(a, out, NULL, byte_array_write, NULL), ==, ARCHIVE_OK);
        return a;
}

static void tar_finish(struct archive *a)
{
        g_assert_cmpint(archive_write_close(a), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_free(a), ==, ARCHIVE_OK);
}

static struct archive_entry *entry_new(const char *path, mode_t type, mode_t perm, int64_t uid, int64_t gid)
{
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        archive_entry_set_mtime(e, MTIME, 0);
        return e;
}

static void tar_write_entry(struct archive *a, struct archive_entry *e, const void *data, size_t size)
{
        if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
                archive_entry_set_size(e, (la_int64_t) size);
        g_assert_cmpint(archive_write_header(a, e), ==, ARCHIVE_OK);
        if (size > 0)
                g_assert_cmpint(archive_write_data(a, data, size), ==, (la_ssize_t) size);
        archive_entry_free(e);
}

static void tar_dir(struct archive *a, const char *path)
{
        tar_write_entry(a, entry_new(path, AE_IFDIR, 0755, 0, 0), NULL, 0);
}

static void tar_file(struct archive *a, const char *path, const char *content)
{
        tar_write_entry(a, entry_new(path, AE_IFREG, 0644, 0, 0), content, strlen(content));
}

static void tar_symlink(struct archive *a, const char *path, const char *target)
{
        struct archive_entry *e = entry_new(path, AE_IFLNK, 0777, 0, 0);
        archive_entry_set_symlink(e, target);
        tar_write_entry(a, e, NULL, 0);
}

static void tar_hardlink(struct archive *a, const char *path, const char *target)
{
        struct archive_entry *e = entry_new(path, AE_IFREG, 0644, 0, 0);
        archive_entry_set_hardlink(e, target);
        tar_write_entry(a, e, NULL, 0);
}

/* Compresses bytes with libarchive's "raw" writer, so the blob is exactly gzip/zstd of the given tar. */
static GByteArray *compress_blob(const GByteArray *tar, Compression c)
{
        GByteArray *out = g_byte_array_new();
        struct archive *a;
        struct archive_entry *e;

        if (c == COMPRESSION_NONE) {
                g_byte_array_append(out, tar->data, tar->len);
                return out;
        }
        a = archive_write_new();
        g_assert_cmpint(archive_write_set_format_raw(a), ==, ARCHIVE_OK);
        g_assert_cmpint(c == COMPRESSION_GZIP ? archive_write_add_filter_gzip(a)
                                              : archive_write_add_filter_zstd(a),
                        ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_set_bytes_in_last_block(a, 1), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_open(a, out, NULL, byte_array_write, NULL), ==, ARCHIVE_OK);
        e = archive_entry_new();
        archive_entry_set_pathname(e, "layer.tar");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, tar->len);
        g_assert_cmpint(archive_write_header(a, e), ==, ARCHIVE_OK);
        g_assert_cmpint(archive_write_data(a, tar->data, tar->len), ==, (la_ssize_t) tar->len);
        archive_entry_free(e);
        tar_finish(a);
        return out;
}

static int memfd_with(const void *data, size_t size)
{
        int fd = memfd_create("layer", MFD_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write(fd, data, size), ==, (ssize_t) size);
        g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
        return fd;
}

static int extract_bytes(const void *data, size_t size, int dest_fd, BerthError *msg,
                         LayerExtractResult *ret)
{
        _cleanup_close_ int fd = memfd_with(data, size);
        return layer_extract(fd, dest_fd, msg, ret);
}

static void assert_extracts(const GByteArray *blob, const GByteArray *tar, int dest_fd)
{
        _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
        char blob_digest[LAYER_DIGEST_STRING_MAX], diff_id[LAYER_DIGEST_STRING_MAX];
        LayerExtractResult res = {};
        int r;

        r = extract_bytes(blob->data, blob->len, dest_fd, &msg, &res);
        if (r < 0)
                g_test_message("extraction failed: %s", strna(msg.message));
        g_assert_cmpint(r, ==, 0);

        sha256_hex(blob->data, blob->len, blob_digest);
        sha256_hex(tar->data, tar->len, diff_id);
        g_assert_cmpstr(res.blob_digest, ==, blob_digest);
        g_assert_cmpstr(res.diff_id, ==, diff_id);
        g_assert_cmpuint(res.compressed_size, ==, blob->len);
        g_assert_cmpuint(res.uncompressed_size, ==, tar->len);
}

static void assert_file(int dir_fd, const char *path, const char *content)
{
        _cleanup_free_ char *data = NULL;
        size_t size;

        g_assert_cmpint(read_file_at(dir_fd, path, 1 << 20, &data, &size), ==, 0);
        g_assert_cmpuint(size, ==, strlen(content));
        g_assert_cmpstr(data, ==, content);
}

static size_t count_entries(int dir_fd)
{
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fdopendir(TAKE_FD(fd));
        size_t n = 0;

        g_assert_nonnull(d);
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

/* ---- extraction of ordinary content ----------------------------------------------------------------- */

static void build_rich_layer(GByteArray *tar)
{
        struct archive *a = tar_new(tar);
        struct archive_entry *e;
        struct vfs_cap_data cap = {
                .magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
                .data = { { .permitted = 1u << CAP_NET_RAW } },
        };
        g_autofree char *sparse = g_malloc0(SPARSE_SIZE);

        tar_dir(a, "./");
        e = entry_new("etc/", AE_IFDIR, 0750, 0, 42);
        archive_entry_set_mtime(e, MTIME - 100, 0);
        tar_write_entry(a, e, NULL, 0);
        e = entry_new("etc/hello", AE_IFREG, 0640, 1000, 1001);
        archive_entry_xattr_add_entry(e, "user.berth", "value", 5);
        archive_entry_xattr_add_entry(e, "trusted.berth", "t", 1);
        archive_entry_xattr_add_entry(e, "trusted.overlay.metacopy", "", 0);
        tar_write_entry(a, e, "hello\n", 6);
        e = entry_new("etc/redirected/", AE_IFDIR, 0755, 0, 0);
        archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/bin", 4);
        archive_entry_xattr_add_entry(e, "user.overlay.opaque", "y", 1);
        tar_write_entry(a, e, NULL, 0);

        tar_dir(a, "bin/");
        tar_write_entry(a, entry_new("bin/suid", AE_IFREG, 04755, 0, 0), "#!/bin/true\n", 12);
        e = entry_new("bin/ping", AE_IFREG, 0755, 0, 0);
        archive_entry_xattr_add_entry(e, "security.capability", &cap, sizeof(cap));
        tar_write_entry(a, e, "ping", 4);
        tar_hardlink(a, "bin/hard", "bin/suid");
        tar_symlink(a, "bin/abs", "/etc/hello");
        tar_symlink(a, "bin/rel", "../etc/hello");

        tar_dir(a, "dev/");
        e = entry_new("dev/null", AE_IFCHR, 0666, 0, 0);
        archive_entry_set_rdevmajor(e, 1);
        archive_entry_set_rdevminor(e, 3);
        tar_write_entry(a, e, NULL, 0);
        e = entry_new("dev/sda", AE_IFBLK, 0660, 0, 6);
        archive_entry_set_rdevmajor(e, 8);
        archive_entry_set_rdevminor(e, 0);
        tar_write_entry(a, e, NULL, 0);
        tar_write_entry(a, entry_new("dev/fifo", AE_IFIFO, 0600, 7, 8), NULL, 0);

        /* Two 4 KiB data regions in 8 MiB; the writer drops the holes given full content. */
        memset(sparse, 'A', 4096);
        memset(sparse + 4 * 1024 * 1024, 'B', 4096);
        e = entry_new("var/sparse", AE_IFREG, 0644, 0, 0);
        archive_entry_set_size(e, SPARSE_SIZE); /* before the map: libarchive checks it against the size */
        archive_entry_sparse_add_entry(e, 0, 4096);
        archive_entry_sparse_add_entry(e, 4 * 1024 * 1024, 4096);
        tar_write_entry(a, e, sparse, SPARSE_SIZE);

        tar_file(a, "usr/share/caf\xc3\xa9/\xc3\xbcnicode", "utf8\n");
        tar_finish(a);
}

static void check_rich_layer(int fd)
{
        struct vfs_cap_data cap = {
                .magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
                .data = { { .permitted = 1u << CAP_NET_RAW } },
        };
        char buf[256];
        struct stat st, st2;
        ssize_t n;
        _cleanup_close_ int sfd = -EBADF;
        g_autofree char *sparse = NULL;

        g_assert_cmpint(fstatat(fd, "etc", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISDIR(st.st_mode));
        g_assert_cmpint(st.st_mode & 07777, ==, 0750);
        g_assert_cmpint(st.st_gid, ==, 42);
        g_assert_cmpint(st.st_mtim.tv_sec, ==, MTIME - 100); /* restored after its children were written */

        assert_file(fd, "etc/hello", "hello\n");
        g_assert_cmpint(fstatat(fd, "etc/hello", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0640);
        g_assert_cmpint(st.st_uid, ==, 1000);
        g_assert_cmpint(st.st_gid, ==, 1001);
        g_assert_cmpint(st.st_mtim.tv_sec, ==, MTIME);

        sfd = openat(fd, "etc/hello", O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(sfd, >=, 0);
        n = fgetxattr(sfd, "user.berth", buf, sizeof(buf));
        g_assert_cmpint(n, ==, 5);
        g_assert_cmpmem(buf, 5, "value", 5);
        n = fgetxattr(sfd, "trusted.berth", buf, sizeof(buf));
        g_assert_cmpint(n, ==, 1);
        /* overlayfs' own xattrs are never taken from a tar */
        g_assert_cmpint(fgetxattr(sfd, "trusted.overlay.metacopy", buf, sizeof(buf)), <, 0);
        sfd = safe_close(sfd);
        sfd = openat(fd, "etc/redirected", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(sfd, >=, 0);
        g_assert_cmpint(flistxattr(sfd, buf, sizeof(buf)), ==, 0);
        sfd = safe_close(sfd);

        g_assert_cmpint(fstatat(fd, "bin/suid", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 04755);
        g_assert_cmpint(st.st_nlink, ==, 2);
        g_assert_cmpint(fstatat(fd, "bin/hard", &st2, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, st2.st_ino);

        sfd = openat(fd, "bin/ping", O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(sfd, >=, 0);
        n = fgetxattr(sfd, "security.capability", buf, sizeof(buf));
        g_assert_cmpint(n, ==, (ssize_t) sizeof(cap));
        g_assert_cmpmem(buf, (size_t) n, &cap, sizeof(cap));
        sfd = safe_close(sfd);

        n = readlinkat(fd, "bin/abs", buf, sizeof(buf));
        g_assert_cmpmem(buf, (size_t) n, "/etc/hello", 10);
        n = readlinkat(fd, "bin/rel", buf, sizeof(buf));
        g_assert_cmpmem(buf, (size_t) n, "../etc/hello", 12);

        g_assert_cmpint(fstatat(fd, "dev/null", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISCHR(st.st_mode));
        g_assert_cmpint(st.st_rdev, ==, makedev(1, 3));
        g_assert_cmpint(st.st_mode & 07777, ==, 0666);
        g_assert_cmpint(fstatat(fd, "dev/sda", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISBLK(st.st_mode));
        g_assert_cmpint(st.st_rdev, ==, makedev(8, 0));
        g_assert_cmpint(st.st_gid, ==, 6);
        g_assert_cmpint(fstatat(fd, "dev/fifo", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISFIFO(st.st_mode));
        g_assert_cmpint(st.st_uid, ==, 7);
        g_assert_cmpint(st.st_gid, ==, 8);

        g_assert_cmpint(fstatat(fd, "var/sparse", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_cmpint(st.st_size, ==, SPARSE_SIZE);
        g_assert_cmpint(st.st_blocks * 512, <, 1024 * 1024); /* holes stayed holes */
        sfd = openat(fd, "var/sparse", O_RDONLY | O_CLOEXEC);
        sparse = g_malloc(SPARSE_SIZE);
        g_assert_cmpint(read(sfd, sparse, SPARSE_SIZE), ==, SPARSE_SIZE);
        g_assert_cmpint(sparse[0], ==, 'A');
        g_assert_cmpint(sparse[4095], ==, 'A');
        g_assert_cmpint(sparse[4096], ==, 0);
        g_assert_cmpint(sparse[4 * 1024 * 1024], ==, 'B');
        g_assert_cmpint(sparse[SPARSE_SIZE - 1], ==, 0);

        assert_file(fd, "usr/share/caf\xc3\xa9/\xc3\xbcnicode", "utf8\n");
}

static void test_extract_rich(gconstpointer data)
{
        Compression c = GPOINTER_TO_INT(data);
        g_autoptr(GByteArray) tar = g_byte_array_new(), blob = NULL;
        TmpDir t;

        if (!need_root())
                return;
        build_rich_layer(tar);
        blob = compress_blob(tar, c);
        if (c != COMPRESSION_NONE)
                g_assert_cmpuint(blob->len, <, tar->len);

        tmpdir_make(&t);
        assert_extracts(blob, tar, t.fd);
        check_rich_layer(t.fd);
        tmpdir_done(&t);
}

/* Absolute names are re-rooted, as Docker does (ko writes "/ko-app/NAME", umoci a "/" entry): they land in
 * the layer, never outside it; a hardlink's absolute target is the layer's file. */
static void test_extract_absolute_names(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new();
        _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
        g_autofree char *outside = NULL;
        _cleanup_close_ int dest = -EBADF;
        LayerExtractResult res;
        struct archive *a;
        struct stat st, st2;
        TmpDir t;

        if (!need_root())
                return;
        tmpdir_make(&t);
        g_assert_cmpint(mkdirat(t.fd, "dest", 0755), ==, 0);
        dest = open_dir_at(t.fd, "dest");
        outside = g_strdup_printf("%s/outside", t.path);

        a = tar_new(tar);
        tar_dir(a, "/");
        tar_dir(a, "/ko-app/");
        tar_file(a, "/ko-app/hello", "hi");
        tar_hardlink(a, "/ko-app/again", "/ko-app/hello");
        tar_file(a, outside, "x"); /* an absolute host path is a path in the layer */
        tar_file(a, "//double/slash", "y");
        tar_finish(a);

        g_assert_cmpint(extract_bytes(tar->data, tar->len, dest, &msg, &res), ==, 0);
        assert_file(dest, "ko-app/hello", "hi");
        g_assert_cmpint(fstatat(dest, "ko-app/hello", &st, 0), ==, 0);
        g_assert_cmpint(fstatat(dest, "ko-app/again", &st2, 0), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, st2.st_ino);
        assert_file(dest, outside + 1, "x");
        assert_file(dest, "double/slash", "y");
        g_assert_cmpint(faccessat(t.fd, "outside", F_OK, 0), <, 0);

        dest = safe_close(dest);
        tmpdir_done(&t);
}

/* Bytes after the compressed stream (and after the tar's end marker) are still hashed. */
static void test_extract_trailing_bytes(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new(), blob = NULL;
        struct archive *a;
        TmpDir t;

        if (!need_root())
                return;
        a = tar_new(tar);
        tar_file(a, "f", "x");
        tar_finish(a);
        g_byte_array_set_size(tar, tar->len + 10240); /* more zero blocks, as some tools pad */
        memset(tar->data + tar->len - 10240, 0, 10240);
        blob = compress_blob(tar, COMPRESSION_GZIP);

        tmpdir_make(&t);
        assert_extracts(blob, tar, t.fd);
        assert_file(t.fd, "f", "x");
        tmpdir_done(&t);
}

/* A layer bigger than LAYER_WRITEBACK_BYTES: the writeback thread runs its syncfs inside the confined child
 * (a thread the seccomp filter must allow it) and the layer comes out whole. */
static void test_extract_with_writeback(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new(), blob = NULL;
        size_t size = LAYER_WRITEBACK_BYTES + (1 << 20);
        g_autofree char *big = g_malloc(size + 1);
        struct archive *a;
        struct stat st;
        TmpDir t;

        if (!need_root())
                return;
        for (size_t i = 0; i < size; i++)
                big[i] = (char) ('a' + i % 23);
        big[size] = 0;
        a = tar_new(tar);
        tar_file(a, "big", big);
        tar_file(a, "after", "z");
        tar_finish(a);
        blob = compress_blob(tar, COMPRESSION_GZIP);

        tmpdir_make(&t);
        assert_extracts(blob, tar, t.fd);
        g_assert_cmpint(fstatat(t.fd, "big", &st, 0), ==, 0);
        g_assert_cmpint(st.st_size, ==, (off_t) size);
        assert_file(t.fd, "after", "z");
        tmpdir_done(&t);
}

/* The ids of this process's threads, as a set. */
static GHashTable *thread_ids(void)
{
        _cleanup_(closedirp) DIR *d = opendir("/proc/self/task");
        GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        struct dirent *de;

        g_assert_nonnull(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        g_hash_table_add(ids, g_strdup(de->d_name));
        return ids;
}

/* This process's threads: the helpers that start lazily (writeback, hashing) show here at once, since
 * pthread_create() returns once the thread exists. */
static size_t count_threads(void)
{
        g_autoptr(GHashTable) ids = thread_ids();

        return g_hash_table_size(ids);
}

/* Threads running now that were not in before. A thread that ended is not counted, nor one that is ending
 * (still listed a moment after its join). */
static size_t new_threads(GHashTable *before)
{
        g_autoptr(GHashTable) now = thread_ids();
        GHashTableIter i;
        gpointer id;
        size_t n = 0;

        g_hash_table_iter_init(&i, now);
        while (g_hash_table_iter_next(&i, &id, NULL))
                n += !g_hash_table_contains(before, id);
        return n;
}

/* The blob size up to which this run decompresses on one thread (main() sets it). */
static size_t one_thread_max = 64 << 10;

static uint8_t *ring_chunk(StreamRing *r)
{
        uint8_t *chunk = NULL;

        g_assert_cmpint(stream_ring_get(r, &chunk), ==, 0);
        return chunk;
}

/* The ring's chunks come back in order and are reused: a stream of many chunks of uneven sizes hashes as the
 * same bytes hashed at once; no chunk at all is the empty digest; a ring freed with chunks queued stops. */
static void test_stream_ring_hash(void)
{
        enum { CHUNK = 4096, TOTAL = 10 * STREAM_RING_CHUNKS * CHUNK };
        g_autofree uint8_t *all = g_malloc(TOTAL);
        char want[LAYER_DIGEST_STRING_MAX], got[SHA256_DIGEST_STRING_SIZE];
        StreamRing *r = NULL;
        size_t at = 0;

        for (size_t i = 0; i < TOTAL; i++)
                all[i] = (uint8_t) (i * 7 + i / 251);
        g_assert_cmpint(stream_ring_new(CHUNK, 0, &r), ==, 0);
        for (size_t k = 0; at < TOTAL; k++) {
                size_t n = MIN((size_t) (k % 5 == 0 ? 1 : CHUNK - k % 3), (size_t) TOTAL - at);
                memcpy(ring_chunk(r), all + at, n);
                stream_ring_put(r, n);
                at += n;
        }
        stream_ring_end(r);
        g_assert_cmpint(stream_ring_finish(r, got), ==, 0);
        r = stream_ring_free(r);
        sha256_hex(all, TOTAL, want);
        g_assert_cmpstr(got, ==, want);

        g_assert_cmpint(stream_ring_new(CHUNK, 0, &r), ==, 0);
        stream_ring_end(r);
        g_assert_cmpint(stream_ring_finish(r, got), ==, 0);
        r = stream_ring_free(r);
        sha256_hex("", 0, want);
        g_assert_cmpstr(got, ==, want);

        /* One chunk: no thread, hashed by the finish; a second one starts the thread. */
        size_t threads = count_threads();
        g_assert_cmpint(stream_ring_new(CHUNK, 0, &r), ==, 0);
        memcpy(ring_chunk(r), all, CHUNK);
        stream_ring_put(r, CHUNK);
        g_assert_cmpuint(count_threads(), ==, threads);
        stream_ring_end(r);
        g_assert_cmpint(stream_ring_finish(r, got), ==, 0);
        r = stream_ring_free(r);
        sha256_hex(all, CHUNK, want);
        g_assert_cmpstr(got, ==, want);

        g_assert_cmpint(stream_ring_new(CHUNK, 0, &r), ==, 0);
        for (int k = 0; k < STREAM_RING_CHUNKS; k++) {
                memset(ring_chunk(r), k, CHUNK);
                stream_ring_put(r, CHUNK);
        }
        g_assert_cmpuint(count_threads(), ==, threads + 1);
        g_assert_null(stream_ring_free(r));
}

typedef struct RingProducer {
        StreamRing *ring;
        const uint8_t *data;
        size_t size, chunk;
} RingProducer;

/* Uneven chunks, some of one byte, some empty (which the reader must not take for the end). */
static void *ring_produce(void *userdata)
{
        RingProducer *p = userdata;

        for (size_t k = 0, at = 0; at < p->size; k++) {
                size_t n = MIN((size_t) (k % 7 == 0 ? k % 2 : p->chunk - k % 5), p->size - at);

                memcpy(ring_chunk(p->ring), p->data + at, n);
                stream_ring_put(p->ring, n);
                at += n;
        }
        stream_ring_end(p->ring);
        return NULL;
}

/* With a reader: it gets every byte in order, in place, while the thread hashes the same chunks; a reader
 * that stops early holds nothing up, and the rest is still hashed. */
static void test_stream_ring_read(void)
{
        enum { CHUNK = 4096, TOTAL = 25 * STREAM_RING_CHUNKS * CHUNK };
        g_autofree uint8_t *all = g_malloc(TOTAL), *copy = g_malloc(TOTAL);
        char want[LAYER_DIGEST_STRING_MAX], got[SHA256_DIGEST_STRING_SIZE];
        RingProducer p = { .data = all, .size = TOTAL, .chunk = CHUNK };
        pthread_t producer;
        size_t at = 0, n;
        const uint8_t *block;

        for (size_t i = 0; i < TOTAL; i++)
                all[i] = (uint8_t) (i * 13 + i / 509);
        sha256_hex(all, TOTAL, want);

        g_assert_cmpint(stream_ring_new(CHUNK, STREAM_RING_READER, &p.ring), ==, 0);
        g_assert_cmpint(pthread_create(&producer, NULL, ring_produce, &p), ==, 0);
        while ((n = stream_ring_read(p.ring, &block)) > 0) {
                g_assert_cmpuint(n, <=, (size_t) CHUNK);
                g_assert_cmpuint(at + n, <=, (size_t) TOTAL);
                memcpy(copy + at, block, n);
                at += n;
        }
        g_assert_cmpuint(at, ==, (size_t) TOTAL);
        g_assert_cmpmem(copy, TOTAL, all, TOTAL);
        g_assert_cmpuint(stream_ring_read(p.ring, &block), ==, 0); /* the end stays the end */
        g_assert_cmpint(pthread_join(producer, NULL), ==, 0);
        g_assert_cmpint(stream_ring_finish(p.ring, got), ==, 0);
        g_assert_cmpstr(got, ==, want);
        p.ring = stream_ring_free(p.ring);

        /* The reader stops after one chunk, as the tar reader does at the end of the archive. */
        g_assert_cmpint(stream_ring_new(CHUNK, STREAM_RING_READER, &p.ring), ==, 0);
        g_assert_cmpint(pthread_create(&producer, NULL, ring_produce, &p), ==, 0);
        g_assert_cmpuint(stream_ring_read(p.ring, &block), >, 0);
        stream_ring_close_reader(p.ring);
        g_assert_cmpuint(stream_ring_read(p.ring, &block), ==, 0);
        g_assert_cmpint(pthread_join(producer, NULL), ==, 0);
        g_assert_cmpint(stream_ring_finish(p.ring, got), ==, 0);
        g_assert_cmpstr(got, ==, want);
        p.ring = stream_ring_free(p.ring);
}

/* On one thread: the producer queues, each chunk hashed at once, until the ring is full (-ENOBUFS, no
 * waiting); the reader then reads every byte in order, and an empty ring is the end, not a wait. No thread
 * is ever started. */
static void test_stream_ring_one_thread(void)
{
        enum { CHUNK = 4096, TOTAL = STREAM_RING_CHUNKS * CHUNK - 100 };
        g_autofree uint8_t *all = g_malloc(TOTAL), *copy = g_malloc(TOTAL);
        char want[LAYER_DIGEST_STRING_MAX], got[SHA256_DIGEST_STRING_SIZE];
        g_autoptr(GHashTable) threads = thread_ids();
        const uint8_t *block;
        uint8_t *chunk;
        StreamRing *r = NULL;
        size_t at = 0, n;

        for (size_t i = 0; i < TOTAL; i++)
                all[i] = (uint8_t) (i * 31 + i / 97);
        sha256_hex(all, TOTAL, want);

        g_assert_cmpint(stream_ring_new(CHUNK, STREAM_RING_READER | STREAM_RING_ONE_THREAD, &r), ==, 0);
        while (at < TOTAL) {
                n = MIN((size_t) CHUNK, (size_t) TOTAL - at);
                memcpy(ring_chunk(r), all + at, n);
                stream_ring_put(r, n);
                at += n;
        }
        g_assert_cmpint(stream_ring_get(r, &chunk), ==, -ENOBUFS); /* all 16 hold what is still to read */
        g_assert_null(chunk);
        g_assert_cmpuint(new_threads(threads), ==, 0);
        stream_ring_end(r);

        at = 0;
        while ((n = stream_ring_read(r, &block)) > 0) {
                memcpy(copy + at, block, n);
                at += n;
        }
        g_assert_cmpuint(at, ==, (size_t) TOTAL);
        g_assert_cmpmem(copy, TOTAL, all, TOTAL);
        g_assert_cmpint(stream_ring_finish(r, got), ==, 0);
        g_assert_cmpstr(got, ==, want);
        r = stream_ring_free(r);

        /* Nothing queued and no end: the reader does not wait for a producer that cannot come. */
        g_assert_cmpint(stream_ring_new(CHUNK, STREAM_RING_READER | STREAM_RING_ONE_THREAD, &r), ==, 0);
        g_assert_cmpuint(stream_ring_read(r, &block), ==, 0);
        g_assert_cmpuint(new_threads(threads), ==, 0);
        g_assert_null(stream_ring_free(r));
}

typedef enum DecompressExpect {
        DECOMPRESS_ON_THE_CALLER, /* no thread */
        DECOMPRESS_ON_A_THREAD,   /* which waits for the reader: the stream is longer than the ring */
        DECOMPRESS_EITHER,        /* a thread that may be done already */
} DecompressExpect;

/* Decompresses blob with layer_decompressor_start(): its stream's sha256 must be the tar's, and the digests
 * and sizes those of blob and tar. expect: whether a thread runs once the start returned, nothing read yet.
 */
static void assert_decompresses(const GByteArray *blob, const GByteArray *tar, DecompressExpect expect)
{
        _cleanup_close_ int fd = memfd_with(blob->data, blob->len);
        g_autoptr(GHashTable) threads = thread_ids();
        char message[LAYER_MESSAGE_MAX] = "", want[LAYER_DIGEST_STRING_MAX];
        g_autoptr(GChecksum) read = g_checksum_new(G_CHECKSUM_SHA256);
        LayerExtractResult res = {};
        LayerDecompressor *d = NULL;
        const uint8_t *block;
        uint64_t total = 0;
        size_t n;

        g_assert_cmpint(layer_decompressor_start(fd, UINT64_MAX, &d), ==, 0);
        if (expect == DECOMPRESS_ON_THE_CALLER)
                g_assert_cmpuint(new_threads(threads), ==, 0);
        else if (expect == DECOMPRESS_ON_A_THREAD) /* and the ring's hasher, by now or not */
                g_assert_cmpuint(new_threads(threads), >=, 1);
        while ((n = layer_decompressor_read(d, &block)) > 0) {
                g_checksum_update(read, block, n);
                total += n;
        }
        g_assert_cmpint(layer_decompressor_finish(d, message, &res), ==, 0);
        g_assert_cmpuint(total, ==, tar->len);
        sha256_hex(tar->data, tar->len, want);
        g_assert_cmpstr(res.diff_id, ==, want);
        g_assert_cmpstr(res.diff_id + strlen("sha256:"), ==, g_checksum_get_string(read));
        g_assert_cmpuint(res.uncompressed_size, ==, tar->len);
        sha256_hex(blob->data, blob->len, want);
        g_assert_cmpstr(res.blob_digest, ==, want); /* the head read before choosing, counted once */
        g_assert_cmpuint(res.compressed_size, ==, blob->len);
}

/* A blob of at most 64 KiB is decompressed by the start, on the caller's thread; a larger one, and a small
 * one that inflates to more than the ring holds (16 MiB: then the start begins again), on a thread, which
 * waits for the reader here. Each stream and digest is whole either way. Run with gzip and zstd. */
static void test_decompress_one_thread(gconstpointer data)
{
        Compression c = GPOINTER_TO_INT(data);
        g_autoptr(GByteArray) small_tar = g_byte_array_new(), zeros_tar = g_byte_array_new(),
                              large_tar = g_byte_array_new(), small = NULL, zeros = NULL, large = NULL;
        enum { ZEROS = 20 << 20, NOISE = 100 << 10 };
        g_autofree char *zero_file = g_malloc0(ZEROS + 1), *noise_file = g_malloc(NOISE + 1);
        struct archive *a;

        memset(zero_file, '0', ZEROS);
        for (size_t i = 0, x = 1; i < NOISE; i++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                noise_file[i] = (char) ('!' + (x >> 33) % 90);
        }
        noise_file[NOISE] = 0;

        a = tar_new(small_tar);
        tar_file(a, "f", "x");
        tar_finish(a);
        small = compress_blob(small_tar, c);
        a = tar_new(zeros_tar);
        tar_file(a, "zeros", zero_file);
        tar_finish(a);
        zeros = compress_blob(zeros_tar, c);
        a = tar_new(large_tar);
        tar_file(a, "noise", noise_file);
        tar_file(a, "zeros", zero_file);
        tar_finish(a);
        large = compress_blob(large_tar, c);
        g_assert_cmpuint(zeros->len, <=, 64 << 10);
        g_assert_cmpuint(zeros_tar->len, >, 16 << 20);
        g_assert_cmpuint(large->len, >, 64 << 10);

        layer_decompress_set_one_thread_max(64 << 10);
        assert_decompresses(small, small_tar, DECOMPRESS_ON_THE_CALLER);
        assert_decompresses(zeros, zeros_tar, DECOMPRESS_ON_A_THREAD);
        assert_decompresses(large, large_tar, DECOMPRESS_ON_A_THREAD);
        /* 0: always the thread (the whole extraction suite runs that way too, as layer-thread). Done so
         * soon, it may be gone before the count. */
        layer_decompress_set_one_thread_max(0);
        assert_decompresses(small, small_tar, DECOMPRESS_EITHER);
        layer_decompress_set_one_thread_max(one_thread_max);
}

/* Every syncfs asked for runs before the stop returns, and its error is the stop's; below the threshold no
 * syncfs runs. An fd syncfs refuses (EBADF) shows which happened. */
static void test_writeback(void)
{
        _cleanup_close_ int fd = open_dir_at(AT_FDCWD, "/var/tmp");
        LayerWriteback *w = NULL;

        size_t threads = count_threads();

        /* Under a batch: no thread, no syncfs. */
        g_assert_cmpint(layer_writeback_start(-EBADF, &w), ==, 0);
        layer_writeback_add(w, LAYER_WRITEBACK_BYTES - 1);
        g_assert_cmpuint(count_threads(), ==, threads);
        g_assert_cmpint(layer_writeback_stop(w), ==, 0);

        /* The first full batch starts the thread. */
        g_assert_cmpint(layer_writeback_start(-EBADF, &w), ==, 0);
        layer_writeback_add(w, LAYER_WRITEBACK_BYTES - 1);
        layer_writeback_add(w, 1);
        g_assert_cmpuint(count_threads(), ==, threads + 1);
        g_assert_cmpint(layer_writeback_stop(w), ==, -EBADF);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(layer_writeback_start(fd, &w), ==, 0);
        for (int i = 0; i < 3; i++)
                layer_writeback_add(w, LAYER_WRITEBACK_BYTES);
        g_assert_cmpint(layer_writeback_stop(w), ==, 0);

        layer_writeback_add(NULL, 1);
        g_assert_cmpint(layer_writeback_stop(NULL), ==, 0);
}

/* gzip members one after the other are one stream (gzip(1), pigz -i and libarchive say so); bytes after the
 * last member are hashed into the blob digest but not decompressed. Big enough that inflate's output comes
 * in several blocks. */
static void test_extract_gzip_members(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new(), head = g_byte_array_new(), tail = g_byte_array_new(),
                              blob = g_byte_array_new(), a_gz = NULL, b_gz = NULL;
        g_autofree char *big = g_malloc(3 << 20);
        struct archive *a;
        TmpDir t;

        if (!need_root())
                return;
        for (size_t i = 0; i < (3 << 20) - 1; i++)
                big[i] = (char) ('a' + (i * 7919 % 26));
        big[(3 << 20) - 1] = '\0';
        a = tar_new(tar);
        tar_file(a, "big", big);
        tar_file(a, "small", "x");
        tar_finish(a);
        g_byte_array_append(head, tar->data, tar->len / 3);
        g_byte_array_append(tail, tar->data + tar->len / 3, tar->len - tar->len / 3);
        a_gz = compress_blob(head, COMPRESSION_GZIP);
        b_gz = compress_blob(tail, COMPRESSION_GZIP);
        g_byte_array_append(blob, a_gz->data, a_gz->len);
        g_byte_array_append(blob, b_gz->data, b_gz->len);
        g_byte_array_append(blob, (const guint8 *) "not gzip", 8);

        tmpdir_make(&t);
        assert_extracts(blob, tar, t.fd);
        assert_file(t.fd, "small", "x");
        tmpdir_done(&t);
}

/* A gzip layer of three entries (a directory, a file in it, a file), its tar into tar. */
static GByteArray *three_entry_layer(GByteArray *tar)
{
        struct archive *a = tar_new(tar);

        tar_dir(a, "d");
        tar_file(a, "d/f", "x");
        tar_file(a, "g", "y");
        tar_finish(a);
        return compress_blob(tar, COMPRESSION_GZIP);
}

/* A layer over MaxLayerSize= or MaxLayerEntries= fails with -EFBIG and a message naming the setting; one
 * exactly at the limits extracts. */
static void test_extract_limits(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new(), blob = NULL;
        _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
        LayerExtractResult res = {};
        TmpDir t;

        if (!need_root())
                return;
        blob = three_entry_layer(tar);

        tmpdir_make(&t);
        layer_extract_set_limits(tar->len, 3);
        assert_extracts(blob, tar, t.fd);
        tmpdir_done(&t);

        tmpdir_make(&t);
        layer_extract_set_limits(UINT64_MAX, 2);
        g_assert_cmpint(extract_bytes(blob->data, blob->len, t.fd, &msg, &res), ==, -EFBIG);
        g_assert_nonnull(strstr(msg.message, "more than 2 entries"));
        g_assert_nonnull(strstr(msg.message, "MaxLayerEntries="));
        berth_error_done(&msg);
        tmpdir_done(&t);

        tmpdir_make(&t);
        layer_extract_set_limits(tar->len - 1, UINT64_MAX);
        g_assert_cmpint(extract_bytes(blob->data, blob->len, t.fd, &msg, &res), ==, -EFBIG);
        g_assert_nonnull(strstr(msg.message, "MaxLayerSize="));
        tmpdir_done(&t);

        layer_extract_set_limits(STORE_MAX_LAYER_SIZE_DEFAULT, STORE_MAX_LAYER_ENTRIES_DEFAULT);
}

static void test_store_parse_size(void)
{
        uint64_t v = 0;

        g_assert_cmpint(store_parse_size("1048576", &v), ==, 0);
        g_assert_cmpuint(v, ==, 1048576);
        g_assert_cmpint(store_parse_size("64M", &v), ==, 0);
        g_assert_cmpuint(v, ==, UINT64_C(64) << 20);
        g_assert_cmpint(store_parse_size("64g", &v), ==, 0);
        g_assert_cmpuint(v, ==, UINT64_C(64) << 30);
        g_assert_cmpint(store_parse_size("1.5K", &v), ==, 0);
        g_assert_cmpuint(v, ==, 1536);
        g_assert_cmpint(store_parse_size("infinity", &v), ==, 0);
        g_assert_cmpuint(v, ==, UINT64_MAX);
        g_assert_cmpint(store_parse_size("", &v), <, 0);
        g_assert_cmpint(store_parse_size("0", &v), <, 0);
        g_assert_cmpint(store_parse_size("-1", &v), <, 0);
        g_assert_cmpint(store_parse_size("12Q", &v), <, 0);
        g_assert_cmpint(store_parse_size("1MB", &v), <, 0);
        g_assert_cmpint(store_parse_size("99999999T", &v), <, 0);
}

/* ---- whiteouts -------------------------------------------------------------------------------------- */

static void test_extract_whiteouts(void)
{
        g_autoptr(GByteArray) tar1 = g_byte_array_new(), tar2 = g_byte_array_new();
        g_autofree char *opts = NULL, *mnt = NULL;
        _cleanup_close_ int l1 = -EBADF, l2 = -EBADF, m = -EBADF;
        LayerExtractResult res;
        struct archive *a;
        struct stat st;
        char buf[8];
        TmpDir t;

        if (!need_root())
                return;

        a = tar_new(tar1);
        tar_dir(a, "a/");
        tar_file(a, "a/file1", "1");
        tar_file(a, "a/file2", "2");
        tar_dir(a, "d/");
        tar_file(a, "d/x", "x");
        tar_file(a, "top", "top");
        tar_finish(a);

        a = tar_new(tar2);
        tar_dir(a, "a/");
        tar_write_entry(a, entry_new("a/.wh.file1", AE_IFREG, 0600, 5, 6), NULL, 0);
        tar_file(a, "a/.wh..wh.plnk", "");
        tar_dir(a, "d/");
        tar_file(a, "d/.wh..wh..opq", "");
        tar_file(a, "d/y", "y");
        tar_file(a, ".wh.top", "");      /* whiteout at the layer's top level */
        tar_file(a, "new/.wh.gone", ""); /* parent dir not in the tar */
        tar_finish(a);

        tmpdir_make(&t);
        g_assert_cmpint(mkdirat(t.fd, "l1", 0755), ==, 0);
        g_assert_cmpint(mkdirat(t.fd, "l2", 0755), ==, 0);
        g_assert_cmpint(mkdirat(t.fd, "mnt", 0755), ==, 0);
        l1 = open_dir_at(t.fd, "l1");
        l2 = open_dir_at(t.fd, "l2");
        g_assert_cmpint(extract_bytes(tar1->data, tar1->len, l1, NULL, &res), ==, 0);
        g_assert_cmpint(extract_bytes(tar2->data, tar2->len, l2, NULL, &res), ==, 0);

        /* On disk: overlay form, no .wh.* files left. */
        g_assert_cmpint(fstatat(l2, "a/file1", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISCHR(st.st_mode));
        g_assert_cmpint(st.st_rdev, ==, makedev(0, 0));
        g_assert_cmpint(st.st_uid, ==, 5);
        g_assert_cmpint(st.st_gid, ==, 6);
        g_assert_cmpint(fstatat(l2, "top", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISCHR(st.st_mode));
        g_assert_cmpint(fstatat(l2, "new/gone", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISCHR(st.st_mode));
        g_assert_cmpint(faccessat(l2, "a/.wh.file1", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);
        g_assert_cmpint(faccessat(l2, "a/.wh..wh.plnk", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);
        g_assert_cmpint(faccessat(l2, "d/.wh..wh..opq", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);
        m = openat(l2, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(fgetxattr(m, "trusted.overlay.opaque", buf, sizeof(buf)), ==, 1);
        g_assert_cmpint(buf[0], ==, 'y');
        m = safe_close(m);

        /* And overlayfs agrees. */
        mnt = g_strdup_printf("%s/mnt", t.path);
        opts = g_strdup_printf("lowerdir=%s/l2:%s/l1", t.path, t.path);
        g_assert_cmpint(mount("overlay", mnt, "overlay", MS_RDONLY, opts), ==, 0);
        m = open_dir_at(AT_FDCWD, mnt);
        g_assert_cmpint(faccessat(m, "a/file1", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);
        assert_file(m, "a/file2", "2");
        g_assert_cmpint(faccessat(m, "d/x", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);
        assert_file(m, "d/y", "y");
        g_assert_cmpint(faccessat(m, "top", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);
        m = safe_close(m);
        g_assert_cmpint(umount2(mnt, MNT_DETACH), ==, 0);

        l1 = safe_close(l1);
        l2 = safe_close(l2);
        tmpdir_done(&t);
}

static void test_extract_bad_whiteout(void)
{
        static const char *const names[] = { ".wh.", "a/.wh..", "a/.wh..." };

        if (!need_root())
                return;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                g_autoptr(GByteArray) tar = g_byte_array_new();
                _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
                LayerExtractResult res;
                struct archive *a = tar_new(tar);
                TmpDir t;

                tar_file(a, names[i], "");
                tar_finish(a);
                tmpdir_make(&t);
                g_assert_cmpint(extract_bytes(tar->data, tar->len, t.fd, &msg, &res), ==, -EBADMSG);
                g_assert_nonnull(msg.message);
                tmpdir_done(&t);
        }
}

/* An entry named as a symlink the layer made earlier replaces it (as Docker's extraction does), whatever the
 * entry is; what was under the symlink's target stays as it was. */
static void test_extract_symlink_replaced(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new();
        _cleanup_close_ int dest = -EBADF;
        _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
        LayerExtractResult res;
        struct archive *a;
        struct stat st;
        TmpDir t;

        if (!need_root())
                return;
        tmpdir_make(&t);
        g_assert_cmpint(mkdirat(t.fd, "dest", 0755), ==, 0);
        dest = open_dir_at(t.fd, "dest");

        a = tar_new(tar);
        tar_dir(a, "real/");
        tar_file(a, "real/keep", "keep");
        tar_symlink(a, "d", "real");
        tar_dir(a, "d/");
        tar_file(a, "d/new", "new");
        tar_symlink(a, "f", "real/keep");
        tar_file(a, "./f", "file");
        tar_symlink(a, "back", "real");
        tar_file(a, "back/not-through", "x");
        tar_finish(a);

        /* "back/not-through" goes through the symlink "back": refused. The entries before it are in place.
         */
        g_assert_cmpint(extract_bytes(tar->data, tar->len, dest, &msg, &res), ==, -EBADMSG);
        g_assert_nonnull(strstr(msg.message, "through symlink back"));
        g_assert_cmpint(fstatat(dest, "d", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISDIR(st.st_mode));
        assert_file(dest, "d/new", "new");
        assert_file(dest, "f", "file");
        assert_file(dest, "real/keep", "keep");
        g_assert_cmpint(faccessat(dest, "real/new", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);

        /* The check knows only the layer's own symlinks: a directory that holds anything is refused. */
        berth_error_done(&msg);
        g_assert_cmpint(extract_bytes(tar->data, tar->len, dest, &msg, &res), ==, -ENOTEMPTY);
        assert_file(dest, "f", "file");

        dest = safe_close(dest);
        tmpdir_done(&t);
}

/* layer_symlinks_on_the_way() on a writable copy of name, which it must leave as it was. */
static size_t on_the_way(LayerSymlinks *s, const char *name)
{
        g_autofree char *copy = g_strdup(name);
        size_t n = layer_symlinks_on_the_way(s, copy);

        g_assert_cmpstr(copy, ==, name);
        return n;
}

/* The names the symlink check compares: libarchive's form of each. */
static void test_layer_symlinks(void)
{
        static const struct {
                const char *in, *out;
        } forms[] = {
                { "a/b", "a/b" }, { "./a//b/", "a/b" }, { "a/./b/.", "a/b" }, { ".", "" },
                { "./", "" },     { "a", "a" },         { ".a/b.", ".a/b." },
        };
        _cleanup_(layer_symlinks_freep) LayerSymlinks *s = layer_symlinks_new();

        for (size_t i = 0; i < ELEMENTSOF(forms); i++) {
                g_autofree char *c = layer_path_canonical(forms[i].in);
                g_assert_cmpstr(c, ==, forms[i].out);
        }

        g_assert_cmpuint(on_the_way(s, "a/b/c"), ==, 0);
        layer_symlinks_set(s, "a/b", true);
        g_assert_true(layer_symlinks_contains(s, "a/b"));
        g_assert_cmpuint(on_the_way(s, "a/b/c"), ==, 3);
        g_assert_cmpuint(on_the_way(s, "a/b/c/d"), ==, 3);
        g_assert_cmpuint(on_the_way(s, "a/b"), ==, 0); /* the name itself is not on the way */
        g_assert_cmpuint(on_the_way(s, "a/bc/d"), ==, 0);
        g_assert_cmpuint(on_the_way(s, "a"), ==, 0);
        layer_symlinks_set(s, "a", true);
        g_assert_cmpuint(on_the_way(s, "a/b/c"), ==, 1);
        layer_symlinks_set(s, "a", false);
        layer_symlinks_set(s, "a/b", false);
        g_assert_false(layer_symlinks_contains(s, "a/b"));
        g_assert_cmpuint(on_the_way(s, "a/b/c"), ==, 0);
}

/* ---- hostile layers --------------------------------------------------------------------------------- */

typedef void (*HostileBuilder)(struct archive *a, const char *sentinel);

static void hostile_dotdot(struct archive *a, const char *sentinel)
{
        tar_file(a, "../escape", "x");
}

static void hostile_dotdot_deep(struct archive *a, const char *sentinel)
{
        tar_dir(a, "a/");
        tar_file(a, "a/../../sentinel/escape", "x");
}

static void hostile_symlink_write(struct archive *a, const char *sentinel)
{
        tar_symlink(a, "etc", sentinel);
        tar_file(a, "etc/passwd", "pwned");
}

static void hostile_symlink_relative(struct archive *a, const char *sentinel)
{
        tar_symlink(a, "up", "../sentinel");
        tar_file(a, "up/pwned", "pwned");
}

static void hostile_symlink_chain(struct archive *a, const char *sentinel)
{
        tar_dir(a, "x/");
        tar_symlink(a, "x/b", "../c");
        tar_symlink(a, "c", "d");
        tar_symlink(a, "d", "../../sentinel");
        tar_file(a, "x/b/pwned", "pwned");
}

static void hostile_symlink_dir_then_file(struct archive *a, const char *sentinel)
{
        tar_symlink(a, "s", sentinel);
        tar_dir(a, "s/sub/");
}

static void hostile_hardlink_abs(struct archive *a, const char *sentinel)
{
        tar_hardlink(a, "passwd", "/etc/passwd");
}

static void hostile_hardlink_outside(struct archive *a, const char *sentinel)
{
        tar_hardlink(a, "h", "../sentinel/file");
}

static void hostile_hardlink_via_symlink(struct archive *a, const char *sentinel)
{
        tar_symlink(a, "s", sentinel);
        tar_hardlink(a, "h", "s/file");
}

/* The same symlink under other spellings of its name, and through a hardlink to it. */
static void hostile_symlink_spelled(struct archive *a, const char *sentinel)
{
        tar_symlink(a, "s", sentinel);
        tar_file(a, "./s//pwned", "pwned");
}

static void hostile_symlink_hardlinked(struct archive *a, const char *sentinel)
{
        tar_symlink(a, "s", sentinel);
        tar_hardlink(a, "l", "s");
        tar_file(a, "l/pwned", "pwned");
}

static void hostile_whiteout_via_symlink(struct archive *a, const char *sentinel)
{
        tar_symlink(a, "s", sentinel);
        tar_file(a, "s/.wh.file", "");
}

static void hostile_opaque_via_symlink(struct archive *a, const char *sentinel)
{
        tar_symlink(a, "s", sentinel);
        tar_file(a, "s/.wh..wh..opq", "");
}

static void test_extract_hostile(gconstpointer data)
{
        HostileBuilder build = (HostileBuilder) data;
        g_autoptr(GByteArray) tar = g_byte_array_new();
        g_autofree char *sentinel = NULL;
        _cleanup_close_ int dest = -EBADF, sfd = -EBADF;
        _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
        LayerExtractResult res;
        struct archive *a;
        struct stat st;
        char buf[8];
        TmpDir t;
        int r;

        if (!need_root())
                return;
        /* t/sentinel/file is outside t/dest; the layer must not touch either. */
        tmpdir_make(&t);
        sentinel = g_strdup_printf("%s/sentinel", t.path);
        g_assert_cmpint(mkdirat(t.fd, "sentinel", 0755), ==, 0);
        g_assert_cmpint(mkdirat(t.fd, "dest", 0755), ==, 0);
        g_assert_cmpint(write_file_atomic_at(t.fd, "sentinel/file", "keep", 4, 0644), ==, 0);
        dest = open_dir_at(t.fd, "dest");

        a = tar_new(tar);
        build(a, sentinel);
        tar_finish(a);

        r = extract_bytes(tar->data, tar->len, dest, &msg, &res);
        g_test_message("hostile layer: r=%d (%s)", r, strna(msg.message));
        g_assert_cmpint(r, <, 0);
        g_assert_nonnull(msg.message);

        g_assert_cmpuint(count_entries(t.fd), ==, 2);
        sfd = open_dir_at(t.fd, "sentinel");
        g_assert_cmpuint(count_entries(sfd), ==, 1);
        g_assert_cmpint(fstatat(sfd, "file", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISREG(st.st_mode));
        g_assert_cmpint(st.st_nlink, ==, 1);
        g_assert_cmpint(fgetxattr(sfd, "trusted.overlay.opaque", buf, sizeof(buf)), <, 0);
        assert_file(sfd, "file", "keep");
        g_assert_cmpint(access("/etc/passwd", F_OK), ==, 0);

        sfd = safe_close(sfd);
        dest = safe_close(dest);
        tmpdir_done(&t);
}

/* ---- broken input ----------------------------------------------------------------------------------- */

static void test_extract_corrupt(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new(), gz = NULL, zst = NULL;
        g_autofree char *junk = g_strnfill(3000, 'j');
        struct archive *a;

        if (!need_root())
                return;
        a = tar_new(tar);
        for (int i = 0; i < 50; i++) {
                g_autofree char *name = g_strdup_printf("file%d", i);
                g_autofree char *content = g_strdup_printf("%d %s", i, junk);
                tar_file(a, name, content);
        }
        tar_finish(a);
        gz = compress_blob(tar, COMPRESSION_GZIP);
        zst = compress_blob(tar, COMPRESSION_ZSTD);

        struct {
                const char *what;
                const GByteArray *blob;
                size_t len;
                bool corrupt;
        } cases[] = {
                { "truncated gzip", gz, gz->len / 2, false },
                { "gzip cut before its trailer", gz, gz->len - 4, false },
                { "corrupt gzip", gz, gz->len, true },
                { "truncated zstd", zst, zst->len / 2, false },
                { "corrupt zstd", zst, zst->len, true },
                { "truncated tar", tar, 1536, false },
                { "empty input", tar, 0, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                g_autofree uint8_t *copy = g_memdup2(cases[i].blob->data, cases[i].blob->len);
                _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
                LayerExtractResult res;
                TmpDir t;
                int r;

                if (cases[i].corrupt)
                        memset(copy + cases[i].len / 3, 0xa5, 64);
                tmpdir_make(&t);
                r = extract_bytes(copy, cases[i].len, t.fd, &msg, &res);
                g_test_message("%s: r=%d (%s)", cases[i].what, r, strna(msg.message));
                g_assert_cmpint(r, <, 0);
                g_assert_nonnull(msg.message);
                tmpdir_done(&t);
        }

        /* Not tar at all, and a tar compressed twice. */
        {
                g_autoptr(GByteArray) twice = compress_blob(gz, COMPRESSION_GZIP);
                _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
                LayerExtractResult res;
                TmpDir t;

                tmpdir_make(&t);
                g_assert_cmpint(extract_bytes(junk, strlen(junk), t.fd, &msg, &res), <, 0);
                g_assert_cmpint(extract_bytes(twice->data, twice->len, t.fd, NULL, &res), <, 0);
                tmpdir_done(&t);
        }
}

/* ---- the asynchronous child ------------------------------------------------------------------------- */

static void feed_pipe(int fd, const uint8_t *data, size_t size)
{
        size_t off = 0;

        while (off < size) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                ssize_t n = write(fd, data + off, MIN(size - off, (size_t) 100000));
                if (n < 0) {
                        g_assert_cmpint(errno, ==, EAGAIN);
                        g_assert_cmpint(poll(&p, 1, 10000), ==, 1);
                        continue;
                }
                off += (size_t) n;
        }
}

static void test_extract_spawn(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new(), blob = NULL;
        _cleanup_close_ int input = -EBADF, result = -EBADF;
        _cleanup_close_pair_ int canary[2] = { -EBADF, -EBADF };
        char blob_digest[LAYER_DIGEST_STRING_MAX], diff_id[LAYER_DIGEST_STRING_MAX];
        _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
        LayerExtractResult res = {};
        char c;
        TmpDir t;
        pid_t pid;

        if (!need_root())
                return;
        build_rich_layer(tar);
        blob = compress_blob(tar, COMPRESSION_ZSTD);
        sha256_hex(blob->data, blob->len, blob_digest);
        sha256_hex(tar->data, tar->len, diff_id);

        tmpdir_make(&t);
        /* An fd the daemon would have (a bus socket, say): the child must not keep it. */
        g_assert_cmpint(pipe2(canary, O_NONBLOCK), ==, 0);
        g_assert_cmpint(layer_extract_spawn(t.fd, &input, &result, &pid), ==, 0);
        g_assert_cmpint(fcntl(input, F_GETFL) & O_NONBLOCK, !=, 0);
        g_assert_cmpint(fcntl(input, F_GETFD) & FD_CLOEXEC, !=, 0);
        g_assert_cmpint(fcntl(result, F_GETFD) & FD_CLOEXEC, !=, 0);

        /* Still running (waiting for input): it has not reported yet, and holds no copy of the canary. */
        g_assert_cmpint(layer_extract_read_result(result, NULL, &res), ==, -EAGAIN);
        canary[1] = safe_close(canary[1]);
        for (int i = 0; i < 100; i++) { /* the child may still be between fork and close_range */
                if (read(canary[0], &c, 1) == 0)
                        break;
                g_assert_cmpint(errno, ==, EAGAIN);
                g_usleep(10000);
                g_assert_cmpint(i, <, 99);
        }

        /* Feed it in uneven pieces, as a download would. */
        feed_pipe(input, blob->data, 1);
        feed_pipe(input, blob->data + 1, blob->len - 1);
        input = safe_close(input);

        g_assert_cmpint(layer_extract_wait(pid, result, &msg, &res), ==, 0);
        g_assert_cmpstr(res.blob_digest, ==, blob_digest);
        g_assert_cmpstr(res.diff_id, ==, diff_id);
        check_rich_layer(t.fd);
        result = safe_close(result);
        tmpdir_done(&t);

        /* A failing child reports its error and message. */
        tmpdir_make(&t);
        g_assert_cmpint(layer_extract_spawn(t.fd, &input, &result, &pid), ==, 0);
        feed_pipe(input, (const uint8_t *) "this is no layer", 16);
        input = safe_close(input);
        g_assert_cmpint(layer_extract_wait(pid, result, &msg, &res), <, 0);
        g_assert_nonnull(msg.message);
        g_test_message("garbage: %s", msg.message);
        result = safe_close(result);
        tmpdir_done(&t);
}

/* With the fork server, extraction and syncfs children are still ours (waitpid() reaps them), get the limits
 * in force at the request rather than at the server's start, and a dead server only means that we fork
 * ourselves again. A child of ours does not use our server. */
static void test_extract_fork_server(void)
{
        g_autoptr(GByteArray) tar = g_byte_array_new(), blob = NULL;
        _cleanup_berth_error_ BerthError msg = BERTH_ERROR_INIT;
        LayerExtractResult res = {};
        pid_t server, pid;
        int status;
        TmpDir t;

        if (!need_root())
                return;
        blob = three_entry_layer(tar);

        g_assert_cmpint(fork_server_start(BERTH_BUILD_ROOT "/src/store/berth-fork-server"), ==, 0);
        g_assert_true(fork_server_running());
        server = fork_server_pid();
        g_assert_cmpint(server, >, 0);

        tmpdir_make(&t);
        assert_extracts(blob, tar, t.fd); /* layer_extract() reaps its child with waitpid() */
        g_assert_cmpint(fork_server_syncfs(t.fd, &pid), ==, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        tmpdir_done(&t);

        /* Removal of entries: per directory, those with its prefix, trees and all; nothing else. */
        {
                TmpDir a, b;
                tmpdir_make(&a);
                tmpdir_make(&b);
                g_assert_cmpint(mkdir_p_at(a.fd, "tree/deep/er", 0755), ==, 0);
                g_assert_cmpint(write_file_atomic_at(a.fd, "tree/deep/er/f", "x", 1, 0644), ==, 0);
                g_assert_cmpint(write_file_atomic_at(a.fd, "file", "x", 1, 0644), ==, 0);
                g_assert_cmpint(mkdir_p_at(b.fd, ".tmp-rm-1/d", 0755), ==, 0);
                g_assert_cmpint(mkdir_p_at(b.fd, "kept", 0755), ==, 0);
                int fds[] = { a.fd, b.fd };
                const char *prefixes[] = { "", ".tmp-rm-" };
                g_assert_cmpint(fork_server_remove_entries(fds, prefixes, 2, &pid), ==, 0);
                g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
                g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                g_assert_cmpuint(count_entries(a.fd), ==, 0);
                g_assert_cmpuint(count_entries(b.fd), ==, 1);
                g_assert_cmpint(faccessat(b.fd, "kept", F_OK, AT_SYMLINK_NOFOLLOW), ==, 0);
                /* A prefix with a slash, or too long, is refused before any child runs. */
                const char *bad[] = { "../x" };
                g_assert_cmpint(fork_server_remove_entries(fds, bad, 1, &pid), ==, -EBADMSG);
                const char *longer[] = { "0123456789012345678901234567890123456789" };
                g_assert_cmpint(fork_server_remove_entries(fds, longer, 1, &pid), ==, -ENAMETOOLONG);
                g_assert_true(fork_server_running());
                tmpdir_done(&a);
                tmpdir_done(&b);
        }

        tmpdir_make(&t);
        layer_extract_set_limits(UINT64_MAX, 2);
        g_assert_cmpint(extract_bytes(blob->data, blob->len, t.fd, &msg, &res), ==, -EFBIG);
        g_assert_nonnull(strstr(msg.message, "MaxLayerEntries="));
        berth_error_done(&msg);
        layer_extract_set_limits(STORE_MAX_LAYER_SIZE_DEFAULT, STORE_MAX_LAYER_ENTRIES_DEFAULT);
        tmpdir_done(&t);

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0)
                _exit(fork_server_running() || fork_server_syncfs(0, &pid) != -ECHILD);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        /* Killed: the next request finds it gone, reaps it, and the extraction forks from here. */
        g_assert_cmpint(kill(server, SIGKILL), ==, 0);
        tmpdir_make(&t);
        assert_extracts(blob, tar, t.fd);
        g_assert_false(fork_server_running());
        g_assert_cmpint(waitpid(server, NULL, WNOHANG), ==, -1);
        g_assert_cmpint(errno, ==, ECHILD);
        tmpdir_done(&t);

        /* Without a server, the removal is a fork of ours, and does the same. */
        tmpdir_make(&t);
        g_assert_cmpint(mkdir_p_at(t.fd, ".tmp-rm-2/d", 0755), ==, 0);
        g_assert_cmpint(mkdir_p_at(t.fd, "kept", 0755), ==, 0);
        {
                const char *prefixes[] = { ".tmp-rm-" };
                g_assert_cmpint(fork_server_remove_entries(&t.fd, prefixes, 1, &pid), ==, 0);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        g_assert_cmpuint(count_entries(t.fd), ==, 1);
        tmpdir_done(&t);
}

/* A line "Key:\tvalue" of /proc/PID/status. */
static char *proc_status_field(pid_t pid, const char *key)
{
        g_autofree char *path = g_strdup_printf("/proc/%i/status", (int) pid), *data = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents(path, &data, NULL, NULL))
                return NULL;
        lines = g_strsplit(data, "\n", -1);
        for (char **l = lines; *l; l++) {
                const char *v = startswith(*l, key);
                if (v && v[0] == ':')
                        return g_strstrip(g_strdup(v + 1));
        }
        return NULL;
}

static uint64_t proc_status_hex(pid_t pid, const char *key)
{
        g_autofree char *v = proc_status_field(pid, key);

        g_assert_nonnull(v);
        return g_ascii_strtoull(v, NULL, 16);
}

/* The child runs as root on hostile input: once it waits for its input it holds only the capabilities
 * extraction needs (in its bounding set too), has no_new_privs, a seccomp filter and a capped address space.
 */
/* The filter compiled once in the parent (extract_confine_prepare()) is the one a child installs: sockets
 * answer EPERM in it, what extraction needs works. */
static void test_extract_confine_prepared_filter(void)
{
        int status;
        pid_t pid;

        if (!need_root())
                return;
        extract_confine_prepare();
        g_assert_true(extract_confine_prepared());
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                int fd;

                if (extract_confine() < 0)
                        _exit(2);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd >= 0 || errno != EPERM)
                        _exit(3);
                fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _exit(fd >= 0 ? 0 : 4);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* A child made by the daemon itself, or by the fork server (via_server): confined alike, and with every
 * signal at its default and none blocked, though the parent ignores SIGPIPE and blocks SIGTERM, as berthd
 * does. */
static void assert_confined_child(bool via_server)
{
        _cleanup_close_ int input = -EBADF, result = -EBADF;
        g_autofree char *limits_path = NULL, *limits = NULL, *nnp = NULL;
        uint64_t keep = extract_confine_caps(), mine, bounding;
        g_autoptr(GRegex) address_space = NULL;
        g_autoptr(GMatchInfo) match = NULL;
        sigset_t block, old;
        LayerExtractResult res;
        TmpDir t;
        pid_t pid;

        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        g_assert_cmpint(sigprocmask(SIG_BLOCK, &block, &old), ==, 0);
        g_assert_true(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
        if (via_server) {
                g_assert_cmpint(fork_server_start(BERTH_BUILD_ROOT "/src/store/berth-fork-server"), ==, 0);
                g_assert_true(fork_server_running());
        }
        mine = proc_status_hex(getpid(), "CapPrm");
        bounding = proc_status_hex(getpid(), "CapBnd");
        tmpdir_make(&t);
        g_assert_cmpint(layer_extract_spawn(t.fd, &input, &result, &pid), ==, 0);
        /* The server made it: had the request failed, the child would be our own fork. */
        g_assert_true(fork_server_running() == via_server);
        g_assert_cmpint(pid, !=, fork_server_pid());
        /* Confinement comes before the first read of the input, which never comes here: wait until the child
         * waits for it, on its own thread while the blob might be small, else on its decompressing thread
         * (which the server's children never start before: the server decompresses small blobs on one
         * thread). Not before: pthread_create() blocks every signal for a moment, which SigBlk would show.
         */
        const char *threads_waiting = via_server || one_thread_max > 0 ? "1" : "2";
        for (int i = 0;; i++) {
                g_autofree char *seccomp = proc_status_field(pid, "Seccomp");
                g_autofree char *threads = proc_status_field(pid, "Threads");
                g_autofree char *state = proc_status_field(pid, "State");
                if (streq_ptr(seccomp, "2") && streq_ptr(threads, threads_waiting) && state &&
                    state[0] == 'S')
                        break;
                g_assert_cmpint(i, <, 3000);
                g_usleep(10000);
        }
        g_assert_cmphex(proc_status_hex(pid, "CapEff"), ==, keep & mine);
        g_assert_cmphex(proc_status_hex(pid, "CapPrm"), ==, keep & mine);
        g_assert_cmphex(proc_status_hex(pid, "CapInh"), ==, 0);
        g_assert_cmphex(proc_status_hex(pid, "CapAmb"), ==, 0);
        g_assert_cmphex(proc_status_hex(pid, "CapBnd"), ==, keep & bounding);
        /* Either of these leads out of a chroot. */
        g_assert_cmphex(keep & ((UINT64_C(1) << CAP_SYS_CHROOT) | (UINT64_C(1) << CAP_DAC_READ_SEARCH)), ==,
                        0);
        nnp = proc_status_field(pid, "NoNewPrivs");
        g_assert_cmpstr(nnp, ==, "1");
        g_assert_cmphex(proc_status_hex(pid, "SigBlk"), ==, 0);
        g_assert_cmphex(proc_status_hex(pid, "SigIgn"), ==, 0);
        limits_path = g_strdup_printf("/proc/%i/limits", (int) pid);
        g_assert_true(g_file_get_contents(limits_path, &limits, NULL, NULL));
        /* What the parent had, plus EXTRACT_MEMORY_MAX. */
        address_space =
                g_regex_new("^Max address space +([0-9]+) +[0-9]+ +bytes", G_REGEX_MULTILINE, 0, NULL);
        g_assert_true(g_regex_match(address_space, limits, 0, &match));
        {
                g_autofree char *limit = g_match_info_fetch(match, 1);
                g_autofree char *vm = proc_status_field(via_server ? fork_server_pid() : getpid(), "VmSize");
                uint64_t parent_kib = g_ascii_strtoull(vm, NULL, 10);
                uint64_t bytes = g_ascii_strtoull(limit, NULL, 10);
                /* Neither taken from a smaller parent (the server's size taken before its set-up mapped
                 * more, say) nor from a larger one. */
                g_assert_cmpuint(bytes + (UINT64_C(16) << 20), >=, parent_kib * 1024 + EXTRACT_MEMORY_MAX);
                g_assert_cmpuint(bytes, <=, parent_kib * 1024 + EXTRACT_MEMORY_MAX + (UINT64_C(64) << 20));
        }

        input = safe_close(input);
        g_assert_cmpint(layer_extract_wait(pid, result, NULL, &res), <, 0);
        tmpdir_done(&t);
        if (via_server)
                fork_server_stop();
        g_assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
        g_assert_cmpint(sigprocmask(SIG_SETMASK, &old, NULL), ==, 0);
}

static void test_extract_confined(void)
{
        if (!need_root())
                return;
        assert_confined_child(false);
}

/* The server's children are confined as the daemon's own, although the server drops its bounding set and
 * takes its size once, at start, for all of them. */
static void test_extract_confined_by_server(void)
{
        if (!need_root())
                return;
        assert_confined_child(true);
}

/* ---- the layer store -------------------------------------------------------------------------------- */

static void fake_chain_id(unsigned n, char out[static LAYER_DIGEST_STRING_MAX])
{
        char s[32];
        snprintf(s, sizeof(s), "layer %u", n);
        sha256_hex(s, strlen(s), out);
}

/* Extracts a one-file layer into a fresh temp dir and commits it. */
static int store_add(LayerStore *s, const char *file, const char *chain, const char *parent,
                     char *diff_id_out)
{
        g_autoptr(GByteArray) tar = g_byte_array_new();
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        LayerExtractResult res;
        struct archive *a = tar_new(tar);

        tar_file(a, file, file);
        tar_finish(a);
        g_assert_cmpint(layer_store_begin(s, &tmp, &fd), ==, 0);
        g_assert_cmpint(extract_bytes(tar->data, tar->len, fd, NULL, &res), ==, 0);
        if (diff_id_out)
                strcpy(diff_id_out, res.diff_id);
        return layer_store_commit(s, tmp, chain, res.diff_id, parent);
}

/* A pull's batch: three layers, each on the one below, prepared without syncing (the top two while their
 * parents are still in temp dirs), one syncfs, published parents first. Then the layers are as
 * layer_store_commit() makes them; a prepared layer that is aborted, or loses to a concurrent commit, leaves
 * no short link behind. */
static void test_store_batch(void)
{
        _cleanup_(layer_store_freep) LayerStore *s = NULL;
        _cleanup_free_ char *lowerdir = NULL, *l1 = NULL, *l2 = NULL, *l3 = NULL, *expect = NULL;
        char c[4][LAYER_DIGEST_STRING_MAX];
        g_autofree char *root = NULL;
        char *tmp[4] = {};
        TmpDir t;
        pid_t pid;
        int status;

        if (!need_root())
                return;
        tmpdir_make(&t);
        root = g_strdup_printf("%s/store/layers", t.path);
        g_assert_cmpint(layer_store_open(root, &s), ==, 0);
        for (int i = 0; i < 4; i++)
                fake_chain_id(10 + i, c[i]);

        for (int i = 0; i < 4; i++) {
                g_autoptr(GByteArray) tar = g_byte_array_new();
                g_autofree char *name = g_strdup_printf("f%d", i);
                _cleanup_close_ int fd = -EBADF;
                LayerExtractResult res;
                struct archive *a = tar_new(tar);

                tar_file(a, name, name);
                tar_finish(a);
                g_assert_cmpint(layer_store_begin(s, &tmp[i], &fd), ==, 0);
                g_assert_cmpint(extract_bytes(tar->data, tar->len, fd, NULL, &res), ==, 0);
                if (i == 3)
                        break;
                g_assert_cmpint(layer_store_prepare(s, tmp[i], c[i], res.diff_id, i ? c[i - 1] : NULL,
                                                    i ? tmp[i - 1] : NULL),
                                ==, 0);
                g_assert_cmpint(layer_store_has(s, c[i]), ==, 0); /* not before it is published */
        }
        g_assert_cmpint(layer_store_sync_spawn(s, &pid), ==, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        for (int i = 0; i < 3; i++) {
                g_assert_cmpint(layer_store_publish(s, tmp[i], c[i]), ==, 0);
                g_assert_cmpint(layer_store_has(s, c[i]), ==, 1);
        }
        g_assert_cmpint(layer_store_sync_root(s), ==, 0);

        g_assert_cmpint(layer_store_get_link(s, c[0], &l1), ==, 0);
        g_assert_cmpint(layer_store_get_link(s, c[1], &l2), ==, 0);
        g_assert_cmpint(layer_store_get_link(s, c[2], &l3), ==, 0);
        expect = g_strdup_printf("l/%s:l/%s:l/%s", l3, l2, l1);
        g_assert_cmpint(layer_store_lowerdir_option(s, (char *[]){ c[0], c[1], c[2] }, 3, &lowerdir), ==, 0);
        g_assert_cmpstr(lowerdir, ==, expect);
        {
                g_autofree char *p = g_strdup_printf("l/%s/f2", l3);
                assert_file(layer_store_root_fd(s), p, "f2");
        }

        /* A prepared layer that is aborted takes its short link with it. */
        {
                _cleanup_close_ int lfd = open_dir_at(layer_store_root_fd(s), "l");
                g_assert_cmpint(layer_store_prepare(s, tmp[3], c[3], c[3], c[2], NULL), ==, 0);
                g_assert_cmpuint(count_entries(lfd), ==, 4);
                g_assert_cmpint(layer_store_abort(s, tmp[3]), ==, 0);
                g_assert_cmpuint(count_entries(lfd), ==, 3);
        }
        /* One that another pull published meanwhile is discarded at its own publish: 1, nothing left. */
        {
                g_autoptr(GByteArray) tar = g_byte_array_new();
                _cleanup_free_ char *again = NULL;
                _cleanup_close_ int fd = -EBADF, lfd = open_dir_at(layer_store_root_fd(s), "l");
                LayerExtractResult res;
                struct archive *a = tar_new(tar);

                tar_file(a, "x", "x");
                tar_finish(a);
                g_assert_cmpint(layer_store_begin(s, &again, &fd), ==, 0);
                g_assert_cmpint(extract_bytes(tar->data, tar->len, fd, NULL, &res), ==, 0);
                g_assert_cmpint(layer_store_prepare(s, again, c[3], res.diff_id, c[2], NULL), ==, 0);
                g_assert_cmpint(store_add(s, "y", c[3], c[2], NULL), ==, 0);
                g_assert_cmpint(layer_store_publish(s, again, c[3]), ==, 1);
                g_assert_cmpuint(count_entries(lfd), ==, 4);
                g_assert_cmpint(layer_store_cleanup_tmp(s), ==, 0);
                g_assert_cmpuint(count_entries(lfd), ==, 4);
        }
        /* A parent prepared in the same batch that loses to another pull at its publish: the child above it
         * is unprepared (its lower names the discarded short link) and prepared again on the winner. */
        {
                char p[LAYER_DIGEST_STRING_MAX], q[LAYER_DIGEST_STRING_MAX];
                _cleanup_free_ char *ptmp = NULL, *qtmp = NULL, *winner = NULL, *lower = NULL, *want = NULL;
                _cleanup_close_ int pfd = -EBADF, qfd = -EBADF,
                                    lfd = open_dir_at(layer_store_root_fd(s), "l");
                g_autoptr(GByteArray) tar = g_byte_array_new();
                g_autofree char *path = NULL;
                LayerExtractResult res;
                struct archive *a = tar_new(tar);

                fake_chain_id(20, p);
                fake_chain_id(21, q);
                tar_file(a, "z", "z");
                tar_finish(a);
                g_assert_cmpint(layer_store_begin(s, &ptmp, &pfd), ==, 0);
                g_assert_cmpint(extract_bytes(tar->data, tar->len, pfd, NULL, &res), ==, 0);
                g_assert_cmpint(layer_store_begin(s, &qtmp, &qfd), ==, 0);
                g_assert_cmpint(extract_bytes(tar->data, tar->len, qfd, NULL, &res), ==, 0);
                g_assert_cmpint(layer_store_prepare(s, ptmp, p, res.diff_id, c[2], NULL), ==, 0);
                g_assert_cmpint(layer_store_prepare(s, qtmp, q, res.diff_id, p, ptmp), ==, 0);
                g_assert_cmpint(store_add(s, "w", p, c[2], NULL), ==, 0); /* the other pull */
                g_assert_cmpint(layer_store_publish(s, ptmp, p), ==, 1);
                g_assert_cmpint(layer_store_unprepare(s, qtmp), ==, 0);
                g_assert_cmpint(layer_store_prepare(s, qtmp, q, res.diff_id, p, NULL), ==, 0);
                g_assert_cmpint(layer_store_publish(s, qtmp, q), ==, 0);
                g_assert_cmpint(layer_store_get_link(s, p, &winner), ==, 0);
                path = g_strdup_printf("%s/lower", q + 7);
                g_assert_cmpint(read_file_at(layer_store_root_fd(s), path, 4096, &lower, NULL), ==, 0);
                want = g_strdup_printf("l/%s:l/%s:l/%s:l/%s", winner, l3, l2, l1);
                g_assert_cmpstr(lower, ==, want);
                g_assert_cmpint(layer_store_cleanup_tmp(s), ==, 0);
                g_assert_cmpuint(count_entries(lfd), ==, 6); /* 4 before, p's and q's; none dangling */
        }
        for (int i = 0; i < 4; i++)
                free(tmp[i]);
        layer_store_free(TAKE_PTR(s));
        tmpdir_done(&t);
}

static void test_store_basic(void)
{
        _cleanup_(layer_store_freep) LayerStore *s = NULL;
        _cleanup_free_ char *link1 = NULL, *link2 = NULL, *data = NULL, *lowerdir = NULL, *expect = NULL;
        char c1[LAYER_DIGEST_STRING_MAX], c2[LAYER_DIGEST_STRING_MAX], d2[LAYER_DIGEST_STRING_MAX];
        g_autofree char *root = NULL, *p = NULL;
        char target[256];
        uint64_t usage = 0;
        ssize_t n;
        TmpDir t;

        if (!need_root())
                return;
        tmpdir_make(&t);
        root = g_strdup_printf("%s/store/layers", t.path);
        g_assert_cmpint(layer_store_open(root, &s), ==, 0);
        fake_chain_id(1, c1);
        fake_chain_id(2, c2);

        g_assert_cmpint(layer_store_has(s, c1), ==, 0);
        g_assert_cmpint(layer_store_has(s, "sha256:nothex"), ==, -EINVAL);
        g_assert_cmpint(store_add(s, "base", c1, NULL, NULL), ==, 0);
        g_assert_cmpint(layer_store_has(s, c1), ==, 1);
        /* Parent must exist. */
        g_assert_cmpint(store_add(s, "orphan", c2,
                                  "sha256:"
                                  "0000000000000000000000000000000000000000000000000000000000000000",
                                  NULL),
                        <, 0);
        g_assert_cmpint(layer_store_cleanup_tmp(s), ==, 0);
        g_assert_cmpint(store_add(s, "top", c2, c1, d2), ==, 0);
        g_assert_cmpint(layer_store_has(s, c2), ==, 1);

        g_assert_cmpint(layer_store_get_link(s, c1, &link1), ==, 0);
        g_assert_cmpint(layer_store_get_link(s, c2, &link2), ==, 0);
        g_assert_cmpuint(strlen(link1), ==, LAYER_SHORT_ID_LEN);
        g_assert_cmpstr(link1, !=, link2);

        /* Docker's files. */
        p = g_strdup_printf("%s/lower", c2 + 7);
        g_assert_cmpint(read_file_at(layer_store_root_fd(s), p, 4096, &data, NULL), ==, 0);
        expect = g_strdup_printf("l/%s", link1);
        g_assert_cmpstr(data, ==, expect);
        data = mfree(data);
        g_free(p);
        p = g_strdup_printf("%s/lower", c1 + 7);
        g_assert_cmpint(faccessat(layer_store_root_fd(s), p, F_OK, 0), <, 0);
        g_free(p);
        p = g_strdup_printf("%s/diff-id", c2 + 7);
        g_assert_cmpint(read_file_at(layer_store_root_fd(s), p, 4096, &data, NULL), ==, 0);
        g_assert_true(g_str_has_prefix(data, d2));
        data = mfree(data);
        g_free(p);
        p = g_strdup_printf("l/%s", link2);
        n = readlinkat(layer_store_root_fd(s), p, target, sizeof(target) - 1);
        g_assert_cmpint(n, >, 0);
        target[n] = 0;
        g_free(p);
        p = g_strdup_printf("../%s/diff", c2 + 7);
        g_assert_cmpstr(target, ==, p);
        g_free(p);
        p = g_strdup_printf("l/%s/top", link2);
        assert_file(layer_store_root_fd(s), p, "top");

        /* Lowerdir: topmost first. */
        free(expect);
        expect = g_strdup_printf("l/%s:l/%s", link2, link1);
        g_assert_cmpint(layer_store_lowerdir_option(s, (char *[]){ c1, c2 }, 2, &lowerdir), ==, 0);
        g_assert_cmpstr(lowerdir, ==, expect);

        g_assert_cmpint(layer_store_disk_usage(s, c2, &usage), ==, 0);
        g_assert_cmpuint(usage, >, 0);

        /* A second commit of the same chain (a concurrent pull) is discarded. */
        g_assert_cmpint(store_add(s, "top", c2, c1, NULL), ==, 1);
        g_assert_cmpint(layer_store_cleanup_tmp(s), ==, 0);
        {
                _cleanup_close_ int lfd = open_dir_at(layer_store_root_fd(s), "l");
                g_assert_cmpuint(count_entries(lfd), ==, 2);
                /* root: l, .trash, two layers — no temp dir left */
                g_assert_cmpuint(count_entries(layer_store_root_fd(s)), ==, 4);
        }

        /* Removal: gone at once, deleted later. */
        g_assert_cmpint(layer_store_remove(s, c2), ==, 0);
        g_assert_cmpint(layer_store_has(s, c2), ==, 0);
        g_assert_cmpint(layer_store_remove(s, c2), ==, -ENOENT);
        g_free(p);
        p = g_strdup_printf("l/%s", link2);
        g_assert_cmpint(faccessat(layer_store_root_fd(s), p, F_OK, AT_SYMLINK_NOFOLLOW), <, 0);
        {
                _cleanup_close_ int tfd = open_dir_at(layer_store_root_fd(s), ".trash");
                g_assert_cmpuint(count_entries(tfd), ==, 1);
                g_assert_cmpint(remove_entries_at(layer_store_trash_fd(s), ""), ==, 0);
                g_assert_cmpuint(count_entries(tfd), ==, 0);
        }
        g_assert_cmpint(layer_store_has(s, c1), ==, 1);

        s = layer_store_free(s);
        tmpdir_done(&t);
}

static void test_store_crash(void)
{
        _cleanup_(layer_store_freep) LayerStore *s = NULL;
        _cleanup_free_ char *tmp = NULL, *link1 = NULL;
        _cleanup_close_ int fd = -EBADF, lfd = -EBADF;
        char c1[LAYER_DIGEST_STRING_MAX], c2[LAYER_DIGEST_STRING_MAX];
        g_autofree char *root = NULL, *target = NULL;
        TmpDir t;

        if (!need_root())
                return;
        tmpdir_make(&t);
        root = g_strdup_printf("%s/layers", t.path);
        g_assert_cmpint(layer_store_open(root, &s), ==, 0);
        fake_chain_id(1, c1);
        fake_chain_id(2, c2);
        g_assert_cmpint(store_add(s, "base", c1, NULL, NULL), ==, 0);

        /* Crash mid-extraction: a temp dir with content. */
        g_assert_cmpint(layer_store_begin(s, &tmp, &fd), ==, 0);
        g_assert_cmpint(write_file_atomic_at(fd, "half", "h", 1, 0644), ==, 0);
        /* Crash between the short link and the rename: a dangling link to c2. */
        target = g_strdup_printf("../%s/diff", c2 + 7);
        lfd = open_dir_at(layer_store_root_fd(s), "l");
        g_assert_cmpint(symlinkat(target, lfd, "AAAAAAAAAAAAAAAAAAAAAAAAAA"), ==, 0);
        fd = safe_close(fd);
        s = layer_store_free(s);

        /* Next start. */
        g_assert_cmpint(layer_store_open(root, &s), ==, 0);
        g_assert_cmpint(layer_store_has(s, c2), ==, 0);
        g_assert_cmpint(layer_store_cleanup_tmp(s), ==, 0);
        g_assert_cmpint(faccessat(layer_store_root_fd(s), tmp, F_OK, AT_SYMLINK_NOFOLLOW), <, 0);
        g_assert_cmpuint(count_entries(lfd), ==, 1);
        g_assert_cmpint(layer_store_get_link(s, c1, &link1), ==, 0);
        g_assert_cmpint(faccessat(lfd, link1, F_OK, 0), ==, 0);
        g_assert_cmpint(layer_store_has(s, c1), ==, 1);

        /* abort() is the orderly version. */
        free(tmp);
        tmp = NULL;
        g_assert_cmpint(layer_store_begin(s, &tmp, &fd), ==, 0);
        g_assert_cmpint(layer_store_abort(s, tmp), ==, 0);
        g_assert_cmpint(faccessat(layer_store_root_fd(s), tmp, F_OK, AT_SYMLINK_NOFOLLOW), <, 0);
        g_assert_cmpint(layer_store_abort(s, "../x"), ==, -EINVAL);

        lfd = safe_close(lfd);
        fd = safe_close(fd);
        s = layer_store_free(s);
        tmpdir_done(&t);
}

/* 128 layers (Docker's maximum) fit in one mount(2) option page with short links, and mount. */
static void test_store_128_layers(void)
{
        enum { N = 128 };
        _cleanup_(layer_store_freep) LayerStore *s = NULL;
        _cleanup_free_ char *lowerdir = NULL, *top_lower = NULL, *top_link = NULL;
        _cleanup_close_ int cwd = -EBADF, m = -EBADF;
        char ids[N][LAYER_DIGEST_STRING_MAX];
        char *chain[N];
        g_autofree char *root = NULL, *mnt = NULL, *opts = NULL, *p = NULL, *expect = NULL;
        TmpDir t;
        int r;

        if (!need_root())
                return;
        tmpdir_make(&t);
        /* A long store path on purpose: relative lowers must not depend on it. */
        root = g_strdup_printf("%s/a-rather-long-directory-name-for-the-state-dir/var/lib/berth/layers",
                               t.path);
        mnt = g_strdup_printf("%s/mnt", t.path);
        g_assert_cmpint(mkdirat(t.fd, "mnt", 0755), ==, 0);
        g_assert_cmpint(layer_store_open(root, &s), ==, 0);

        for (unsigned i = 0; i < N; i++) {
                _cleanup_free_ char *tmp = NULL;
                _cleanup_close_ int fd = -EBADF;
                char name[16], diff_id[LAYER_DIGEST_STRING_MAX];

                fake_chain_id(1000 + i, ids[i]);
                chain[i] = ids[i];
                snprintf(name, sizeof(name), "f%u", i);
                g_assert_cmpint(layer_store_begin(s, &tmp, &fd), ==, 0);
                g_assert_cmpint(write_file_atomic_at(fd, name, name, strlen(name), 0644), ==, 0);
                g_assert_cmpint(write_file_atomic_at(fd, "which", name, strlen(name), 0644), ==, 0);
                sha256_hex(name, strlen(name), diff_id);
                g_assert_cmpint(layer_store_commit(s, tmp, ids[i], diff_id, i > 0 ? ids[i - 1] : NULL), ==,
                                0);
        }

        g_assert_cmpint(layer_store_lowerdir_option(s, chain, N, &lowerdir), ==, 0);
        opts = g_strdup_printf("lowerdir=%s", lowerdir);
        g_test_message("%d layers: option string of %zu bytes", N, strlen(opts));
        g_assert_cmpuint(strlen(opts), <, 4096);

        /* The top layer's lower file is the same stack minus itself (what Docker's driver reads). */
        g_assert_cmpint(layer_store_get_link(s, ids[N - 1], &top_link), ==, 0);
        p = g_strdup_printf("%s/lower", ids[N - 1] + 7);
        g_assert_cmpint(read_file_at(layer_store_root_fd(s), p, 8192, &top_lower, NULL), ==, 0);
        expect = g_strdup_printf("l/%s:%s", top_link, top_lower);
        g_assert_cmpstr(expect, ==, lowerdir);

        /* Overlay resolves relative lowers against the mounting process's cwd. */
        cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(cwd, >=, 0);
        g_assert_cmpint(fchdir(layer_store_root_fd(s)), ==, 0);
        r = mount("overlay", mnt, "overlay", MS_RDONLY, opts);
        g_assert_cmpint(fchdir(cwd), ==, 0);
        g_assert_cmpint(r, ==, 0);

        m = open_dir_at(AT_FDCWD, mnt);
        assert_file(m, "f0", "f0");
        assert_file(m, "f64", "f64");
        assert_file(m, "f127", "f127");
        assert_file(m, "which", "f127"); /* topmost wins */
        m = safe_close(m);
        g_assert_cmpint(umount2(mnt, MNT_DETACH), ==, 0);

        s = layer_store_free(s);
        tmpdir_done(&t);
}

int main(int argc, char *argv[])
{
        static const struct {
                const char *name;
                HostileBuilder build;
        } hostile[] = {
                { "dotdot", hostile_dotdot },
                { "dotdot-deep", hostile_dotdot_deep },
                { "symlink-write", hostile_symlink_write },
                { "symlink-relative", hostile_symlink_relative },
                { "symlink-chain", hostile_symlink_chain },
                { "symlink-mkdir", hostile_symlink_dir_then_file },
                { "symlink-spelled", hostile_symlink_spelled },
                { "symlink-hardlinked", hostile_symlink_hardlinked },
                { "hardlink-absolute", hostile_hardlink_abs },
                { "hardlink-outside", hostile_hardlink_outside },
                { "hardlink-via-symlink", hostile_hardlink_via_symlink },
                { "whiteout-via-symlink", hostile_whiteout_via_symlink },
                { "opaque-via-symlink", hostile_opaque_via_symlink },
        };

        /* The tar writer needs a UTF-8 locale to store the non-ASCII name of the rich layer as pax UTF-8. */
        g_assert_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
        g_test_init(&argc, &argv, NULL);
        /* Run twice by meson: with the default inflate for gzip (ISA-L when built with it) and with zlib's.
         */
        if (streq_ptr(g_getenv("BERTH_TEST_INFLATE"), "zlib"))
                layer_decompress_use_isal(false);
        /* And once more with every blob, however small, decompressed on a thread. */
        if (streq_ptr(g_getenv("BERTH_TEST_DECOMPRESS"), "thread"))
                one_thread_max = 0;
        layer_decompress_set_one_thread_max(one_thread_max);
        g_test_message("decompressed on the caller's thread: blobs of at most %zu bytes", one_thread_max);
        g_test_message("gzip inflate: %s",
                       layer_decompress_have_isal() && !streq_ptr(g_getenv("BERTH_TEST_INFLATE"), "zlib")
                               ? "ISA-L"
                               : "zlib (libarchive)");

        g_test_add_data_func("/layer/extract/rich/tar", GINT_TO_POINTER(COMPRESSION_NONE),
                             test_extract_rich);
        g_test_add_data_func("/layer/extract/rich/gzip", GINT_TO_POINTER(COMPRESSION_GZIP),
                             test_extract_rich);
        g_test_add_data_func("/layer/extract/rich/zstd", GINT_TO_POINTER(COMPRESSION_ZSTD),
                             test_extract_rich);
        g_test_add_func("/layer/extract/trailing-bytes", test_extract_trailing_bytes);
        g_test_add_func("/layer/extract/absolute-names", test_extract_absolute_names);
        g_test_add_func("/layer/extract/gzip-members", test_extract_gzip_members);
        g_test_add_func("/layer/extract/with-writeback", test_extract_with_writeback);
        g_test_add_func("/layer/writeback", test_writeback);
        g_test_add_func("/layer/stream-ring/hash", test_stream_ring_hash);
        g_test_add_func("/layer/symlinks", test_layer_symlinks);
        g_test_add_func("/layer/extract/symlink-replaced", test_extract_symlink_replaced);
        g_test_add_func("/layer/stream-ring/read", test_stream_ring_read);
        g_test_add_func("/layer/stream-ring/one-thread", test_stream_ring_one_thread);
        g_test_add_data_func("/layer/decompress/one-thread/gzip", GINT_TO_POINTER(COMPRESSION_GZIP),
                             test_decompress_one_thread);
        g_test_add_data_func("/layer/decompress/one-thread/zstd", GINT_TO_POINTER(COMPRESSION_ZSTD),
                             test_decompress_one_thread);
        g_test_add_func("/layer/extract/limits", test_extract_limits);
        g_test_add_func("/layer/store-config/parse-size", test_store_parse_size);
        g_test_add_func("/layer/extract/whiteouts", test_extract_whiteouts);
        g_test_add_func("/layer/extract/bad-whiteout", test_extract_bad_whiteout);
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                g_autofree char *path = g_strdup_printf("/layer/extract/hostile/%s", hostile[i].name);
                g_test_add_data_func(path, (gconstpointer) hostile[i].build, test_extract_hostile);
        }
        g_test_add_func("/layer/extract/corrupt", test_extract_corrupt);
        g_test_add_func("/layer/extract/spawn", test_extract_spawn);
        g_test_add_func("/layer/extract/confined", test_extract_confined);
        g_test_add_func("/layer/extract/confined-by-server", test_extract_confined_by_server);
        g_test_add_func("/layer/extract/fork-server", test_extract_fork_server);
        g_test_add_func("/layer/extract/confine-prepared", test_extract_confine_prepared_filter);
        g_test_add_func("/layer/store/basic", test_store_basic);
        g_test_add_func("/layer/store/batch", test_store_batch);
        g_test_add_func("/layer/store/crash", test_store_crash);
        g_test_add_func("/layer/store/128-layers", test_store_128_layers);

        return g_test_run();
}
