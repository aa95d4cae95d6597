#!/usr/bin/env bash
# run-all.sh BUILD_DIR - unit tests, then integration scenarios; one summary line.
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp)
sh "$ROOT/tests/run-unit.sh" "$B" | tee "$out"
bash "$ROOT/tests/integration/run.sh" "$B" | tee -a "$out"
p=$(sed -n 's/^\(unit\|integration\): \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out" | paste -sd+ | bc)
f=$(sed -n 's/^\(unit\|integration\): \([0-9]*\) passed, \([0-9]*\) failed$/\3/p' "$out" | paste -sd+ | bc)
n=$(grep -cE '^(unit|integration): ' "$out")
rm -f "$out"
[ "$n" = 2 ] || { echo "0 passed, 1 failed"; exit 1; }
echo "${p:-0} passed, ${f:-0} failed"
[ "${f:-1}" = 0 ]
