/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The decompressing half of a layer's extraction (see layer-extract.c for the whole path):
 *
 *   input fd ──read()──► [sha256: blob digest] ──► ISA-L inflate, or libarchive's "raw" reader (gzip | zstd
 *            | none) ──► chunks of a ring (stream-ring.c) ──► the tar reader, on the calling thread
 *                           └──► [sha256: diff_id] on the ring's thread
 *
 * Why a thread: inflating and hashing take about as long as archive_write_disk creating the files (for a
 * 100 MB, 17.5k-file layer on ext4, measured on the dev machine: zlib inflates at ~420 MB/s, sha256 runs at
 * ~1 GB/s, extraction takes ~0.2 s); one after the other they made a pull twice the slowest stage,
 * side by side on two CPUs they overlap. The two sides share the ring's chunks and nothing else until the
 * join.
 *
 * A blob of at most ONE_THREAD_INPUT_MAX bytes is read whole and decompressed into the ring before the tar
 * reader starts, on the caller's thread (STREAM_RING_ONE_THREAD): for a layer of a few files the thread's
 * start, its stack and the TLB flushes it adds to every later copy-on-write fault cost more than the
 * overlap gains (a 113-byte layer's whole child, through the fork server: 3.5-3.7 ms of CPU against 4.6-4.7
 * with the thread; a page fault costs 11-40 us on this machine). The ring holds 16 MiB: a small blob that
 * inflates to more is decompressed again from its start, with the thread.
 *
 * gzip, the common case, is inflated with ISA-L when berth is built with it (meson option isal): its inflate
 * runs at two to three times zlib's speed, which makes it no longer the slower half. zstd, plain tars and
 * builds without ISA-L go through libarchive's filters (zlib for gzip). Both paths check the same things:
 * the gzip CRC and length, one compression layer at most, the size limit, trailing bytes hashed.
 */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/evp.h>
#if HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "oci/sha256.h"
#include "shared/log.h"
#include "shared/thread-util.h"
#include "store/archive-util.h"
#include "store/stream-ring.h"
#include "store/layer-decompress.h"

#define INPUT_BUFFER_SIZE  (256U * 1024U)
#define OUTPUT_BUFFER_SIZE (1024U * 1024U)

/* A blob this small is decompressed on the caller's thread, all of it before the tar reader starts. */
#define ONE_THREAD_INPUT_MAX (64U * 1024U)

static bool use_isal = HAVE_ISAL;
static size_t one_thread_input_max = ONE_THREAD_INPUT_MAX;

struct LayerDecompressor {
        pthread_t thread;
        bool threaded; /* else layer_decompressor_start() decompressed it all */
        int input_fd;  /* not ours */
        int stop_fd;   /* eventfd: the reader gave up */
        uint8_t *head; /* the blob's first bytes, read to choose: decompressing reads them from here */
        size_t head_size, head_read;
        bool cancelled;
        uint8_t *buffer;
        size_t pending; /* bytes already in buffer that the first read of libarchive gets */
        EVP_MD_CTX *blob_ctx;
        StreamRing *stream; /* the decompressed stream's chunks, hashed (diff_id) and read by the reader */
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

static int hash_input(LayerDecompressor *d, size_t offset, size_t n, size_t *ret_size)
{
        if (n > 0 && EVP_DigestUpdate(d->blob_ctx, d->buffer + offset, n) != 1)
                return -EIO;
        d->compressed_size += (uint64_t) n;
        *ret_size = n;
        return 0;
}

/* Next bytes of the blob into d->buffer from offset on: 0 at EOF, -ECANCELED once the reader gave up. */
static int read_input_at(LayerDecompressor *d, size_t offset, size_t *ret_size)
{
        if (d->head_read < d->head_size) {
                size_t n = MIN(d->head_size - d->head_read, INPUT_BUFFER_SIZE - offset);

                memcpy(d->buffer + offset, d->head + d->head_read, n);
                d->head_read += n;
                return hash_input(d, offset, n, ret_size);
        }
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
                n = read(d->input_fd, d->buffer + offset, INPUT_BUFFER_SIZE - offset);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return negative_errno();
                }
                return hash_input(d, offset, (size_t) n, ret_size);
        }
}

static int read_input(LayerDecompressor *d, size_t *ret_size)
{
        return read_input_at(d, 0, ret_size);
}

static la_ssize_t raw_read_cb(struct archive *a, void *userdata, const void **ret_buf)
{
        LayerDecompressor *d = userdata;
        size_t n = d->pending;
        int r = 0;

        d->pending = 0; /* the bytes looked at to choose the decoder */
        if (n == 0)
                r = read_input(d, &n);
        if (r < 0) {
                archive_set_error(a, -r, "Failed to read layer input: %s", strerror(-r));
                return -1;
        }
        *ret_buf = d->buffer;
        return (la_ssize_t) n;
}

static int fail_output(LayerDecompressor *d, int error)
{
        /* -ENOBUFS: decompressing on one thread, the stream outgrew the ring; the caller starts over with
         * the thread. */
        return error == -ENOBUFS ? error : fail(d, error, "Out of memory");
}

/* The decompressed stream's next bytes, made in the chunk stream_ring_get() gave: counted against the
 * limit, queued for the diff_id and the reader. */
static int output_chunk(LayerDecompressor *d, size_t size)
{
        if (size == 0)
                return 0;
        d->uncompressed_size += size;
        /* Counted on the decompressed stream itself, so zeros after the tar's end count too. */
        if (d->uncompressed_size > d->max_size)
                return fail(d, -EFBIG,
                            "Layer is larger than %" PRIu64 " MiB uncompressed, the limit (MaxLayerSize= "
                            "in berth.conf)",
                            d->max_size >> 20);
        stream_ring_put(d->stream, size);
        return 0;
}

/* A block libarchive decoded, in its own buffer: copied into chunks. */
static int output_block(LayerDecompressor *d, const void *block, size_t size)
{
        const uint8_t *p = block;

        while (size > 0) {
                size_t n = MIN(size, (size_t) OUTPUT_BUFFER_SIZE);
                uint8_t *chunk;
                int r;

                r = stream_ring_get(d->stream, &chunk);
                if (r < 0)
                        return fail_output(d, r);
                memcpy(chunk, p, n);
                r = output_chunk(d, n);
                if (r < 0)
                        return r;
                p += n;
                size -= n;
        }
        return 0;
}

#if HAVE_ISAL
static const char *isal_strerror(int r)
{
        switch (r) {
        case ISAL_INVALID_BLOCK:
                return "invalid deflate block";
        case ISAL_INVALID_SYMBOL:
                return "invalid deflate symbol";
        case ISAL_INVALID_LOOKBACK:
                return "invalid lookback distance";
        case ISAL_INVALID_WRAPPER:
                return "invalid gzip header";
        case ISAL_UNSUPPORTED_METHOD:
                return "unsupported compression method";
        case ISAL_INCORRECT_CHECKSUM:
                return "gzip checksum or length mismatch";
        default:
                return "inflate error";
        }
}

/* Until at least want bytes of input are at d->buffer's start (or the input ended): the unread ones are
 * moved there and more read after them. */
static int fill_input(LayerDecompressor *d, struct inflate_state *st, size_t want, bool *eof)
{
        while (st->avail_in < want && !*eof) {
                size_t n;
                int r;

                memmove(d->buffer, st->next_in, st->avail_in);
                st->next_in = d->buffer;
                r = read_input_at(d, st->avail_in, &n);
                if (r < 0)
                        return fail(d, r, "Failed to read layer input: %s", strerror(-r));
                *eof = n == 0;
                st->avail_in += (uint32_t) n;
        }
        return 0;
}

static bool is_gzip(const uint8_t *p, size_t size)
{
        return size >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static bool is_compressed(const uint8_t *p, size_t size)
{
        static const uint8_t zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };

        return is_gzip(p, size) || (size >= sizeof(zstd) && memcmp(p, zstd, sizeof(zstd)) == 0);
}

/* gzip with ISA-L: d->buffer holds the first have bytes. Members one after the other are one stream, as
 * for gzip(1) and libarchive; what follows the last member is not decompressed (it is hashed, though). */
static int inflate_isal(LayerDecompressor *d, size_t have)
{
        _cleanup_free_ struct inflate_state *st = malloc(sizeof(struct inflate_state));
        bool eof = false;
        int r;

        if (!st)
                return fail(d, -ENOMEM, "Out of memory");
        isal_inflate_init(st);
        st->crc_flag = ISAL_GZIP;
        st->next_in = d->buffer;
        st->avail_in = (uint32_t) have;

        for (;;) {
                uint8_t *out; /* inflated into directly: no copy */
                size_t produced;

                r = stream_ring_get(d->stream, &out);
                if (r < 0)
                        return fail_output(d, r);
                if (st->avail_in == 0) {
                        r = fill_input(d, st, 1, &eof);
                        if (r < 0)
                                return r;
                }
                st->next_out = out;
                st->avail_out = OUTPUT_BUFFER_SIZE;
                r = isal_inflate(st);
                if (r < 0)
                        return fail(d, -EBADMSG, "Failed to decompress layer: %s", isal_strerror(r));
                produced = OUTPUT_BUFFER_SIZE - st->avail_out;
                /* libarchive's filters stack as long as one bids; here the check is explicit. */
                if (d->uncompressed_size == 0 && is_compressed(out, produced))
                        return fail(d, -EBADMSG, "Layer is compressed more than once");
                r = output_chunk(d, produced);
                if (r < 0)
                        return r;

                if (st->block_state == ISAL_BLOCK_FINISH) {
                        r = fill_input(d, st, 2, &eof);
                        if (r < 0)
                                return r;
                        if (!is_gzip(st->next_in, st->avail_in))
                                return 0;
                        uint8_t *next = st->next_in;
                        uint32_t avail = st->avail_in;
                        isal_inflate_reset(st);
                        st->crc_flag = ISAL_GZIP;
                        st->next_in = next;
                        st->avail_in = avail;
                        continue;
                }
                if (produced == 0 && st->avail_in == 0 && eof)
                        return fail(d, -EBADMSG, "Failed to decompress layer: truncated gzip stream");
        }
}
#endif

void layer_decompress_use_isal(bool b)
{
        use_isal = HAVE_ISAL && b;
}

bool layer_decompress_have_isal(void)
{
        return HAVE_ISAL;
}

static int decompress_libarchive(LayerDecompressor *d)
{
        _cleanup_(archive_read_freep) struct archive *raw = archive_read_new();
        struct archive_entry *entry;
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
                r = output_block(d, block, size);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int decompress(LayerDecompressor *d)
{
        size_t have = 0, n;
        int r;

        /* The first bytes choose the decoder (libarchive gets them as its first read). */
        do {
                r = read_input_at(d, have, &n);
                if (r < 0)
                        return fail(d, r, "Failed to read layer input: %s", strerror(-r));
                have += n;
        } while (n > 0 && have < 2);
#if HAVE_ISAL
        if (use_isal && is_gzip(d->buffer, have))
                r = inflate_isal(d, have);
        else
#endif
        {
                d->pending = have;
                r = decompress_libarchive(d);
        }
        if (r < 0)
                return r;

        /* What follows the compressed stream belongs to the blob digest too. */
        do {
                r = read_input(d, &n);
                if (r < 0)
                        return fail(d, r, "Failed to read layer input: %s", strerror(-r));
        } while (n > 0);
        return 0;
}

static void decompress_all(LayerDecompressor *d)
{
        d->error = decompress(d);
        /* libarchive's decoders report a stopped input as their own kind of error ("truncated input"). */
        if (d->error < 0 && d->cancelled)
                d->error = -ECANCELED;
        stream_ring_end(d->stream); /* the tar reader's EOF */
}

static void *decompress_thread(void *userdata)
{
        decompress_all(userdata);
        return NULL;
}

static LayerDecompressor *decompressor_free(LayerDecompressor *d)
{
        if (!d)
                return NULL;
        safe_close(d->stop_fd);
        free(d->head);
        free(d->buffer);
        EVP_MD_CTX_free(d->blob_ctx);
        stream_ring_free(d->stream);
        free(d);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(LayerDecompressor *, decompressor_free);

/* The blob's first bytes, at most max: *ret_whole when the input ended within them. */
static int read_head(int fd, size_t max, uint8_t **ret, size_t *ret_size, bool *ret_whole)
{
        _cleanup_free_ uint8_t *head = malloc(max + 1);
        size_t size = 0;

        if (!head)
                return -ENOMEM;
        *ret_whole = false;
        while (size <= max) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n = read(fd, head + size, max + 1 - size);

                if (n == 0) {
                        *ret_whole = true;
                        break;
                }
                if (n > 0)
                        size += (size_t) n;
                else if (errno == EAGAIN) {
                        if (poll(&p, 1, -1) < 0 && errno != EINTR)
                                return negative_errno();
                } else if (errno != EINTR)
                        return negative_errno();
        }
        *ret = TAKE_PTR(head);
        *ret_size = size;
        return 0;
}

/* head: the blob's first head_size bytes, already read from input_fd; taken. */
static int decompressor_new(int input_fd, uint64_t max_size, uint8_t **head, size_t head_size,
                            StreamRingFlags flags, LayerDecompressor **ret)
{
        _cleanup_(decompressor_freep) LayerDecompressor *d = NULL;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->input_fd = input_fd;
        d->head = TAKE_PTR(*head);
        d->head_size = head_size;
        d->max_size = max_size;
        d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->stop_fd < 0)
                return negative_errno();
        d->buffer = malloc(INPUT_BUFFER_SIZE);
        d->blob_ctx = EVP_MD_CTX_new();
        if (!d->buffer || !d->blob_ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(d->blob_ctx, sha256_md(), NULL) != 1)
                return -EIO;
        r = stream_ring_new(OUTPUT_BUFFER_SIZE, flags, &d->stream);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

int layer_decompressor_start(int input_fd, uint64_t max_size, LayerDecompressor **ret)
{
        _cleanup_(decompressor_freep) LayerDecompressor *d = NULL;
        _cleanup_free_ uint8_t *head = NULL;
        size_t head_size = 0;
        bool whole = false;
        int r;

        if (one_thread_input_max > 0) {
                r = read_head(input_fd, one_thread_input_max, &head, &head_size, &whole);
                if (r < 0)
                        return r;
        }
        if (whole) {
                /* A thread costs more than such a blob takes to decompress, mostly in page faults: its
                 * stack, and each copy-on-write fault after it started flushes the TLB on both CPUs. */
                r = decompressor_new(input_fd, max_size, &head, head_size,
                                     STREAM_RING_READER | STREAM_RING_ONE_THREAD, &d);
                if (r < 0)
                        return r;
                decompress_all(d);
                if (d->error != -ENOBUFS) {
                        *ret = TAKE_PTR(d);
                        return 0;
                }
                /* More than the ring holds (16 MiB) from so few bytes: again from the start, with the
                 * thread. */
                head = TAKE_PTR(d->head);
                d = decompressor_free(d);
        }

        r = decompressor_new(input_fd, max_size, &head, head_size, STREAM_RING_READER, &d);
        if (r < 0)
                return r;
        r = helper_thread_start(&d->thread, 0, decompress_thread, d);
        if (r < 0)
                return r;
        d->threaded = true;
        *ret = TAKE_PTR(d);
        return 0;
}

void layer_decompress_set_one_thread_max(size_t max)
{
        one_thread_input_max = max;
}

size_t layer_decompressor_read(LayerDecompressor *d, const uint8_t **ret)
{
        return stream_ring_read(d->stream, ret);
}

void layer_decompress_prepare(void)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        if (ctx)
                (void) EVP_DigestInit_ex(ctx, sha256_md(), NULL);
        EVP_MD_CTX_free(ctx);
}

void layer_decompressor_cancel(LayerDecompressor *d)
{
        uint64_t one = 1;

        (void) !write(d->stop_fd, &one, sizeof(one));
        stream_ring_close_reader(d->stream);
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

        /* Done reading: the thread hashes the rest of the stream without passing it on. */
        stream_ring_close_reader(d->stream);
        r = d->threaded ? -pthread_join(d->thread, NULL) : 0;
        if (r < 0)
                return r;
        if (d->error < 0) {
                snprintf(message, LAYER_MESSAGE_MAX, "%s", d->message);
                return d->error;
        }
        digest_to_string(d->blob_ctx, ret->blob_digest);
        _Static_assert(sizeof(ret->diff_id) >= SHA256_DIGEST_STRING_SIZE, "diff_id holds a digest string");
        r = stream_ring_finish(d->stream, ret->diff_id);
        if (r < 0) {
                snprintf(message, LAYER_MESSAGE_MAX, "sha256 of the decompressed layer failed");
                return r;
        }
        ret->compressed_size = d->compressed_size;
        ret->uncompressed_size = d->uncompressed_size;
        return 0;
}
