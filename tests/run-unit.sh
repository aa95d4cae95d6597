#!/bin/sh
# run-unit.sh BUILD_DIR - run every unit test binary; VALGRIND=1 runs them under valgrind.
B=${1:-build}
passed=0
failed=0
for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    log=$(mktemp)
    if [ "${VALGRIND:-0}" = 1 ]; then
        # --fair-sched: valgrind runs one thread at a time; with its default
        # lock, threads that never block (test_fork's parent readers) can
        # starve the one that forks and waits, past the test's alarm.
        valgrind -q --fair-sched=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            "$t" >"$log" 2>&1
    else
        "$t" >"$log" 2>&1
    fi
    if [ $? -eq 0 ]; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        sed 's/^/    | /' "$log" | tail -30
        failed=$((failed + 1))
    fi
    rm -f "$log"
done
echo "unit: $passed passed, $failed failed, 0 skipped"
[ $failed -eq 0 ]
