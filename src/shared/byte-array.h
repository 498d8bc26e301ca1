/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "shared/macro.h"

/* Growable byte and pointer arrays in plain libc, for berth-monitor (which has no GLib): the subset of
 * GByteArray and GPtrArray it used, with the same member names. As GLib's, running out of memory aborts:
 * the monitor's queues are bounded by their callers. */
typedef struct ByteArray {
        uint8_t *data;
        size_t len;
        size_t allocated;
} ByteArray;

ByteArray *byte_array_new(void);
ByteArray *byte_array_unref(ByteArray *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(ByteArray *, byte_array_unref);
void byte_array_append(ByteArray *a, const void *data, size_t size);
/* Drops size bytes from index on, moving the rest down. */
void byte_array_remove_range(ByteArray *a, size_t index, size_t size);
/* Only shrinks or grows the length; grown bytes are zero. */
void byte_array_set_size(ByteArray *a, size_t size);

typedef void (*PtrArrayFree)(void *p);
typedef struct PtrArray {
        void **pdata;
        size_t len;
        size_t allocated;
        PtrArrayFree free_func;
} PtrArray;

PtrArray *ptr_array_new_with_free_func(PtrArrayFree free_func);
/* Frees every element with the free function, then the array. */
PtrArray *ptr_array_unref(PtrArray *a);
void ptr_array_add(PtrArray *a, void *p);
/* Removes (and frees) the first occurrence of p, keeping the order; false when p is not there. */
bool ptr_array_remove(PtrArray *a, void *p);
bool ptr_array_find(const PtrArray *a, const void *p, size_t *ret_index);
/* Shrinking frees the dropped elements. */
void ptr_array_set_size(PtrArray *a, size_t size);
