# A change committed while a job of its chain is in flight is not lost: it
# rides in the next job, right after.  Deterministic, no timing luck: the
# chain's base query waits on an advisory lock that this scenario holds,
# so a delta (then a full reload) is provably in flight — its worker shows
# in pg_locks waiting — while further changes commit.  A reader
# (watchmono) meanwhile never sees the chain's version or a rising key
# step back.
seed_basic
sql "CREATE FUNCTION inflight_gate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS
       \$\$ BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN true; END \$\$"
cat >>"$CONF" <<'C'
[load]
base_query = SELECT item_id, price_cents, updated_at FROM chain_prices
   WHERE chain_slug = $1 AND inflight_gate()
C
start_daemon
"$B/itest/watchmono" "$CACHE" acme item1 "$W/stop" >"$W/watch.out" 2>"$W/watch.err" &
WPID=$!
echo "$WPID" >>"$W/pids"

HOLDER=""
hold() { # take the gate's lock in a session of its own, until release
    psql -X -q -d "$DB" -c "SET application_name = 'inflight_holder'" \
         -c "SELECT pg_advisory_lock(4242), pg_sleep(120)" >/dev/null 2>&1 &
    HOLDER=$!
    echo "$HOLDER" >>"$W/pids"
    wait_until '[ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = '"'advisory'"' AND objid = 4242 AND granted AND mode = '"'ExclusiveLock'"'")" = 1 ]' 10
}
release() {
    sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'inflight_holder'" >/dev/null
    wait "$HOLDER" 2>/dev/null || true
}
# A worker of the daemon waits on the gate: its job is in flight.
in_flight() {
    [ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted")" -ge 1 ]
}
applied() { grep -c "chain acme: applied" "$W/daemon.log" || true; }

# 1. A delta in flight.
hold
a0=$(applied)
sql "UPDATE chain_prices SET price_cents = 1001 WHERE chain_slug = 'acme' AND item_id = 'item1'"
wait_until in_flight 10
# Committed while the delta of item1 waits: item1 again, item2, a store
# exception, and a delete.
sql "UPDATE chain_prices SET price_cents = 1003 WHERE chain_slug = 'acme' AND item_id = 'item1'"
sql "UPDATE chain_prices SET price_cents = 2002 WHERE chain_slug = 'acme' AND item_id = 'item2'"
sql "INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents) VALUES ('acme', 's9', 'item3', 33)"
sql "DELETE FROM chain_prices WHERE chain_slug = 'acme' AND item_id = 'item4'"
# Nothing of it can be visible yet: the only job of the chain is blocked.
assert_eq 101 "$(pc get acme "" item1 | cut -f1)" "item1 while its delta is blocked"
assert_eq 102 "$(pc get acme "" item2 | cut -f1)" "item2 while the first delta is blocked"
release
wait_until '[ "$(pc get acme "" item1 | cut -f1)" = 1003 ]' 10
wait_until '[ "$(pc get acme "" item2 | cut -f1)" = 2002 ]' 10
wait_until '[ "$(pc get acme s9 item3 | cut -f1)" = 33 ]' 10
wait_until '! pc get acme "" item4' 10
# Applied as deltas (the blocked one, then one for what piled up), not
# rescued by a reload.
assert_ge $((a0 + 2)) "$(applied)" "deltas applied"
assert_not_contains "$W/daemon.log" "reloading the chain whole"
assert_eq 99 "$(info acme base_rows)" "base rows after the delete, kept by the deltas"

# 2. A full reload in flight (SIGUSR1 reloads every chain): a change that
# commits after its snapshot was taken arrives after it.
hold
kill -USR1 "$DAEMON_PID"
wait_until in_flight 10
sql "UPDATE chain_prices SET price_cents = 1005 WHERE chain_slug = 'acme' AND item_id = 'item1'"
sql "UPDATE chain_prices SET price_cents = 5005 WHERE chain_slug = 'acme' AND item_id = 'item5'"
release
wait_until '[ "$(pc get acme "" item1 | cut -f1)" = 1005 ]' 10
wait_until '[ "$(pc get acme "" item5 | cut -f1)" = 5005 ]' 10

# 3. The path by size: a batch of more than 10% of a chain's rows is
# reloaded whole, and the log says why; a small one stays a delta.
sql "INSERT INTO chains VALUES ('mass');
     INSERT INTO chain_prices(chain_slug, item_id, price_cents)
       SELECT 'mass', 'm' || g, g FROM generate_series(1, 2000) g"
wait_until '[ "$(info mass base_rows)" = 2000 ]' 10
sql "UPDATE chain_prices SET price_cents = price_cents + 100000 WHERE chain_slug = 'mass' AND item_id LIKE 'm1%' AND length(item_id) = 5 AND substr(item_id, 2)::int < 1300"
wait_until '[ "$(pc get mass "" m1299 | cut -f1)" = 101299 ]' 10
assert_contains "$W/daemon.log" "chain mass: reloading the chain whole, not as a delta (300 changed keys are 15.0% of 2000 rows (> 10%): a reload is faster)"
sql "UPDATE chain_prices SET price_cents = 7 WHERE chain_slug = 'mass' AND item_id IN ('m5', 'm6')"
wait_until '[ "$(pc get mass "" m6 | cut -f1)" = 7 ]' 10
assert_contains "$W/daemon.log" "chain mass: applied 2 changed keys"

touch "$W/stop"
wait "$WPID" || fail "reader saw a step back: $(cat "$W/watch.err")"
cat "$W/watch.out"
stop_daemon
