/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "shared/macro.h"

/* Layers on disk in Docker's overlay2 shape, keyed by chain id (see layer-store.c for the layout):
 *
 *   <root>/<chainhex>/diff/     the extracted tree (an overlay lower dir)
 *   <root>/<chainhex>/link      its 26-character short id
 *   <root>/<chainhex>/lower     "l/<parent short>:l/<grandparent short>:…" (absent for a base layer)
 *   <root>/<chainhex>/diff-id   "sha256:<hex>"
 *   <root>/<chainhex>/parent    the parent's chain id (absent for a base layer)
 *   <root>/l/<short id>         -> ../<chainhex>/diff
 *   <root>/.tmp-XXXXXX/         layers being extracted
 *   <root>/.trash/              removed layers waiting to be deleted
 *
 * Chain ids and diff ids are passed as "sha256:<64 hex>". */

#define LAYER_SHORT_ID_LEN 26

typedef struct LayerStore LayerStore;

int layer_store_open(const char *path, LayerStore **ret);
LayerStore *layer_store_free(LayerStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(LayerStore *, layer_store_free);

/* The store's root directory: overlay mounts chdir here (or pass it to fsconfig) to use relative lowers. */
int layer_store_root_fd(LayerStore *s);
const char *layer_store_path(LayerStore *s);

/* 1 if a complete layer with this chain id exists, 0 if not, negative errno on error. */
int layer_store_has(LayerStore *s, const char *chain_id);

/* Makes <root>/.tmp-XXXXXX/diff to extract into. *ret_tmp_name is the ".tmp-XXXXXX" name, *ret_tmp_diff_fd
 * an O_DIRECTORY fd of its diff/. */
int layer_store_begin(LayerStore *s, char **ret_tmp_name, int *ret_tmp_diff_fd);

/* Turns a temp dir from layer_store_begin() into the layer chain_id, atomically: after a crash either
 * nothing or the complete layer is there. parent_chain_id is NULL for a base layer and must already be in
 * the store otherwise. Returns 0 when committed, 1 when the layer already existed (a concurrent pull won;
 * the temp dir is discarded), negative errno on error (the temp dir is left for the caller to abort). The
 * diff should already be synced (layer_extract() syncs it). */
int layer_store_commit(LayerStore *s, const char *tmp_name, const char *chain_id, const char *diff_id,
                       const char *parent_chain_id);

/* The same in three steps, for a pull that makes many layers durable at once instead of each on its own
 * (7 fsyncs and a syncfs per layer before): layer_store_prepare() writes the metadata and the short link
 * without syncing (1: the layer exists already, the temp dir is discarded); the caller then makes all of
 * them and their extracted trees durable with one syncfs (layer_store_sync_spawn(): a child that runs syncfs
 * on the store's filesystem and exits 0, or 1 if it failed); then layer_store_publish() renames each into
 * place, parents first (1: another pull won; ours is discarded); then, before anything refers to the layers,
 * layer_store_sync_root() makes the renames durable. A crash at any point leaves temp dirs and dangling
 * short links, which layer_store_cleanup_tmp() removes, or published layers that are complete on disk.
 * parent_tmp_name: the parent's temp dir while it is prepared in the same batch, else NULL. */
int layer_store_prepare(LayerStore *s, const char *tmp_name, const char *chain_id, const char *diff_id,
                        const char *parent_chain_id, const char *parent_tmp_name);
/* Undoes layer_store_prepare() but keeps the extracted tree: for a layer whose parent, prepared in the same
 * batch, lost to a concurrent pull at its publish (the lower file names the parent's discarded short link).
 * Prepare it again once the parent is in the store. */
int layer_store_unprepare(LayerStore *s, const char *tmp_name);
int layer_store_sync_spawn(LayerStore *s, pid_t *ret_pid);
int layer_store_publish(LayerStore *s, const char *tmp_name, const char *chain_id);
int layer_store_sync_root(LayerStore *s);

/* Deletes a temp dir from layer_store_begin() (and the short link of a prepared one). */
int layer_store_abort(LayerStore *s, const char *tmp_name);

/* For daemon start: removes leftover temp dirs and l/ links that point nowhere. */
int layer_store_cleanup_tmp(LayerStore *s);

/* Unlists a layer at once (rename into .trash/, drop its short link); its tree is deleted later, with every
 * other entry of the trash directory (layer_store_trash_fd()), by a child process: slow on big trees.
 * Checking that no image or container still uses the layer (or has it as parent) is the caller's job.
 * -ENOENT if absent. */
int layer_store_remove(LayerStore *s, const char *chain_id);
int layer_store_trash_fd(LayerStore *s);

/* The value of overlay's lowerdir= for a stack of layers, given base first (the order of an image's
 * rootfs.diff_ids): "l/<top>:…:l/<base>", topmost first as overlay wants, relative to the store root. */
int layer_store_lowerdir_option(LayerStore *s, char *const *chain_ids, size_t n, char **ret);

/* The short id of a layer ("l/" not included). */
int layer_store_get_link(LayerStore *s, const char *chain_id, char **ret);

/* Bytes allocated by a layer's diff tree (hardlinked inodes counted once). */
int layer_store_disk_usage(LayerStore *s, const char *chain_id, uint64_t *ret_bytes);
