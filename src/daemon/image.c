/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "shared/berth-messages.h"
#include "daemon/container.h"
#include "daemon/image-dbus.h"
#include "daemon/image.h"
#include "registry/reference.h"
#include "shared/log.h"
#include "store/image-store.h"
#include "store/layer-store.h"
#include "daemon/transfer.h"

int image_object_path(const char *id, char **ret)
{
        return sd_bus_path_encode("/org/berth1/image", startswith(id, "sha256:") ?: id, ret);
}

int manager_parse_reference(Manager *m, const char *s, BerthError *e, Reference **ret)
{
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        int r;

        r = reference_parse_with_default_domain(s, m->default_domain, &reason, ret);
        if (r == -EINVAL)
                return berth_error_set(e, r, "'%s': %s", s, reason.message ?: "not a valid image reference");
        if (r < 0)
                return berth_error_set_errno(e, r, "Cannot parse the reference '%s'", s);
        return 0;
}

int manager_canonical_reference(Manager *m, const char *s, BerthError *e, char **ret)
{
        _cleanup_(reference_freep) Reference *ref = NULL;
        int r;

        r = manager_parse_reference(m, s, e, &ref);
        if (r < 0)
                return r;
        r = reference_to_string(ref, ret);
        if (r < 0)
                return berth_error_set_errno(e, r, "Cannot normalise the reference '%s'", s);
        return 0;
}

/* image_store_find() of what key resolved to, with the message for the user. */
static int find_in_store(Manager *m, const char *key, const char *what, BerthError *e,
                         const ImageRecord **ret)
{
        int r;

        r = image_store_find(m->images, what, ret);
        if (r == -ENOENT)
                return berth_error_set(e, r, "%s", key);
        if (r == -ENOTUNIQ)
                return berth_error_set(e, r, "'%s' matches more than one image id; give more characters",
                                       key);
        return r;
}

static int find_image(Manager *m, const char *key, BerthError *e, const ImageRecord **ret)
{
        _cleanup_(reference_freep) Reference *ref = NULL;
        _cleanup_free_ char *canonical = NULL;
        int r;

        if (image_id_is_prefix(key, NULL)) {
                r = image_store_find(m->images, key, ret);
                if (r != -ENOENT)
                        return r == -ENOTUNIQ ? find_in_store(m, key, key, e, ret) : r;
        } else if (image_id_is_full(key, NULL) || startswith(key, "sha256:")) {
                /* A full id (or something that looks like one) is never a reference. */
                return find_in_store(m, key, key, e, ret);
        }

        r = manager_parse_reference(m, key, e, &ref);
        if (r < 0)
                return r;

        if (ref->digest) {
                /* name@digest: match recorded repo digests by repository and digest, ignoring any tag. */
                _cleanup_free_ char *repo = NULL, *by_digest = NULL;

                r = reference_repository(ref, &repo);
                if (r < 0)
                        return r;
                if (asprintf(&by_digest, "%s@%s", repo, ref->digest) < 0)
                        return -ENOMEM;
                return find_in_store(m, key, by_digest, e, ret);
        }

        r = reference_to_string(ref, &canonical);
        if (r < 0)
                return r;
        return find_in_store(m, key, canonical, e, ret);
}

int manager_find_image(Manager *m, const char *key, BerthError *e, const ImageRecord **ret)
{
        int r;

        r = find_image(m, key, e, ret);
        if (r < 0 && e && e->error == 0)
                berth_error_set_errno(e, r, "Cannot look up image '%s'", key);
        return r;
}

void manager_gc_layers(Manager *m, char **chain_ids)
{
        bool removed = false;
        int r;

        /* Top layer first: a layer's children go before it. */
        for (size_t i = chain_ids ? g_strv_length(chain_ids) : 0; i > 0; i--) {
                const char *chain_id = chain_ids[i - 1];

                /* Kept while an image or a running pull uses it; the next GC (image removal or prune) of an
                 * image on it takes it. */
                if (image_store_layer_in_use(m->images, chain_id, NULL) ||
                    manager_layer_held_by_pull(m, chain_id))
                        continue;
                r = layer_store_remove(m->layers, chain_id);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove unused layer %s, ignoring: %m", chain_id);
                else
                        removed = true;
        }
        /* Give the space back now (in a child, niced): someone removing images may be short of it. */
        if (removed)
                manager_empty_trash(m);
}

static void log_image_removed(const char *id, const char *name)
{
        sd_journal_send("MESSAGE=Removed image %s.", name, "MESSAGE_ID=" BERTH_MESSAGE_IMAGE_REMOVED,
                        "PRIORITY=%i", LOG_INFO, "BERTH_IMAGE=%s", name, "BERTH_IMAGE_ID=%s", id, NULL);
}

/* Docker's "Untagged: NAME": only the name went. */
static void log_image_untagged(const char *id, const char *name)
{
        sd_journal_send("MESSAGE=Untagged %s.", name, "MESSAGE_ID=" BERTH_MESSAGE_IMAGE_UNTAGGED,
                        "PRIORITY=%i", LOG_INFO, "BERTH_IMAGE=%s", name, "BERTH_IMAGE_ID=%s", id, NULL);
}

static int delete_image(Manager *m, const ImageRecord *image, char **ret_removed_id)
{
        g_auto(GStrv) chain_ids = g_strdupv(image->chain_ids);
        g_autofree char *id = g_strdup(image->id);
        int r;

        g_auto(GStrv) tags = image_store_tags_of(m->images, id);
        STRV_FOREACH (t, tags) {
                r = image_store_untag(m->images, *t);
                if (r < 0)
                        return r;
                log_image_untagged(id, *t);
        }
        r = image_store_remove(m->images, id);
        if (r < 0)
                return r;

        log_image_removed(id, id);
        manager_gc_layers(m, chain_ids);
        image_send_signal(m, id, false);
        if (ret_removed_id)
                *ret_removed_id = strdup(id);
        return 0;
}

int manager_remove_image(Manager *m, const char *key, bool force, char **ret_removed_id)
{
        _cleanup_(reference_freep) Reference *ref = NULL;
        _cleanup_free_ char *canonical = NULL;
        const ImageRecord *image;
        bool by_id;
        int r;

        r = manager_find_image(m, key, NULL, &image);
        if (r < 0)
                return r;

        by_id = image_id_is_prefix(key, NULL) || image_id_is_full(key, NULL) || startswith(key, "sha256:");
        if (!by_id && reference_parse_with_default_domain(key, m->default_domain, NULL, &ref) >= 0 &&
            !ref->digest && reference_to_string(ref, &canonical) >= 0 &&
            streq_ptr(image_store_tag_target(m->images, canonical), image->id)) {
                g_auto(GStrv) tags = image_store_tags_of(m->images, image->id);

                /* Untagging one of several names deletes nothing but the name, as in Docker. */
                if (g_strv_length(tags) > 1) {
                        r = image_store_untag(m->images, canonical);
                        if (r < 0)
                                return r;
                        log_image_untagged(image->id, canonical);
                        image_send_changed(m, image->id);
                        if (ret_removed_id)
                                *ret_removed_id = NULL;
                        return 0;
                }
        } else if (!force) {
                g_auto(GStrv) tags = image_store_tags_of(m->images, image->id);
                if (g_strv_length(tags) > 1)
                        return -ENOTUNIQ;
        }

        /* An image a container was made from stays while the container does (its layers are the container's
         * lowers); forced, only its names go, as in Docker. */
        if (manager_image_used_by_container(m, image->id)) {
                g_auto(GStrv) tags = image_store_tags_of(m->images, image->id);

                if (!force)
                        return -EBUSY;
                STRV_FOREACH (t, tags) {
                        r = image_store_untag(m->images, *t);
                        if (r < 0)
                                return r;
                }
                if (ret_removed_id)
                        *ret_removed_id = NULL;
                return 0;
        }

        return delete_image(m, image, ret_removed_id);
}

int manager_tag_image(Manager *m, const ImageRecord *image, const char *target_canonical)
{
        return image_store_tag(m->images, target_canonical, image->id);
}

char **manager_image_familiar_tags(Manager *m, const char *id)
{
        g_auto(GStrv) tags = image_store_tags_of(m->images, id);
        GPtrArray *a = g_ptr_array_new();

        STRV_FOREACH (t, tags) {
                _cleanup_(reference_freep) Reference *ref = NULL;
                char *f = NULL;

                if (reference_parse(*t, NULL, &ref) >= 0 && reference_familiar_string(ref, &f) >= 0)
                        g_ptr_array_add(a, g_strdup(f));
                else
                        g_ptr_array_add(a, g_strdup(*t));
                free(f);
        }
        g_ptr_array_add(a, NULL);
        return (char **) g_ptr_array_free(a, false);
}
