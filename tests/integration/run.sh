#!/usr/bin/env bash
# run.sh BUILD_DIR [NAME...] - integration scenarios against a real PostgreSQL,
# the real daemon and the real library. One cluster per run, one database
# per scenario. Prints PASS/FAIL/SKIP per scenario and
# "integration: N passed, N failed, N skipped".
#
# Where the tree lives must not matter (a private home, /root, a path with
# a space): what the scenarios run (programs, the library) is staged under a
# fresh /tmp directory every user can enter, and $B points there.  A
# scenario that cannot run here calls `skip REASON` (or `skip_part REASON`
# for a part of it): counted apart, never as passed.
set -u
B_BUILD=$(cd "${1:-build}" && pwd)
shift || true
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/lib/pg.sh"

RUN_DIR=$(mktemp -d /tmp/pctest-run.XXXXXX)
chmod 755 "$RUN_DIR"
B="$RUN_DIR/build"
mkdir -p "$B/itest"
for f in pricecached pricecache pricecache-top libpricecache.so.1 libpricecache.a; do
    [ -e "$B_BUILD/$f" ] && cp -p "$B_BUILD/$f" "$B/"
done
cp -p "$B_BUILD"/itest/* "$B/itest/" 2>/dev/null || true
ln -sf libpricecache.so.1 "$B/libpricecache.so"
chmod -R a+rX "$RUN_DIR"
# Replicas a scenario started (tests/lib/pgrepl.sh, under its $W/pgr-NAME):
# stopped after it, whatever way it ended.
stop_replicas() { # dir...
    local d
    for d in "$@"; do
        [ -d "$d/data" ] && _pg_as "$PG_BIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1
    done
    return 0
}
cleanup() {
    for f in "$RUN_DIR"/*/pids; do
        [ -f "$f" ] && while read -r p; do kill -9 "$p" 2>/dev/null; done <"$f"
    done
    stop_replicas "$RUN_DIR"/*/pgr-*
    pg_cleanup
    [ -n "${KEEP:-}" ] && echo "kept $RUN_DIR" || rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM PIPE

pg_start || { echo "cannot start PostgreSQL"; echo "0 passed, 1 failed"; exit 1; }

if [ $# -gt 0 ]; then
    names=("$@")
else
    # Every scenario but the fleet's (t_fleet_*: each starts one or two
    # replica clusters; `make check-fleet` runs them, FLEET=1 adds them).
    names=()
    for f in "$ROOT"/tests/integration/t_*.sh; do
        n=$(basename "$f" .sh)
        case "$n" in t_fleet_*) [ -n "${FLEET:-}" ] || continue ;; esac
        names+=("${n#t_}")
    done
fi

passed=0
failed=0
skipped=0
for name in "${names[@]}"; do
    W="$RUN_DIR/$name"
    mkdir -p "$W"
    chmod 755 "$W"
    DB="t_$name"
    pg_createdb "$DB"
    t0=$(date +%s.%N)
    (
        set -eu
        export B W DB ROOT
        export DSN; DSN=$(pg_dsn "$DB")
        export CACHE="$W/cache" CONF="$W/pricecached.conf"
        . "$ROOT/tests/lib/scenario.sh"
        trap 'rc=$?; for p in $(cat "$W/pids" 2>/dev/null); do kill -9 $p 2>/dev/null || true; done; exit $rc' EXIT
        write_conf
        migrate
        . "$ROOT/tests/integration/t_$name.sh"
    ) >"$W/out.log" 2>&1
    rc=$?
    stop_replicas "$W"/pgr-*
    # A scenario may have stopped the database: the next one needs it.
    pg_up >/dev/null 2>&1 || true
    dt=$(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo "?")
    if [ $rc -eq 0 ] && [ -f "$W/skipped" ]; then
        printf 'SKIP %s (%s)\n' "$name" "$(head -1 "$W/skipped")"
        skipped=$((skipped + 1))
    elif [ $rc -eq 0 ]; then
        printf 'PASS %s (%.1fs)\n' "$name" "$dt"
        passed=$((passed + 1))
        if [ -f "$W/skipped_parts" ]; then
            while IFS= read -r why; do
                printf 'SKIP %s: part (%s)\n' "$name" "$why"
                skipped=$((skipped + 1))
            done <"$W/skipped_parts"
        fi
    else
        printf 'FAIL %s (%.1fs)\n' "$name" "$dt"
        sed 's/^/    | /' "$W/out.log" | tail -25
        [ -f "$W/daemon.log" ] && { echo "    daemon log (tail):"; tail -15 "$W/daemon.log" | sed 's/^/    | /'; }
        failed=$((failed + 1))
    fi
done
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
