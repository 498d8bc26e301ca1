/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>

#include "shared/byte-array.h"

static void *grow(void *p, size_t *allocated, size_t need, size_t elem)
{
        size_t n = MAX(*allocated, (size_t) 16);

        if (need <= *allocated)
                return p;
        while (n < need)
                n *= 2;
        p = reallocarray(p, n, elem);
        if (!p)
                abort(); /* as GLib's arrays */
        *allocated = n;
        return p;
}

ByteArray *byte_array_new(void)
{
        ByteArray *a = calloc(1, sizeof(ByteArray));

        if (!a)
                abort();
        return a;
}

ByteArray *byte_array_unref(ByteArray *a)
{
        if (a)
                free(a->data);
        return mfree(a);
}

void byte_array_append(ByteArray *a, const void *data, size_t size)
{
        if (size == 0)
                return;
        a->data = grow(a->data, &a->allocated, a->len + size, 1);
        memcpy(a->data + a->len, data, size);
        a->len += size;
}

void byte_array_remove_range(ByteArray *a, size_t index, size_t size)
{
        if (index > a->len || size > a->len - index)
                abort();
        memmove(a->data + index, a->data + index + size, a->len - index - size);
        a->len -= size;
}

void byte_array_set_size(ByteArray *a, size_t size)
{
        if (size > a->len) {
                a->data = grow(a->data, &a->allocated, size, 1);
                memset(a->data + a->len, 0, size - a->len);
        }
        a->len = size;
}

PtrArray *ptr_array_new_with_free_func(PtrArrayFree free_func)
{
        PtrArray *a = calloc(1, sizeof(PtrArray));

        if (!a)
                abort();
        a->free_func = free_func;
        return a;
}

PtrArray *ptr_array_unref(PtrArray *a)
{
        if (!a)
                return NULL;
        ptr_array_set_size(a, 0);
        free(a->pdata);
        return mfree(a);
}

void ptr_array_add(PtrArray *a, void *p)
{
        a->pdata = grow(a->pdata, &a->allocated, a->len + 1, sizeof(void *));
        a->pdata[a->len++] = p;
}

bool ptr_array_find(const PtrArray *a, const void *p, size_t *ret_index)
{
        for (size_t i = 0; i < a->len; i++)
                if (a->pdata[i] == p) {
                        if (ret_index)
                                *ret_index = i;
                        return true;
                }
        return false;
}

bool ptr_array_remove(PtrArray *a, void *p)
{
        size_t i;

        if (!ptr_array_find(a, p, &i))
                return false;
        memmove(a->pdata + i, a->pdata + i + 1, (a->len - i - 1) * sizeof(void *));
        a->len--;
        if (a->free_func)
                a->free_func(p);
        return true;
}

void ptr_array_set_size(PtrArray *a, size_t size)
{
        if (size > a->len) {
                a->pdata = grow(a->pdata, &a->allocated, size, sizeof(void *));
                memset(a->pdata + a->len, 0, (size - a->len) * sizeof(void *));
                a->len = size;
                return;
        }
        /* Element by element from the end, so that a free function that looks at the array sees it
         * consistent. */
        while (a->len > size) {
                void *p = a->pdata[--a->len];
                if (a->free_func && p)
                        a->free_func(p);
        }
}
