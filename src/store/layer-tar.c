/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Exact layer tars: the record written at extraction and the rebuild from it (format in layer-tar.h).
 *
 * Recording runs in the extraction child, on the tar reader's thread. Bytes are fed in as the reader's
 * callback reads them, ahead of the parser, so they wait in a buffer until the parser has gone past them:
 * when it hands out a block of a regular file's content at stream offset p, everything before p is raw
 * (headers, padding) and the block itself becomes a reference to diff/<path>. The buffer thus never holds
 * more than libarchive's read-ahead. Consecutive blocks of one file become one 'F' record.
 */
#include <endian.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "store/archive-util.h"
#include "store/layer-tar.h"

#define RECORD_MAGIC     "berth-tar-split 1\n"
#define COPY_BUFFER_SIZE (256U * 1024U)
#define PATH_MAX_RECORD  UINT16_MAX

/* A record up to this size is compressed in one call once complete, with a small hash table: most layers'
 * records are a few KiB, and level 1 for a stream of unknown size sets up (and zeroes) tables for any size,
 * which was about a tenth of a tiny layer's extraction. The record is mostly tar headers and zero padding:
 * the small table compresses a 10 KiB record as well as the default one. Larger records stream, at level 1,
 * in pieces of this size. */
#define RECORD_PLAIN_MAX  (128U * 1024U)
#define RECORD_PLAIN_MIN  (16U * 1024U) /* the buffer's first size: malloc's heap, not an mmap */
#define ONE_SHOT_HASH_LOG 10

struct LayerTarRecorder {
        int fd;
        ZSTD_CCtx *zstd; /* once the record outgrew RECORD_PLAIN_MAX */
        uint8_t *plain;  /* record bytes not compressed yet */
        size_t n_plain, plain_size;
        uint8_t *compressed; /* ZSTD_CStreamOutSize() bytes, with zstd */
        uint8_t *buf;
        size_t head, len, cap; /* pending bytes: buf[head..len) */
        uint64_t start;        /* stream offset of buf[head] */
        char *f_path;          /* the 'F' record being extended, if any */
        uint64_t f_offset, f_length;
};

static int zstd_errno(size_t code)
{
        return ZSTD_getErrorCode(code) == ZSTD_error_memory_allocation ? -ENOMEM : -EIO;
}

static int zstd_context(LayerTarRecorder *r, bool one_shot)
{
        r->zstd = ZSTD_createCCtx();
        if (!r->zstd)
                return -ENOMEM;
        if (ZSTD_isError(ZSTD_CCtx_setParameter(r->zstd, ZSTD_c_compressionLevel, 1)) ||
            (one_shot && ZSTD_isError(ZSTD_CCtx_setParameter(r->zstd, ZSTD_c_hashLog, ONE_SHOT_HASH_LOG))))
                return -EINVAL;
        return 0;
}

/* Compresses the plain bytes into the stream (end: and ends the frame). */
static int out_stream(LayerTarRecorder *r, bool end)
{
        ZSTD_inBuffer in = { .src = r->plain, .size = r->n_plain };
        size_t left;
        int k;

        if (!r->zstd) {
                k = zstd_context(r, false);
                if (k < 0)
                        return k;
                r->compressed = malloc(ZSTD_CStreamOutSize());
                if (!r->compressed)
                        return -ENOMEM;
        }
        do {
                ZSTD_outBuffer out = { .dst = r->compressed, .size = ZSTD_CStreamOutSize() };

                left = ZSTD_compressStream2(r->zstd, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
                if (ZSTD_isError(left))
                        return zstd_errno(left);
                k = write_full(r->fd, out.dst, out.pos);
                if (k < 0)
                        return k;
        } while (in.pos < in.size || (end && left > 0));
        r->n_plain = 0;
        return 0;
}

static int out_write(LayerTarRecorder *r, const void *p, size_t n)
{
        while (n > 0) {
                size_t k;
                int e;

                if (r->n_plain == r->plain_size) {
                        size_t size = MIN(MAX(r->plain_size * 2, RECORD_PLAIN_MIN), RECORD_PLAIN_MAX);
                        uint8_t *grown = realloc(r->plain, size);
                        if (!grown)
                                return -ENOMEM;
                        r->plain = grown;
                        r->plain_size = size;
                }
                k = MIN(n, r->plain_size - r->n_plain);
                memcpy(r->plain + r->n_plain, p, k);
                r->n_plain += k;
                p = (const uint8_t *) p + k;
                n -= k;
                if (r->n_plain == RECORD_PLAIN_MAX) {
                        e = out_stream(r, false);
                        if (e < 0)
                                return e;
                }
        }
        return 0;
}

/* The end of the record: one frame either way, which the reader (libarchive's zstd filter) reads alike. */
static int out_close(LayerTarRecorder *r)
{
        _cleanup_free_ uint8_t *frame = NULL;
        size_t bound, n;
        int k;

        if (r->zstd)
                return out_stream(r, true);
        k = zstd_context(r, true);
        if (k < 0)
                return k;
        bound = ZSTD_compressBound(r->n_plain);
        frame = malloc(bound);
        if (!frame)
                return -ENOMEM;
        n = ZSTD_compress2(r->zstd, frame, bound, r->plain, r->n_plain);
        if (ZSTD_isError(n))
                return zstd_errno(n);
        r->n_plain = 0;
        return write_full(r->fd, frame, n);
}

static int flush_file(LayerTarRecorder *r)
{
        uint8_t head[1 + 2];
        uint64_t tail[2];
        size_t n;
        int k;

        if (!r->f_path)
                return 0;
        n = strlen(r->f_path);
        head[0] = 'F';
        head[1] = (uint8_t) (n & 0xff);
        head[2] = (uint8_t) (n >> 8);
        tail[0] = htole64(r->f_offset);
        tail[1] = htole64(r->f_length);
        k = out_write(r, head, sizeof(head));
        if (k >= 0)
                k = out_write(r, r->f_path, n);
        if (k >= 0)
                k = out_write(r, tail, sizeof(tail));
        r->f_path = mfree(r->f_path);
        return k;
}

static int emit_raw(LayerTarRecorder *r, const void *p, size_t n)
{
        uint8_t type = 'R';
        uint64_t len = htole64(n);
        int k;

        if (n == 0)
                return 0;
        k = flush_file(r);
        if (k >= 0)
                k = out_write(r, &type, 1);
        if (k >= 0)
                k = out_write(r, &len, sizeof(len));
        if (k >= 0)
                k = out_write(r, p, n);
        return k;
}

int layer_tar_recorder_new(int fd, LayerTarRecorder **ret)
{
        _cleanup_(layer_tar_recorder_freep) LayerTarRecorder *r = NULL;
        int k;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->fd = fd;
        k = out_write(r, RECORD_MAGIC, strlen(RECORD_MAGIC));
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

LayerTarRecorder *layer_tar_recorder_free(LayerTarRecorder *r)
{
        if (!r)
                return NULL;
        ZSTD_freeCCtx(r->zstd);
        free(r->compressed);
        free(r->plain);
        free(r->buf);
        free(r->f_path);
        return mfree(r);
}

int layer_tar_recorder_feed(LayerTarRecorder *r, const void *buf, size_t size)
{
        if (size == 0)
                return 0;
        if (r->len + size > r->cap && r->head > 0) {
                memmove(r->buf, r->buf + r->head, r->len - r->head);
                r->len -= r->head;
                r->head = 0;
        }
        if (r->len + size > r->cap) {
                size_t cap = MAX(r->cap * 2, r->len + size);
                uint8_t *n = realloc(r->buf, cap);
                if (!n)
                        return -ENOMEM;
                r->buf = n;
                r->cap = cap;
        }
        memcpy(r->buf + r->len, buf, size);
        r->len += size;
        return 0;
}

int layer_tar_recorder_flush_to(LayerTarRecorder *r, uint64_t stream_offset)
{
        uint64_t n;
        int k;

        if (stream_offset <= r->start)
                return 0;
        n = MIN(stream_offset - r->start, (uint64_t) (r->len - r->head));
        k = emit_raw(r, r->buf + r->head, (size_t) n);
        if (k < 0)
                return k;
        r->head += (size_t) n;
        r->start += n;
        return 0;
}

int layer_tar_recorder_content(LayerTarRecorder *r, uint64_t stream_offset, const char *path,
                               uint64_t file_offset, uint64_t length)
{
        uint64_t raw;
        size_t plen;
        int k;

        if (length == 0)
                return 0;
        plen = strlen(path);
        if (plen == 0 || plen > PATH_MAX_RECORD)
                return -ENAMETOOLONG;
        /* The block must lie in what was fed and not yet written out. */
        if (stream_offset < r->start || stream_offset + length > r->start + (r->len - r->head))
                return -ERANGE;
        raw = stream_offset - r->start;
        k = emit_raw(r, r->buf + r->head, (size_t) raw);
        if (k < 0)
                return k;
        r->head += (size_t) (raw + length);
        r->start += raw + length;

        if (r->f_path && streq(r->f_path, path) && r->f_offset + r->f_length == file_offset) {
                r->f_length += length;
                return 0;
        }
        k = flush_file(r);
        if (k < 0)
                return k;
        r->f_path = strdup(path);
        if (!r->f_path)
                return -ENOMEM;
        r->f_offset = file_offset;
        r->f_length = length;
        return 0;
}

int layer_tar_recorder_finish(LayerTarRecorder *r)
{
        uint8_t end = 'E';
        int k;

        k = emit_raw(r, r->buf + r->head, r->len - r->head);
        if (k >= 0)
                k = flush_file(r);
        if (k >= 0)
                k = out_write(r, &end, 1);
        if (k < 0)
                return k;
        r->start += r->len - r->head;
        r->head = r->len = 0;
        return out_close(r);
}

/* "sha256:<64 lowercase hex>" → the hex part, or NULL. */
static const char *chain_hex(const char *chain_id)
{
        const char *hex = startswith(chain_id ?: "", "sha256:");

        if (!hex || strlen(hex) != 64)
                return NULL;
        for (const char *c = hex; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return NULL;
        return hex;
}

int layer_tar_record_create(LayerStore *s, const char *tmp_name, int *ret_fd)
{
        _cleanup_free_ char *path = NULL;
        int fd;

        if (!tmp_name || strchr(tmp_name, '/') || !startswith(tmp_name, ".tmp-"))
                return -EINVAL;
        if (asprintf(&path, "%s/" LAYER_TAR_RECORD_FILE, tmp_name) < 0)
                return -ENOMEM;
        fd = openat(layer_store_root_fd(s), path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    0600);
        if (fd < 0)
                return negative_errno();
        *ret_fd = fd;
        return 0;
}

/* The rebuild. */

/* Exactly n bytes of the decompressed record, -EBADMSG if it ends first. */
static int read_exact(struct archive *a, void *buf, size_t n)
{
        uint8_t *p = buf;

        while (n > 0) {
                la_ssize_t k = archive_read_data(a, p, n);
                if (k < 0)
                        return archive_error_to_errno(a);
                if (k == 0)
                        return -EBADMSG;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int copy_raw(struct archive *a, uint64_t n, uint8_t *buf, LayerTarSink sink, void *userdata)
{
        while (n > 0) {
                size_t chunk = (size_t) MIN(n, (uint64_t) COPY_BUFFER_SIZE);
                int r = read_exact(a, buf, chunk);
                if (r < 0)
                        return r;
                if (sink) {
                        r = sink(buf, chunk, userdata);
                        if (r < 0)
                                return r;
                }
                n -= chunk;
        }
        return 0;
}

/* Opens a regular file below diff/ without following any symlink: the path came from a hostile tar. */
static int open_content(int diff_fd, const char *path)
{
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        struct stat st;
        int fd;

        fd = openat2_retry(diff_fd, path, &how);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                safe_close(fd);
                return -EBADMSG;
        }
        return fd;
}

static int copy_content(int in_fd, uint64_t offset, uint64_t n, uint8_t *buf, LayerTarSink sink,
                        void *userdata)
{
        while (n > 0) {
                size_t chunk = (size_t) MIN(n, (uint64_t) COPY_BUFFER_SIZE);
                ssize_t k = pread(in_fd, buf, chunk, (off_t) offset);
                int r;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return -ENODATA; /* the file is shorter than it was in the tar */
                r = sink(buf, (size_t) k, userdata);
                if (r < 0)
                        return r;
                offset += (uint64_t) k;
                n -= (uint64_t) k;
        }
        return 0;
}

/* Goes through a layer's record: with a sink, rebuilds the stream into it; without, only adds up its size.
 */
static int walk(LayerStore *s, const char *chain_id, LayerTarSink sink, void *userdata, uint64_t *ret_size,
                BerthError *e)
{
        _cleanup_(archive_read_freep) struct archive *a = NULL;
        _cleanup_free_ char *record = NULL, *diff = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_close_ int fd = -EBADF, diff_fd = -EBADF;
        struct archive_entry *entry;
        char magic[sizeof(RECORD_MAGIC) - 1];
        const char *hex = chain_hex(chain_id);
        uint64_t total = 0;
        int r;

        if (!hex)
                return berth_error_set(e, -EINVAL, "Invalid layer id '%s'", strna(chain_id));
        if (asprintf(&record, "%s/" LAYER_TAR_RECORD_FILE, hex) < 0 || asprintf(&diff, "%s/diff", hex) < 0)
                return -ENOMEM;
        fd = openat(layer_store_root_fd(s), record, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT) {
                if (layer_store_has(s, chain_id) <= 0)
                        return berth_error_set(e, -ENOENT, "No layer %s in the store", chain_id);
                return berth_error_set(e, -ENODATA,
                                       "Layer %s was stored before berth kept exact layer tars, so its "
                                       "original tar cannot be rebuilt; pull or load the image again",
                                       chain_id);
        }
        if (fd < 0)
                return berth_error_set_errno(e, negative_errno(), "Cannot open the tar record of layer %s",
                                             chain_id);
        if (sink) {
                diff_fd = open_dir_at(layer_store_root_fd(s), diff);
                if (diff_fd < 0)
                        return berth_error_set_errno(e, diff_fd, "Cannot open layer %s", chain_id);
        }

        buf = malloc(COPY_BUFFER_SIZE);
        a = archive_read_new();
        if (!buf || !a)
                return -ENOMEM;
        if (archive_read_support_format_raw(a) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
            archive_read_open_fd(a, fd, COPY_BUFFER_SIZE) != ARCHIVE_OK ||
            archive_read_next_header(a, &entry) != ARCHIVE_OK)
                return berth_error_set(e, -EBADMSG, "Tar record of layer %s is corrupt: %s", chain_id,
                                       archive_message(a));
        r = read_exact(a, magic, sizeof(magic));
        if (r < 0 || memcmp(magic, RECORD_MAGIC, sizeof(magic)) != 0)
                return berth_error_set(e, -EBADMSG, "Tar record of layer %s is corrupt", chain_id);

        for (;;) {
                uint8_t type;

                r = read_exact(a, &type, 1);
                if (r < 0)
                        return berth_error_set(e, r, "Tar record of layer %s is truncated", chain_id);
                if (type == 'E')
                        break;
                if (type == 'R') {
                        uint64_t n;

                        r = read_exact(a, &n, sizeof(n));
                        if (r >= 0) {
                                n = le64toh(n);
                                total += n;
                                r = copy_raw(a, n, buf, sink, userdata);
                        }
                        if (r < 0)
                                return berth_error_set(e, r, "Cannot rebuild layer %s: %s", chain_id,
                                                       strerror(-r));
                        continue;
                }
                if (type == 'F') {
                        uint8_t l[2];
                        uint64_t range[2];
                        char path[PATH_MAX_RECORD + 1];
                        _cleanup_close_ int in_fd = -EBADF;
                        size_t plen;

                        r = read_exact(a, l, sizeof(l));
                        plen = (size_t) l[0] | ((size_t) l[1] << 8);
                        if (r >= 0)
                                r = read_exact(a, path, plen);
                        if (r >= 0)
                                r = read_exact(a, range, sizeof(range));
                        if (r < 0)
                                return berth_error_set(e, r, "Tar record of layer %s is truncated",
                                                       chain_id);
                        path[plen] = 0;
                        total += le64toh(range[1]);
                        if (!sink)
                                continue;
                        in_fd = open_content(diff_fd, path);
                        if (in_fd < 0)
                                return berth_error_set(e, in_fd, "Cannot read '%s' of layer %s: %s", path,
                                                       chain_id, strerror(-in_fd));
                        r = copy_content(in_fd, le64toh(range[0]), le64toh(range[1]), buf, sink, userdata);
                        if (r < 0)
                                return berth_error_set(e, r, "Cannot rebuild layer %s from '%s': %s",
                                                       chain_id, path, strerror(-r));
                        continue;
                }
                return berth_error_set(e, -EBADMSG, "Tar record of layer %s is corrupt", chain_id);
        }
        if (ret_size)
                *ret_size = total;
        return 0;
}

static int fd_sink(const void *p, size_t n, void *userdata)
{
        return write_full(*(int *) userdata, p, n);
}

int layer_tar_stream(LayerStore *s, const char *chain_id, LayerTarSink sink, void *userdata, BerthError *e)
{
        return walk(s, chain_id, sink, userdata, NULL, e);
}

int layer_tar_size(LayerStore *s, const char *chain_id, uint64_t *ret, BerthError *e)
{
        return walk(s, chain_id, NULL, NULL, ret, e);
}

int layer_tar_write(LayerStore *s, const char *chain_id, int out_fd, BerthError *e)
{
        return walk(s, chain_id, fd_sink, &out_fd, NULL, e);
}
