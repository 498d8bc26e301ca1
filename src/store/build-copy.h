/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "oci/sha256.h"
#include "shared/error.h"

/* The files of a Dockerfile COPY or ADD, as a tar whose entries are named by their place in the image
 * ("app/main.c" for COPY . /app/), and the content digest the build cache keys such a step by. Both read
 * the calling process's root: the builder's child chroots into the unpacked context, or into a mounted
 * image for COPY --from, before it calls these, so symlinks and ".." resolve inside it and nothing outside
 * is read.
 *
 * Docker's rules: each source is a path or glob (Go's filepath.Match: '*' matches dot files too) relative
 * to the root; a directory stands for its contents; the destination is a directory when it ends with '/',
 * when there are several sources or when the source is a directory, otherwise the file's new name. A source
 * that leaves the root ("../x") is refused, as is one that matches nothing. Owners are 0:0 unless chown
 * says otherwise (numeric), modes are kept unless chmod; ADD extracts a local tar archive (plain or
 * compressed) at the destination, keeping the archive's owners. */
typedef struct BuildCopySpec {
        char **sources;
        const char *dest;        /* absolute, in the image */
        const char *instruction; /* "COPY" or "ADD", for messages */
        bool chown;
        uid_t uid;
        gid_t gid;
        bool chmod;
        mode_t mode;
        bool extract;
} BuildCopySpec;

/* Parses --chown's "UID[:GID]" (numbers, or "root"); -EINVAL for names, which berth cannot resolve. */
int build_copy_parse_chown(const char *s, uid_t *ret_uid, gid_t *ret_gid);
/* Parses --chmod's octal mode. */
int build_copy_parse_chmod(const char *s, mode_t *ret);

/* Writes the tar to out_fd (when >= 0; blocking writes) and returns the digest of what it holds: names,
 * types, modes, owners, link targets and bytes, not times. */
int build_copy_write(const BuildCopySpec *s, int out_fd, char ret_digest[static SHA256_DIGEST_STRING_SIZE],
                     BerthError *e);

/* berthctl's side: a build context directory as a tar, entries named relative to it ("src/main.c").
 * exclude (may be NULL) decides for each path: 0 keep, 1 leave out (a directory's contents are still
 * looked at), 2 leave out with everything below. extra_path, when not NULL, is added as extra_name (a
 * Dockerfile from outside the context, as Docker's client adds it). */
typedef int (*BuildContextFilter)(const char *path, bool is_dir, void *userdata);
int build_context_write(const char *dir, const char *extra_path, const char *extra_name,
                        BuildContextFilter exclude, void *userdata, int out_fd, BerthError *e);
