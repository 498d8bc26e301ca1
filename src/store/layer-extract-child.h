/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The extraction child's side of layer-extract.c, for the fork server (fork-server.h), which makes these
 * children for the daemon. */

/* The limits of layer_extract_set_limits(), to hand to a child made by another process. */
void layer_extract_get_limits(uint64_t *ret_max_size, uint64_t *ret_max_entries);

/* Once, in a process that will fork many extraction children from its own state: what each child would
 * otherwise set up again (the seccomp filter as BPF, OpenSSL's sha256, the UTF-8 locale). */
void layer_extract_child_prepare(void);

/* In a new child whose parent is `parent`, with every signal at its default and none blocked (a child of the
 * daemon resets them first, reset_signals()): confines itself, extracts input_fd into dest_dir_fd (recording
 * into record_fd unless -EBADF), writes its report to result_fd and exits. */
_Noreturn void layer_extract_child_main(int input_fd, int dest_dir_fd, int result_fd, int record_fd,
                                        bool sync, pid_t parent);
