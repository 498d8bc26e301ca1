/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "shared/error.h"
#include "shared/macro.h"

/* Image references in Docker's grammar, normalised as Docker's distribution/reference does:
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component ( "/" path-component )*
 *
 *   "debian"                       → docker.io/library/debian:latest
 *   "team/app"                     → docker.io/team/app:latest
 *   "127.0.0.1:5000/team/app:1.2"  → 127.0.0.1:5000/team/app:1.2
 *   "debian@sha256:…"              → docker.io/library/debian@sha256:…   (no tag added)
 *   "debian:12@sha256:…"           → both kept; the digest wins for fetching
 *
 * The first component is a domain only if it contains '.' or ':' or is "localhost"; "index.docker.io"
 * is the legacy spelling of "docker.io". Unlike Docker, a first component with uppercase letters is not
 * taken for a host name: "MyUser/app" is refused as not lowercase instead of sending a pull to host
 * "MyUser". Only docker.io gets the implicit "library/". */

#define REFERENCE_DEFAULT_DOMAIN        "docker.io"
#define REFERENCE_LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define REFERENCE_OFFICIAL_PREFIX       "library/"
#define REFERENCE_DEFAULT_TAG           "latest"
/* domain + "/" + path */
#define REFERENCE_NAME_LENGTH_MAX 255
#define REFERENCE_TAG_LENGTH_MAX  128

typedef struct Reference {
        char *domain; /* "docker.io", "127.0.0.1:5000", "localhost" */
        char *path;   /* "library/debian", "team/app" */
        char *tag;    /* NULL if only a digest was given */
        char *digest; /* "sha256:<hex>" or NULL */
} Reference;

/* Returns 0, -ENOMEM, or -EINVAL with err (optional) holding a sentence naming what is wrong; ret is written
 * on success only. */
int reference_parse(const char *s, BerthError *err, Reference **ret);
/* Same, with names without a domain resolved against default_domain (berth.conf's default registry;
 * NULL means docker.io). */
int reference_parse_with_default_domain(const char *s, const char *default_domain, BerthError *err,
                                        Reference **ret);

/* A registry domain in the same grammar: host [ ":" port ], host a domain name, IPv4 address or "[" IPv6
 * address "]" ("docker.io", "127.0.0.1:5000", "[::1]:5000", "localhost"); no scheme, path or userinfo. */
bool reference_domain_is_valid(const char *s);

Reference *reference_free(Reference *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Reference *, reference_free);

int reference_dup(const Reference *r, Reference **ret);

/* "docker.io/library/debian:12", "docker.io/library/debian@sha256:…", "…:12@sha256:…" */
int reference_to_string(const Reference *r, char **ret);
/* Docker's short name: "debian", "team/app" on docker.io; "127.0.0.1:5000/team/app" elsewhere. */
int reference_familiar_name(const Reference *r, char **ret);
/* The familiar name with tag and/or digest: "debian:12", "quay.io/x/y@sha256:…". */
int reference_familiar_string(const Reference *r, char **ret);
/* "docker.io/library/debian" */
int reference_repository(const Reference *r, char **ret);
/* What to ask the registry for: the digest if there is one, else the tag. Never NULL for a parsed
 * reference. */
const char *reference_tag_or_digest(const Reference *r);
bool reference_is_docker_hub(const Reference *r);

/* Image ids, as GetImage() and friends accept them next to references:
 *   image_id_is_full():   64 lowercase hex, or "sha256:" + 64 lowercase hex;
 *   image_id_is_prefix(): 12..64 lowercase hex, or "sha256:" + 12..64 lowercase hex.
 * On true, *ret_hex (optional) points at the hex part inside s. A bare 64-hex string is never a valid
 * reference; a shorter hex string may be both an id prefix and a repository name, and Docker tries the
 * id first (when an image with that prefix exists), then the name. */
bool image_id_is_full(const char *s, const char **ret_hex);
bool image_id_is_prefix(const char *s, const char **ret_hex);
