/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "store/layer-extract.h"

#define LAYER_MESSAGE_MAX 256

/* The first half of a layer's extraction, on a thread of its own: read the blob from input_fd to EOF,
 * hash it (blob digest), undo its compression (gzip, zstd or none, detected from the bytes), hash the
 * result (diff_id) and write it into a pipe whose read end the caller gets. The caller parses the tar
 * from that end at the same time, so inflating and hashing overlap with writing files on the other CPU.
 * The thread drains input_fd to EOF even after the tar has ended: Docker hashes trailing bytes too. */
typedef struct LayerDecompressor LayerDecompressor;

/* Which inflate gzip layers get: ISA-L's when built with it (the default), or zlib's through libarchive
 * (false). For the unit tests, which check both. */
void layer_decompress_use_isal(bool b);
bool layer_decompress_have_isal(void);

/* For a process that forks many decompressing children from a state of its own (the fork server): sets up
 * OpenSSL's default context and its sha256 once, which each child would otherwise do again (config file,
 * provider, method store: the largest part of a tiny layer's user time in the child). */
void layer_decompress_prepare(void);

/* Starts the thread. *ret_stream_fd is the pipe's read end (O_CLOEXEC), owned by the caller. A stream
 * longer than max_size bytes (UINT64_MAX: no limit) fails with -EFBIG as soon as it gets there. */
int layer_decompressor_start(int input_fd, uint64_t max_size, LayerDecompressor **ret, int *ret_stream_fd);

/* The reader gave up: the thread stops at its next read or write instead of draining the input. */
void layer_decompressor_cancel(LayerDecompressor *d);

/* Joins the thread and frees d. 0 with both digests and sizes in *ret, or the thread's negative errno with
 * its message in message[]. Close (or drain) the stream fd first, or a thread blocked writing waits forever.
 */
int layer_decompressor_finish(LayerDecompressor *d, char message[static LAYER_MESSAGE_MAX],
                              LayerExtractResult *ret);
