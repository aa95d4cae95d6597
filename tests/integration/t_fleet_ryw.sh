# Fleet, read-your-writes (issue 14): a delta read on a replica waits until
# the replica has replayed the primary's WAL position seen after the NOTIFY,
# up to replica_wait_ms; past it the keys are read on the primary.  With the
# only replica paused (its lag still under max_lag_s, so still chosen), an
# UPDATE is published with its new value, read on the primary, within the
# deadline - and a reader polling the item never sees it step back.
. "$ROOT/tests/lib/pgrepl.sh"
. "$ROOT/tests/lib/fleet.sh"
seed_basic
pgr_add_ready r1
fl_conf "$DSN" "$(pgr_dsn r1 "$DB")" "[database]" "max_lag_s = 60" "replica_wait_ms = 200" "lag_sample_ms = 200"
start_daemon
wait_until '[ "$(fl_up replica1)" = 1 ]' 10
now_ms() { date +%s%3N; }
# streaming: a delta is read on the replica
sql "UPDATE chain_prices SET price_cents = 777 WHERE chain_slug = 'acme' AND item_id = 'item7'"
wait_until '[ "$(pc get acme "" item7 | cut -f1)" = 777 ]' 5
wait_until '[ "$(fl_reads replica1 delta)" -ge 1 ]' 5
assert_eq 0 "$(fl_reads primary delta)" "deltas read on the primary while the replica streams"
# paused: every change still arrives, new, from the primary
pgr_pause r1
rm -f "$W/stop"
"$B/itest/watchmono" "$CACHE" acme item5 "$W/stop" >"$W/mono.out" 2>"$W/mono.err" &
MONO=$!
echo "$MONO" >>"$W/pids"
d1=$(fl_reads replica1 delta)
worst=0
for v in 1000 1001 1002 1003 1004; do
    t0=$(now_ms)
    sql "UPDATE chain_prices SET price_cents = $v WHERE chain_slug = 'acme' AND item_id = 'item5'"
    wait_until '[ "$(pc get acme "" item5 | cut -f1)" = '"$v"' ]' 5
    dt=$(($(now_ms) - t0))
    [ "$dt" -gt "$worst" ] && worst=$dt
    # the replica really is behind: what it would have given is the old value
    assert_eq 105 "$(pgr_q r1 "$DB" "SELECT price_cents FROM chain_prices WHERE chain_slug = 'acme' AND item_id = 'item5'")" \
        "item5 on the paused replica"
done
echo "replica paused: 5 changes published from the primary, slowest $worst ms after the UPDATE was sent (replica_wait_ms 200)"
assert_ge 5 "$(fl_reads primary delta)" "deltas read on the primary past the deadline"
assert_eq "$d1" "$(fl_reads replica1 delta)" "deltas counted on the paused replica"
assert_eq 1 "$(fl_up replica1)" "replica1 (paused, lag under max_lag_s) still up"
touch "$W/stop"
rc=0
wait "$MONO" || rc=$?
echo "watchmono: $(cat "$W/mono.out")"
[ "$rc" = 0 ] || fail "the reader saw item5 step back: $(cat "$W/mono.out" "$W/mono.err")"
grep -q 'last=1004' "$W/mono.out" || fail "the reader did not end on 1004: $(cat "$W/mono.out")"
# resumed: deltas read on the replica again
pgr_resume r1
pgr_wait_caught_up r1
d2=$(fl_reads replica1 delta)
sql "UPDATE chain_prices SET price_cents = 2000 WHERE chain_slug = 'acme' AND item_id = 'item5'"
wait_until '[ "$(pc get acme "" item5 | cut -f1)" = 2000 ]' 5
wait_until '[ "$(fl_reads replica1 delta)" -gt '"$d2"' ]' 5
stop_daemon
