#!/bin/bash
# Fails when a C file of the tree differs from what clang-format makes of it with the tree's .clang-format
# (systemd's style: 8 spaces, 109 columns). Fix with: clang-format -i FILE…
#
#   bash tools/check-format.sh          (from anywhere in the checkout)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
command -v clang-format >/dev/null || { echo "check-format: clang-format is missing (tools/install-deps.sh)"; exit 1; }
bad=()
while IFS= read -r -d '' f; do
        clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files -z '*.c' '*.h')
if [ ${#bad[@]} -gt 0 ]; then
        echo "check-format: ${#bad[@]} file(s) not as clang-format writes them (clang-format -i to fix):"
        printf '  %s\n' "${bad[@]}"
        exit 1
fi
echo "check-format: every C file as clang-format writes it"
