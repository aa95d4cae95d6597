# HTTP: /metrics in the Prometheus text format with DESIGN's names (promtool
# clean), and /livez, /startupz, /readyz across warm-up, breaker open and
# recovery.
seed_basic
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >>"$CONF" <<C
[http]
listen = 127.0.0.1:$PORT
[breaker]
failures = 2
reset_s = 1
half_open_successes = 1
[load]
base_query = SELECT item_id, price_cents, updated_at FROM chain_prices
   WHERE chain_slug = \$1
   AND (SELECT pg_sleep(CASE WHEN to_regclass('warm_done') IS NULL THEN 1.5 ELSE 0 END)) IS NOT NULL
C
code() { curl -s -o "$W/body" -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }
start_daemon_nowait
wait_until '[ "$(code /livez)" = 200 ]' 10
assert_eq 503 "$(code /startupz)" "startupz during warm-up"
assert_eq 503 "$(code /readyz)" "readyz during warm-up"
assert_contains "$W/body" "warm-up not done"
sql "CREATE TABLE warm_done ()"
wait_until '[ "$(code /startupz)" = 200 ]' 10
wait_until '[ "$(code /readyz)" = 200 ]' 10
assert_eq 200 "$(code /metrics)" "metrics"
for m in loads_total load_duration_seconds_bucket rows snapshot_age_seconds rejected_rows_total \
         invalidations_total circuit_breaker_state readers map_used_bytes map_size_bytes; do
    grep -q "^pricecache_$m" "$W/body" || fail "metric pricecache_$m missing"
done
grep -q '^pricecache_rows{chain="acme",kind="base"} 100$' "$W/body" || fail "rows of acme: $(grep rows "$W/body")"
grep -q '^pricecache_loads_total{chain="acme",result="ok"} [1-9]' "$W/body" || fail "loads_total"
if command -v promtool >/dev/null; then
    promtool check metrics <"$W/body" >"$W/promtool.out" 2>&1 || fail "promtool: $(cat "$W/promtool.out")"
fi
assert_eq 404 "$(code /nope)" "unknown path"
assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics")" "POST"
# breaker open -> not ready; back -> ready
pg_down
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(code /readyz)" = 503 ]' 20
assert_eq 200 "$(code /livez)" "alive while the database is down"
pg_up
wait_until '[ "$(code /readyz)" = 200 ]' 30
stop_daemon
