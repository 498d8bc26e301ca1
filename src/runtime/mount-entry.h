/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* One container mount, parsed from Docker's three spellings: --mount's "key=value,…" list (type, source/src,
 * target/dst/destination, readonly/ro, volume-nocopy, bind-create-src, tmpfs-size, tmpfs-mode), -v's
 * "SOURCE:TARGET[:OPTIONS]" (OPTIONS a comma list of ro, rw, nocopy) or "TARGET"
 * (an anonymous volume), and --tmpfs's "TARGET[:size=…,mode=…]". The canonical form is the --mount string
 * (mount_entry_format()), stored in the container's record and carried by the run spec, where a volume's
 * source is already its host directory. Pure: no I/O. */
typedef enum MountType {
        MOUNT_TYPE_VOLUME,
        MOUNT_TYPE_BIND,
        MOUNT_TYPE_TMPFS,
        _MOUNT_TYPE_MAX,
} MountType;

typedef struct MountEntry {
        MountType type;
        char *source; /* volume name (NULL: anonymous), absolute host path for a bind, NULL for tmpfs */
        char *target; /* absolute, normalised, not "/" */
        bool readonly;
        /* Docker's -v makes a missing host path of a bind as a directory; --mount refuses it unless
         * bind-create-src is given. Kept as "bind-create-src" in the canonical form. */
        bool bind_create_src;
        /* A new, empty volume is not filled with the image's content at its target (-v NAME:/p:nocopy,
         * --mount volume-nocopy). */
        bool volume_nocopy;
        uint64_t tmpfs_size; /* bytes, 0: the kernel's default */
        unsigned tmpfs_mode; /* permission bits, 01777 by default */
} MountEntry;

void mount_entry_done(MountEntry *m);

const char *mount_type_to_string(MountType t);

/* -EINVAL for anything Docker would refuse or berth does not do (an unknown key, a relative target). */
int mount_entry_parse_mount(const char *s, MountEntry *ret);
int mount_entry_parse_volume(const char *s, MountEntry *ret);
int mount_entry_parse_tmpfs(const char *s, MountEntry *ret);

char *mount_entry_format(const MountEntry *m);

/* Volume names as Docker allows them: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 characters. */
bool volume_name_is_valid(const char *name);
