/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "shared/macro.h"

/* An OCI platform: "linux/amd64", "linux/arm64/v8", "linux/arm/v7". Fields are owned strings; variant and
 * os_version may be NULL. */
typedef struct OciPlatform {
        char *os;
        char *architecture;
        char *variant;
        char *os_version;
} OciPlatform;

#define OCI_PLATFORM_NULL ((OciPlatform){})

/* Frees the fields, leaves the struct zeroed. */
void oci_platform_done(OciPlatform *p);

int oci_platform_copy(const OciPlatform *p, OciPlatform *ret);

/* Normalises the spellings Docker and containerd accept: "x86_64" → amd64, "aarch64" → arm64 (variant v8
 * by default; "8" → "v8"), "armhf" → arm/v7, "armel" → arm/v6, "arm" → arm/v7, "i686" → 386; amd64's
 * "v1" is dropped (it is the baseline). Lowercases everything. */
int oci_platform_normalize(const OciPlatform *p, OciPlatform *ret);

/* The platform of a uname(2) machine string on Linux: x86_64 → linux/amd64, aarch64 → linux/arm64/v8,
 * armv7l → linux/arm/v7, armv6l → linux/arm/v6, i686 → linux/386, ppc64le, s390x, riscv64, … Unknown
 * machines pass through lowercased. */
int oci_platform_from_machine(const char *machine, OciPlatform *ret);

/* The host's platform: $BERTH_PLATFORM ("os/arch[/variant]", for tests and cross pulls, like Docker's
 * DOCKER_DEFAULT_PLATFORM) if set, else uname(2). */
int oci_platform_host(OciPlatform *ret);

/* Parses "os/arch[/variant]" (or "arch" alone, meaning linux) and normalises it. */
int oci_platform_parse(const char *s, OciPlatform *ret);

/* "linux/arm64/v8" */
int oci_platform_to_string(const OciPlatform *p, char **ret);

/* Whether a (normalised) candidate runs on the (normalised) wanted platform, and how well: 0 is a perfect
 * match, larger is a worse fallback (arm/v7 on an arm/v8 host, amd64/v2 when amd64 is asked), -ENOENT means
 * it cannot run. This is containerd's platform matcher ordering. */
int oci_platform_match(const OciPlatform *want, const OciPlatform *have);
