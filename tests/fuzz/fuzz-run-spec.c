/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The run spec berth-monitor reads (berthd writes it, but the two may be different versions, and the file
 * sits on disk). What parses must serialise, parse back, and serialise to the same text. */
#include "fuzz.h"
#include "runtime/run-spec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(run_spec_freep) RunSpec *s = NULL, *again = NULL;
        _cleanup_free_ char *json = fuzz_strndup(data, size), *out = NULL, *out2 = NULL;

        if (run_spec_from_json(json, &s) < 0) {
                fuzz_check(!s);
                return 0;
        }
        fuzz_check(s->id && s->name && s->rootfs && s->state_file && s->argv && s->argv[0]);

        fuzz_check(run_spec_to_json(s, &out) == 0);
        fuzz_check(run_spec_from_json(out, &again) == 0);
        fuzz_check(run_spec_to_json(again, &out2) == 0);
        fuzz_check(strcmp(out, out2) == 0);
        return 0;
}
