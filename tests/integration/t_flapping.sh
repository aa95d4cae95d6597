# A flapping database (up and down every second): no reload storm, the
# breaker opens and probes as configured, and everything converges.
seed_basic
printf '[breaker]\nfailures = 2\nreset_s = 2\nhalf_open_successes = 2\n' >>"$CONF"
start_daemon
before=$(grep -c 'load failed\|published version\|applied' "$W/daemon.log" || true)
for i in 1 2 3 4 5 6; do
    pg_down
    kill -USR1 "$DAEMON_PID"
    sleep 1
    pg_up
    kill -USR1 "$DAEMON_PID"
    sleep 1
done
after=$(grep -c 'load failed\|published version\|applied' "$W/daemon.log" || true)
loads=$((after - before))
echo "load attempts during 12 s of flapping: $loads"
assert_le 60 "$loads" "load attempts (2 chains, 12 s)"
grep -q 'breaker closed -> open' "$W/daemon.log" || fail "breaker never opened"
sql "UPDATE chain_prices SET price_cents = 9 WHERE item_id = 'b1'"
wait_until '[ "$(info beta breaker)" = closed ] && [ "$(pc get beta "" b1 | cut -f1)" = 9 ]' 40
stop_daemon
