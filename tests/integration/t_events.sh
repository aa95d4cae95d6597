# The bus: the daemon publishes an event per publish (reload and delta),
# breaker transition and failed load; a subscriber to some chains sees only
# theirs; `pricecache events` prints them.
seed_basic
EV="ipc://$W/events.ipc"
printf '[bus]\nevents = %s\n[breaker]\nfailures = 1\nreset_s = 1\n' "$EV" >>"$CONF"
start_daemon
[ -S "$W/events.ipc" ] || fail "no events socket"
[ "$(stat -c %a "$W/events.ipc")" = 660 ] || fail "socket mode $(stat -c %a "$W/events.ipc")"
# Four: two publishes, the failure (a failed and a breaker event), and the
# database event on "*" (events of no chain reach every subscriber), in
# whichever order the last ones come.
pc events -a "$EV" -t 15000 -n 4 acme >"$W/acme.out" &
P1=$!
pc events -a "$EV" -t 15000 -n 1 --heartbeats >"$W/all.out" &
P2=$!
sleep 1.5 # let both subscriptions reach the publisher (PUB drops for absent subscribers)
sql "UPDATE chain_prices SET price_cents = 5 WHERE item_id = 'b1'"      # beta: not for P1
sql "UPDATE chain_prices SET price_cents = 5 WHERE item_id = 'item1'"   # acme delta
wait_until '[ "$(pc get acme "" item1 | cut -f1)" = 5 ]' 5
kill -USR1 "$DAEMON_PID"                                                # acme (and beta) reload
wait_until '[ "$(grep -c "publish *acme" "$W/acme.out")" -ge 2 ]' 10
pg_down
kill -USR1 "$DAEMON_PID"
rc=0; wait $P1 || rc=$?
[ $rc = 0 ] || fail "events exited $rc: $(cat "$W/acme.out")"
grep -q 'delta: 1 put' "$W/acme.out" || fail "no delta event: $(cat "$W/acme.out")"
grep -q 'reload:' "$W/acme.out" || fail "no reload event: $(cat "$W/acme.out")"
grep -q 'breaker *acme.*closed -> open\|failed *acme' "$W/acme.out" || fail "no failure/breaker event: $(cat "$W/acme.out")"
grep -q ' beta ' "$W/acme.out" && fail "a beta event reached an acme-only subscriber"
wait $P2 || true
grep -q 'heartbeat' "$W/all.out" || fail "no heartbeat: $(cat "$W/all.out")"
pg_up
stop_daemon
