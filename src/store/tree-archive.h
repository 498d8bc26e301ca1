/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "shared/error.h"

/* Tar streams of files and trees for cp (berthctl cp, org.berth1.Container.GetArchive/PutArchive), with
 * libarchive. Paths are the calling process's: berthd's child calls these chrooted into the container's
 * root (container-archive.c), berthctl on the host with the user's own paths. */

/* Writes a tar (pax) of path to out_fd: path itself named by its last component ("." for "/"), and below a
 * directory everything in it, symlinks as symlinks, with numeric owners, modes, times. */
int tree_archive_write(const char *path, int out_fd, BerthError *e);

/* Extracts the tar read from in_fd into the directory dir. rename, when not NULL, replaces the first
 * component of every entry's name (cp's "copy SRC as DEST"). owners: keep the archive's numeric owners (cp
 * -a), else the files belong to the extracting user. Modes and times are kept. Absolute names, ".."
 * components and symlinks on the way to an entry are refused (libarchive's SECURE flags). */
int tree_archive_extract(const char *dir, int in_fd, const char *rename, bool owners, BerthError *e);
