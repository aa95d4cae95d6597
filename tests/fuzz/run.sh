#!/bin/sh
# run.sh BUILD_DIR [SECONDS] - run every libFuzzer target in BUILD_DIR/fuzz for
# SECONDS each (default 60), from a scratch copy of its committed seed corpus
# (tests/fuzz/corpus/<target>/); fails on the first crash, leak or timeout,
# leaving the input in BUILD_DIR/fuzz/artifacts/.
set -u
B=${1:-build/fuzz}
SECS=${2:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The environment overrides of the configuration must not leak in.
for v in $(env | sed -n 's/^\(PRICECACHE_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
mkdir -p "$B/fuzz/artifacts"
failed=0
ran=0
for f in "$B"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    target=${name#fuzz_}
    seeds="$ROOT/tests/fuzz/corpus/$target"
    [ -d "$seeds" ] || { echo "FAIL $target: no seed corpus $seeds"; failed=$((failed + 1)); continue; }
    work=$(mktemp -d /tmp/pcfuzz.XXXXXX)
    cp "$seeds"/* "$work"/ 2>/dev/null
    log="$B/fuzz/$target.log"
    if "$f" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$B/fuzz/artifacts/$target-" "$work" >"$log" 2>&1; then
        echo "PASS $target: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${SECS}s, corpus $(ls "$work" | wc -l)"
    else
        echo "FAIL $target (see $log):"
        grep -m5 'ERROR\|SUMMARY\|Test unit written' "$log" | sed 's/^/    | /'
        failed=$((failed + 1))
    fi
    ran=$((ran + 1))
    rm -rf "$work"
done
echo "fuzz: $ran targets, $failed failed"
[ "$ran" -gt 0 ] && [ "$failed" -eq 0 ]
