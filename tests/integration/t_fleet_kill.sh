# Fleet, a replica killed with kill -9 in the middle of a COPY (issue 14):
# the load finishes from another source, readers never see a half-published
# chain, the chain's breaker stays closed, and the replica's own health goes
# down (source_up 0) and comes back after it restarts (source_up 1).
. "$ROOT/tests/lib/pgrepl.sh"
. "$ROOT/tests/lib/fleet.sh"
N=150000
seed_basic
sql "INSERT INTO chains VALUES ('big');
     INSERT INTO chain_prices(chain_slug, item_id, price_cents) SELECT 'big', 'g' || g, 1 FROM generate_series(0, $N - 1) g;
     INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents) SELECT 'big', 's1', 'g' || g, 1 FROM generate_series(0, $N - 1, 5) g"
pgr_add_ready r1 r2
fl_conf "$DSN" "$(pgr_dsn r1 "$DB");$(pgr_dsn r2 "$DB")" "[database]" "lag_sample_ms = 200" "[breaker]" "reset_s = 2"
start_daemon
wait_until '[ "$(fl_up replica1)" = 1 ] && [ "$(fl_up replica2)" = 1 ]' 10
"$B/itest/consistency" "$CACHE" big $N check | grep -q 'generation=1 ' || fail "big not loaded whole"
# readers of the chain all along: one whole version per answer
rm -f "$W/stop" "$W/stop.started"
"$B/itest/dbreader" "$CACHE" big 2000 "$W/stop" >"$W/readers.out" 2>"$W/readers.err" &
READER=$!
echo "$READER" >>"$W/pids"
wait_until '[ -e "$W/stop.started" ]' 10
# every price of big set to generation $1 without NOTIFY (only a full load
# brings it), replayed by both replicas
silent_gen() {
    sql "ALTER TABLE chain_prices DISABLE TRIGGER USER; ALTER TABLE store_prices DISABLE TRIGGER USER;
         UPDATE chain_prices SET price_cents = $1 WHERE chain_slug = 'big'; UPDATE store_prices SET price_cents = $1 WHERE chain_slug = 'big';
         ALTER TABLE chain_prices ENABLE TRIGGER USER; ALTER TABLE store_prices ENABLE TRIGGER USER"
    pgr_wait_caught_up r1
    pgr_wait_caught_up r2
}
copying() { # the replica on which the daemon's COPY of big runs now, if any
    local n
    for n in r1 r2; do
        [ "$(pgr_q "$n" postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'
               AND application_name = 'pricecached' AND state = 'active' AND query LIKE 'COPY%big%'" 2>/dev/null)" = 1 ] \
            && { echo "$n"; return 0; }
    done
    return 1
}
# A full load of big, caught on a replica while it copies; when the load
# wins the race, the next generation and again.
victim=""
g=1
for try in $(seq 1 10); do
    g=$((g + 1))
    silent_gen "$g"
    v=$(info big version)
    kill -USR1 "$DAEMON_PID"
    deadline=$(($(date +%s%3N) + 10000))
    while [ "$(date +%s%3N)" -lt "$deadline" ]; do
        victim=$(copying) && break
        [ "$(info big version)" != "$v" ] && break
    done
    [ -n "$victim" ] && break
    wait_until '[ "$(info big version)" != "'"$v"'" ]' 20
done
[ -n "$victim" ] || fail "never caught the daemon's COPY of big on a replica"
pgr_kill9 "$victim"
src=replica${victim#r}
echo "killed $victim ($src) in the middle of the COPY of big"
t0=$(date +%s%3N)
# the load finishes from another source
wait_until '"$B/itest/consistency" "$CACHE" big '$N' check | grep -q "generation=$g "' 30
echo "big published whole $(($(date +%s%3N) - t0)) ms after the kill; loads: primary $(fl_reads primary load), replica1 $(fl_reads replica1 load), replica2 $(fl_reads replica2 load)"
wait_until '[ "$(fl_up '"$src"')" = 0 ]' 10
wait_until 'grep -q "source '"$src"' down" "$W/daemon.log"' 5
assert_eq 0 "$(fl_metric pricecache_circuit_breaker_state chain=big)" "big's breaker (another source could serve it)"
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FL_PORT/readyz")" "/readyz with a replica down"
# the killed replica comes back by itself once it runs again
pgr_restart "$victim"
pgr_wait_caught_up "$victim"
wait_until '[ "$(fl_up '"$src"')" = 1 ]' 20
wait_until 'grep -q "source '"$src"' up" "$W/daemon.log"' 5
touch "$W/stop"
rc=0
wait "$READER" || rc=$?
echo "readers: $(cat "$W/readers.out")"
[ "$rc" = 0 ] || fail "a reader saw a mixed or older answer: $(cat "$W/readers.out") $(head -5 "$W/readers.err")"
grep -q " generation=$g " "$W/readers.out" || fail "readers did not end on generation $g: $(cat "$W/readers.out")"
stop_daemon
