# Fleet, steady state (issue 14): with two replicas streaming, loads and
# deltas are read on a replica (pricecache_source_reads_total counts them
# there, never on the primary), the primary's log shows no statement of the
# daemon reading prices or chains, and its pg_stat_activity shows one
# session of the daemon: the LISTEN connection.
. "$ROOT/tests/lib/pgrepl.sh"
. "$ROOT/tests/lib/fleet.sh"
seed_basic
pgr_add_ready r1 r2
fl_log_statements
fl_conf "$DSN" "$(pgr_dsn r1 "$DB");$(pgr_dsn r2 "$DB")" "[database]" "lag_sample_ms = 200"
start_daemon
wait_until '[ "$(fl_up primary)" = 1 ] && [ "$(fl_up replica1)" = 1 ] && [ "$(fl_up replica2)" = 1 ]' 10
echo "warm-up loads read on: primary $(fl_reads primary load), replica1 $(fl_reads replica1 load), replica2 $(fl_reads replica2 load)"
replica_reads() { echo $(( $(fl_reads replica1 "$1") + $(fl_reads replica2 "$1") )); }
mark=$(fl_log_mark)
# every chain reloaded: on a replica
l0=$(replica_reads load)
p0=$(fl_reads primary load)
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(replica_reads load)" -ge $((l0 + 2)) ]' 10
# a delta: on a replica
d0=$(replica_reads delta)
sql "UPDATE chain_prices SET price_cents = 777 WHERE chain_slug = 'acme' AND item_id = 'item7'"
wait_until '[ "$(pc get acme "" item7 | cut -f1)" = 777 ]' 5
wait_until '[ "$(replica_reads delta)" -ge $((d0 + 1)) ]' 5
sql "INSERT INTO store_prices(chain_slug, store_id, item_id, price_cents) VALUES ('acme', 's2', 'item7', 5)"
wait_until '[ "$(pc get acme s2 item7 | cut -f1)" = 5 ]' 5
# a new chain: the listing and its first load
sql "INSERT INTO chains VALUES ('gamma'); INSERT INTO chain_prices(chain_slug, item_id, price_cents) VALUES ('gamma', 'x', 3)"
wait_until '[ "$(pc get gamma "" x | cut -f1)" = 3 ]' 10
assert_eq "$p0" "$(fl_reads primary load)" "loads read on the primary in steady state"
assert_eq 0 "$(fl_reads primary delta)" "deltas read on the primary"
echo "steady state: loads on replicas $(replica_reads load) (replica1 $(fl_reads replica1 load), replica2 $(fl_reads replica2 load)), deltas $(replica_reads delta)"
# What reached the primary: no read of prices or chains...
reads=$(fl_primary_reads_since "$mark")
[ -z "$reads" ] || fail "statements reading on the primary in steady state: $(echo "$reads" | head -5)"
# ...and the daemon's LISTEN session alone (a worker connection opened for
# the warm-up, if any, is not kept).
wait_until '[ "$(pgr_activity "$DB" | wc -l)" = 1 ]' 15
pgr_activity "$DB" >"$W/activity"
echo "primary's sessions on $DB: $(cat "$W/activity")"
grep -q '^pricecached|' "$W/activity" || fail "the one session on the primary is not the daemon's: $(cat "$W/activity")"
# the replicas hold the daemon's reading sessions (one or more, not zero)
n=$(( $(pgr_q r1 postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND application_name = 'pricecached'") \
    + $(pgr_q r2 postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND application_name = 'pricecached'") ))
echo "daemon sessions on the replicas: $n"
[ "$(fl_metric pricecache_replica_lag_bytes source=replica1)" != "" ] || fail "no pricecache_replica_lag_bytes{source=\"replica1\"}"
[ "$(fl_metric pricecache_replica_lag_seconds source=replica2)" != "" ] || fail "no pricecache_replica_lag_seconds{source=\"replica2\"}"
[ "$(fl_metric pricecache_replica_lag_seconds source=primary)" = "" ] || fail "a lag for the primary"
stop_daemon
