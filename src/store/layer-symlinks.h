/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "shared/macro.h"

/* The symlinks a layer has made so far, by name. A layer is extracted into an empty directory, so these are
 * the only symlinks any later entry of it could go through: checking a name against them refuses "a -> /etc"
 * then "a/passwd" as libarchive's ARCHIVE_EXTRACT_SECURE_SYMLINKS does, without its lstat of every
 * component of every name (7.5 openat and 6.6 fstatat per entry of the debian layer: 45 ms of its 455 ms of
 * CPU). Names are compared in libarchive's form: no "." components, no empty ones, no trailing "/". */
typedef struct LayerSymlinks LayerSymlinks;

LayerSymlinks *layer_symlinks_new(void);
LayerSymlinks *layer_symlinks_free(LayerSymlinks *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(LayerSymlinks *, layer_symlinks_free);

/* name in that form, malloc'd ("" for the layer's root). NULL when out of memory. */
char *layer_path_canonical(const char *name);

/* The length of the first directory on the way to the canonical name (its last component left out) that is a
 * symlink the layer made; 0 when there is none. Each prefix is looked up in place, by cutting the name at
 * its "/" for the lookup (no copy per component: this runs for every entry of every layer); the name is as
 * it was on return. */
size_t layer_symlinks_on_the_way(LayerSymlinks *s, char *canonical);

bool layer_symlinks_contains(LayerSymlinks *s, const char *canonical);

/* The entry at the canonical name is now a symlink (is_symlink), or something else (it replaced one). */
void layer_symlinks_set(LayerSymlinks *s, const char *canonical, bool is_symlink);
