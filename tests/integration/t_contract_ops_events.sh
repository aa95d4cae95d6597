# Contract (events API): pc_sub_* argument checks, subscriptions to an
# unknown chain, to a 64-char slug and to 1,000 chains, pc_sub_next with
# timeout 0 and > 0, close while idle; one subscriber on epoll sees every
# kind: publish, refused, removed, failed, breaker, and a resync when the
# daemon restarts (a new run); `pricecache events` prints them.
seed_basic
sql "INSERT INTO chains VALUES ('gone'); INSERT INTO chain_prices(chain_slug,item_id,price_cents) VALUES ('gone','g1',5)"
EV="ipc://$W/run/events.ipc"
printf '[bus]\nevents = %s\n[http]\nlisten =\n[breaker]\nfailures = 1\nreset_s = 600\n' "$EV" >>"$CONF"
start_daemon
"$B/itest/evprobe" api "$EV" || fail "events API edge cases (see above)"
EVPROBE_READY="$W/sub.ready" "$B/itest/evprobe" collect "$EV" 45 publish refused removed failed breaker resync \
    >"$W/ev.out" 2>"$W/ev.err" &
P=$!
echo $P >>"$W/pids"
pc events -a "$EV" -t 45000 >"$W/cli.out" 2>&1 &
C=$!
echo $C >>"$W/pids"
wait_until '[ -f "$W/sub.ready" ]' 5
wait_until 'grep -q "^heartbeat - " "$W/ev.out"' 5   # subscribed for real: the bus reached us
# publish
pc get acme "" item1 >/dev/null
sql "UPDATE chain_prices SET price_cents = 7 WHERE item_id = 'item1'"
wait_until 'grep -q "^publish acme " "$W/ev.out"' 10
# refused: beta shrinks by 90%, seen by the full reload only (no NOTIFY
# from this session: a delta, which the guards do not judge, could apply
# the deletes first)
sql "SET session_replication_role = replica;
     DELETE FROM chain_prices WHERE chain_slug = 'beta' AND item_id <> 'b1'"
kill -USR1 "$DAEMON_PID"
wait_until 'grep -q "^refused beta " "$W/ev.out"' 10
# removed: a chain deactivated in the source
sql "UPDATE chains SET active = false WHERE slug = 'gone'"
kill -USR1 "$DAEMON_PID"
wait_until 'grep -q "^removed gone " "$W/ev.out"' 10
# failed and breaker: the database goes away
pg_down
kill -USR1 "$DAEMON_PID"
wait_until 'grep -q "^failed acme " "$W/ev.out"' 15
wait_until 'grep -q "^breaker acme " "$W/ev.out"' 15
pg_up
# a daemon restart: a new run, so the subscriber is told to resync
stop_daemon
start_daemon
rc=0
wait "$P" || rc=$?
[ "$rc" = 0 ] || fail "evprobe collect exited $rc: $(cat "$W/ev.err"); saw: $(cut -c1-80 "$W/ev.out" | sort | uniq -c | head -20)"
assert_contains "$W/ev.out" "daemon restarted"
grep -q '^breaker acme .*value=1 ' "$W/ev.out" || fail "breaker event without state 1 (open): $(grep ^breaker "$W/ev.out")"
# The CLI printed the same kinds.
for k in publish refused removed failed breaker resync; do
    wait_until "grep -q '$k' '$W/cli.out'" 5
done
# Each chain's first event of the new run (its heartbeat) resyncs it.
wait_until "grep -q 'resync *acme .*daemon restarted' '$W/cli.out'" 5
kill "$C" 2>/dev/null || true
stop_daemon
