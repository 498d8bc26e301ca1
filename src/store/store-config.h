/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Store settings, from the [Store] section of /etc/berth/berth.conf (see berth.conf(5)):
 *
 *   [Store]
 *   MaxLayerSize=64G          # bytes of one layer's uncompressed tar stream; K, M, G, T (base 1024) or
 * infinity MaxLayerEntries=10000000  # entries (files, dirs, links, whiteouts) of one layer, or infinity
 *
 * Both bound what a registry can make berthd write for one layer: a small gzip can expand a thousandfold
 * (a tar bomb), and a layer of empty files costs inodes and time but no bytes. */

#define STORE_MAX_LAYER_SIZE_DEFAULT    (UINT64_C(64) << 30)
#define STORE_MAX_LAYER_ENTRIES_DEFAULT UINT64_C(10000000)

typedef struct StoreConfig {
        uint64_t max_layer_size;    /* UINT64_MAX: no limit */
        uint64_t max_layer_entries; /* UINT64_MAX: no limit */
} StoreConfig;

#define STORE_CONFIG_DEFAULTS                                                                               \
        ((StoreConfig){ .max_layer_size = STORE_MAX_LAYER_SIZE_DEFAULT,                                     \
                        .max_layer_entries = STORE_MAX_LAYER_ENTRIES_DEFAULT })

/* path: a key file. A missing file or section gives the defaults; -EBADMSG for a file that is not a key
 * file, -EINVAL for a bad value (logged at debug level with the key). */
int store_config_load(const char *path, StoreConfig *ret);

/* "1048576", "64M", "1.5G", "infinity" → bytes (UINT64_MAX for infinity). K/M/G/T are powers of 1024. */
int store_parse_size(const char *s, uint64_t *ret);
