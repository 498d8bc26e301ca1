/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image configs from registries. A parsed config is serialised with oci_image_config_to_json() (what commit
 * writes, and the image id is the sha256 of those bytes): it must parse back to the same config and
 * serialise to the very same bytes again. The input, as a string, also goes through the RFC 3339 parser. */
#include "fuzz.h"
#include "oci/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        return 0;
}

static void check_same_strv(char **a, char **b)
{
        if (!a || !b) {
                fuzz_check(a == b);
                return;
        }
        for (; *a && *b; a++, b++)
                fuzz_check(strcmp(*a, *b) == 0);
        fuzz_check(!*a && !*b);
}

static void fuzz_timestamp(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = fuzz_strndup(data, size), *formatted = NULL;
        uint64_t usec, again;

        if (oci_timestamp_parse(s, &usec) < 0)
                return;
        fuzz_check(oci_timestamp_format(usec, &formatted) == 0);
        fuzz_check(oci_timestamp_parse(formatted, &again) == 0);
        fuzz_check(usec == again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL, *again = NULL;
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        _cleanup_free_ char *json = NULL, *json2 = NULL;
        char **chain = NULL;
        size_t json_size, json2_size;

        if (size < 64)
                fuzz_timestamp(data, size);

        if (oci_image_config_parse(data, size, &reason, &c) < 0) {
                fuzz_check(!c);
                return 0;
        }
        (void) oci_image_config_get_label(c, "maintainer");
        if (oci_chain_ids(c->diff_ids, &chain) == 0) {
                size_t n = 0;

                while (chain[n])
                        n++;
                fuzz_check(n == oci_image_config_n_diff_ids(c));
                for (size_t i = 0; chain[i]; i++)
                        free(chain[i]);
                free(chain);
        }

        fuzz_check(oci_image_config_to_json(c, &json, &json_size) == 0);
        fuzz_check(strlen(json) == json_size);
        fuzz_check(oci_image_config_parse(json, json_size, &reason, &again) == 0);
        fuzz_check(streq_ptr(c->architecture, again->architecture));
        fuzz_check(streq_ptr(c->os, again->os));
        fuzz_check(streq_ptr(c->user, again->user));
        fuzz_check(streq_ptr(c->working_dir, again->working_dir));
        fuzz_check(c->created_usec == again->created_usec);
        check_same_strv(c->env, again->env);
        check_same_strv(c->entrypoint, again->entrypoint);
        check_same_strv(c->cmd, again->cmd);
        check_same_strv(c->diff_ids, again->diff_ids);
        fuzz_check(c->n_history == again->n_history);

        fuzz_check(oci_image_config_to_json(again, &json2, &json2_size) == 0);
        fuzz_check(json_size == json2_size && memcmp(json, json2, json_size) == 0);
        return 0;
}
