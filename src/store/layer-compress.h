/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/sha256.h"
#include "shared/error.h"
#include "store/layer-store.h"

/* A layer compressed for push, as a stream: a child process writes the layer's uncompressed tar
 * (layer_tar_write(): the very bytes it was extracted from; for a layer the store keeps no such record, a
 * tar made from its diff/ as commit makes one, whose digest may differ from the image's diff id), hashes it,
 * compresses it and hashes the compressed bytes as it writes them to a pipe. Nothing is buffered whole:
 * the tar, the compressor and the upload run at once, bounded by the pipes. */

typedef enum LayerCompression {
        LAYER_COMPRESSION_GZIP, /* ISA-L igzip, level 1 */
        LAYER_COMPRESSION_ZSTD, /* libzstd, level 3 */
        _LAYER_COMPRESSION_MAX,
        _LAYER_COMPRESSION_INVALID = -EINVAL,
} LayerCompression;

const char *layer_compression_to_string(LayerCompression c);
LayerCompression layer_compression_from_string(const char *s);

typedef struct LayerCompressResult {
        char diff_id[SHA256_DIGEST_STRING_SIZE]; /* sha256 of the uncompressed tar */
        char digest[SHA256_DIGEST_STRING_SIZE];  /* sha256 of the compressed stream */
        uint64_t size;                           /* compressed bytes */
        bool exact;                              /* from the store's exact record, not remade from diff/ */
} LayerCompressResult;

/* Forks the child for layer chain_id of store s. *ret_output_fd (non-blocking) delivers the compressed
 * stream until EOF; *ret_result_fd (non-blocking) then holds the report for layer_compress_read_result(). */
int layer_compress_spawn(LayerStore *s, const char *chain_id, LayerCompression compression,
                         int *ret_output_fd, int *ret_result_fd, pid_t *ret_pid);
int layer_compress_read_result(int result_fd, BerthError *err, LayerCompressResult *ret);

/* The same in the calling process, blocking (tests, bench): the compressed stream to output_fd. */
int layer_compress_run(LayerStore *s, const char *chain_id, LayerCompression compression, int output_fd,
                       BerthError *err, LayerCompressResult *ret);
