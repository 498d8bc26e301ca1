/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "runtime/child-error.h"

/* Compiles Docker's default seccomp profile for a container holding the capabilities caps (a mask of
 * 1 << CAP_x), as the classic BPF program the kernel loads (an array of struct sock_filter). */
int seccomp_profile_compile(uint64_t caps, void **ret_bpf, size_t *ret_size);

/* berthd: the program for caps, for the run spec, compiled the first time a capability set is asked for and
 * kept (and owned) for the daemon's life. Fails (logged) if libseccomp failed. */
int seccomp_profile_get(uint64_t caps, const void **ret_bpf, size_t *ret_size);

/* The container child (seccomp-load.c, which needs no libseccomp): loads the program of size bytes from the
 * run spec; a spec without one fails, since berthd always ships it. Needs CAP_SYS_ADMIN or no_new_privs. */
int seccomp_profile_load(const void *bpf, size_t size, ChildError *e);
