/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <zstd.h>

#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/signal-util.h"
#include "shared/thread-util.h"
#include "store/layer-compress.h"
#include "store/layer-diff.h"

#include "store/layer-tar.h"

#define CHUNK            ((size_t) 1024U * 1024U)
#define REPORT_MAGIC     0x42505348U /* "BPSH" */
#define OUTPUT_PIPE_SIZE (1024 * 1024)

static const char *const compression_table[_LAYER_COMPRESSION_MAX] = {
        [LAYER_COMPRESSION_GZIP] = "gzip",
        [LAYER_COMPRESSION_ZSTD] = "zstd",
};

const char *layer_compression_to_string(LayerCompression c)
{
        return c >= 0 && c < _LAYER_COMPRESSION_MAX ? compression_table[c] : NULL;
}

LayerCompression layer_compression_from_string(const char *s)
{
        for (size_t i = 0; s && i < _LAYER_COMPRESSION_MAX; i++)
                if (streq(s, compression_table[i]))
                        return (LayerCompression) i;
        return _LAYER_COMPRESSION_INVALID;
}

typedef struct Report {
        uint32_t magic;
        int error;
        char message[256];
        LayerCompressResult result;
} Report;

/* The tar writer: its own thread, so writing the tar (file reads) and compressing run on two CPUs. */
typedef struct TarThread {
        LayerStore *store;
        const char *chain_id;
        int fd;
        bool exact;
        int error;
        BerthError err;
} TarThread;

static void tar_thread_done(TarThread *t)
{
        safe_close(t->fd);
        berth_error_done(&t->err);
}

static void *tar_thread(void *userdata)
{
        TarThread *t = userdata;
        _cleanup_close_ int diff_fd = -EBADF;
        _cleanup_free_ char *diff = NULL;
        int r;

        r = layer_tar_write(t->store, t->chain_id, t->fd, &t->err);
        if (r != -ENODATA) {
                t->exact = true;
                t->error = r < 0 ? r : 0;
                t->fd = safe_close(t->fd);
                return NULL;
        }
        berth_error_done(&t->err);

        /* No record: make the tar from diff/, as commit does. */
        if (asprintf(&diff, "%s/diff", t->chain_id + strlen("sha256:")) < 0) {
                t->error = -ENOMEM;
                t->fd = safe_close(t->fd);
                return NULL;
        }
        diff_fd = openat(layer_store_root_fd(t->store), diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (diff_fd < 0)
                r = berth_error_set(&t->err, -errno, "cannot open the layer's files: %m");
        else
                r = layer_diff_write(diff_fd, t->fd, &t->err);
        t->error = r < 0 ? r : 0;
        t->fd = safe_close(t->fd);
        return NULL;
}

typedef struct Compressor {
        LayerCompression kind;
        struct isal_zstream gz;
        uint8_t *level_buf;
        ZSTD_CCtx *zstd;
        uint8_t *out;
        int output_fd;
        Sha256 *hash;
} Compressor;

static int compressor_emit(Compressor *c, size_t n)
{
        int r = sha256_update(c->hash, c->out, n);
        if (r < 0)
                return r;
        return write_full(c->output_fd, c->out, n);
}

/* Feeds n bytes of tar (n == 0 with last: the end). */
static int compressor_feed(Compressor *c, const uint8_t *p, size_t n, bool last)
{
        int r;

        if (c->kind == LAYER_COMPRESSION_GZIP) {
                c->gz.next_in = (uint8_t *) p;
                c->gz.avail_in = (uint32_t) n;
                c->gz.end_of_stream = last;
                do {
                        c->gz.next_out = c->out;
                        c->gz.avail_out = (uint32_t) CHUNK;
                        if (isal_deflate(&c->gz) != COMP_OK)
                                return -EIO;
                        r = compressor_emit(c, CHUNK - c->gz.avail_out);
                        if (r < 0)
                                return r;
                } while (c->gz.avail_out == 0 || (last && c->gz.internal_state.state != ZSTATE_END));
                return 0;
        }

        ZSTD_inBuffer in = { .src = p, .size = n };
        for (;;) {
                ZSTD_outBuffer out = { .dst = c->out, .size = CHUNK };
                size_t left = ZSTD_compressStream2(c->zstd, &out, &in, last ? ZSTD_e_end : ZSTD_e_continue);
                if (ZSTD_isError(left))
                        return -EIO;
                r = compressor_emit(c, out.pos);
                if (r < 0)
                        return r;
                if (last ? left == 0 : in.pos == in.size)
                        return 0;
        }
}

static void compressor_done(Compressor *c)
{
        free(c->level_buf);
        free(c->out);
        ZSTD_freeCCtx(c->zstd);
        sha256_free(c->hash);
}

static int compressor_init(Compressor *c, BerthError *err)
{
        c->out = malloc(CHUNK);
        if (!c->out || sha256_new(&c->hash) < 0)
                return berth_error_set(err, -ENOMEM, "out of memory");
        if (c->kind == LAYER_COMPRESSION_GZIP) {
                isal_deflate_init(&c->gz);
                c->gz.level = 1;
                c->level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
                if (!c->level_buf)
                        return berth_error_set(err, -ENOMEM, "out of memory");
                c->gz.level_buf = c->level_buf;
                c->gz.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
                c->gz.gzip_flag = IGZIP_GZIP;
                return 0;
        }
        c->zstd = ZSTD_createCCtx();
        if (!c->zstd || ZSTD_isError(ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_compressionLevel, 3)))
                return berth_error_set(err, -ENOMEM, "cannot set up zstd");
        return 0;
}

/* The tar from tar_fd to its end: hashed (the diff_id), compressed, written out. */
static int compress_stream(Compressor *c, int tar_fd, Sha256 *tar_hash, BerthError *err)
{
        _cleanup_free_ uint8_t *in = malloc(CHUNK);

        if (!in)
                return berth_error_set(err, -ENOMEM, "out of memory");
        for (;;) {
                ssize_t k = read(tar_fd, in, CHUNK);
                int r;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return berth_error_set(err, -errno, "reading the layer's tar: %m");
                if (k > 0 && sha256_update(tar_hash, in, (size_t) k) < 0)
                        return berth_error_set(err, -ENOMEM, "hashing");
                r = compressor_feed(c, in, (size_t) k, k == 0);
                if (r < 0)
                        return berth_error_set(err, r, "compressing the layer: %s", strerror(-r));
                if (k == 0)
                        return 0;
        }
}

static int compress_layer(LayerStore *s, const char *chain_id, LayerCompression compression, int output_fd,
                          BerthError *err, LayerCompressResult *ret)
{
        _cleanup_close_pair_ int tar[2] = { -EBADF, -EBADF };
        _cleanup_(sha256_freep) Sha256 *tar_hash = NULL;
        _cleanup_(compressor_done) Compressor c = { .kind = compression, .output_fd = output_fd };
        _cleanup_(tar_thread_done)
                TarThread t = { .store = s, .chain_id = chain_id, .fd = -EBADF, .err = BERTH_ERROR_INIT };
        pthread_t thread;
        int r;

        if (pipe2(tar, O_CLOEXEC) < 0)
                return berth_error_set(err, -errno, "pipe: %m");
        (void) fcntl(tar[1], F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
        if (sha256_new(&tar_hash) < 0)
                return berth_error_set(err, -ENOMEM, "out of memory");
        r = compressor_init(&c, err);
        if (r < 0)
                return r;

        t.fd = TAKE_FD(tar[1]);
        r = helper_thread_start(&thread, 0, tar_thread, &t);
        if (r < 0)
                return berth_error_set(err, r, "cannot start the tar thread");
        r = compress_stream(&c, tar[0], tar_hash, err);
        /* On our failure the writer sees EPIPE and ends. */
        tar[0] = safe_close(tar[0]);
        (void) pthread_join(thread, NULL);
        if (r < 0)
                return r;
        if (t.error < 0)
                return berth_error_set(err, t.error, "writing the layer's tar: %s",
                                       t.err.message ?: strerror(-t.error));

        *ret = (LayerCompressResult){ .size = sha256_bytes(c.hash), .exact = t.exact };
        if (sha256_final_to(tar_hash, ret->diff_id) < 0 || sha256_final_to(c.hash, ret->digest) < 0)
                return berth_error_set(err, -EIO, "hashing");
        return 0;
}

int layer_compress_run(LayerStore *s, const char *chain_id, LayerCompression compression, int output_fd,
                       BerthError *err, LayerCompressResult *ret)
{
        if (!s || !chain_id || !startswith(chain_id, "sha256:") || compression < 0 ||
            compression >= _LAYER_COMPRESSION_MAX || output_fd < 0 || !ret)
                return -EINVAL;
        return compress_layer(s, chain_id, compression, output_fd, err, ret);
}

__attribute__((noreturn)) static void child_main(LayerStore *s, const char *chain_id,
                                                 LayerCompression compression, int output_fd, int result_fd,
                                                 pid_t parent)
{
        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;
        Report report = { .magic = REPORT_MAGIC };
        int r;

        reset_signals();
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        /* Our end of the output blocks: the child simply waits for the upload. */
        if (fcntl(output_fd, F_SETFL, 0) < 0)
                _exit(EXIT_FAILURE);

        r = compress_layer(s, chain_id, compression, output_fd, &err, &report.result);
        (void) close(output_fd);
        report.error = r;
        if (r < 0)
                snprintf(report.message, sizeof(report.message), "%s", berth_error_message(&err));
        (void) write_full(result_fd, &report, sizeof(report));
        _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

int layer_compress_spawn(LayerStore *s, const char *chain_id, LayerCompression compression,
                         int *ret_output_fd, int *ret_result_fd, pid_t *ret_pid)
{
        _cleanup_close_pair_ int output[2] = { -EBADF, -EBADF }, result[2] = { -EBADF, -EBADF };
        pid_t parent = getpid(), pid;

        if (!s || !chain_id || !startswith(chain_id, "sha256:") || compression < 0 ||
            compression >= _LAYER_COMPRESSION_MAX || !ret_output_fd || !ret_result_fd || !ret_pid)
                return -EINVAL;
        if (pipe2(output, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(result, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        (void) fcntl(output[0], F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                output[0] = safe_close(output[0]);
                result[0] = safe_close(result[0]);
                child_main(s, chain_id, compression, output[1], result[1], parent);
        }
        output[1] = safe_close(output[1]);
        result[1] = safe_close(result[1]);
        *ret_output_fd = TAKE_FD(output[0]);
        *ret_result_fd = TAKE_FD(result[0]);
        *ret_pid = pid;
        return 0;
}

int layer_compress_read_result(int result_fd, BerthError *err, LayerCompressResult *ret)
{
        Report report;
        ssize_t n;

        do
                n = read(result_fd, &report, sizeof(report));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if (n != (ssize_t) sizeof(report) || report.magic != REPORT_MAGIC)
                return berth_error_set(err, -EPROTO, "Compression process died without reporting");
        report.message[sizeof(report.message) - 1] = 0;
        report.result.diff_id[sizeof(report.result.diff_id) - 1] = 0;
        report.result.digest[sizeof(report.result.digest) - 1] = 0;
        if (report.error < 0)
                return berth_error_set(err, report.error, "%s", report.message);
        *ret = report.result;
        return 0;
}
