/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pthread.h>
#include <stddef.h>

/* A helper thread for one job (decompressing, hashing, writeback): every signal blocked, so that they stay
 * the business of the thread that started it (and a write to a closed pipe is EPIPE, not the end of the
 * process), and a stack of stack_size bytes (0: the default), because in a confined child its memory counts
 * against an address-space limit. Negative errno. */
int helper_thread_start(pthread_t *ret, size_t stack_size, void *(*fn)(void *), void *userdata);
