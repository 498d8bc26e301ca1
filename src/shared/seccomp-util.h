/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <seccomp.h>
#include <stddef.h>

#include "shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

/* ctx compiled to the BPF program the kernel loads (an array of struct sock_filter, malloc'd): *ret_size is
 * a whole number of instructions, at most BPF_MAXINSNS of them. libseccomp 2.5 (Debian 12's) exports only to
 * an fd, so this goes through a memfd. Negative errno. */
int seccomp_export_bpf_buffer(scmp_filter_ctx ctx, void **ret, size_t *ret_size);
