#!/usr/bin/env bash
# run-all.sh BUILD_DIR - unit tests, then integration scenarios; one summary
# line "N passed, N failed, N skipped" (skips are counted apart, never as passed).
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp)
sh "$ROOT/tests/run-unit.sh" "$B" | tee "$out"
bash "$ROOT/tests/integration/run.sh" "$B" | tee -a "$out"
re='^(unit|integration): ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$'
sum() { sed -nE "s/$re/\\$1/p" "$out" | paste -sd+ | bc; }
p=$(sum 2)
f=$(sum 3)
s=$(sum 4)
n=$(grep -cE "$re" "$out")
rm -f "$out"
[ "$n" = 2 ] || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
echo "${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
[ "${f:-1}" = 0 ]
