/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The run spec berth-monitor reads (berthd writes it, but the two may be different versions, and the file
 * sits on disk; an exec request is one too). What parses must serialise, parse back, and serialise to the
 * same bytes. */
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
        _cleanup_free_ char *out = NULL, *out2 = NULL;
        size_t n = 0, n2 = 0;

        if (run_spec_parse(data, size, &s) < 0) {
                fuzz_check(!s);
                return 0;
        }
        fuzz_check(s->id && s->name && s->rootfs && s->state_file && s->argv && s->argv[0]);

        fuzz_check(run_spec_serialize(s, &out, &n) == 0);
        fuzz_check(run_spec_parse(out, n, &again) == 0);
        fuzz_check(run_spec_serialize(again, &out2, &n2) == 0);
        fuzz_check(n == n2 && memcmp(out, out2, n) == 0);
        return 0;
}
