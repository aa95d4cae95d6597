# Single flight: reloads asked for while a chain loads coalesce into exactly
# one follow-up load, and a change made meanwhile is not lost.
seed_basic
cat >>"$CONF" <<'C'
[load]
base_query = SELECT item_id, price_cents, updated_at FROM chain_prices
   WHERE chain_slug = $1 AND (chain_slug <> 'beta' OR (SELECT pg_sleep(0.8)) IS NOT NULL)
C
start_daemon
n0=$(grep -c 'chain beta: published' "$W/daemon.log")
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '"'%pg_sleep(0.8)%'"' AND state = '"'active'"' AND pid <> pg_backend_pid()")" = 1 ]' 5
sql "UPDATE chain_prices SET price_cents = 4711 WHERE item_id = 'b3'"
for i in 1 2 3 4 5; do kill -USR1 "$DAEMON_PID"; sleep 0.05; done
wait_until '[ "$(pc get beta "" b3 | cut -f1)" = 4711 ]' 10
sleep 2 # nothing more may follow: give a spurious extra load time to show
n1=$(grep -c 'chain beta: published' "$W/daemon.log")
assert_eq 2 $((n1 - n0)) "loads of beta: the running one plus exactly one follow-up"
stop_daemon
