/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Docker's copy-up of a new volume: what the image has at the mount point (src_fd, a directory opened in
 * the container's root) is copied into the empty volume directory (dst_fd): directories, regular files,
 * symlinks, device nodes, fifos and sockets, with owner, mode and times; no symlink is followed on either
 * side. Hard links become separate files. Does nothing when dst_fd already holds anything. */
int copy_up(int src_fd, int dst_fd);
