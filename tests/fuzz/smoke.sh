#!/bin/bash
# Short fuzz run for the test suite: smoke.sh FUZZER SEED_CORPUS WORK_DIR [SECONDS]
# The seed corpus in the source tree is only read; new inputs go to WORK_DIR/corpus, a crash to WORK_DIR/.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=${4:-10}

rm -rf "$work"
mkdir -p "$work/corpus"
# halt_on_error: UBSan findings must be crashes, not log lines. abort_on_error: a core-less abort is enough.
# A finding exits 1: libFuzzer's own 77 would read as "skipped" to meson.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -detect_leaks=1 -error_exitcode=1 -timeout_exitcode=1 \
        -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$seeds"
