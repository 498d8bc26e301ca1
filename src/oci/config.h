/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/error.h"
#include "shared/macro.h"

/* OCI / Docker image configuration (application/vnd.oci.image.config.v1+json,
 * application/vnd.docker.container.image.v1+json): the parts a runtime and `image inspect` need.
 * String lists are NULL-terminated; NULL means "absent", which is not the same as empty for Entrypoint
 * and Cmd. Timestamps are µs since the epoch, 0 when absent or before 1970. Errors as in manifest.h. */

/* Configs carry the history and can be bigger than manifests, but not by much. */
#define OCI_CONFIG_SIZE_MAX (8U * 1024U * 1024U)

typedef struct OciHistoryEntry {
        uint64_t created_usec;
        char *created_by;
        char *author;
        char *comment;
        bool empty_layer;
} OciHistoryEntry;

typedef struct OciImageConfig {
        char *architecture;
        char *os;
        char *variant;
        char *os_version;
        uint64_t created_usec;
        char *author;

        /* "config" */
        char *user;
        char **env; /* "KEY=value" */
        char **entrypoint;
        char **cmd;
        char *working_dir;
        char **labels;        /* key, value, key, value, … */
        char *stop_signal;    /* "SIGTERM", "15", … as written */
        char **exposed_ports; /* "80/tcp", … */
        char **volumes;       /* "/data", … */
        char **onbuild;       /* ONBUILD triggers as written ("RUN make") */
        char **shell;         /* SHELL, NULL for the default */
        /* HEALTHCHECK: Test (["NONE"] or ["CMD", …] / ["CMD-SHELL", "…"]), durations in ns, retries. */
        char **healthcheck_test;
        int64_t healthcheck_interval, healthcheck_timeout, healthcheck_start_period;
        int64_t healthcheck_retries;

        /* "rootfs" (type "layers") */
        char **diff_ids;

        OciHistoryEntry *history;
        size_t n_history;
} OciImageConfig;

int oci_image_config_parse(const void *data, size_t size, BerthError *err, OciImageConfig **ret);
OciImageConfig *oci_image_config_free(OciImageConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciImageConfig *, oci_image_config_free);

/* Serialises a config as an OCI image config (what commit writes). Compact JSON, NUL-terminated, *ret_size
 * without the NUL. The image id is the sha256 of exactly these bytes. */
int oci_image_config_to_json(const OciImageConfig *c, char **ret_json, size_t *ret_size);

size_t oci_image_config_n_diff_ids(const OciImageConfig *c);
/* Value of a label, or NULL. */
const char *oci_image_config_get_label(const OciImageConfig *c, const char *key);

/* ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)): the id of a stack of
 * layers, which the store names layers by. Returns a list as long as diff_ids (an empty list for none). */
int oci_chain_ids(char *const *diff_ids, char ***ret);

/* RFC 3339 ("2024-01-02T03:04:05.123456789Z", "…+02:00") → µs since the epoch; times before 1970 (Go's
 * zero time "0001-01-01T00:00:00Z") give 0. -EINVAL if unparsable. */
int oci_timestamp_parse(const char *s, uint64_t *ret);
/* µs since the epoch → "2024-01-02T03:04:05.123456Z" (fraction omitted when zero). */
int oci_timestamp_format(uint64_t usec, char **ret);
