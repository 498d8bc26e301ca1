/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "shared/error.h"

/* The reverse of layer extraction: an overlay upper dir (a container's writable layer) written as an
 * uncompressed OCI layer tar, whiteouts turned back into their tar form:
 *   a 0/0 character device NAME              → an empty regular file ".wh.NAME" (mode 0600, NAME's owner)
 *   a directory with trusted.overlay.opaque=y → the directory, then an empty ".wh..wh..opq" inside it
 * Other trusted.overlay.* xattrs (origin, impure, nlink…) are overlay's bookkeeping and are dropped; every
 * other xattr (security.capability, user.*…) is kept, as are owners, modes, mtimes, symlinks, devices,
 * fifos and hardlinks (within the layer). Sockets cannot be in a tar and are skipped. A redirect or
 * metacopy xattr means the upper dir alone does not hold the content (redirect_dir/metacopy mounts):
 * refused with -EOPNOTSUPP rather than written as a wrong layer.
 *
 * Entries are written in name order, each directory before its contents, without the root itself, and
 * without atime/ctime, so the same tree gives the same bytes (and the same diff_id). The stream ends right
 * after the end-of-archive marker, as Go's archive/tar (Docker) writes it: an empty upper dir gives
 * Docker's well-known empty layer, 1024 zero bytes. */

/* Writes the tree under dir_fd to output_fd (blocking writes). Reads the whole tree: call it in a child
 * process from the daemon. On failure *err (when not NULL) gets the errno and a short description. */
int layer_diff_write(int dir_fd, int output_fd, BerthError *err);

/* For tests: called between the stat of a regular file or directory and its open, so that a test can swap
 * it there (the race a running container can run against its commit). NULL otherwise. */
extern void (*layer_diff_before_open_hook)(int dir_fd, const char *name);
