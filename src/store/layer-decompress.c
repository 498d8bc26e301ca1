/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The decompressing half of a layer's extraction (see layer-extract.c for the whole path):
 *
 *   input fd ──read()──► [sha256: blob digest] ──► libarchive "raw" reader (gzip | zstd | none)
 *            ──► [sha256: diff_id] ──write()──► pipe ──► the tar reader, on the calling thread
 *
 * Why a thread: inflating and hashing take about as long as archive_write_disk creating the files (for a
 * 100 MB, 17.5k-file layer on ext4, measured on the dev machine: zlib inflates at ~420 MB/s, sha256 runs at
 * ~1 GB/s, extraction takes ~0.2 s); one after the other they made a pull twice the slowest stage,
 * side by side on two CPUs they overlap. A pipe rather than shared buffers keeps the hand-over to read()
 * and write(), and the two sides share nothing else until the join.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "shared/log.h"
#include "store/archive-util.h"
#include "store/layer-decompress.h"

#define INPUT_BUFFER_SIZE (256U * 1024U)
#define STREAM_PIPE_SIZE  (1024 * 1024)

struct LayerDecompressor {
        pthread_t thread;
        int input_fd;  /* not ours */
        int stop_fd;   /* eventfd: the reader gave up */
        int output_fd; /* the pipe's write end; closed by the thread when it is done */
        bool reader_gone;
        bool cancelled;
        uint8_t *buffer;
        EVP_MD_CTX *blob_ctx;
        EVP_MD_CTX *diff_ctx;
        uint64_t compressed_size;
        uint64_t uncompressed_size;
        uint64_t max_size;
        int error;
        char message[LAYER_MESSAGE_MAX];
};

static int fail(LayerDecompressor *d, int error, const char *format, ...) _printf_(3, 4);
static int fail(LayerDecompressor *d, int error, const char *format, ...)
{
        va_list ap;

        if (isempty(d->message)) {
                va_start(ap, format);
                vsnprintf(d->message, sizeof(d->message), format, ap);
                va_end(ap);
        }
        return log_debug_errno(error, "Layer decompression failed: %s", d->message);
}

/* Next bytes of the blob into d->buffer: 0 at EOF, -ECANCELED once the reader gave up. */
static int read_input(LayerDecompressor *d, size_t *ret_size)
{
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = d->input_fd, .events = POLLIN },
                        { .fd = d->stop_fd, .events = POLLIN },
                };
                ssize_t n;

                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (p[1].revents != 0) {
                        d->cancelled = true;
                        return -ECANCELED;
                }
                n = read(d->input_fd, d->buffer, INPUT_BUFFER_SIZE);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return negative_errno();
                }
                if (n > 0 && EVP_DigestUpdate(d->blob_ctx, d->buffer, (size_t) n) != 1)
                        return -EIO;
                d->compressed_size += (uint64_t) n;
                *ret_size = (size_t) n;
                return 0;
        }
}

static la_ssize_t raw_read_cb(struct archive *a, void *userdata, const void **ret_buf)
{
        LayerDecompressor *d = userdata;
        size_t n;
        int r;

        r = read_input(d, &n);
        if (r < 0) {
                archive_set_error(a, -r, "Failed to read layer input: %s", strerror(-r));
                return -1;
        }
        *ret_buf = d->buffer;
        return (la_ssize_t) n;
}

/* Hands a block to the tar reader. Once it has closed its end (it found the end of the archive, or
 * failed and cancelled us), the rest is only hashed. */
static int write_stream(LayerDecompressor *d, const uint8_t *p, size_t size)
{
        while (size > 0 && !d->reader_gone) {
                ssize_t n = write(d->output_fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EPIPE) {
                                d->reader_gone = true;
                                break;
                        }
                        return fail(d, negative_errno(), "Cannot pass on the decompressed layer: %m");
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

static int decompress(LayerDecompressor *d)
{
        _cleanup_(archive_read_freep) struct archive *raw = archive_read_new();
        struct archive_entry *entry;
        size_t n;
        int r;

        if (!raw)
                return fail(d, -ENOMEM, "Out of memory");

        /* Only what a layer can be, and only built-in decoders: ARCHIVE_WARN means "via an external
         * program", which we do not want (and which could not run inside the chroot anyway). */
        if (archive_read_support_format_raw(raw) != ARCHIVE_OK ||
            archive_read_support_filter_gzip(raw) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(raw) != ARCHIVE_OK ||
            archive_read_support_filter_none(raw) != ARCHIVE_OK)
                return fail(d, -EOPNOTSUPP, "libarchive lacks built-in gzip or zstd support");
        if (archive_read_open(raw, d, NULL, raw_read_cb, NULL) != ARCHIVE_OK)
                return fail(d, archive_error_to_errno(raw), "Cannot read layer: %s", archive_message(raw));
        r = archive_read_next_header(raw, &entry);
        if (r == ARCHIVE_EOF)
                return fail(d, -EBADMSG, "Empty layer");
        if (r != ARCHIVE_OK)
                return fail(d, archive_error_to_errno(raw), "Cannot read layer: %s", archive_message(raw));

        /* libarchive stacks filters as long as one bids: a gzip inside a gzip would be undone twice, and the
         * diff_id would then not be the hash of what the blob decompresses to. One filter at most (the
         * count includes the reader at the bottom). */
        if (archive_filter_count(raw) > 2)
                return fail(d, -EBADMSG, "Layer is compressed more than once");

        for (;;) {
                const void *block;
                size_t size;
                la_int64_t offset;

                r = archive_read_data_block(raw, &block, &size, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK)
                        return fail(d, archive_error_to_errno(raw), "Failed to decompress layer: %s",
                                    archive_message(raw));
                if (offset < 0 || (uint64_t) offset != d->uncompressed_size)
                        return fail(d, -EBADMSG, "Unexpected gap in decompressed layer stream");
                if (size == 0)
                        continue;
                if (EVP_DigestUpdate(d->diff_ctx, block, size) != 1)
                        return fail(d, -EIO, "sha256 update failed");
                d->uncompressed_size += size;
                /* Counted on the decompressed stream itself, so zeros after the tar's end count too. */
                if (d->uncompressed_size > d->max_size)
                        return fail(d, -EFBIG,
                                    "Layer is larger than %" PRIu64
                                    " MiB uncompressed, the limit (MaxLayerSize= "
                                    "in berth.conf)",
                                    d->max_size >> 20);
                r = write_stream(d, block, size);
                if (r < 0)
                        return r;
        }

        /* What follows the compressed stream belongs to the blob digest too. */
        do {
                r = read_input(d, &n);
                if (r < 0)
                        return fail(d, r, "Failed to read layer input: %s", strerror(-r));
        } while (n > 0);
        return 0;
}

static void *decompress_thread(void *userdata)
{
        LayerDecompressor *d = userdata;
        sigset_t ss;

        /* A write to the pipe after the reader closed it must be EPIPE, not the end of the process. The
         * signal stays pending on this thread and goes with it. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGPIPE);
        (void) pthread_sigmask(SIG_BLOCK, &ss, NULL);

        d->error = decompress(d);
        /* libarchive's decoders report a stopped input as their own kind of error ("truncated input"). */
        if (d->error < 0 && d->cancelled)
                d->error = -ECANCELED;
        d->output_fd = safe_close(d->output_fd); /* the tar reader's EOF */
        return NULL;
}

static void decompressor_free(LayerDecompressor *d)
{
        if (!d)
                return;
        safe_close(d->stop_fd);
        safe_close(d->output_fd);
        free(d->buffer);
        EVP_MD_CTX_free(d->blob_ctx);
        EVP_MD_CTX_free(d->diff_ctx);
        free(d);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(LayerDecompressor *, decompressor_free);

int layer_decompressor_start(int input_fd, uint64_t max_size, LayerDecompressor **ret, int *ret_stream_fd)
{
        _cleanup_(decompressor_freep) LayerDecompressor *d = NULL;
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->input_fd = input_fd;
        d->max_size = max_size;
        d->output_fd = -EBADF;
        d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->stop_fd < 0)
                return negative_errno();
        d->buffer = malloc(INPUT_BUFFER_SIZE);
        d->blob_ctx = EVP_MD_CTX_new();
        d->diff_ctx = EVP_MD_CTX_new();
        if (!d->buffer || !d->blob_ctx || !d->diff_ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(d->blob_ctx, EVP_sha256(), NULL) != 1 ||
            EVP_DigestInit_ex(d->diff_ctx, EVP_sha256(), NULL) != 1)
                return -EIO;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        /* Fewer, larger hand-overs: a wake-up across CPUs costs tens of µs (measured on the dev machine). */
        (void) fcntl(p[1], F_SETPIPE_SZ, STREAM_PIPE_SIZE);
        d->output_fd = TAKE_FD(p[1]);

        r = -pthread_create(&d->thread, NULL, decompress_thread, d);
        if (r < 0)
                return r;
        *ret_stream_fd = TAKE_FD(p[0]);
        *ret = TAKE_PTR(d);
        return 0;
}

void layer_decompressor_cancel(LayerDecompressor *d)
{
        uint64_t one = 1;

        (void) !write(d->stop_fd, &one, sizeof(one));
}

static void digest_to_string(EVP_MD_CTX *ctx, char out[static LAYER_DIGEST_STRING_MAX])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        static const char hex[] = "0123456789abcdef";

        (void) EVP_DigestFinal_ex(ctx, md, &len);
        memcpy(out, "sha256:", 7);
        for (unsigned i = 0; i < len && i < 32; i++) {
                out[7 + 2 * i] = hex[md[i] >> 4];
                out[7 + 2 * i + 1] = hex[md[i] & 15];
        }
        out[7 + 64] = 0;
}

int layer_decompressor_finish(LayerDecompressor *d, char message[static LAYER_MESSAGE_MAX],
                              LayerExtractResult *ret)
{
        _cleanup_(decompressor_freep) LayerDecompressor *owned = d;
        int r;

        r = -pthread_join(d->thread, NULL);
        if (r < 0)
                return r;
        if (d->error < 0) {
                snprintf(message, LAYER_MESSAGE_MAX, "%s", d->message);
                return d->error;
        }
        digest_to_string(d->blob_ctx, ret->blob_digest);
        digest_to_string(d->diff_ctx, ret->diff_id);
        ret->compressed_size = d->compressed_size;
        ret->uncompressed_size = d->uncompressed_size;
        return 0;
}
