# Daemon restarted while the database is down: readers never notice, the
# daemon serves the snapshots on disk at once and reports degraded, then
# converges when the database is back.
seed_basic
start_daemon
stop_daemon
sql "UPDATE chain_prices SET price_cents = 4242 WHERE item_id = 'item3'"
pg_down
"$B/itest/consistency" "$CACHE" acme 0 check >/dev/null 2>&1 || true
start_daemon_nowait
assert_exit 0 pc wait -t 5000
assert_eq 103 "$(pc get acme '' item3 | cut -f1)" "served from disk while the database is down"
wait_until '[ "$(info acme daemon_state)" = degraded ]' 10
for i in $(seq 1 20); do pc get acme s1 item10 >/dev/null || fail "lookup failed while the database is down"; done
pg_up
wait_until '[ "$(pc get acme "" item3 | cut -f1)" = 4242 ]' 30
wait_until '[ "$(info acme daemon_state)" = ready ]' 30
stop_daemon
