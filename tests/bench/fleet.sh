#!/usr/bin/env bash
# fleet.sh BUILD_DIR - make bench-fleet (issue 14): one primary, two
# streaming replicas, FLEET_N appliances (each its own pricecached,
# configuration, cache directory and HTTP port) caching the same small
# chains, a writer updating prices; run twice, replicas off then on, and
# print side by side:
#   - the primary's client sessions and queries per appliance in steady
#     state (pg_stat_activity, pg_stat_statements of the daemons' role; the
#     writer and the probe use another role and are not counted);
#   - change fan-out: an UPDATE on the primary to pc_get on every host
#     (fleet_fanout: N readers, the public library only), p50/p99/max;
#   - a full refresh of every chain on every host (SIGUSR1 to each daemon):
#     how long, and where the rows were read (pg_stat_statements rows of
#     the daemons' COPYs on each server; source_reads_total).
# Knobs: FLEET_N (20), FLEET_CHAINS (3), FLEET_ITEMS (2000 per chain),
# FLEET_UPDATES (100 probe updates), FLEET_GAP_MS (100), FLEET_RATE (10
# writer commits/s).  Bounded: about 2-3 minutes on 2 cores.
# Output: printed and kept in BUILD_DIR/bench/fleet.txt.
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${FLEET_N:-20}
CHAINS=${FLEET_CHAINS:-3}
ITEMS=${FLEET_ITEMS:-2000}
UPDATES=${FLEET_UPDATES:-100}
GAP_MS=${FLEET_GAP_MS:-100}
RATE=${FLEET_RATE:-10}
. "$ROOT/tests/lib/pg.sh"
W=$(mktemp -d /tmp/pcfleet.XXXXXX)
chmod 755 "$W"
PGR_BASE=$W
. "$ROOT/tests/lib/pgrepl.sh"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    pgr_cleanup
    pg_cleanup
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM PIPE

now_ms() { date +%s%3N; }
die() { echo "bench-fleet: $*" >&2; exit 1; }
# poll SECONDS WHAT CMD...: CMD every 100 ms until it succeeds
poll() {
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$(($(now_ms) + secs * 1000))
    until "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -lt "$deadline" ] || die "timed out after ${secs}s: $what"
        sleep 0.1
    done
}

# --- the primary: pg_stat_statements loaded (replicas inherit it) ---
pg_start
psql_q postgres "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
pg_down
pg_up || die "PostgreSQL does not start with pg_stat_statements"
pg_createdb fleet
psql_q fleet "CREATE EXTENSION pg_stat_statements" >/dev/null
# The writer and the probe: a role of their own, so the daemons' figures
# (role postgres) leave them out.
psql_q fleet "CREATE ROLE fleetwriter LOGIN SUPERUSER" >/dev/null
WDSN="host=127.0.0.1 port=$PGPORT user=fleetwriter dbname=fleet"
cat >"$W/migrate.conf" <<C
[database]
dsn = $(pg_dsn fleet)
[cache]
path = $W/migrate-cache
C
"$B/pricecached" -c "$W/migrate.conf" --migrate 2>"$W/migrate.log" || die "migrate: $(tail -3 "$W/migrate.log")"
for c in $(seq 1 "$CHAINS"); do
    psql_q fleet "INSERT INTO chains VALUES ('c$c');
        INSERT INTO chain_prices(chain_slug, item_id, price_cents) SELECT 'c$c', 'i' || g, 100 + g FROM generate_series(0, $ITEMS - 1) g;
        INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents) SELECT 'c$c', 's' || (g % 10), 'i' || g, 50 FROM generate_series(0, $ITEMS - 1, 20) g" >/dev/null
done
psql_q fleet "INSERT INTO chains VALUES ('probe'); INSERT INTO chain_prices(chain_slug, item_id, price_cents) VALUES ('probe', 'p', 1)" >/dev/null
psql_q fleet "VACUUM ANALYZE" >/dev/null
pgr_add r1
pgr_add r2
pgr_wait_caught_up r1
pgr_wait_caught_up r2
SERVERS="primary r1 r2"
q_on() { # server db sql
    if [ "$1" = primary ]; then psql_q "$2" "$3"; else pgr_q "$1" "$2" "$3"; fi
}

# The daemons' statements on a server since the last reset, by kind:
# calls and rows (pg_stat_statements; role postgres, database fleet).
PSS_KIND="CASE WHEN query ILIKE 'LISTEN%' THEN 'listen'
               WHEN query ILIKE '%pg_current_wal_lsn%' OR query ILIKE '%pg_last_wal_replay_lsn%' OR query ILIKE '%pg_stat_wal_receiver%' THEN 'wal'
               WHEN query ILIKE 'COPY%' THEN 'load'
               WHEN query ILIKE '%FROM chain_prices%' OR query ILIKE '%FROM store_prices%' THEN 'delta'
               WHEN query ILIKE '%FROM chains%' THEN 'listing'
               WHEN query ~* '^(BEGIN|COMMIT|ROLLBACK|SET|START)' THEN 'txn'
               ELSE 'other' END"
pss() { # server -> lines kind|calls|rows
    q_on "$1" fleet "SELECT $PSS_KIND AS k, sum(calls), sum(rows) FROM pg_stat_statements s
                     JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
                     WHERE r.rolname = 'postgres' AND d.datname = 'fleet' GROUP BY 1 ORDER BY 1"
}
pss_reset() { local s; for s in $SERVERS; do q_on "$s" fleet "SELECT pg_stat_statements_reset()" >/dev/null; done; }
pss_get() { # file kind field(2 calls, 3 rows)
    awk -F'|' -v k="$2" -v f="$3" '$1 == k { v = $f } END { print v + 0 }' "$1"
}

# --- one mode: N daemons ---
metric_sum() { # mode name labels... : the sum over the hosts
    local mode=$1 name=$2 i s=0 v
    shift 2
    for i in $(seq 1 "$N"); do
        v=$(curl -s "http://127.0.0.1:$(cat "$W/$mode/h$i/port")/metrics" | awk -v name="$name" -v want="$*" '
            BEGIN { n = split(want, w, " ") }
            $1 ~ "^" name "({|$)" { ok = 1; for (i = 1; i <= n; i++) { split(w[i], kv, "="); if (index($1, kv[1] "=\"" kv[2] "\"") == 0) ok = 0 }
                                    if (ok) { print $2; exit } }')
        v=${v:-0}
        s=$((s + ${v%%.*}))
    done 2>/dev/null
    echo "$s"
}
all_replicas_up() {
    local i
    for i in $(seq 1 "$N"); do
        curl -s "http://127.0.0.1:$(cat "$W/$1/h$i/port")/metrics" >"$W/m.txt" || return 1
        grep -q '^pricecache_source_up{source="replica1"} 1' "$W/m.txt" || return 1
        grep -q '^pricecache_source_up{source="replica2"} 1' "$W/m.txt" || return 1
    done
}
sessions_on_primary() { psql_q postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = 'fleet' AND application_name = 'pricecached'"; }
versions() { # mode -> one line per host and chain: its version
    local i c
    for i in $(seq 1 "$N"); do
        for c in $(seq 1 "$CHAINS") probe; do
            "$B/pricecache" -d "$W/$1/h$i/cache" info "$([ "$c" = probe ] && echo probe || echo "c$c")" 2>/dev/null | sed -n 's/^version: //p'
        done
    done
}
all_bumped() { # mode before-file
    versions "$1" >"$W/v.after"
    paste "$2" "$W/v.after" | awk '$2 <= $1 { bad = 1 } END { exit bad }'
}

run_mode() {
    local mode=$1 i d port reps t0 t1
    mkdir -p "$W/$mode"
    : >"$W/$mode/dirs"
    for i in $(seq 1 "$N"); do
        d="$W/$mode/h$i"
        mkdir -p "$d/run"
        port=$(_pg_free_port)
        echo "$port" >"$d/port"
        reps=""
        if [ "$mode" = on ]; then
            # half the fleet lists replica r2 first: the load spreads
            if [ $((i % 2)) = 1 ]; then reps="$(pgr_dsn r1 fleet);$(pgr_dsn r2 fleet)"
            else reps="$(pgr_dsn r2 fleet);$(pgr_dsn r1 fleet)"; fi
        fi
        {
            echo "[database]"
            echo "dsn = $(pg_dsn fleet)"
            [ -n "$reps" ] && echo "replicas = $reps"
            echo "[cache]"
            echo "path = $d/cache"
            echo "map_size_mb = 16"
            echo "[bus]"
            echo "events = ipc://$d/run/events.ipc"
            echo "control = ipc://$d/run/control.ipc"
            echo "[http]"
            echo "listen = 127.0.0.1:$port"
            echo "[load]"
            echo "refresh_s = 0"
            echo "[log]"
            echo "level = warn"
        } >"$d/conf"
        "$B/pricecached" -c "$d/conf" 2>"$d/daemon.log" &
        PIDS+=($!)
        echo $! >"$d/pid"
        echo "$d/cache" >>"$W/$mode/dirs"
    done
    for i in $(seq 1 "$N"); do
        "$B/pricecache" -d "$W/$mode/h$i/cache" wait -t 60000 >/dev/null || die "$mode: host $i not ready: $(tail -3 "$W/$mode/h$i/daemon.log")"
    done
    if [ "$mode" = on ]; then
        poll 30 "every host sees both replicas up" all_replicas_up "$mode"
        # steady state: the warm-up's fallback connections (if any) gone
        poll 30 "one session per host on the primary" eval '[ "$(sessions_on_primary)" = '"$N"' ]'
    fi
    # --- steady state: fan-out under the writer's churn ---
    pss_reset
    psql_q postgres "SELECT pg_stat_reset()" >/dev/null
    local l0 d0
    l0=$(metric_sum "$mode" pricecache_source_reads_total source=primary kind=load)
    d0=$(metric_sum "$mode" pricecache_source_reads_total source=primary kind=delta)
    t0=$(now_ms)
    "$B/bench/fleet_fanout" "$WDSN" "$W/$mode/dirs" "$UPDATES" "$GAP_MS" "$RATE" "$CHAINS" "$ITEMS" >"$W/$mode/fanout.txt" \
        || echo "fleet_fanout: $(cat "$W/$mode/fanout.txt")" >&2
    t1=$(now_ms)
    STEADY_S=$(echo "scale=1; ($t1 - $t0) / 1000" | bc)
    psql_q postgres "SELECT coalesce(state, '-') || ' ' || left(regexp_replace(query, '\s+', ' ', 'g'), 60), count(*)
                     FROM pg_stat_activity WHERE datname = 'fleet' AND application_name = 'pricecached' GROUP BY 1 ORDER BY 2 DESC" >"$W/$mode/activity.txt"
    sessions_on_primary >"$W/$mode/sessions"
    psql_q postgres "SELECT count(*) FROM pg_stat_replication" >"$W/$mode/walsenders"
    for s in $SERVERS; do pss "$s" >"$W/$mode/steady.$s"; done
    echo "$(( $(metric_sum "$mode" pricecache_source_reads_total source=primary kind=load) - l0 )) $(( $(metric_sum "$mode" pricecache_source_reads_total source=primary kind=delta) - d0 ))" >"$W/$mode/steady.primary_reads"
    # --- a full refresh of every chain on every host ---
    versions "$mode" >"$W/v.before"
    pss_reset
    local rl=() s
    for s in primary replica1 replica2; do rl+=("$(metric_sum "$mode" pricecache_source_reads_total source=$s kind=load)"); done
    t0=$(now_ms)
    for i in $(seq 1 "$N"); do kill -USR1 "$(cat "$W/$mode/h$i/pid")"; done
    poll 120 "$mode: every chain reloaded on every host" all_bumped "$mode" "$W/v.before"
    t1=$(now_ms)
    echo "$((t1 - t0))" >"$W/$mode/refresh_ms"
    for s in $SERVERS; do pss "$s" >"$W/$mode/refresh.$s"; done
    local k=0
    : >"$W/$mode/refresh.sources"
    for s in primary replica1 replica2; do
        echo "$s $(( $(metric_sum "$mode" pricecache_source_reads_total source=$s kind=load) - ${rl[$k]} ))" >>"$W/$mode/refresh.sources"
        k=$((k + 1))
    done
    for i in $(seq 1 "$N"); do kill -TERM "$(cat "$W/$mode/h$i/pid")" 2>/dev/null || true; done
    for i in $(seq 1 "$N"); do wait "$(cat "$W/$mode/h$i/pid")" 2>/dev/null || true; done
    echo "$STEADY_S" >"$W/$mode/steady_s"
}

# --- the report ---
fan() { sed -n "s/^$2 .*$3=\([0-9.]*\).*/\1/p" "$W/$1/fanout.txt"; }
per_host() { echo "scale=2; $1 / $N" | bc | sed 's/^\./0./'; }
per_host_s() { echo "scale=3; $1 / $N / $(cat "$W/$2/steady_s")" | bc | sed 's/^\./0./'; }
row() { printf '%-58s %18s %18s\n' "$1" "$2" "$3"; }

date_s=$(date -u +%Y-%m-%dT%H:%MZ)
run_mode off
run_mode on
out="$B/bench/fleet.txt"
mkdir -p "$B/bench"
{
    echo "== pricecache fleet ($date_s, $(nproc) cores): $N appliances, $CHAINS chains x $ITEMS items + 1 probe chain, writer $RATE commits/s, $UPDATES probe updates; one primary, two streaming replicas (make bench-fleet)"
    row "" "replicas off" "replicas on"
    row "steady-state window (s)" "$(cat "$W/off/steady_s")" "$(cat "$W/on/steady_s")"
    row "primary: daemon sessions (all hosts)" "$(cat "$W/off/sessions")" "$(cat "$W/on/sessions")"
    row "primary: daemon sessions per host" "$(per_host "$(cat "$W/off/sessions")")" "$(per_host "$(cat "$W/on/sessions")")"
    row "primary: WAL senders" "$(cat "$W/off/walsenders")" "$(cat "$W/on/walsenders")"
    for k in listen wal listing load delta txn other; do
        row "primary: '$k' statements /s per host" \
            "$(per_host_s "$(pss_get "$W/off/steady.primary" "$k" 2)" off)" "$(per_host_s "$(pss_get "$W/on/steady.primary" "$k" 2)" on)"
    done
    row "primary: rows read by daemons per host (steady)" \
        "$(per_host "$(( $(pss_get "$W/off/steady.primary" load 3) + $(pss_get "$W/off/steady.primary" delta 3) + $(pss_get "$W/off/steady.primary" listing 3) ))")" \
        "$(per_host "$(( $(pss_get "$W/on/steady.primary" load 3) + $(pss_get "$W/on/steady.primary" delta 3) + $(pss_get "$W/on/steady.primary" listing 3) ))")"
    row "primary: loads/deltas served (source_reads_total, all hosts)" "$(cat "$W/off/steady.primary_reads" | tr ' ' /)" "$(cat "$W/on/steady.primary_reads" | tr ' ' /)"
    for s in r1 r2; do
        row "$s: delta statements /s per host" \
            "$(per_host_s "$(pss_get "$W/off/steady.$s" delta 2)" off)" "$(per_host_s "$(pss_get "$W/on/steady.$s" delta 2)" on)"
        row "$s: lag-sample statements /s per host" \
            "$(per_host_s "$(pss_get "$W/off/steady.$s" wal 2)" off)" "$(per_host_s "$(pss_get "$W/on/steady.$s" wal 2)" on)"
    done
    row "fan-out UPDATE -> pc_get, every host: p50/p99/max ms" \
        "$(fan off fanout p50_ms)/$(fan off fanout p99_ms)/$(fan off fanout max_ms)" \
        "$(fan on fanout p50_ms)/$(fan on fanout p99_ms)/$(fan on fanout max_ms)"
    row "fan-out, slowest host per update: p50/p99/max ms" \
        "$(fan off fanout_all p50_ms)/$(fan off fanout_all p99_ms)/$(fan off fanout_all max_ms)" \
        "$(fan on fanout_all p50_ms)/$(fan on fanout_all p99_ms)/$(fan on fanout_all max_ms)"
    row "fan-out timeouts (10 s) / writer commits" \
        "$(fan off fanout timeouts)/$(fan off fanout writer_commits)" "$(fan on fanout timeouts)/$(fan on fanout writer_commits)"
    row "full refresh of every chain on every host (ms)" "$(cat "$W/off/refresh_ms")" "$(cat "$W/on/refresh_ms")"
    for s in primary r1 r2; do
        row "full refresh: rows COPYed on $s ($(pss_get "$W/on/refresh.$s" load 2) COPYs on)" \
            "$(pss_get "$W/off/refresh.$s" load 3)" "$(pss_get "$W/on/refresh.$s" load 3)"
    done
    for s in primary replica1 replica2; do
        row "full refresh: loads served by $s (source_reads_total)" \
            "$(awk -v s="$s" '$1 == s { print $2 }' "$W/off/refresh.sources")" "$(awk -v s="$s" '$1 == s { print $2 }' "$W/on/refresh.sources")"
    done
    echo "-- the primary's daemon sessions at the end of the steady window (replicas on): state, query, count"
    sed 's/^/   /' "$W/on/activity.txt"
    echo "-- the same, replicas off"
    sed 's/^/   /' "$W/off/activity.txt"
} | tee "$out"
