/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>

#include <archive.h>
#include <archive_entry.h>

#include "shared/macro.h"

/* What the store's libarchive users (layer extraction, decompression, layer diffs) share. */

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, archive_read_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, archive_write_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive_entry *, archive_entry_free);

static inline const char *archive_message(struct archive *a)
{
        return archive_error_string(a) ?: "truncated or corrupt data";
}

static inline int archive_error_to_errno(struct archive *a)
{
        int e = archive_errno(a);
        /* libarchive uses ARCHIVE_ERRNO_MISC (-1) and friends for format problems. */
        return e > 0 ? -e : -EBADMSG;
}
