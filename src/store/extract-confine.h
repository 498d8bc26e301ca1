/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* What confines the layer-extraction child beyond its chroot (layer-extract.c). It runs as root on hostile
 * input, so after the chroot it keeps only what writing a layer needs:
 *   - capabilities: CAP_CHOWN (owners), CAP_DAC_OVERRIDE (writing under dirs the layer made read-only),
 *     CAP_FOWNER (modes, times and xattrs of files it chowned away), CAP_FSETID (set-id bits on those),
 *     CAP_MKNOD (whiteouts are 0/0 character devices; device entries), CAP_SETFCAP (security.capability
 *     xattrs) and CAP_SYS_ADMIN, for trusted.overlay.opaque only: overlay reads the opaque mark from the
 *     trusted namespace. Everything else goes from the effective, permitted, inheritable, ambient and
 *     bounding sets: above all CAP_SYS_CHROOT and CAP_DAC_READ_SEARCH, either of which leads out of a
 * chroot.
 *   - no_new_privs, and a seccomp allow-list of the file, memory and thread calls extraction makes; what
 *     CAP_SYS_ADMIN could otherwise reach (mount, setns, unshare, open_by_handle_at, bpf, ioctl, keyctl…),
 *     sockets, exec and ptrace answer EPERM.
 *   - an address-space limit (RLIMIT_AS) of what the process had at fork plus EXTRACT_MEMORY_MAX: a
 *     decompression or tar bomb, or a bug in one of the libraries, cannot take the host's memory.
 * This seccomp filter is the second libseccomp user besides runtime/seccomp-profile.c; it lives here, beside
 * its only caller, because store/ must not depend on runtime/. */

#define EXTRACT_MEMORY_MAX (UINT64_C(512) << 20)

/* The capabilities kept, as a mask of 1 << CAP_x. */
uint64_t extract_confine_caps(void);

/* In the parent, before it forks extraction children: compiles the seccomp filter once, for every child it
 * forks later (a child compiles its own when this was not called or failed). extract_confine_prepared() says
 * whether it is ready. */
void extract_confine_prepare(void);
bool extract_confine_prepared(void);

/* In the fork server, once: extract_confine_prepare(), and what each child would otherwise do again, which
 * holds as long as the server neither execs nor grows much: its capability bounding set is reduced to the
 * children's, and its size (for the children's RLIMIT_AS) is taken now. What fails, each child does itself.
 */
void extract_confine_prepare_server(void);

/* Before the chroot (it reads /proc/self/statm, unless extract_confine_prepare_server() took the size). */
int extract_confine_memory(void);

/* After the chroot, before the decompressing thread starts (threads inherit the filter only when made after
 * it): drops capabilities, sets no_new_privs, loads the seccomp filter. */
int extract_confine(void);
