/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/manager.h"
#include "oci/image-record.h"
#include "registry/reference.h"
#include "shared/error.h"

/* Image operations of the Manager, between the bus handlers and the stores. No D-Bus here. */

/* Resolves what a user typed: an image id or unique id prefix first (as Docker does), then a reference
 * ("debian", "debian:12", "name@sha256:…"). -EINVAL for a malformed reference, -ENOENT when nothing
 * matches, -ENOTUNIQ for an ambiguous id prefix; e (may be NULL) gets the message for the user. */
int manager_find_image(Manager *m, const char *key, BerthError *e, const ImageRecord **ret);

/* Parses a reference as the user typed it, in berth.conf's default registry; -EINVAL with the reason in
 * e for a malformed one. */
int manager_parse_reference(Manager *m, const char *s, BerthError *e, Reference **ret);

/* Normalises a user reference to the canonical form used as a tag key ("docker.io/library/debian:12");
 * -EINVAL with the reason in e for a malformed one. */
int manager_canonical_reference(Manager *m, const char *s, BerthError *e, char **ret);

/* Docker's `image rm`: a tag is untagged and the image deleted when no tag is left; an id deletes the
 * image, refused (-EEXIST) when it has several tags unless force. Layers no other image uses are removed.
 * ret_removed_id receives the id when the image itself was deleted. */
int manager_remove_image(Manager *m, const char *key, bool force, char **ret_removed_id);

int manager_tag_image(Manager *m, const ImageRecord *image, const char *target_canonical);

/* Removes the layers of a removed image that nothing else uses. */
void manager_gc_layers(Manager *m, char **chain_ids);

/* "/org/berth1/image/<hex>" */
int image_object_path(const char *id, char **ret);

/* The familiar names of an image's tags ("debian:12"), sorted. */
char **manager_image_familiar_tags(Manager *m, const char *id);
