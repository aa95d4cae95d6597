#!/usr/bin/env bash
# run.sh BUILD_DIR - the benchmarks: generate a realistic chain (1,000,000 base
# prices, 200,000 store exceptions over 500 stores) in a throwaway PostgreSQL,
# then measure lookups and reloads beside their baselines, in one run; the
# bindings (bindings/*/bench.sh) beside C over the same lookups.
# NBASE, NSTORE: the chain's size; NKEYS: lookups for the bindings;
# BENCH_ONLY=change: only the change-propagation section (bench_change), for
# iterating on the daemon's delta path; BENCH_ONLY=load: only the reload
# section (bench_load, the big chain alone), for iterating on the loader;
# BENCH_ONLY=get: only the lookups (bench_get, bench_basket), for iterating
# on the read path; NUPDATES: bench_change's one-row changes (300);
# BENCH_LOG_LEVEL=info: the daemon logs each delta's fetch and write times
# (kept in BUILD_DIR/bench/daemon-change.log).
# Results are printed and kept in BUILD_DIR/bench/results.txt.
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NBASE=${NBASE:-1000000}
NSTORE=${NSTORE:-200000}
. "$ROOT/tests/lib/pg.sh"
W=$(mktemp -d /tmp/pcbench.XXXXXX)
chmod 755 "$W"
cleanup() {
    [ -n "${DPID:-}" ] && kill -9 "$DPID" 2>/dev/null
    [ -n "${RPID:-}" ] && { kill -9 "$RPID" 2>/dev/null || true; }
    pg_cleanup
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM PIPE

pg_start
pg_createdb bench
DSN=$(pg_dsn bench)
cat >"$W/conf" <<C
[database]
dsn = $DSN
[cache]
path = $W/cache
map_size_mb = 4096
[log]
level = ${BENCH_LOG_LEVEL:-warn}
[bus]
events = ipc://$W/run/events.ipc
control = ipc://$W/run/control.ipc
C
mkdir -m 0750 "$W/run"
"$B/pricecached" -c "$W/conf" --migrate 2>/dev/null
# The benchmark data is loaded without the NOTIFY triggers firing per row.
psql_q bench "ALTER TABLE chain_prices DISABLE TRIGGER USER; ALTER TABLE store_prices DISABLE TRIGGER USER;
              INSERT INTO chains VALUES ('bench')"
t0=$(date +%s.%N)
"$B/bench/gendata" base bench "$NBASE" 42 | psql -X -q -d bench -c "COPY chain_prices (chain_slug, item_id, price_cents, updated_at) FROM STDIN" 
"$B/bench/gendata" store bench "$NBASE" "$NSTORE" 500 42 | psql -X -q -d bench -c "COPY store_prices (chain_slug, store_id, item_id, price_cents, updated_at) FROM STDIN"
if [ "${BENCH_ONLY:-}" != load ]; then
# A second, smaller chain to reload while lookups are timed on the first.
psql_q bench "INSERT INTO chains VALUES ('other')"
"$B/bench/gendata" base other 300000 7 | psql -X -q -d bench -c "COPY chain_prices (chain_slug, item_id, price_cents, updated_at) FROM STDIN"
# A 10,000-item chain: a one-row change must cost the same on it as on the
# big one (bench_change).
psql_q bench "INSERT INTO chains VALUES ('small')"
"$B/bench/gendata" base small 10000 9 | psql -X -q -d bench -c "COPY chain_prices (chain_slug, item_id, price_cents, updated_at) FROM STDIN"
fi
psql_q bench "ALTER TABLE chain_prices ENABLE TRIGGER USER; ALTER TABLE store_prices ENABLE TRIGGER USER"
psql_q bench "VACUUM ANALYZE" >/dev/null
echo "generated $NBASE base + $NSTORE store rows in $(echo "$(date +%s.%N) - $t0" | bc) s"

out="$B/bench/results.txt"
load_section() {
    echo "-- reload of a ${NBASE}+${NSTORE}-row chain vs PostgreSQL streaming the same rows (bench_load)"
    "$B/bench/bench_load" "$DSN" "$W/loadcache" bench "$B/pricecached"
}
if [ "${BENCH_ONLY:-}" = load ]; then
    {
        echo "== pricecache reload ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, BENCH_ONLY=load)"
        load_section
    } | tee "$B/bench/results-load.txt"
    exit 0
fi
# bench_change against a running daemon, the section shared by both modes.
change_section() {
    echo "-- a price change in PostgreSQL to pc_get: one row (a 10,000-item chain and the big one), sustained commits, a whole chain; beside the NOTIFY floor and full reloads (bench_change)"
    "$B/bench/bench_change" "$DSN" "$W/cache" small bench "${NUPDATES:-300}" "$B/pricecache"
}
if [ "${BENCH_ONLY:-}" = change ]; then
    {
        echo "== pricecache change propagation ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, BENCH_ONLY=change)"
        # The block is a subshell: the script's traps do not know the
        # daemon it starts, so its own does (a failed bench_change left it
        # running, and tee waiting on it).
        trap '[ -n "${DPID:-}" ] && kill -9 "$DPID" 2>/dev/null' EXIT
        "$B/pricecached" -c "$W/conf" 2>"$W/daemon.log" &
        DPID=$!
        "$B/pricecache" -d "$W/cache" wait -t 120000 >/dev/null
        change_section
        kill -TERM "$DPID"; wait "$DPID" || true; DPID=""
        cp "$W/daemon.log" "$B/bench/daemon-change.log"
    } | tee "$B/bench/results-change.txt"
    exit 0
fi

if [ "${BENCH_ONLY:-}" = get ]; then
    {
        echo "== pricecache lookups ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, BENCH_ONLY=get)"
        "$B/pricecached" -c "$W/conf" --once 2>/dev/null
        "$B/bench/bench_get" "$W/cache" bench 1000000
        "$B/bench/bench_basket" "$W/cache" bench
    } | tee "$B/bench/results-get.txt"
    exit 0
fi

# A throwaway Redis on a unix socket only, for bench_rtt; started here, not
# in the block below (a subshell), so that the traps know its pid.
mkdir "$W/redis"
redis-server --port 0 --unixsocket "$W/redis/sock" --unixsocketperm 700 --save '' \
    --appendonly no --dir "$W/redis" --logfile "$W/redis/log" --daemonize no &
RPID=$!
for i in $(seq 1 100); do
    redis-cli -s "$W/redis/sock" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis-cli -s "$W/redis/sock" ping >/dev/null || { cat "$W/redis/log" >&2; exit 1; }

{
    echo "== pricecache benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m))"
    echo
    load_section
    echo
    echo "-- lookups (bench_get)"
    "$B/pricecached" -c "$W/conf" --once 2>/dev/null
    "$B/bench/bench_get" "$W/cache" bench 1000000
    "$B/bench/bench_basket" "$W/cache" bench
    echo
    echo "-- pc_get vs one round trip to Redis and to PostgreSQL, unix sockets (bench_rtt)"
    "$B/bench/bench_rtt" "$W/cache" bench "host=$PG_DIR port=$PGPORT user=postgres dbname=bench" \
        "$W/redis/sock"
    echo
    echo "-- bindings beside C over the same ${NKEYS:-200000} lookups, Redis loaded above (bindings/*/bench.sh)"
    # The lookups bench_get and bench_rtt time (bench_keys.h), and the
    # chain's prices for the languages' own maps.
    "$B/bench/bench_keyfile" --write-keys "$W/cache" bench "${NKEYS:-200000}" "$W/keys.tsv"
    "$B/bench/bench_keyfile" --write-dump "$W/cache" bench "$W/dump.tsv"
    for lang in go python node; do
        [ -f "$ROOT/bindings/$lang/bench.sh" ] || continue
        echo "- $lang"
        PC_BENCH_BIN="$B" bash "$ROOT/bindings/$lang/bench.sh" "$W/cache" bench "$W/keys.tsv" \
            "$W/dump.tsv" "$W/redis/sock" || echo "$lang: bench.sh failed (exit $?)"
    done
    redis-cli -s "$W/redis/sock" shutdown nosave >/dev/null 2>&1 || true
    echo
    echo "-- event latency, publish commit to subscriber (bench_events)"
    "$B/bench/bench_events" 500 1000
    echo
    echo "-- change propagation and reader latency under a reload, daemon running (bench_propagate)"
    "$B/pricecached" -c "$W/conf" 2>"$W/daemon.log" &
    DPID=$!
    "$B/pricecache" -d "$W/cache" wait -t 60000 >/dev/null
    # A restarted daemon reloads every chain first; measure after that.
    for i in $(seq 1 600); do
        [ "$(grep -c 'published version' "$W/daemon.log")" -ge 2 ] && break
        sleep 0.1
    done
    "$B/bench/bench_propagate" "$DSN" "$W/cache" bench other 200
    echo
    # The reload sections rewrote every price of the big chain (dead rows
    # for autovacuum to chew on for minutes, on the same two cores): vacuum
    # first, so that the change section meets the database the change-only
    # mode meets, and its tail is the delta path's, not a vacuum's.
    psql_q bench "VACUUM ANALYZE" >/dev/null
    change_section
    kill -TERM "$DPID"; wait "$DPID" || true; DPID=""
} | tee "$out"
