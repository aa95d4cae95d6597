# Database killed in the middle of a bulk read: the load fails, the old
# snapshot stays whole, nothing half-written is visible.
N=150000
sql "INSERT INTO chains VALUES ('big');
     INSERT INTO chain_prices(chain_slug,item_id,price_cents) SELECT 'big','g'||g,1 FROM generate_series(0,$N-1) g;
     INSERT INTO store_prices(chain_slug,store_id,item_id,price_cents) SELECT 'big','s1','g'||g,1 FROM generate_series(0,$N-1,5) g"
printf '[load]\nrefresh_s = 0\n' >>"$CONF"
start_daemon
v=$(info big version)
sql "ALTER TABLE chain_prices DISABLE TRIGGER USER; ALTER TABLE store_prices DISABLE TRIGGER USER;
     UPDATE chain_prices SET price_cents = 2; UPDATE store_prices SET price_cents = 2"
killed=0
for i in $(seq 1 10); do
    kill -USR1 "$DAEMON_PID"
    sleep "0.0$((RANDOM % 10))"
    pg_kill9
    pg_up
    if grep -q 'chain big: load failed' "$W/daemon.log"; then killed=1; break; fi
    "$B/itest/consistency" "$CACHE" big $N check >/dev/null 2>&1 && [ "$(info big version)" != "$v" ] && {
        # the load won the race: put the data back and try again
        sql "UPDATE chain_prices SET price_cents = 1; UPDATE store_prices SET price_cents = 1"
        kill -USR1 "$DAEMON_PID"
        wait_until '"$B/itest/consistency" "$CACHE" big '$N' check | grep -q "generation=1 "' 20
        sql "UPDATE chain_prices SET price_cents = 2; UPDATE store_prices SET price_cents = 2"
        v=$(info big version)
    }
done
[ $killed = 1 ] || fail "never caught a load in the middle"
"$B/itest/consistency" "$CACHE" big $N check >"$W/check.out" || fail "after the kill: $(cat "$W/check.out")"
grep -q 'generation=1 ' "$W/check.out" || fail "old snapshot not kept: $(cat "$W/check.out")"
# and it converges once the database is back
kill -USR1 "$DAEMON_PID"
wait_until '"$B/itest/consistency" "$CACHE" big '$N' check | grep -q "generation=2 "' 30
stop_daemon
