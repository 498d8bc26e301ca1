/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "shared/error.h"
#include "shared/macro.h"
#include "store/layer-store.h"

/* Exact layer tars. A layer's diff id is the sha256 of the uncompressed tar it was extracted from; save and
 * push must hand out those very bytes, yet the store keeps only the extracted tree. So extraction records,
 * next to diff/, what it needs to rebuild the stream byte for byte without a second copy of the contents
 * (tar-split's idea):
 *
 *   <root>/<chainhex>/tar-split.zst   zstd of a sequence of records:
 *       'R' u64le n, n bytes          raw bytes of the stream: headers (ustar, pax, GNU long names, sparse
 *                                     maps), padding, the end-of-archive blocks, trailing bytes, and the
 *                                     contents of every entry that is not a regular file in diff/
 *       'F' u16le n, n bytes (path), u64le offset, u64le length
 *                                     length bytes of the regular file diff/<path> from offset: the elided
 *                                     contents (a sparse file's stored segments, each at its own offset)
 *       'E'                           the end: a record without it is truncated
 *   after the magic "berth-tar-split 1\n".
 *
 * The record is written by the extraction child into the layer's temp dir and so committed with the layer by
 * the same rename. Whiteouts need nothing special: their original ".wh." headers are raw bytes of the
 * record, whatever the store made of them on disk. A tar naming one regular file twice (a later entry
 * replacing an earlier one) cannot be rebuilt exactly: the rebuilt stream then has another digest, which is
 * why callers hash what layer_tar_write() gives them. */

#define LAYER_TAR_RECORD_FILE "tar-split.zst"

/* Writes layer chain_id's uncompressed tar to out_fd: the very bytes it was extracted from, so their sha256
 * is its diff id. -ENODATA when the store keeps no record for it (a layer extracted before this change). */
int layer_tar_write(LayerStore *s, const char *chain_id, int out_fd, BerthError *e);

/* The same stream handed to sink in pieces (sink returns a negative errno to stop), and its length from
 * the record alone, without reading diff/. */
typedef int (*LayerTarSink)(const void *data, size_t size, void *userdata);
int layer_tar_stream(LayerStore *s, const char *chain_id, LayerTarSink sink, void *userdata, BerthError *e);
int layer_tar_size(LayerStore *s, const char *chain_id, uint64_t *ret, BerthError *e);

/* Creates <root>/<tmp_name>/tar-split.zst (tmp_name from layer_store_begin()) for the extraction child to
 * write: pass the fd to layer_extract_spawn_recorded(). */
int layer_tar_record_create(LayerStore *s, const char *tmp_name, int *ret_fd);

/* The recording side, used inside the extraction child (layer-extract.c). The tar reader's input is fed
 * in as it is read (feed), the content of regular files is announced as the reader hands it out, with its
 * position in the stream (content), and finish() flushes what is left. Everything fed and not announced is
 * stored raw. */
typedef struct LayerTarRecorder LayerTarRecorder;

int layer_tar_recorder_new(int fd, LayerTarRecorder **ret);
LayerTarRecorder *layer_tar_recorder_free(LayerTarRecorder *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(LayerTarRecorder *, layer_tar_recorder_free);
int layer_tar_recorder_feed(LayerTarRecorder *r, const void *buf, size_t size);
int layer_tar_recorder_content(LayerTarRecorder *r, uint64_t stream_offset, const char *path,
                               uint64_t file_offset, uint64_t length);
/* Writes out as raw what lies before stream_offset, the reader's position: no content can be announced
 * there any more. Keeps the buffer small when the reader skips large entries it does not extract. */
int layer_tar_recorder_flush_to(LayerTarRecorder *r, uint64_t stream_offset);
int layer_tar_recorder_finish(LayerTarRecorder *r);
