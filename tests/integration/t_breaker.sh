# Database stopped while readers run: zero failed lookups, the breaker opens
# after the threshold; database back: half-open probes close it and the data
# converges to the source.
sql "INSERT INTO chains VALUES ('gen');
     INSERT INTO chain_prices(chain_slug,item_id,price_cents) SELECT 'gen','g'||g,1 FROM generate_series(0,499) g"
printf '[breaker]\nfailures = 3\nreset_s = 1\nhalf_open_successes = 2\n' >>"$CONF"
start_daemon
"$B/itest/consistency" "$CACHE" gen 500 watch 2 1 12 >"$W/watch.out" 2>"$W/watch.err" &
CP=$!
pg_down
kill -USR1 "$DAEMON_PID"
wait_until '[ "$(info gen breaker)" = open ]' 20
grep -q 'chain gen: breaker closed -> open' "$W/daemon.log" || fail "transition to open not logged"
assert_eq 3 "$(info gen consecutive_failures)" "failures counted until the breaker opened"
np=$(info gen next_probe)
case "$np" in 20*T*Z) ;; *) fail "an open breaker's next probe is not stored: '$np'" ;; esac
pg_up
sql "UPDATE chain_prices SET price_cents = 2"
wait_until '[ "$(info gen breaker)" = closed ]' 30
assert_eq "-" "$(info gen next_probe)" "next probe of a closed breaker"
grep -q 'chain gen: half-open probe' "$W/daemon.log" || fail "no half-open probe logged"
grep -q 'chain gen: breaker half-open -> closed' "$W/daemon.log" || fail "half-open -> closed not logged"
wait_until '"$B/itest/consistency" "$CACHE" gen 500 check | grep -q "generation=2 "' 20
rc=0; wait $CP || rc=$?
[ $rc = 0 ] || fail "readers failed during the outage: $(cat "$W/watch.out") $(head -3 "$W/watch.err")"
assert_eq 0 "$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' "$W/watch.out")" "failed lookups"
stop_daemon
