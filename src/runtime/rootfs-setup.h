/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runtime/child-error.h"
#include "runtime/run-spec.h"

/* The monitor's part, before berthd's go: a mount namespace of its own, with the container's overlay mounted
 * on spec->rootfs, made while systemd still makes the scope (mounting the overlay was the longest single
 * step of a start after the go). The child is cloned from it (container-spawn.h). */
int rootfs_prepare(const RunSpec *spec, ChildError *e);

/* The container child's mount work, in its own (new) mount namespace copied from rootfs_prepare()'s, as root
 * on the host: rootfs_setup() makes / rprivate, then mounts /proc, /sys, /dev (dev-setup.h) and the
 * read-only /etc/hostname, /etc/hosts, /etc/resolv.conf binds on the overlay; rootfs_pivot() then makes it
 * the root and drops the host's. Everything happens in private namespaces: nothing is ever visible on the
 * host, and nothing needs unmounting when the container ends. */
int rootfs_setup(const RunSpec *spec, int *ret_root_fd, ChildError *e);
int rootfs_pivot(int root_fd, ChildError *e);

/* The overlay of layers_dir/lowerdir, upperdir and workdir on spec->rootfs alone, in the caller's mount
 * namespace (cp of a stopped container mounts it in a private one). */
int rootfs_mount_overlay(const RunSpec *spec, ChildError *e);
