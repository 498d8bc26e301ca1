#!/bin/bash
# Builds the libFuzzer targets (tests/fuzz) with clang into build-fuzz/ and runs them.
#
#   tools/fuzz.sh [SECONDS] [TARGET…]   run each target SECONDS (default 600), at most 2 at a time (FUZZ_JOBS),
#                                       then merge the inputs that add coverage into tests/fuzz/corpus/<target>/
#   tools/fuzz.sh --smoke               the test suite's short run (meson test --suite fuzz), nothing merged
#
# TARGET is a name without "fuzz-" (reference, manifest, dockerfile, …); none means all. A crash or leak leaves its input
# in build-fuzz/fuzz-runs/<target>/ (crash-*, leak-*, oom-*, timeout-*); reproduce with
#   build-fuzz/tests/fuzz/fuzz-<target> <that file>        (BERTH_LOG_LEVEL=debug for the code's own logs)
# Exits non-zero if any target failed. FUZZ_NO_BUILD=1 runs the binaries already in build-fuzz/ (e.g. while
# someone else's half-written change keeps the tree from building).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
build=build-fuzz
jobs=${FUZZ_JOBS:-2}
rss_mb=${FUZZ_RSS_MB:-2048}

setup() {
        [ "${FUZZ_NO_BUILD:-0}" = 1 ] && return 0
        command -v clang >/dev/null || { echo "fuzz.sh: clang is missing (tools/install-deps.sh installs it)"; return 1; }
        if [ ! -f "$build/build.ninja" ]; then
                CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
                        -Dprefix=/usr -Dsysconfdir=/etc -Dlocalstatedir=/var >/dev/null || return 1
        fi
        ninja -C "$build" >/dev/null || { ninja -C "$build" | tail -n 30; return 1; }
}

if [ "${1:-}" = "--smoke" ]; then
        setup || exit 1
        rm -f "$build/meson-logs/testlog.json"
        exec meson test -C "$build" --suite fuzz --print-errorlogs
fi

seconds=600
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
        seconds=$1
        shift
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
        for f in tests/fuzz/fuzz-*.c; do
                t=${f#tests/fuzz/fuzz-}
                targets+=("${t%.c}")
        done
fi

setup || exit 1

# run_one TARGET: fuzz for $seconds, then merge. Output in build-fuzz/fuzz-runs/TARGET/log.
run_one() {
        local t=$1 exe=$build/tests/fuzz/fuzz-$1 work=$build/fuzz-runs/$1 seeds=tests/fuzz/corpus/$1 rc
        rm -rf "$work"
        mkdir -p "$work/corpus" "$seeds"
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
                "$exe" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout=10 -detect_leaks=1 \
                -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$seeds" >"$work/log" 2>&1
        rc=$?
        # Keep only what adds coverage to the committed seeds.
        "$exe" -merge=1 -rss_limit_mb="$rss_mb" "$seeds" "$work/corpus" >"$work/merge.log" 2>&1
        echo "$rc" >"$work/rc"
}

for t in "${targets[@]}"; do
        [ -x "$build/tests/fuzz/fuzz-$t" ] || { echo "fuzz.sh: no target '$t'"; exit 1; }
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
                wait -n
        done
        echo "fuzz.sh: $t for ${seconds}s"
        run_one "$t" &
done
wait

failed=0
for t in "${targets[@]}"; do
        work=$build/fuzz-runs/$t
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
        cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/log" | tail -n 1)
        rc=$(cat "$work/rc" 2>/dev/null || echo '?')
        if [ "$rc" = 0 ]; then
                echo "fuzz-$t: ok, ${execs:-?} execs in ${seconds}s, $cov"
        else
                failed=1
                echo "fuzz-$t: FAILED (exit $rc), see $work/log: $(ls "$work" | grep -E '^(crash|leak|oom|timeout)-' | tr '\n' ' ')"
        fi
done
exit $failed
