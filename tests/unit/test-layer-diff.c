/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* layer_diff_write(): an overlay upper dir → tar → layer_extract() into a fresh dir must give the same
 * tree back (whiteouts and opaque dirs in overlay form again, overlay's own xattrs gone). Needs root
 * (mknod of whiteouts, chown, trusted.* xattrs); skipped otherwise. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <glib.h>

#include "shared/fs-util.h"
#include "shared/macro.h"
#include "store/layer-diff.h"
#include "store/layer-extract.h"

#define MTIME 1234567890
/* sha256 of 1024 zero bytes: Docker's empty layer. */
#define EMPTY_LAYER_DIFF_ID "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

typedef struct TmpDir {
        char *path;
        int fd;
} TmpDir;

static void tmpdir_make(TmpDir *t)
{
        t->path = g_strdup("/var/tmp/berth-test-layer-diff-XXXXXX");
        g_assert_nonnull(mkdtemp(t->path));
        t->fd = open_dir_at(AT_FDCWD, t->path);
        g_assert_cmpint(t->fd, >=, 0);
}

static void tmpdir_done(TmpDir *t)
{
        _cleanup_close_ int pfd = open_dir_at(AT_FDCWD, "/var/tmp");
        g_autofree char *base = g_path_get_basename(t->path);

        safe_close(t->fd);
        g_assert_cmpint(rm_rf_at(pfd, base), ==, 0);
        g_free(t->path);
}

static bool need_root(void)
{
        if (geteuid() == 0)
                return true;
        g_test_skip("needs root");
        return false;
}

static void write_file(int dir_fd, const char *name, const char *content, mode_t mode)
{
        _cleanup_close_ int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write(fd, content, strlen(content)), ==, (ssize_t) strlen(content));
        g_assert_cmpint(fchmod(fd, mode), ==, 0);
}

static void set_mtime(int dir_fd, const char *name)
{
        struct timespec ts[2] = { { MTIME, 0 }, { MTIME, 0 } };
        g_assert_cmpint(utimensat(dir_fd, name, ts, AT_SYMLINK_NOFOLLOW), ==, 0);
}

static void set_xattr(TmpDir *t, const char *name, const char *key, const char *value)
{
        g_autofree char *p = g_strdup_printf("%s/%s", t->path, name);
        g_assert_cmpint(lsetxattr(p, key, value, strlen(value), 0), ==, 0);
}

static char *read_all(int dir_fd, const char *name)
{
        char *data = NULL;
        size_t size;
        g_assert_cmpint(read_file_at(dir_fd, name, 1 << 20, &data, &size), ==, 0);
        return data;
}

static char *xattr_of(int dir_fd, const char *name, const char *key)
{
        char proc[256], value[256];
        ssize_t n;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dir_fd, name);
        n = lgetxattr(proc, key, value, sizeof(value) - 1);
        if (n < 0)
                return NULL;
        value[n] = 0;
        return g_strdup(value);
}

/* Writes the tree at src_fd as a tar and extracts it into dst_fd; returns the diff_id. */
static void roundtrip(int src_fd, int dst_fd, LayerExtractResult *ret)
{
        _cleanup_close_ int tar_fd = memfd_create("layer", MFD_CLOEXEC);
        _cleanup_berth_error_ BerthError error = BERTH_ERROR_INIT;

        g_assert_cmpint(tar_fd, >=, 0);
        g_assert_cmpint(layer_diff_write(src_fd, tar_fd, &error), ==, 0);
        g_assert_cmpint(lseek(tar_fd, 0, SEEK_SET), ==, 0);
        g_assert_cmpint(layer_extract(tar_fd, dst_fd, &error, ret), ==, 0);
}

static void test_roundtrip(void)
{
        TmpDir upper, out;
        LayerExtractResult result = {};
        struct stat a, h, st;
        g_autofree char *user = NULL, *origin = NULL, *opq = NULL;

        if (!need_root())
                return;
        tmpdir_make(&upper);
        tmpdir_make(&out);

        /* A changed file with an owner, a mode, a kept xattr and one of overlay's own. */
        write_file(upper.fd, "file", "hello\n", 0640);
        g_assert_cmpint(fchownat(upper.fd, "file", 1000, 1001, 0), ==, 0);
        g_assert_cmpint(fchmodat(upper.fd, "file", 04750, 0), ==, 0);
        set_xattr(&upper, "file", "user.berth", "kept");
        set_xattr(&upper, "file", "trusted.overlay.origin", "x");
        g_assert_cmpint(linkat(upper.fd, "file", upper.fd, "hardlink", 0), ==, 0);
        g_assert_cmpint(symlinkat("file", upper.fd, "symlink"), ==, 0);
        /* A deleted lower file and a deleted lower dir. */
        g_assert_cmpint(mknodat(upper.fd, "gone", S_IFCHR | 0, makedev(0, 0)), ==, 0);
        g_assert_cmpint(mkdirat(upper.fd, "sub", 0755), ==, 0);
        g_assert_cmpint(mknodat(upper.fd, "sub/gone-dir", S_IFCHR | 0, makedev(0, 0)), ==, 0);
        /* A directory replaced as a whole (rm -rf, then mkdir): opaque. */
        g_assert_cmpint(mkdirat(upper.fd, "opaque", 0700), ==, 0);
        set_xattr(&upper, "opaque", "trusted.overlay.opaque", "y");
        set_xattr(&upper, "opaque", "trusted.overlay.impure", "y");
        write_file(upper.fd, "opaque/new", "new\n", 0644);
        g_assert_cmpint(mkfifoat(upper.fd, "fifo", 0600), ==, 0);
        set_mtime(upper.fd, "file");
        set_mtime(upper.fd, "symlink");
        set_mtime(upper.fd, "opaque/new");
        set_mtime(upper.fd, "opaque");

        roundtrip(upper.fd, out.fd, &result);
        g_assert_true(g_str_has_prefix(result.diff_id, "sha256:"));

        g_assert_cmpint(fstatat(out.fd, "file", &a, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISREG(a.st_mode));
        g_assert_cmpuint(a.st_mode & 07777, ==, 04750);
        g_assert_cmpuint(a.st_uid, ==, 1000);
        g_assert_cmpuint(a.st_gid, ==, 1001);
        g_assert_cmpint(a.st_mtim.tv_sec, ==, MTIME);
        g_autofree char *content = read_all(out.fd, "file");
        g_assert_cmpstr(content, ==, "hello\n");
        user = xattr_of(out.fd, "file", "user.berth");
        g_assert_cmpstr(user, ==, "kept");
        origin = xattr_of(out.fd, "file", "trusted.overlay.origin");
        g_assert_null(origin);

        g_assert_cmpint(fstatat(out.fd, "hardlink", &h, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_cmpuint(h.st_ino, ==, a.st_ino);
        g_assert_cmpuint(a.st_nlink, ==, 2);

        char target[64] = {};
        g_assert_cmpint(readlinkat(out.fd, "symlink", target, sizeof(target) - 1), ==, 4);
        g_assert_cmpstr(target, ==, "file");

        g_assert_cmpint(fstatat(out.fd, "gone", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISCHR(st.st_mode));
        g_assert_cmpuint(st.st_rdev, ==, makedev(0, 0));
        g_assert_cmpint(fstatat(out.fd, "sub/gone-dir", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISCHR(st.st_mode));
        g_assert_cmpint(faccessat(out.fd, ".wh.gone", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);

        g_assert_cmpint(fstatat(out.fd, "opaque", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISDIR(st.st_mode));
        g_assert_cmpuint(st.st_mode & 07777, ==, 0700);
        g_assert_cmpint(st.st_mtim.tv_sec, ==, MTIME);
        opq = xattr_of(out.fd, "opaque", "trusted.overlay.opaque");
        g_assert_cmpstr(opq, ==, "y");
        g_autofree char *impure = xattr_of(out.fd, "opaque", "trusted.overlay.impure");
        g_assert_null(impure);
        g_autofree char *content2 = read_all(out.fd, "opaque/new");
        g_assert_cmpstr(content2, ==, "new\n");
        g_assert_cmpint(faccessat(out.fd, "opaque/.wh..wh..opq", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);

        g_assert_cmpint(fstatat(out.fd, "fifo", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISFIFO(st.st_mode));

        /* Same tree, same bytes: the diff_id is reproducible. */
        {
                TmpDir again;
                LayerExtractResult result2 = {};
                tmpdir_make(&again);
                roundtrip(upper.fd, again.fd, &result2);
                g_assert_cmpstr(result2.diff_id, ==, result.diff_id);
                tmpdir_done(&again);
        }
        tmpdir_done(&upper);
        tmpdir_done(&out);
}

static void test_empty(void)
{
        TmpDir upper, out;
        LayerExtractResult result = {};

        if (!need_root())
                return;
        tmpdir_make(&upper);
        tmpdir_make(&out);
        roundtrip(upper.fd, out.fd, &result);
        g_assert_cmpstr(result.diff_id, ==, EMPTY_LAYER_DIFF_ID);
        g_assert_cmpuint(result.uncompressed_size, ==, 1024);
        tmpdir_done(&upper);
        tmpdir_done(&out);
}

static void test_redirect_refused(void)
{
        TmpDir upper;
        _cleanup_close_ int tar_fd = memfd_create("layer", MFD_CLOEXEC);
        _cleanup_berth_error_ BerthError error = BERTH_ERROR_INIT;

        if (!need_root())
                return;
        tmpdir_make(&upper);
        g_assert_cmpint(mkdirat(upper.fd, "moved", 0755), ==, 0);
        set_xattr(&upper, "moved", "trusted.overlay.redirect", "/orig");
        g_assert_cmpint(layer_diff_write(upper.fd, tar_fd, &error), ==, -EOPNOTSUPP);
        g_assert_nonnull(strstr(error.message, "moved"));
        tmpdir_done(&upper);
}

/* What the hook turns "victim" into, between layer_diff_write()'s stat and its open. */
static mode_t swap_mode;
static dev_t swap_rdev;

static void swap_victim(int dir_fd, const char *name)
{
        if (!streq(name, "victim"))
                return;
        g_assert_cmpint(unlinkat(dir_fd, name, 0), ==, 0);
        g_assert_cmpint(mknodat(dir_fd, name, swap_mode | 0644, swap_rdev), ==, 0);
}

static void check_swap_refused(mode_t mode, dev_t rdev)
{
        TmpDir upper;
        _cleanup_close_ int tar_fd = memfd_create("layer", MFD_CLOEXEC);
        _cleanup_berth_error_ BerthError error = BERTH_ERROR_INIT;

        tmpdir_make(&upper);
        write_file(upper.fd, "victim", "some bytes of a regular file", 0644);
        swap_mode = mode;
        swap_rdev = rdev;
        layer_diff_before_open_hook = swap_victim;
        /* A FIFO would block the open forever, a device would be read into the layer: both are refused. */
        g_assert_cmpint(layer_diff_write(upper.fd, tar_fd, &error), ==, -ESTALE);
        layer_diff_before_open_hook = NULL;
        g_assert_nonnull(strstr(error.message, "victim"));
        tmpdir_done(&upper);
}

static void test_swapped_for_fifo(void)
{
        if (!need_root())
                return;
        check_swap_refused(S_IFIFO, 0);
}

static void test_swapped_for_device(void)
{
        if (!need_root())
                return;
        check_swap_refused(S_IFCHR, makedev(1, 5)); /* /dev/zero */
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/layer-diff/roundtrip", test_roundtrip);
        g_test_add_func("/layer-diff/empty", test_empty);
        g_test_add_func("/layer-diff/redirect-refused", test_redirect_refused);
        g_test_add_func("/layer-diff/swapped-for-fifo", test_swapped_for_fifo);
        g_test_add_func("/layer-diff/swapped-for-device", test_swapped_for_device);
        return g_test_run();
}
