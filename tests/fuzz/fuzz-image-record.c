/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthd's own store files, images/<hex>/image.json and repositories.json: written by berthd, but read back
 * after crashes, disk trouble and hand edits, so they must never take the daemon down. Both readers run on
 * every input; what parses must survive a write + read round trip unchanged. */
#include "fuzz.h"
#include "oci/image-record.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        return 0;
}

static size_t strv_length(char **l)
{
        return l ? g_strv_length(l) : 0;
}

static void fuzz_record(const uint8_t *data, size_t size)
{
        _cleanup_(image_record_freep) ImageRecord *r = NULL, *again = NULL;
        _cleanup_free_ char *json = NULL;
        size_t json_size, n;

        if (image_record_from_json((const char *) data, size, &r) < 0)
                return;
        fuzz_check(r->id);
        n = strv_length(r->diff_ids);
        fuzz_check(n == strv_length(r->chain_ids));

        fuzz_check(image_record_to_json(r, &json, &json_size) == 0);
        fuzz_check(image_record_from_json(json, json_size, &again) == 0);
        fuzz_check(streq_ptr(r->id, again->id));
        fuzz_check(streq_ptr(r->manifest_digest, again->manifest_digest));
        fuzz_check(strv_length(r->repo_digests) == strv_length(again->repo_digests));
        fuzz_check(n == strv_length(again->diff_ids));
        for (size_t i = 0; i < n; i++) {
                fuzz_check(strcmp(r->diff_ids[i], again->diff_ids[i]) == 0);
                fuzz_check(r->layer_sizes[i] == again->layer_sizes[i]);
        }
        fuzz_check(r->size == again->size && r->created_usec == again->created_usec &&
                   r->added_usec == again->added_usec);
}

static void fuzz_tags(const uint8_t *data, size_t size)
{
        g_autoptr(GHashTable) t = NULL, again = NULL;
        _cleanup_free_ char *json = NULL;
        GHashTableIter i;
        gpointer k, v;
        size_t json_size;

        if (tag_table_from_json((const char *) data, size, &t) < 0)
                return;
        fuzz_check(tag_table_to_json(t, &json, &json_size) == 0);
        fuzz_check(tag_table_from_json(json, json_size, &again) == 0);
        fuzz_check(g_hash_table_size(t) == g_hash_table_size(again));
        g_hash_table_iter_init(&i, t);
        while (g_hash_table_iter_next(&i, &k, &v))
                fuzz_check(streq_ptr(v, g_hash_table_lookup(again, k)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fuzz_record(data, size);
        fuzz_tags(data, size);
        return 0;
}
