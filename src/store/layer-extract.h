/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/error.h"

/* Extraction of one image layer blob (tar, tar+gzip or tar+zstd, detected from the bytes) into a directory,
 * with the overlay form of whiteouts, while computing both identities of the layer:
 *   blob_digest  sha256 of the bytes exactly as read (the manifest's layers[].digest);
 *   diff_id      sha256 of the whole uncompressed stream (the config's rootfs.diff_ids[]).
 * Neither is checked here: the caller compares them with what the manifest and config promise and only
 * then commits the directory into the layer store. */

#define LAYER_DIGEST_STRING_MAX (7 + 64 + 1) /* "sha256:" + 64 hex + NUL */

typedef struct LayerExtractResult {
        char blob_digest[LAYER_DIGEST_STRING_MAX];
        char diff_id[LAYER_DIGEST_STRING_MAX];
        uint64_t compressed_size;   /* bytes read from the input */
        uint64_t uncompressed_size; /* bytes of the decompressed tar stream */
} LayerExtractResult;

/* Limits on one layer, from berth.conf's [Store] (MaxLayerSize=, MaxLayerEntries=; UINT64_MAX: none). They
 * are process-wide: set once at start, before any extraction, and inherited by the extraction children. A
 * layer over either limit fails with -EFBIG as soon as it crosses it, while it streams in. */
void layer_extract_set_limits(uint64_t max_size, uint64_t max_entries);

/* dest_dir_fd is always an empty directory (layer_store_begin()'s): the check that no entry goes through a
 * symlink knows only the symlinks the layer itself made (layer-symlinks.h). */

/* Synchronous: forks a confined child that reads input_fd to EOF and extracts into dest_dir_fd, waits for it
 * and returns its result. Blocks; meant for tests and tools, not for the daemon's event loop. On failure
 * *err (when not NULL) receives the errno and a short description. */
int layer_extract(int input_fd, int dest_dir_fd, BerthError *err, LayerExtractResult *ret);

/* The work itself, in the calling process. It makes dest_dir_fd the process's root directory (chroot) so
 * that nothing it writes can land outside it, hence: call it only in a dedicated child process. */
int layer_extract_confined(int input_fd, int dest_dir_fd, BerthError *err, LayerExtractResult *ret);

/* Asynchronous: forks a confined child extracting into dest_dir_fd. *ret_input_fd is the write end of a pipe
 * (O_NONBLOCK|O_CLOEXEC) into which the caller feeds the blob's bytes as they arrive, closing it at the end;
 * *ret_result_fd (O_NONBLOCK|O_CLOEXEC) carries the child's report, to be read with
 * layer_extract_read_result() once the child has exited. The caller reaps *ret_pid (e.g. an sd-event child
 * source); to cancel, close the input fd and/or SIGKILL the child. A child that fails stops reading, so
 * later writes fail with EPIPE: the daemon must ignore SIGPIPE (the child resets it and all other signals).
 */
int layer_extract_spawn(int dest_dir_fd, int *ret_input_fd, int *ret_result_fd, pid_t *ret_pid);

/* The same, recording into record_fd (from layer_tar_record_create(), writable; -EBADF: do not record)
 * what is needed to rebuild the exact uncompressed tar later (layer-tar.h). Every layer that goes into the
 * store should be extracted this way. sync false leaves out the syncfs at the end, for a caller that makes
 * the tree durable itself, together with others (layer_store_prepare()). */
int layer_extract_spawn_recorded(int dest_dir_fd, int record_fd, bool sync, int *ret_input_fd,
                                 int *ret_result_fd, pid_t *ret_pid);
int layer_extract_recorded(int input_fd, int dest_dir_fd, int record_fd, BerthError *err,
                           LayerExtractResult *ret);

/* Reads the report of an exited child: 0 and *ret on success, or the child's negative errno (with its
 * message in *err when not NULL). -EPROTO if the child died without reporting, -EAGAIN if it
 * has not reported yet. */
int layer_extract_read_result(int result_fd, BerthError *err, LayerExtractResult *ret);

/* Blocking helper (tests, tools): waits for the child, then reads its report. */
int layer_extract_wait(pid_t pid, int result_fd, BerthError *err, LayerExtractResult *ret);

/* The pure part of the name policy (top of layer-extract.c), exposed for unit tests and the fuzzer. */
/* false for absolute names and names with a ".." component. */
bool layer_path_is_safe(const char *p);

typedef enum LayerEntryKind {
        LAYER_ENTRY_ORDINARY,
        LAYER_ENTRY_WHITEOUT,  /* "DIR/.wh.NAME": hides NAME in the lower layers */
        LAYER_ENTRY_OPAQUE,    /* "DIR/.wh..wh..opq": hides all of DIR in the lower layers */
        LAYER_ENTRY_AUFS_META, /* other "DIR/.wh..wh.*": dropped */
} LayerEntryKind;

/* Classifies an entry name (trailing slashes ignored). For WHITEOUT and OPAQUE, *ret_dir (optional) gets
 * DIR, "." at the top of the layer, and for WHITEOUT *ret_name (optional) gets NAME; both malloc'd, written
 * only for those kinds. -EBADMSG for the invalid whiteouts ".wh.", ".wh.." and ".wh...". Does not check
 * layer_path_is_safe(). */
int layer_entry_classify(const char *path, char **ret_dir, char **ret_name);
