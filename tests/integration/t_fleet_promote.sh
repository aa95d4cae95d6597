# Fleet, primary failover (issue 14): dsn names two hosts (the primary and
# replica r1) with target_session_attrs=read-write.  The primary stops:
# readers keep the last snapshots (stale, whole); r1 is promoted and r2 is
# pointed at it; the daemon's LISTEN follows to r1, every chain resyncs (a
# change made unheard before the stop shows), a change on the new primary
# arrives by NOTIFY, and reads go to a replica again.
. "$ROOT/tests/lib/pgrepl.sh"
. "$ROOT/tests/lib/fleet.sh"
GN=200
seed_basic
sql "INSERT INTO chains VALUES ('gen');
     INSERT INTO chain_prices(chain_slug, item_id, price_cents) SELECT 'gen', 'g' || g, 1 FROM generate_series(0, $GN - 1) g"
pgr_add_ready r1 r2
MDSN="host=127.0.0.1,127.0.0.1 port=$PGPORT,${PGR_PORT[r1]} user=postgres dbname=$DB target_session_attrs=read-write"
fl_conf "$MDSN" "$(pgr_dsn r1 "$DB");$(pgr_dsn r2 "$DB")" "[database]" "lag_sample_ms = 200" "[breaker]" "reset_s = 2"
start_daemon
wait_until '[ "$(fl_up primary)" = 1 ] && [ "$(fl_up replica1)" = 1 ] && [ "$(fl_up replica2)" = 1 ]' 10
gen() { "$B/itest/consistency" "$CACHE" gen "$GN" check 2>/dev/null | sed -n 's/^generation=\([0-9-]*\) .*/\1/p'; }
assert_eq 1 "$(gen)" "generation before the failover"
rm -f "$W/stop" "$W/stop.started"
"$B/itest/dbreader" "$CACHE" gen "$GN" "$W/stop" >"$W/readers.out" 2>"$W/readers.err" &
READER=$!
echo "$READER" >>"$W/pids"
wait_until '[ -e "$W/stop.started" ]' 10
# a change the daemon does not hear (no NOTIFY), replayed everywhere
sql "BEGIN; ALTER TABLE chain_prices DISABLE TRIGGER USER;
     UPDATE chain_prices SET price_cents = 2 WHERE chain_slug = 'gen';
     ALTER TABLE chain_prices ENABLE TRIGGER USER; COMMIT"
pgr_wait_caught_up r1
pgr_wait_caught_up r2
mark=$(wc -l <"$W/daemon.log")
t0=$(date +%s%3N)
pgr_primary_down
wait_until '[ "$(fl_up primary)" = 0 ]' 10
echo "primary down for the daemon after $(($(date +%s%3N) - t0)) ms"
# meanwhile: the last snapshots, stale and whole
assert_eq 1 "$(gen)" "generation served while no primary"
assert_eq 103 "$(pc get acme '' item3 | cut -f1)" "acme served while no primary"
t1=$(date +%s%3N)
pgr_promote r1
pgr_follow r2 "${PGR_PORT[r1]}"
# the daemon follows: primary up (r1), resync brings the unheard change
wait_until '[ "$(fl_up primary)" = 1 ]' 30
echo "primary up again for the daemon $(($(date +%s%3N) - t1)) ms after the promotion"
wait_until '[ "$(gen)" = 2 ]' 30
echo "resynced: generation 2 $(($(date +%s%3N) - t1)) ms after the promotion"
tail -n +"$((mark + 1))" "$W/daemon.log" | grep -q 'resynchronising every chain' || fail "no resync logged after the failover"
# LISTEN is on the new primary: a change there arrives by NOTIFY
m2=$(wc -l <"$W/daemon.log")
pgr_q r1 "$DB" "UPDATE chain_prices SET price_cents = 4242 WHERE chain_slug = 'acme' AND item_id = 'item3'" >/dev/null
wait_until '[ "$(pc get acme "" item3 | cut -f1)" = 4242 ]' 10
wait_until 'tail -n +"$((m2 + 1))" "$W/daemon.log" | grep -q "chain acme: applied 1 changed keys"' 5
# r2 streams from r1: it serves loads again
wait_until '[ "$(fl_up replica2)" = 1 ]' 30
l2=$(fl_reads replica2 load)
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(fl_reads replica2 load)" -gt '"$l2"' ]' 15
echo "after the failover: loads primary $(fl_reads primary load), replica1 $(fl_reads replica1 load) (up $(fl_up replica1): now a primary), replica2 $(fl_reads replica2 load)"
touch "$W/stop"
rc=0
wait "$READER" || rc=$?
echo "readers: $(cat "$W/readers.out")"
[ "$rc" = 0 ] || fail "a reader saw a mixed or older answer: $(cat "$W/readers.out") $(head -5 "$W/readers.err")"
grep -q ' generation=2 ' "$W/readers.out" || fail "readers did not end on generation 2: $(cat "$W/readers.out")"
stop_daemon
