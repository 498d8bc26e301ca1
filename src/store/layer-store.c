/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The layer store: one directory per applied layer stack, named by chain id, in the shape of Docker's
 * overlay2 driver (layout in layer-store.h).
 *
 * Atomicity. A layer is built in <root>/.tmp-XXXXXX/ (diff/ extracted there, then the metadata files) and
 * becomes visible by one rename to <root>/<chainhex>, so a crash leaves either no layer or a complete one.
 * The short link l/<id> is created before that rename, pointing at the final name: a crash in between
 * leaves a dangling link and a temp dir, which layer_store_cleanup_tmp() removes at the next start.
 * Removal is the reverse: rename into .trash/ (the layer is gone at once), then unlink the short link; the
 * tree is deleted later, when idle, because deleting a big tree is slow and slows the next extraction on
 * ext4 (an extraction right after an rm -rf of a large tree took 3.4 s instead of 0.2 s: journal
 * contention).
 *
 * Short links keep the overlay option string short: lowerdir=l/<26 chars>:… relative to the store root,
 * 29 bytes per layer, so 128 layers take 3.7 KiB and fit in the 4096-byte mount(2) data page.
 */
#include <dirent.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <glib.h>

#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "store/fork-server.h"
#include "store/layer-store.h"

#define TMP_PREFIX    ".tmp-"
#define TRASH_DIR     ".trash"
#define LINKS_DIR     "l"
#define CHAIN_HEX_LEN 64
#define META_FILE_MAX (64 * 1024)

struct LayerStore {
        char *path;
        int root_fd;
        int links_fd;
        int trash_fd;
};

static const char short_id_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* "sha256:<64 lowercase hex>" → pointer to the hex part, or NULL. */
static const char *digest_hex(const char *digest)
{
        const char *hex;

        if (!digest)
                return NULL;
        hex = startswith(digest, "sha256:");
        if (!hex || strlen(hex) != CHAIN_HEX_LEN)
                return NULL;
        for (const char *c = hex; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return NULL;
        return hex;
}

static bool short_id_is_valid(const char *id)
{
        if (strlen(id) != LAYER_SHORT_ID_LEN)
                return false;
        for (const char *c = id; *c; c++)
                if (!strchr(short_id_alphabet, *c))
                        return false;
        return true;
}

static int random_name(char *buf, size_t n)
{
        uint8_t bytes[64];

        if (n > sizeof(bytes))
                return -EINVAL;
        if (getrandom(bytes, n, 0) != (ssize_t) n)
                return -EIO;
        for (size_t i = 0; i < n; i++)
                buf[i] = short_id_alphabet[bytes[i] & 31];
        buf[n] = 0;
        return 0;
}

static int write_new_file_at(int dir_fd, const char *name, const char *content, bool sync)
{
        _cleanup_close_ int fd = -EBADF;
        size_t size = strlen(content);
        const char *p = content;

        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                size -= (size_t) k;
        }
        return sync && fsync(fd) < 0 ? negative_errno() : 0;
}

/* Reads a one-line metadata file of a layer, without its trailing newline. */
static int read_meta(LayerStore *s, const char *hex, const char *file, char **ret)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size;
        int r;

        if (asprintf(&path, "%s/%s", hex, file) < 0)
                return -ENOMEM;
        r = read_file_at(s->root_fd, path, META_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
                data[--size] = 0;
        *ret = TAKE_PTR(data);
        return 0;
}

int layer_store_open(const char *path, LayerStore **ret)
{
        _cleanup_(layer_store_freep) LayerStore *s = NULL;
        int r;

        if (isempty(path) || !ret)
                return -EINVAL;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->root_fd = s->links_fd = s->trash_fd = -EBADF;
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;

        r = mkdir_p_at(AT_FDCWD, path, 0700);
        if (r < 0)
                return r;
        s->root_fd = open_dir_at(AT_FDCWD, path);
        if (s->root_fd < 0)
                return s->root_fd;
        if (mkdirat(s->root_fd, LINKS_DIR, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        if (mkdirat(s->root_fd, TRASH_DIR, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        s->links_fd = open_dir_at(s->root_fd, LINKS_DIR);
        if (s->links_fd < 0)
                return s->links_fd;
        s->trash_fd = open_dir_at(s->root_fd, TRASH_DIR);
        if (s->trash_fd < 0)
                return s->trash_fd;

        *ret = TAKE_PTR(s);
        return 0;
}

LayerStore *layer_store_free(LayerStore *s)
{
        if (!s)
                return NULL;
        safe_close(s->root_fd);
        safe_close(s->links_fd);
        safe_close(s->trash_fd);
        free(s->path);
        return mfree(s);
}

int layer_store_root_fd(LayerStore *s)
{
        return s->root_fd;
}

const char *layer_store_path(LayerStore *s)
{
        return s->path;
}

int layer_store_has(LayerStore *s, const char *chain_id)
{
        const char *hex = digest_hex(chain_id);
        struct stat st;

        if (!hex)
                return -EINVAL;
        /* The rename into place is the commit point, so an existing dir is a complete layer. */
        if (fstatat(s->root_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return S_ISDIR(st.st_mode) ? 1 : -ENOTDIR;
}

int layer_store_begin(LayerStore *s, char **ret_tmp_name, int *ret_tmp_diff_fd)
{
        char name[sizeof(TMP_PREFIX) + 12] = TMP_PREFIX;
        _cleanup_free_ char *diff = NULL, *copy = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        for (unsigned attempt = 0;; attempt++) {
                r = random_name(name + strlen(TMP_PREFIX), 12);
                if (r < 0)
                        return r;
                if (mkdirat(s->root_fd, name, 0700) >= 0)
                        break;
                if (errno != EEXIST || attempt >= 16)
                        return negative_errno();
        }

        if (asprintf(&diff, "%s/diff", name) < 0 || !(copy = strdup(name))) {
                (void) rm_rf_at(s->root_fd, name);
                return -ENOMEM;
        }
        if (mkdirat(s->root_fd, diff, 0755) < 0) {
                r = negative_errno();
                (void) rm_rf_at(s->root_fd, name);
                return r;
        }
        fd = open_dir_at(s->root_fd, diff);
        if (fd < 0) {
                (void) rm_rf_at(s->root_fd, name);
                return fd;
        }

        *ret_tmp_name = TAKE_PTR(copy);
        *ret_tmp_diff_fd = TAKE_FD(fd);
        return 0;
}

static bool tmp_name_is_valid(const char *tmp_name)
{
        return tmp_name && startswith(tmp_name, TMP_PREFIX) && !strchr(tmp_name, '/') &&
               strlen(tmp_name) > strlen(TMP_PREFIX);
}

int layer_store_abort(LayerStore *s, const char *tmp_name)
{
        _cleanup_free_ char *link = NULL;

        if (!tmp_name_is_valid(tmp_name))
                return -EINVAL;
        /* A prepared layer (layer_store_prepare()) already has its short link: ours alone, so it goes too.
         */
        if (read_meta(s, tmp_name, "link", &link) >= 0 && short_id_is_valid(link))
                (void) unlinkat(s->links_fd, link, 0);
        return rm_rf_at(s->root_fd, tmp_name);
}

/* The lower file of a child of parent_hex: the parent's link first, then the parent's own lowers. */
static int make_lower(LayerStore *s, const char *parent_hex, char **ret)
{
        _cleanup_free_ char *link = NULL, *lower = NULL;
        char *result;
        int r;

        r = read_meta(s, parent_hex, "link", &link);
        if (r < 0)
                return r;
        if (!short_id_is_valid(link))
                return -EBADMSG;
        r = read_meta(s, parent_hex, "lower", &lower);
        if (r < 0 && r != -ENOENT)
                return r;

        if (asprintf(&result, LINKS_DIR "/%s%s%s", link, isempty(lower) ? "" : ":", strempty(lower)) < 0)
                return -ENOMEM;
        *ret = result;
        return 0;
}

static int create_short_link(LayerStore *s, const char *hex, char ret_id[static LAYER_SHORT_ID_LEN + 1])
{
        _cleanup_free_ char *target = NULL;
        int r;

        if (asprintf(&target, "../%s/diff", hex) < 0)
                return -ENOMEM;
        for (unsigned attempt = 0;; attempt++) {
                r = random_name(ret_id, LAYER_SHORT_ID_LEN);
                if (r < 0)
                        return r;
                if (symlinkat(target, s->links_fd, ret_id) >= 0)
                        return 0;
                if (errno != EEXIST || attempt >= 16)
                        return negative_errno();
        }
}

/* Writes the metadata files and the short link of a layer in its temp dir; with sync, makes them durable. 1
 * if the layer exists already (the temp dir is then discarded). parent_dir: where the parent's metadata is,
 * its chain hex or, while it waits to be published too, its temp dir. */
static int layer_prepare(LayerStore *s, const char *tmp_name, const char *chain_id, const char *diff_id,
                         const char *parent_chain_id, const char *parent_dir, bool sync)
{
        _cleanup_free_ char *lower = NULL, *diff_line = NULL, *parent_line = NULL;
        char short_id[LAYER_SHORT_ID_LEN + 1];
        _cleanup_close_ int tmp_fd = -EBADF;
        const char *hex, *parent_hex = NULL;
        int r;

        hex = digest_hex(chain_id);
        if (!hex || !digest_hex(diff_id) || !tmp_name_is_valid(tmp_name))
                return -EINVAL;
        if (parent_chain_id) {
                parent_hex = digest_hex(parent_chain_id);
                if (!parent_hex)
                        return -EINVAL;
                if (parent_dir && !streq(parent_dir, parent_hex) && !tmp_name_is_valid(parent_dir))
                        return -EINVAL;
        }

        r = layer_store_has(s, chain_id);
        if (r < 0)
                return r;
        if (r > 0) {
                (void) layer_store_abort(s, tmp_name);
                return 1;
        }

        tmp_fd = open_dir_at(s->root_fd, tmp_name);
        if (tmp_fd < 0)
                return tmp_fd;

        if (parent_hex) {
                r = make_lower(s, parent_dir ?: parent_hex, &lower);
                if (r < 0)
                        return log_debug_errno(r, "Cannot read parent layer %s: %m", parent_chain_id);
                if (asprintf(&parent_line, "%s\n", parent_chain_id) < 0)
                        return -ENOMEM;
        }
        if (asprintf(&diff_line, "%s\n", diff_id) < 0)
                return -ENOMEM;

        r = write_new_file_at(tmp_fd, "diff-id", diff_line, sync);
        if (r >= 0 && lower)
                r = write_new_file_at(tmp_fd, "lower", lower, sync);
        if (r >= 0 && parent_line)
                r = write_new_file_at(tmp_fd, "parent", parent_line, sync);
        if (r < 0)
                return r;

        r = create_short_link(s, hex, short_id);
        if (r < 0)
                return r;
        r = write_new_file_at(tmp_fd, "link", short_id, sync);
        if (r >= 0 && sync && fsync(tmp_fd) < 0)
                r = negative_errno();
        if (r >= 0 && sync && fsync(s->links_fd) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(s->links_fd, short_id, 0);
                return r;
        }
        return 0;
}

/* The commit point: the rename into place. NOREPLACE: if another pull committed the same chain meanwhile,
 * keep theirs (and drop our temp dir and short link). */
static int layer_publish(LayerStore *s, const char *tmp_name, const char *chain_id)
{
        const char *hex = digest_hex(chain_id);
        int r;

        if (!hex || !tmp_name_is_valid(tmp_name))
                return -EINVAL;
        if (renameat2(s->root_fd, tmp_name, s->root_fd, hex, RENAME_NOREPLACE) < 0) {
                r = negative_errno();
                if (r == -EEXIST || r == -ENOTEMPTY) {
                        (void) layer_store_abort(s, tmp_name);
                        return 1;
                }
                return r;
        }
        return 0;
}

int layer_store_commit(LayerStore *s, const char *tmp_name, const char *chain_id, const char *diff_id,
                       const char *parent_chain_id)
{
        int r;

        r = layer_prepare(s, tmp_name, chain_id, diff_id, parent_chain_id, NULL, true);
        if (r != 0)
                return r;
        r = layer_publish(s, tmp_name, chain_id);
        if (r != 0)
                return r;
        if (fsync(s->root_fd) < 0)
                return negative_errno();
        return 0;
}

int layer_store_prepare(LayerStore *s, const char *tmp_name, const char *chain_id, const char *diff_id,
                        const char *parent_chain_id, const char *parent_tmp_name)
{
        return layer_prepare(s, tmp_name, chain_id, diff_id, parent_chain_id, parent_tmp_name, false);
}

int layer_store_unprepare(LayerStore *s, const char *tmp_name)
{
        static const char *const files[] = { "diff-id", "lower", "parent", "link" };
        _cleanup_free_ char *link = NULL;
        _cleanup_close_ int tmp_fd = -EBADF;

        if (!tmp_name_is_valid(tmp_name))
                return -EINVAL;
        tmp_fd = open_dir_at(s->root_fd, tmp_name);
        if (tmp_fd < 0)
                return tmp_fd;
        if (read_meta(s, tmp_name, "link", &link) >= 0 && short_id_is_valid(link) &&
            unlinkat(s->links_fd, link, 0) < 0 && errno != ENOENT)
                return negative_errno();
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (unlinkat(tmp_fd, files[i], 0) < 0 && errno != ENOENT)
                        return negative_errno();
        return 0;
}

int layer_store_sync_spawn(LayerStore *s, pid_t *ret_pid)
{
        pid_t pid;
        int r;

        r = fork_server_syncfs(s->root_fd, ret_pid);
        if (r != -ECHILD)
                return r;
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                /* Only syncfs: nothing of the daemon's state is touched. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                _exit(syncfs(s->root_fd) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }
        *ret_pid = pid;
        return 0;
}

int layer_store_publish(LayerStore *s, const char *tmp_name, const char *chain_id)
{
        return layer_publish(s, tmp_name, chain_id);
}

int layer_store_sync_root(LayerStore *s)
{
        if (fsync(s->links_fd) < 0 || fsync(s->root_fd) < 0)
                return negative_errno();
        return 0;
}

int layer_store_cleanup_tmp(LayerStore *s)
{
        _cleanup_(closedirp) DIR *d = NULL, *l = NULL;
        int k, r = 0;

        r = opendir_at(s->root_fd, ".", &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                if (!startswith(de->d_name, TMP_PREFIX))
                        continue;
                int q = rm_rf_at(s->root_fd, de->d_name);
                if (q < 0 && r == 0)
                        r = q;
        }

        /* Then short links whose layer never got renamed into place (or was removed). */
        k = opendir_at(s->links_fd, ".", &l);
        if (k < 0)
                return k;
        for (struct dirent *de; (de = readdir(l));) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(s->links_fd, de->d_name, &st, 0) >= 0 || errno != ENOENT)
                        continue;
                if (unlinkat(s->links_fd, de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = negative_errno();
        }
        return r;
}

int layer_store_remove(LayerStore *s, const char *chain_id)
{
        _cleanup_free_ char *link = NULL, *trash_name = NULL;
        const char *hex = digest_hex(chain_id);
        char suffix[9];
        int r;

        if (!hex)
                return -EINVAL;
        r = read_meta(s, hex, "link", &link);
        if (r < 0 && r != -ENOENT)
                return r;

        r = random_name(suffix, 8);
        if (r < 0)
                return r;
        if (asprintf(&trash_name, "%s-%s", hex, suffix) < 0)
                return -ENOMEM;
        if (renameat(s->root_fd, hex, s->trash_fd, trash_name) < 0)
                return negative_errno();

        if (link && short_id_is_valid(link) && unlinkat(s->links_fd, link, 0) < 0 && errno != ENOENT)
                log_debug_errno(errno, "Cannot remove short link l/%s, ignoring: %m", link);
        if (fsync(s->root_fd) < 0)
                return negative_errno();
        return 0;
}

int layer_store_trash_fd(LayerStore *s)
{
        return s->trash_fd;
}

int layer_store_get_link(LayerStore *s, const char *chain_id, char **ret)
{
        _cleanup_free_ char *link = NULL;
        const char *hex = digest_hex(chain_id);
        int r;

        if (!hex)
                return -EINVAL;
        r = read_meta(s, hex, "link", &link);
        if (r < 0)
                return r;
        if (!short_id_is_valid(link))
                return -EBADMSG;
        *ret = TAKE_PTR(link);
        return 0;
}

int layer_store_lowerdir_option(LayerStore *s, char *const *chain_ids, size_t n, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t pos = 0, per = strlen(LINKS_DIR) + 1 + LAYER_SHORT_ID_LEN + 1;

        if (n == 0 || !ret)
                return -EINVAL;
        buf = malloc(n * per + 1);
        if (!buf)
                return -ENOMEM;

        for (size_t i = n; i > 0; i--) {
                _cleanup_free_ char *link = NULL;
                int r;

                r = layer_store_get_link(s, chain_ids[i - 1], &link);
                if (r < 0)
                        return r;
                pos += (size_t) sprintf(buf + pos, "%s" LINKS_DIR "/%s", pos > 0 ? ":" : "", link);
        }
        buf[pos] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int layer_store_disk_usage(LayerStore *s, const char *chain_id, uint64_t *ret_bytes)
{
        _cleanup_free_ char *diff = NULL;
        const char *hex = digest_hex(chain_id);
        uint64_t total = 0;
        struct stat st;
        int fd, r;

        if (!hex)
                return -EINVAL;
        if (asprintf(&diff, "%s/diff", hex) < 0)
                return -ENOMEM;
        fd = open_dir_at(s->root_fd, diff);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0) {
                safe_close(fd);
                return negative_errno();
        }
        total = (uint64_t) st.st_blocks * 512;

        r = dir_usage_at(fd, 0, &total);
        if (r < 0)
                return r;
        *ret_bytes = total;
        return 0;
}
