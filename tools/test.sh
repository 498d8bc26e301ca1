#!/bin/bash
# Everything berth tests, from a fresh clone: dependencies, the format check, a build with the unit tests, the
# same unit tests under AddressSanitizer and UBSan, the fuzz smoke runs, the integration tests in a booted
# systemd (tests/integration/run), and the main job (tools/demo.sh) as the README gives it.
# Ends with one line "N passed, N failed" summing every case; exits non-zero on any failure.
#
#   bash tools/test.sh            (as root: the integration tests boot a test bed)
#
# Build dirs: build/ and build-asan/ (gitignored); fixture images are cached in build/test-cache.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
src=$(pwd)
passed=0 failed=0 skipped=0

step() { echo; echo "=== $*"; }
count() { # PASSED FAILED [SKIPPED]
        passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0}))
}
finish() {
        echo
        if [ "$skipped" -gt 0 ]; then
                echo "$passed passed, $failed failed, $skipped skipped"
        else
                echo "$passed passed, $failed failed"
        fi
        [ "$failed" = 0 ]
        exit
}

# Each case of a meson test run: TAP tests count their "ok"/"not ok" lines, other tests count once.
meson_cases() { # BUILD_DIR → "PASSED FAILED SKIPPED"
        python3 - "$1/meson-logs/testlog.json" <<'EOF'
import json, re, sys
p = f = s = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    t = json.loads(line)
    tap = re.findall(r"^(not ok|ok)\b[^\n#]*(#\s*(SKIP|TODO)\b)?", t.get("stdout") or "", re.M | re.I)
    if tap:
        for verdict, _, directive in tap:
            if directive.upper() == "SKIP":
                s += 1
            elif verdict == "ok" or directive.upper() == "TODO":
                p += 1
            else:
                f += 1
        # A TAP test that crashed or timed out after its last line still failed.
        if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and not any(v == "not ok" for v, _, _ in tap):
            f += 1
    elif t["result"] in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif t["result"] == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
EOF
}

# build_and_test DIR [MESON_OPTION…]: configure (once), build, run the unit tests, count their cases.
build_and_test() {
        local dir=$1; shift
        # The paths berth is installed to in the test bed: the same as a distribution's.
        local opts=(-Dprefix=/usr -Dsysconfdir=/etc -Dlocalstatedir=/var "$@")
        if [ -f "$dir/build.ninja" ]; then
                meson configure "$dir" "${opts[@]}" || return 1
        else
                meson setup "$dir" "${opts[@]}" || return 1
        fi
        ninja -C "$dir" || return 1
        rm -f "$dir/meson-logs/testlog.json"
        meson test -C "$dir" --print-errorlogs
        return 0
}

step "dependencies (tools/install-deps.sh)"
bash tools/install-deps.sh || { echo "install-deps failed"; count 0 1; finish; }

step "format (tools/check-format.sh: clang-format with the tree's .clang-format)"
if bash tools/check-format.sh; then count 1 0; else count 0 1; fi

step "build/ and unit tests"
if build_and_test build; then
        read -r p f s < <(meson_cases build); count "$p" "$f" "$s"
        echo "unit: $p passed, $f failed"
        [ "$p" -gt 0 ] || { echo "unit: no test case ran"; count 0 1; }
else
        echo "build/ failed to build"; count 0 1
        finish
fi

step "build-asan/ (address,undefined) and unit tests"
if build_and_test build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
        read -r p f s < <(meson_cases build-asan); count "$p" "$f" "$s"
        echo "unit (asan): $p passed, $f failed"
        [ "$p" -gt 0 ] || { echo "unit (asan): no test case ran"; count 0 1; }
else
        echo "build-asan/ failed to build"; count 0 1
fi

# --- fuzz smoke (tests/fuzz, owned by the fuzzing work): each libFuzzer target over its corpus plus ~10 s, in
# build-fuzz/ with clang. Long runs: tools/fuzz.sh SECONDS.
step "build-fuzz/ (clang, libFuzzer) and fuzz smoke runs (tools/fuzz.sh --smoke)"
if command -v clang >/dev/null; then
        shm_before=$(ls -A /dev/shm | sort)
        tools/fuzz.sh --smoke
        read -r p f s < <(meson_cases build-fuzz); count "$p" "$f" "$s"
        echo "fuzz smoke: $p passed, $f failed"
        [ "$p" -gt 0 ] || { echo "fuzz smoke: no target ran"; count 0 1; }
        # Some targets write below /dev/shm, where what they leave stays until the next boot.
        left=$(comm -13 <(echo "$shm_before") <(ls -A /dev/shm | sort) | grep '^berth-' || true)
        if [ -n "$left" ]; then
                echo "fuzz smoke left in /dev/shm: ${left//$'\n'/ }"
                count 0 1
        else
                count 1 0
        fi
else
        echo "clang missing: fuzz smoke not run"; count 0 0 1
fi
# --- end fuzz smoke

step "integration tests (tests/integration/run build)"
tests/integration/run build | tee build/integration-run.log
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' build/integration-run.log | tail -n 1)
if [ -n "$last" ]; then
        count "$(echo "$last" | cut -d' ' -f1)" "$(echo "$last" | cut -d' ' -f3)"
else
        echo "integration: the runner printed no summary"; count 0 1
fi

# --- the main job (README's first command) as a user runs it, where it boots its own bed: on a host whose PID 1
# is systemd it would install berth into the host, which a test run must not do.
step "the main job (tools/demo.sh)"
if [ "$(cat /proc/1/comm)" = systemd ]; then
        echo "PID 1 is systemd: tools/demo.sh would install into the host; not run here"; count 0 0 1
elif bash tools/demo.sh > build/demo.log 2>&1 && ! grep -q '^\[exit status' build/demo.log; then
        echo "demo: passed (build/demo.log)"; count 1 0
else
        tail -n 30 build/demo.log; echo "demo: failed (build/demo.log)"; count 0 1
fi

finish
