/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image references: what PullImage, RunContainer, TagImage … get from any local caller. The first input byte
 * picks the default domain (berth.conf's Default=), the rest is the reference. Round trips must be stable:
 * parse(to_string(parse(x))) == parse(x), and the familiar string must parse back to the same reference. */
#include "fuzz.h"
#include "registry/reference.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        return 0;
}

static void check_same(const Reference *a, const Reference *b)
{
        fuzz_check(streq_ptr(a->domain, b->domain));
        fuzz_check(streq_ptr(a->path, b->path));
        fuzz_check(streq_ptr(a->tag, b->tag));
        fuzz_check(streq_ptr(a->digest, b->digest));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const domains[] = { NULL, "docker.io", "127.0.0.1:5000", "quay.io", "localhost" };
        _cleanup_(reference_freep) Reference *r = NULL, *again = NULL, *familiar = NULL, *dup = NULL;
        _cleanup_free_ char *s = NULL, *str = NULL, *fam = NULL, *fam_name = NULL, *repo = NULL;
        const char *domain, *hex = NULL;

        if (size < 1)
                return 0;
        domain = domains[data[0] % ELEMENTSOF(domains)];
        s = fuzz_strndup(data + 1, size - 1);

        /* Pure predicates on the same input. */
        if (image_id_is_full(s, &hex))
                fuzz_check(hex && strlen(hex) == 64 && image_id_is_prefix(s, NULL));
        if (image_id_is_prefix(s, &hex))
                fuzz_check(hex && strlen(hex) >= 12 && strlen(hex) <= 64);

        if (reference_parse_with_default_domain(s, domain, NULL, &r) < 0) {
                fuzz_check(!r);
                return 0;
        }
        fuzz_check(r->domain && r->path && (r->tag || r->digest));
        fuzz_check(reference_tag_or_digest(r));
        (void) reference_is_docker_hub(r);

        fuzz_check(reference_to_string(r, &str) == 0);
        fuzz_check(reference_parse_with_default_domain(str, domain, NULL, &again) == 0);
        check_same(r, again);

        /* The familiar form leaves docker.io implicit, so it parses back with the default default. */
        fuzz_check(reference_familiar_string(r, &fam) == 0);
        fuzz_check(reference_parse(fam, NULL, &familiar) == 0);
        check_same(r, familiar);

        fuzz_check(reference_familiar_name(r, &fam_name) == 0);
        fuzz_check(reference_repository(r, &repo) == 0);
        fuzz_check(reference_dup(r, &dup) == 0);
        check_same(r, dup);
        return 0;
}
