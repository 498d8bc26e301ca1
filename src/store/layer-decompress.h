/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/layer-extract.h"

#define LAYER_MESSAGE_MAX 256

/* The first half of a layer's extraction, on a thread of its own: read the blob from input_fd to EOF,
 * hash it (blob digest), undo its compression (gzip, zstd or none, detected from the bytes), hash the
 * result (diff_id) and hand it to the caller in chunks (layer_decompressor_read()). The caller parses the
 * tar from them at the same time, so inflating and hashing overlap with writing files on the other CPU.
 * The thread drains input_fd to EOF even after the tar has ended: Docker hashes trailing bytes too.
 *
 * A blob of at most 64 KiB (most layers of a many-layer image) is decompressed without the thread, all of
 * it, by layer_decompressor_start(), and the caller then reads it from memory: the thread would cost more
 * than it saves. Should it decompress to more than 16 MiB, the start begins again with the thread. */
typedef struct LayerDecompressor LayerDecompressor;

/* Which inflate gzip layers get: ISA-L's when built with it (the default), or zlib's through libarchive
 * (false). For the unit tests, which check both. */
void layer_decompress_use_isal(bool b);
bool layer_decompress_have_isal(void);

/* Blobs of at most max bytes are decompressed on the caller's thread (64 KiB; 0: never). For the unit tests,
 * which check both ways. */
void layer_decompress_set_one_thread_max(size_t max);

/* For a process that forks many decompressing children from a state of its own (the fork server): sets up
 * OpenSSL's default context and its sha256 once, which each child would otherwise do again (config file,
 * provider, method store: the largest part of a tiny layer's user time in the child). */
void layer_decompress_prepare(void);

/* Starts the thread, or for a small blob decompresses it. A stream longer than max_size bytes (UINT64_MAX:
 * no limit) fails with -EFBIG as soon as it gets there. */
int layer_decompressor_start(int input_fd, uint64_t max_size, LayerDecompressor **ret);

/* The next bytes of the decompressed stream, in place: valid until the next call (or the finish). Their
 * size; 0 at the end of the stream, and when the thread failed (the finish says why). */
size_t layer_decompressor_read(LayerDecompressor *d, const uint8_t **ret);

/* The reader gave up: the thread stops at its next read of the input instead of draining it. */
void layer_decompressor_cancel(LayerDecompressor *d);

/* Joins the thread (if any) and frees d: what the caller did not read is still hashed. 0 with both digests
 * and sizes in *ret, or the thread's negative errno with its message in message[]. */
int layer_decompressor_finish(LayerDecompressor *d, char message[static LAYER_MESSAGE_MAX],
                              LayerExtractResult *ret);
